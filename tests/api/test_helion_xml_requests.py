"""Every XML request example of seed 002 sent to /helion as printed (after the repairs a sample needs to be XML at
all, tests/unit/xml_helion_requests_cases.py), its sample values replaced by the test's own resources, with the
answer asked in XML: the documented status, the answer read back by the documented rules (xml_helion), and the
change the request asked for made (issue 24 Proof: "in XML where the document shows XML"). One test per example,
named by the example's first line in the seed. The floating-IP actions (lines 5429, 5476, 8636) are in
test_helion_xml_floating_ips.py (they need a routed network), the VNC console (line 8006) in
test_helion_consoles.py (it needs the console listener)."""
from __future__ import annotations

import base64

from nodecompute.api import xml_helion
from nodecompute.api.keys import block_storage_key, identity_key, servers_key
from nodecompute.api.xml_common import EXTENSION_NS
import pytest

from tests.api.helpers import assert_fault, upload_raw_image
from tests.api.test_server_actions import _row, scripted  # noqa: F401 (fixture)
from tests.api.test_servers_api import api, servers_api  # noqa: F401 (fixtures)
from tests.unit.xml_helion_requests_cases import REQUESTS
from tests.unit.xml_helion_responses import SEED
from tests.unit.xml_seed import example_text, load_examples

EXAMPLES = load_examples(SEED)
CASES = {case.line: case for case in REQUESTS}
XML_BOTH = {"Content-Type": "application/xml", "Accept": "application/xml"}


def seed_xml(line: int, *subs: tuple[str, str]) -> bytes:
    """The seed's XML example at `line`, repaired, each sample value replaced by the test's own."""
    text = example_text(EXAMPLES["xml", line], CASES[line], EXTENSION_NS)
    for old, new in subs:
        assert old in text, (line, old)
        text = text.replace(old, new)
    return text.encode()


@pytest.fixture
async def plain(api, admin_token):  # noqa: F811
    """The scripted fixture's shape without its server (cheaper), for the examples that need none."""
    return api, admin_token, None, None


class Helion:
    """The admin's /helion/v2/<project> calls on the scripted world (one ACTIVE server)."""

    def __init__(self, scripted) -> None:
        self.api, self.token, self.hv, self.server_id = scripted
        self.app = self.api.client.server.app
        self.project = self.app[identity_key].validate(self.token).project_id

    def call(self, method: str, path: str, headers: dict | None = None, **kw):
        return self.api.client.request(method, f"/helion/v2/{self.project}{path}",
                                       headers={"X-Auth-Token": self.token, **(headers or {})}, **kw)

    async def xml(self, method: str, path: str, body: bytes, status: int, kind: str | None = None):
        """Send an XML body asking an XML answer; the answer read back (None when empty)."""
        resp = await self.call(method, path, XML_BOTH, data=body)
        assert resp.status == status, (method, path, resp.status, await resp.text())
        raw = await resp.read()
        await self.app[servers_key].wait_idle()
        if not raw:
            return None
        assert resp.content_type == "application/xml", resp.content_type
        return xml_helion.read_back(raw, kind)

    async def json(self, path: str) -> dict:
        resp = await self.call("GET", path)
        assert resp.status == 200, (path, await resp.text())
        return await resp.json()

    async def server(self, server_id: str | None = None) -> dict:
        return (await self.json(f"/servers/{server_id or self.server_id}"))["server"]

    async def image(self) -> str:
        if self.server_id is None:
            return await upload_raw_image(self.app, self.token)
        return (await self.server())["image"]["id"]

    async def network(self) -> str:
        """A new network of the project with a subnet (the scripted world's server has none)."""
        net = await self.api.client.post("/networking/v2.0/networks", headers={"X-Auth-Token": self.token},
                                         json={"network": {"name": "xml-net"}})
        network_id = (await net.json())["network"]["id"]
        subnet = await self.api.client.post("/networking/v2.0/subnets", headers={"X-Auth-Token": self.token},
                                            json={"subnet": {"network_id": network_id, "cidr": "198.18.77.0/24",
                                                             "ip_version": 4}})
        assert subnet.status == 201, await subnet.text()
        return network_id

    async def networked_server(self) -> str:
        """A server with a port (security groups act on ports): the one the actions below act on."""
        body = {"server": {"name": "nic", "imageRef": await self.image(), "flavorRef": "42",
                           "networks": [{"uuid": await self.network()}]}}
        resp = await self.call("POST", "/servers", json=body)
        assert resp.status == 202, await resp.text()
        await self.app[servers_key].wait_idle()
        self.server_id = (await resp.json())["server"]["id"]
        return self.server_id

    async def action(self, line: int, status: int, *subs: tuple[str, str]):
        return await self.xml("POST", f"/servers/{self.server_id}/action", seed_xml(line, *subs), status)


