"""Every GET example of seed 002 answered in XML reads back, by the documented rules (xml_helion), to the JSON
answer of the same request (issue 24 Proof: "the XML answer, read back by the documented rules, equals the JSON
answer"), on resources the test makes."""
from __future__ import annotations

import pytest

from nodecompute.api import xml_helion
from nodecompute.api.keys import identity_key
from tests.api.helpers import upload_raw_image
from tests.api.test_servers_api import _insert, api, servers_api  # noqa: F401 (fixtures)

# (seed 002 line of the example, path with {server}/{image}/{flavor}/{volume}/{keypair}; the XML kind when the
# answer's root key does not name it)
EXAMPLES = [
    (940, "/extensions", None), (1283, "/extensions/os-keypairs", None), (1341, "/limits", None),
    (1439, "/servers", None), (1680, "/servers/detail", None), (1812, "/servers/{server}", None),
    (2121, "/servers/{server}/metadata", None), (2348, "/servers/{server}/metadata/role", None),
    (2790, "/servers/{server}/ips", None), (2921, "/images", None), (3055, "/images/detail", None),
    (3191, "/images/{image}", None), (3348, "/images/{image}/metadata", None), (3871, "/flavors", None),
    (3969, "/flavors/detail", None), (4078, "/flavors/{flavor}", None), (4147, "/os-availability-zone", None),
    (5700, "/os-keypairs", None), (5908, "/os-keypairs/{keypair}", None), (6948, "/os-volumes", None),
    (7050, "/os-volumes/detail", None), (7250, "/os-volumes/{volume}", None), (7414, "/os-snapshots", None),
    (8432, "/servers/{server}/os-instance-actions", None),
]


@pytest.fixture
async def world(api, admin_token):  # noqa: F811
    app = api.client.server.app
    ctx = app[identity_key].validate(admin_token)
    image = await upload_raw_image(app, admin_token)
    server = await _insert(api, ctx.project_id, metadata={"role": "web"}, image_id=image)
    headers = {"X-Auth-Token": admin_token}
    base = f"/helion/v2/{ctx.project_id}"
    kp = await api.client.post(f"{base}/os-keypairs", headers=headers, json={"keypair": {"name": "kp"}})
    assert kp.status == 202
    vol = await api.client.post(f"{base}/os-volumes", headers=headers, json={"volume": {"size": 1}})
    assert vol.status == 202
    names = {"server": server.uuid, "image": image, "flavor": "42", "keypair": "kp",
             "volume": (await vol.json())["volume"]["id"]}
    return api, headers, base, names


async def test_the_xml_answer_reads_back_to_the_json_one(world):
    """One world for every example (a parametrized test would build the app 24 times)."""
    api, headers, base, names = world
    for line, path, kind in EXAMPLES:
        url = base + path.format(**names)
        as_json = await api.client.get(url, headers=headers)
        assert as_json.status == 200, (line, await as_json.text())
        as_xml = await api.client.get(url + ".xml", headers=headers)
        assert as_xml.status == 200 and as_xml.content_type == "application/xml", (line, await as_xml.text())
        assert xml_helion.read_back(await as_xml.read(), kind) == await as_json.json(), line
