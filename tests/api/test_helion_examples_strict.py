"""Every JSON example of seed 002 held strictly against the answer of the same request on resources the test makes
(issue 24 Proof: "the keys ... equal the example's plus those the D-cells add, and no others; value types match;
every value naming a resource equals that resource's own"). Each row names the seed line of its request heading
and of the JSON response example; the keys the D-cells add are named per place, with the D-cell (docs/helion.md,
"Seed examples"). GET examples here; the POST/PUT answers in test_helion_examples_strict_writes.py."""
from __future__ import annotations

import asyncio

import copy
from typing import Any

import pytest

from nodecompute.api import xml_helion
from nodecompute.api.keys import identity_key
from tests.api.helion_strict_keys import strict_mismatches
from tests.api.helpers import upload_raw_image
from tests.api.test_servers_api import _insert, api, servers_api  # noqa: F401 (fixtures)
from tests.unit.xml_helion_responses import RESPONSES, SEED
from tests.unit.xml_seed import load_examples, read_json_example

JSON_EXAMPLES = load_examples(SEED)

# D25 (helion ✔ = the openstack server view, behaviour.md 9.6): the keys Helion's examples do not print
D25 = frozenset({"OS-DCF:diskConfig", "OS-SRV-USG:launched_at", "OS-SRV-USG:terminated_at",
                 "os-extended-volumes:volumes_attached", "OS-EXT-SRV-ATTR:host",
                 "OS-EXT-SRV-ATTR:hypervisor_hostname", "OS-EXT-SRV-ATTR:instance_name"})
# D51 (helion ✔ = the openstack flavor detail "with swap, rxtx, ephemeral, disabled, is_public")
D51 = frozenset({"OS-FLV-DISABLED:disabled", "os-flavor-access:is_public"})
# D52 (helion: the openstack image view, size an integer): Nova's alternate link carries its `type`
D52 = frozenset({"type"})


def example(json_line: int) -> Any:
    """The JSON example at `json_line`, as repaired by the XML codec's cases where it needs repairs to be read,
    and by DECIDED where the seed contradicts itself."""
    repaired = [case.doc for case in RESPONSES if case.json_line == json_line]
    doc = copy.deepcopy(repaired[0] if repaired else read_json_example(JSON_EXAMPLES["json", json_line].text))
    return DECIDED.get(json_line, lambda doc: doc)(doc)


def _flavor_show(doc: dict) -> dict:
    """The flavor show examples of the extensions (5364, 8131, 8261) print the list's wrapper around one flavor."""
    (flavor,) = doc["flavors"]
    return {"flavor": flavor}


def _swap_as_core(doc: dict) -> dict:
    """8187 prints `swap: 5` for flavor 100, which the core example (4001) prints as `swap: ""`: a flavor without
    swap shows "" (the core example, and Nova's view, D51 ✔); only a flavor with swap shows a number."""
    for flavor in doc["flavors"]:
        flavor["swap"] = ""
    return doc


def _meta_wrapper(doc: dict) -> dict:
    """2452 answers a metadata item PUT with a `metadata` wrapper: D43 and section 6 decide `meta` (the 2378 shape)."""
    return {"meta": doc["metadata"]}


DECIDED = {5364: _flavor_show, 8131: _flavor_show, 8187: _swap_as_core, 2452: _meta_wrapper,
           8261: lambda doc: _flavor_show(_swap_as_core(doc))}


def _keys(json_line: int, *path: str | int) -> frozenset[str]:
    doc = example(json_line)
    for step in path:
        doc = doc[step]
    return frozenset(doc)


# An extension's section (4.4.2 on) prints the extension's keys on a view cut short: the rest of the view is the
# core example's (servers 1710/1843, flavors 4001, images 3098/3220), Helion's extensions being all on at once.
CORE_SERVER = _keys(1843, "server") | D25
CORE_FLAVOR = _keys(4001, "flavors", 0) | D51
CORE_IMAGE = _keys(3220, "image")
SERVERS = {"/servers[]": D25}
SERVER = {"/server": D25}
FLAVORS = {"/flavors[]": D51}
FLAVOR = {"/flavor": D51}
IMAGES = {"/images[]/links[]": D52}
IMAGE = {"/image/links[]": D52}
EXT_SERVERS = {"/servers[]": CORE_SERVER}
EXT_SERVER = {"/server": CORE_SERVER}
EXT_FLAVORS = {"/flavors[]": CORE_FLAVOR}
EXT_FLAVOR = {"/flavor": CORE_FLAVOR}
EXT_IMAGES = {"/images[]": CORE_IMAGE, "/images[]/links[]": D52}
EXT_IMAGE = {"/image": CORE_IMAGE, "/image/links[]": D52}

