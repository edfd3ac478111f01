"""The K5 seed's documented server create variants (seeds/003 section 1.2.6: scheduler hints, multiple create,
config drive, mac address, block device mapping), through /k5/v2 on libvirt's test:///. None of the examples has
`networks`, and all but L4162 boot from `imageRef` alone: K5 requires both (D9, issue 25's volume-only boot), so
each example as shown is refused with 400, and with the test network and a boot mapping added answers with the
example's keys (strictly, tests/api/k5_examples.py). Each case names the seed lines of its example."""
from __future__ import annotations

import pytest

from nodecompute.api.keys import servers_key
from tests.api.helpers import assert_fault
from tests.api.k5_examples import assert_like
from tests.api.test_k5_compute import _body, _k5, k5_world  # noqa: F401 (fixture)
from tests.api.test_k5_seed_examples import RSA_KEY
from tests.api.test_metadata_wiring import cloud  # noqa: F401 (fixture)

HREF = "http://openstack.example.com/v2/openstack/servers/f8f4f3ce-f6e0-4e05-8f79-bf984fdfce45"
MADE = {"adminPass": "yjzytFhb7XHc", "id": "f8f4f3ce-f6e0-4e05-8f79-bf984fdfce45",
        "links": [{"href": HREF, "rel": "self"}, {"href": HREF, "rel": "bookmark"}]}
# Nova's create answer also has these; L990 shows both, L3017 the first
NOVA = {"OS-DCF:diskConfig", "security_groups"}
APACHE = {"My Server Name": "Apache1"}
CASES = [  # (request line, response line, the example's server fields, its top-level extras, the answer's example)
    (2318, 2336, {"key_name": "keypair1"}, "group", {"server": MADE}),
    (2423, 2497, {"key_name": "keypair1", "metadata": APACHE, "return_reservation_id": True}, None,
     {"reservation_id": "r-3fhpjulh"}),
    (2423, 2476, {"metadata": APACHE, "min_count": 1}, None, {"server": MADE}),
    (2423, 2476, {"metadata": APACHE, "max_count": 1}, None, {"server": MADE}),
    (2999, 3017, {"key_name": "keypair1", "metadata": APACHE}, None,
     {"server": {**MADE, "OS-DCF:diskConfig": "AUTO"}}),
    (3597, 3615, {"key_name": "keypair1", "metadata": APACHE}, None, {"server": MADE}),
    (3880, 3898, {"key_name": "keypair1", "metadata": APACHE}, None, {"server": MADE}),
    (4162, 4214, {"key_name": "keypair1", "metadata": APACHE}, "volume", {"server": MADE}),
]


@pytest.mark.parametrize(("request_line", "response_line", "fields", "extra", "example"), CASES,
                         ids=[f"l{c[0]}_l{c[1]}" for c in CASES])
async def test_create_variants(k5_world, request_line, response_line, fields, extra, example):  # noqa: F811
    api, admin, image_id, network_id, _ = k5_world
    made = await _k5(api, "POST", "/os-keypairs", admin,
                     json={"keypair": {"name": "keypair1", "public_key": RSA_KEY}})
    assert made.status == 200, await made.text()
    shown = {"server": {"name": "new-server-test", "imageRef": image_id, "flavorRef": "42", **fields}}
    mapping = _body(image_id, network_id)["server"]["block_device_mapping_v2"]
    if extra == "group":
        resp = await _k5(api, "POST", "/os-server-groups", admin, json={"server_group": {
            "name": "g", "policies": ["anti-affinity"]}})
        shown["os:scheduler_hints"] = {"group": (await resp.json())["server_group"]["id"]}
    if extra == "volume":  # L4162's first mapping (the boot volume from the image; its other two need volumes)
        mapping = [{"device_name": "/dev/vda", "source_type": "image", "destination_type": "volume",
                    "volume_size": "1", "boot_index": "0", "uuid": image_id, "delete_on_termination": "True"}]
        shown["server"]["block_device_mapping_v2"] = mapping
    await assert_fault(await _k5(api, "POST", "/servers", admin, json=shown), 400, "badRequest")
    body = {**shown, "server": {**shown["server"], "networks": [{"uuid": network_id}],
                                "block_device_mapping_v2": mapping}}
    resp = await _k5(api, "POST", "/servers", admin, json=body)
    assert resp.status == 202, (request_line, await resp.text())
    answer = await resp.json()
    assert_like(answer, example, {"$.server": NOVA - set(example.get("server", {}))})
    await api.client.server.app[servers_key].wait_idle()
    listed = (await (await _k5(api, "GET", "/servers/detail", admin)).json())["servers"]
    assert len(listed) == 1
    server = listed[0]
    if "server" in answer:
        assert server["id"] == answer["server"]["id"]
        assert answer["server"]["links"][0]["href"].endswith(f"/k5/v2/servers/{server['id']}")
    assert (server["name"], server["key_name"], server["metadata"]) == (
        "new-server-test", fields.get("key_name"), fields.get("metadata", {}))
    if extra == "group":
        group = (await (await _k5(api, "GET", f"/os-server-groups/{shown['os:scheduler_hints']['group']}",
                                  admin)).json())["server_group"]
        assert group["members"] == [server["id"]]
    if extra == "volume":
        assert [v["id"] for v in server["os-extended-volumes:volumes_attached"]]