async def _create_in_full(scripted, line: int) -> None:
    """Lines 1586 and 4273: the create with every part (key, zone, group, network, metadata)."""
    helion = Helion(scripted)
    assert (await helion.call("POST", "/os-keypairs", json={"keypair": {"name": "kp"}})).status == 202
    body = seed_xml(line, ("{flavor_id}", "42"), ("{image_id}", await helion.image()), ("{keypair_name}", "kp"),
                    ("{name}", f"xml-{line}"), ("{az}", "nova"), ("{security_group_name}", "default"),
                    ("{network_uuid}", await helion.network()))
    created = (await helion.xml("POST", "/servers", body, 202, "server_created"))["server"]
    assert set(created) == {"id", "links", "adminPass", "security_groups"}
    assert created["security_groups"] == [{"name": "default"}]
    shown = await helion.server(created["id"])
    assert (shown["name"], shown["key_name"], shown["OS-EXT-AZ:availability_zone"]) == (f"xml-{line}", "kp", "nova")
    assert shown["metadata"] == {"key-1": "value-1", "key-2": "value-2"}
    assert shown["config_drive"] == "true"  # config_drive="false", but the test configuration forces a drive


async def test_1586_create_server(scripted):  # noqa: F811
    await _create_in_full(scripted, 1586)


async def test_4273_create_with_availability_zone(scripted):  # noqa: F811
    await _create_in_full(scripted, 4273)


async def test_1977_update_server_name(scripted):  # noqa: F811
    helion = Helion(scripted)
    body = seed_xml(1977, ("{name}", "renamed"))
    answer = (await helion.xml("PUT", f"/servers/{helion.server_id}", body, 200))["server"]
    assert answer["name"] == "renamed" and answer["id"] == helion.server_id
    shown = await helion.server()
    assert {key: shown[key] for key in answer} == answer


async def test_2218_update_server_metadata(scripted):  # noqa: F811
    helion = Helion(scripted)
    body = seed_xml(2218, ("{key_1}", "k1"), ("{value_1}", "v1"), ("{key_2}", "k2"), ("{value_2}", "v2"))
    answer = await helion.xml("POST", f"/servers/{helion.server_id}/metadata", body, 200)
    assert answer == {"metadata": {"k1": "v1", "k2": "v2"}}
    assert await helion.json(f"/servers/{helion.server_id}/metadata") == answer


async def test_2295_replace_server_metadata(scripted):  # noqa: F811
    helion = Helion(scripted)
    answer = await helion.xml("PUT", f"/servers/{helion.server_id}/metadata", seed_xml(2295), 200)
    assert answer == {"metadata": {"key-1": "value-1", "key-2": "value-2"}}
    assert await helion.json(f"/servers/{helion.server_id}/metadata") == answer


async def test_2434_metadata_item_with_two_keys_is_refused(scripted):  # noqa: F811
    """Section 6: an item PUT takes `meta` (or a `metadata` wrapper) with exactly the URL's key; the sample's two
    keys are a 400 and nothing is written."""
    helion = Helion(scripted)
    resp = await helion.call("PUT", f"/servers/{helion.server_id}/metadata/key-1", {"Content-Type": "application/xml"},
                             data=seed_xml(2434))
    await assert_fault(resp, 400, "badRequest")
    assert (await helion.server())["metadata"] == {}
    one = seed_xml(2434, ('    <meta key="key-2">value-2</meta>\n', ""))
    answer = await helion.xml("PUT", f"/servers/{helion.server_id}/metadata/key-1", one, 200)
    assert answer == {"meta": {"key-1": "value-1"}} and (await helion.server())["metadata"] == {"key-1": "value-1"}