# (request heading line, response JSON line, path, keys the D-cells add by place)
GETS = [
    (940, 965, "/extensions", {}), (1283, 1306, "/extensions/os-keypairs", {}), (1341, 1368, "/limits", {}),
    (6872, 6893, "/limits", {}),
    (1439, 1464, "/servers", {}), (1680, 1710, "/servers/detail", SERVERS),
    (4341, 4361, "/servers/detail", EXT_SERVERS),
    (4774, 4795, "/servers/detail", EXT_SERVERS), (5018, 5039, "/servers/detail", EXT_SERVERS),
    (6061, 6081, "/servers/detail", EXT_SERVERS), (8656, 8677, "/servers/detail", EXT_SERVERS),
    (8913, 8934, "/servers/detail", EXT_SERVERS),
    (1812, 1843, "/servers/{server}", SERVER), (4548, 4569, "/servers/{server}", EXT_SERVER),
    (4896, 4919, "/servers/{server}", EXT_SERVER), (5144, 5166, "/servers/{server}", EXT_SERVER),
    (6181, 6202, "/servers/{server}", EXT_SERVER), (8785, 8808, "/servers/{server}", EXT_SERVER),
    (9044, 9067, "/servers/{server}", EXT_SERVER),
    (2121, 2153, "/servers/{server}/metadata", {}), (2348, 2378, "/servers/{server}/metadata/role", {}),
    (2790, 2819, "/servers/{server}/ips", {}),
    (2921, 2964, "/images", IMAGES), (3055, 3098, "/images/detail", IMAGES), (8296, 8316, "/images/detail", EXT_IMAGES),
    (3191, 3220, "/images/{image}", IMAGE), (8377, 8399, "/images/{image}", EXT_IMAGE),
    (3348, 3377, "/images/{image}/metadata", {}), (3704, 3734, "/images/{image}/metadata/os", {}),
    (3871, 3903, "/flavors", {}), (3969, 4001, "/flavors/detail", FLAVORS),
    (5269, 5290, "/flavors/detail", EXT_FLAVORS),
    (8036, 8057, "/flavors/detail", EXT_FLAVORS), (8166, 8187, "/flavors/detail", EXT_FLAVORS),
    (4078, 4102, "/flavors/{flavor}", FLAVOR), (5343, 5364, "/flavors/{flavor}", EXT_FLAVOR),
    (8110, 8131, "/flavors/{flavor}", EXT_FLAVOR), (8240, 8261, "/flavors/{flavor}", EXT_FLAVOR),
    (4147, 4167, "/os-availability-zone", {}),
    (5700, 5721, "/os-keypairs", {}), (5908, 5931, "/os-keypairs/{keypair}", {}),
    (6388, 6409, "/os-security-groups", {}), (6636, 6659, "/os-security-groups/{group}", {}),
    (6948, 6969, "/os-volumes", {}), (7050, 7071, "/os-volumes/detail", {}), (7250, 7271, "/os-volumes/{volume}", {}),
    (7414, 7435, "/os-snapshots", {}), (7483, 7504, "/os-snapshots/detail", {}),
    (7552, 7573, "/os-snapshots/{snapshot}", {}),
    (8432, 8453, "/servers/{server}/os-instance-actions", {}),
]


@pytest.fixture
async def world(api, admin_token):  # noqa: F811
    """One of each resource the GET examples name, made through /helion where the dialect can make it."""
    app = api.client.server.app
    ctx = app[identity_key].validate(admin_token)
    headers = {"X-Auth-Token": admin_token}
    base = f"/helion/v2/{ctx.project_id}"

    async def post(path: str, body: dict) -> dict:
        resp = await api.client.post(base + path, headers=headers, json=body)
        assert resp.status in (200, 202), (path, await resp.text())
        return await resp.json()

    image = await upload_raw_image(app, admin_token)
    resp = await api.client.put(f"{base}/images/{image}/metadata/os", headers=headers, json={"meta": {"os": "linux"}})
    assert resp.status == 200, await resp.text()
    kp = (await post("/os-keypairs", {"keypair": {"name": "kp"}}))["keypair"]
    server = await _insert(api, ctx.project_id, metadata={"role": "web"}, image_id=image, key_name="kp",
                           key_data=kp["public_key"])
    volume = (await post("/os-volumes", {"volume": {"size": 1}}))["volume"]["id"]
    for _ in range(600):  # the volume becomes available in the background (qemu-img in a thread: wait, not spin)
        shown = await api.client.get(f"{base}/os-volumes/{volume}", headers=headers)
        if (await shown.json())["volume"]["status"] == "available":
            break
        await asyncio.sleep(0.05)
    else:
        pytest.fail("the volume did not become available within 30 s")
    snapshot = (await post("/os-snapshots", {"snapshot": {"volume_id": volume, "force": True, "display_name": "snap",
                                                "display_description": "daily"}}))["snapshot"]["id"]
    group = (await post("/os-security-groups", {"security_group": {"name": "web", "description": "w"}}))
    names = {"server": server.uuid, "image": image, "flavor": "42", "keypair": "kp", "volume": volume,
             "snapshot": snapshot, "group": group["security_group"]["id"]}
    return api, headers, base, names