async def test_2562_reboot(scripted):  # noqa: F811
    helion = Helion(scripted)
    calls_before = len(helion.hv.calls)
    assert await helion.action(2562, 202) is None
    assert "destroy" in helion.hv.calls[calls_before:] and "shutdown" not in helion.hv.calls[calls_before:]
    assert (await helion.server())["status"] == "ACTIVE"


async def test_2621_rebuild(scripted):  # noqa: F811
    helion = Helion(scripted)
    image = await helion.image()
    answer = (await helion.action(2621, 202, ("{image_id}", image), ("{name}", "rebuilt")))["server"]
    assert (answer["name"], answer["image"]["id"], answer["metadata"]) == ("rebuilt", image, {"key-1": "value-1"})
    assert answer["adminPass"]
    shown = await helion.server()
    assert (shown["name"], shown["metadata"], shown["status"]) == ("rebuilt", {"key-1": "value-1"}, "ACTIVE")


async def test_2762_create_image(scripted):  # noqa: F811
    helion = Helion(scripted)
    resp = await helion.call("POST", f"/servers/{helion.server_id}/action", XML_BOTH,
                             data=seed_xml(2762, ("{name}", "xml-snap")))
    assert resp.status == 202 and await resp.read() == b""
    image_id = resp.headers["Location"].rsplit("/", 1)[1]
    await helion.app[servers_key].wait_idle()
    assert resp.headers["Location"].endswith(f"/image/images/{image_id}")
    # (the scripted hypervisor has no disk to copy: the image job itself is test_server_images')
    actions = (await helion.json(f"/servers/{helion.server_id}/os-instance-actions"))["instanceActions"]
    assert actions[0]["action"] == "createImage"


async def test_3470_update_image_metadata(plain):
    helion = Helion(plain)
    image = await helion.image()
    answer = await helion.xml("POST", f"/images/{image}/metadata", seed_xml(3470), 200)
    assert {"key-1": "value-1", "key-2": "value-2"}.items() <= answer["metadata"].items()
    assert await helion.json(f"/images/{image}/metadata") == answer


async def test_3605_replace_image_metadata(plain):
    helion = Helion(plain)
    image = await helion.image()
    answer = await helion.xml("PUT", f"/images/{image}/metadata", seed_xml(3605), 200)
    assert answer == {"metadata": {"key-1": "value-1", "key-2": "value-2"}}
    assert await helion.json(f"/images/{image}/metadata") == answer


async def test_3794_image_metadata_item(plain):
    helion = Helion(plain)
    image = await helion.image()
    answer = await helion.xml("PUT", f"/images/{image}/metadata/key-1", seed_xml(3794), 200)
    assert answer == {"meta": {"key-1": "value-1"}}
    assert (await helion.json(f"/images/{image}/metadata/key-1")) == answer


async def test_4482_create_with_config_drive(scripted):  # noqa: F811
    helion = Helion(scripted)
    body = seed_xml(4482, ("8dbf51b8-8fcd-4218-823c-62b4b79acd0b", await helion.image()), ('"101"', '"42"'))
    created = (await helion.xml("POST", "/servers", body, 202, "server_created"))["server"]
    shown = await helion.server(created["id"])
    assert (shown["name"], shown["config_drive"], shown["metadata"]) == ("server-1", "true",
                                                                        {"My Server Name": "Apache1"})


async def test_4698_console_output(scripted):  # noqa: F811
    helion = Helion(scripted)
    answer = await helion.action(4698, 200)
    assert set(answer) == {"output"} and isinstance(answer["output"], str)


async def test_5848_create_keypair(plain):
    helion = Helion(plain)
    answer = (await helion.xml("POST", "/os-keypairs", seed_xml(5848), 202))["keypair"]
    assert answer["name"] == "keypair-2" and answer["private_key"].startswith("-----BEGIN")
    shown = (await helion.json("/os-keypairs/keypair-2"))["keypair"]
    assert (shown["public_key"], shown["fingerprint"]) == (answer["public_key"], answer["fingerprint"])


async def test_6013_create_with_hints(scripted):  # noqa: F811
    helion = Helion(scripted)
    body = seed_xml(6013, ("70a599e0-31e7-49b7-b260-868f441e862b", await helion.image()), ("'103'", "'42'"),
                    ("eb999657-dd6b-464e-8713-95c532ac3b18", helion.server_id))
    created = (await helion.xml("POST", "/servers", body, 202, "server_created"))["server"]
    assert (await helion.server(created["id"]))["name"] == "new-server-test"


async def _group(helion: Helion, name: str = "security-group-2") -> dict:
    resp = await helion.call("POST", "/os-security-groups", json={"security_group": {"name": name,
                                                                                     "description": "two"}})
    assert resp.status == 202, await resp.text()
    return (await resp.json())["security_group"]


async def test_6330_add_security_group(scripted):  # noqa: F811
    helion = Helion(scripted)
    await helion.networked_server()
    await _group(helion)
    assert await helion.action(6330, 202) is None
    groups = {g["name"] for g in (await helion.server())["security_groups"]}
    assert groups == {"default", "security-group-2"}


async def test_6374_remove_security_group(scripted):  # noqa: F811
    helion = Helion(scripted)
    await helion.networked_server()
    await _group(helion)
    resp = await helion.call("POST", f"/servers/{helion.server_id}/action",
                             json={"addSecurityGroup": {"name": "security-group-2"}})
    assert resp.status == 202
    assert await helion.action(6374, 202) is None
    assert [g["name"] for g in (await helion.server())["security_groups"]] == ["default"]


async def test_6599_create_security_group(plain):
    helion = Helion(plain)
    answer = (await helion.xml("POST", "/os-security-groups", seed_xml(6599), 202))["security_group"]
    assert (answer["name"], answer["description"]) == ("security-group-2", "Security group 2")
    assert isinstance(answer["id"], int)
    assert (await helion.json(f"/os-security-groups/{answer['id']}"))["security_group"] == answer


async def test_6791_create_security_group_rule(plain):
    helion = Helion(plain)
    group = await _group(helion)
    body = seed_xml(6791, ("17963", str(group["id"])))
    rule = (await helion.xml("POST", "/os-security-group-rules", body, 202))["security_group_rule"]
    assert (rule["parent_group_id"], rule["from_port"], rule["to_port"], rule["ip_protocol"]) == \
        (group["id"], 80, 8080, "tcp")
    assert isinstance(rule["id"], int) and rule["ip_range"] == {"cidr": "0.0.0.0/0"}
    rules = (await helion.json(f"/os-security-groups/{group['id']}"))["security_group"]["rules"]
    assert [r["id"] for r in rules] == [rule["id"]]


async def _volume(helion: Helion) -> str:
    resp = await helion.call("POST", "/os-volumes", json={"volume": {"size": 1}})
    assert resp.status == 202, await resp.text()
    volume_id = (await resp.json())["volume"]["id"]
    await helion.app[block_storage_key].wait_idle()
    return volume_id