async def test_every_get_example_has_exactly_its_keys_and_types(world):
    """One world for every example (a parametrized test would build the app once per row)."""
    api, headers, base, names = world
    found = {}
    for line, json_line, path, extra in GETS:
        resp = await api.client.get(base + path.format(**names), headers=headers)
        assert resp.status == 200, (line, await resp.text())
        theirs = example(json_line)
        assert strict_mismatches(theirs, {}), line  # the example has keys to hold the answer to
        answer = await resp.json()
        found[line] = strict_mismatches(theirs, answer, extra) + wrong_names(path, answer, names)
        as_xml = await api.client.get(base + path.format(**names) + ".xml", headers=headers)
        assert as_xml.status == 200 and as_xml.content_type == "application/xml", (line, await as_xml.text())
        if xml_helion.read_back(await as_xml.read(), None) != answer:  # the documented read-back rules (D4-D6)
            found[line].append("the XML answer does not read back to the JSON one")
    version = await api.client.get("/helion/v2", headers=headers)  # 858: outside the project
    assert version.status == 200
    found[858] = strict_mismatches(example(879), await version.json())
    version_xml = await api.client.get("/helion/v2.xml", headers=headers)
    assert version_xml.status == 200 and xml_helion.read_back(await version_xml.read(), None) == await version.json()
    assert {line: diff for line, diff in found.items() if diff} == {}


def wrong_names(path: str, answer: dict, names: dict) -> list[str]:
    """The values naming the test's resources that are not those resources' own."""
    (root,) = answer.values() if len(answer) == 1 else (answer,)
    expect = {}
    if path.endswith("/{server}"):
        expect = {"id": names["server"], "key_name": "kp", "image": {"id": names["image"], "links": ANY_LINKS}}
    elif path.endswith("/{image}"):
        expect = {"id": names["image"]}
    elif path.endswith(("/{volume}", "/{snapshot}", "/{group}")):
        expect = {"id": names[path.rsplit("{", 1)[1].rstrip("}")]}
    elif path.endswith("/{keypair}"):
        expect = {"name": "kp"}
    elif path.endswith("/os-snapshots"):
        expect = {"volume_id": names["volume"]} if isinstance(root, dict) else {}
    return [f"{key}: {root.get(key)!r}, not {value!r}" for key, value in expect.items() if root.get(key) != value]


class _AnyLinks:
    def __eq__(self, other: object) -> bool:
        return isinstance(other, list) and bool(other)


ANY_LINKS = _AnyLinks()


def test_the_strict_comparison_finds_each_kind_of_difference():
    """The helper itself: an extra key, a missing key, a type, and a D-cell's key allowed at its place only."""
    theirs = {"server": {"id": "x", "links": [{"href": "h", "rel": "self"}], "metadata": {"k": "v"}}}
    ours = {"server": {"id": 1, "links": [{"href": "h", "rel": "self", "type": "t"}], "metadata": {"a": 2},
                       "OS-DCF:diskConfig": "MANUAL"}}
    assert sorted(strict_mismatches(theirs, ours)) == [
        "/server/OS-DCF:diskConfig: not in the example", "/server/id: example str, answer number",
        "/server/links[0]/type: not in the example", "/server/metadata/*: example str, answer number"]
    allowed = {"/server": frozenset({"OS-DCF:diskConfig"}), "/server/links[]": frozenset({"type"})}
    assert sorted(strict_mismatches(theirs, ours, allowed)) == ["/server/id: example str, answer number",
                                                                 "/server/metadata/*: example str, answer number"]
    assert strict_mismatches(theirs, {"server": {"id": "y"}}) == ["/server/links: missing", "/server/metadata: missing"]
    shown = {"server": {"id": "a", "key_name": "kp", "image": {"id": "i", "links": [1]}}}
    assert wrong_names("/servers/{server}", shown, {"server": "b", "image": "i"}) == ["id: 'a', not 'b'"]