async def test_7194_create_volume(plain):
    helion = Helion(plain)
    source = await _volume(helion)
    resp = await helion.call("POST", "/os-snapshots", json={"snapshot": {"volume_id": source}})
    assert resp.status == 202, await resp.text()
    snapshot = (await resp.json())["snapshot"]["id"]
    await helion.app[block_storage_key].wait_idle()
    volume_type = (await helion.json("/os-volume-types"))["volume_types"][0]
    body = seed_xml(7194, ("289da7f8-6440-407c-9fb4-7db01ec49164", volume_type["id"]), ("az1", "nova"),
                    ("ad39719b-6f56-4eb3-8c7d-b1ae059ce057", snapshot))
    answer = (await helion.xml("POST", "/os-volumes", body, 202))["volume"]
    assert (answer["display_name"], answer["size"], answer["metadata"]) == ("vol-001", 30, {"contents": "junk"})
    assert (answer["snapshot_id"], answer["availability_zone"]) == (snapshot, "nova")
    await helion.app[block_storage_key].wait_idle()
    shown = (await helion.json(f"/os-volumes/{answer['id']}"))["volume"]
    assert (shown["displayDescription"], shown["snapshotId"]) == ("Another volume.", snapshot)


async def test_7372_create_snapshot(plain):
    helion = Helion(plain)
    volume = await _volume(helion)
    body = seed_xml(7372, ("521752a6-acf6-4b2d-bc7a-119f9148cd8c", volume))
    answer = (await helion.xml("POST", "/os-snapshots", body, 202))["snapshot"]
    assert (answer["display_name"], answer["display_description"], answer["volume_id"]) == \
        ("snap-001", "Daily backup", volume)
    await helion.app[block_storage_key].wait_idle()
    assert (await helion.json(f"/os-snapshots/{answer['id']}"))["snapshot"]["volume_id"] == volume


async def test_7658_attach_in_xml_is_415(scripted):  # noqa: F811
    """D56: volume attachments are JSON only; nothing is attached."""
    helion = Helion(scripted)
    volume = await _volume(helion)
    body = seed_xml(7658, ("5f800cf0-324f-4234-bc6b-e12d5816e962", volume))
    resp = await helion.call("POST", f"/servers/{helion.server_id}/os-volume_attachments",
                             {"Content-Type": "application/xml"}, data=body)
    await assert_fault(resp, 415, "badMediaType")
    assert (await helion.json(f"/os-volumes/{volume}"))["volume"]["status"] == "available"


async def test_7821_rescue(scripted):  # noqa: F811
    helion = Helion(scripted)
    assert await helion.action(7821, 200) == {"adminPass": "MySecretPass"}
    assert (await helion.server())["status"] == "RESCUE"


async def test_7872_unrescue(scripted):  # noqa: F811
    helion = Helion(scripted)
    await helion.action(7821, 200)
    assert await helion.action(7872, 200) is None
    assert (await helion.server())["status"] == "ACTIVE"


async def test_7920_multiple_create(scripted):  # noqa: F811
    """min_count 5, max_count 10 with one server already made and the quota at 10: the nine that fit,
    `server-group-1` to `server-group-9`."""
    helion = Helion(scripted)
    body = seed_xml(7920, ("8dbf51b8-8fcd-4218-823c-62b4b79acd0b", await helion.image()), ('"101"', '"42"'))
    created = (await helion.xml("POST", "/servers", body, 202, "server_created"))["server"]
    names = sorted(s["name"] for s in (await helion.json("/servers"))["servers"] if s["name"] != "vm")
    assert names == sorted(f"server-group-{n}" for n in range(1, 10))
    assert (await helion.server(created["id"]))["name"] in names


async def test_8561_create_with_user_data(scripted):  # noqa: F811
    helion = Helion(scripted)
    body = seed_xml(8561, ("8dbf51b8-8fcd-4218-823c-62b4b79acd0b", await helion.image()), ('"101"', '"42"'))
    created = (await helion.xml("POST", "/servers", body, 202, "server_created"))["server"]
    stored = _row(helion.api, created["id"]).user_data
    assert stored == base64.b64decode("SUNBZ0lDQWdEUW9pUVNCamJHOTFaQ0JrYjJWeklHNXZkQ0JyYm05M0lIZG9lU0Jw")


async def test_9232_stop_and_9197_start(scripted):  # noqa: F811
    helion = Helion(scripted)
    assert await helion.action(9232, 202) is None
    assert (await helion.server())["status"] == "STOPPED"
    assert await helion.action(9197, 202) is None
    assert (await helion.server())["status"] == "ACTIVE"
