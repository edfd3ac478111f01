"""The K5 seed's documented server show, detail and list examples (seeds/003 sections 1.1, 1.2.6, 1.3), through
/k5/v2 against servers the test makes on libvirt's test:///. The seed shows one extension per example; a server
shows all of them at once, so the key set checked (strictly, tests/api/k5_examples.py) is the union of those
examples plus the keys K5's examples never show and Nova v2.1 does (kept as openstack: dialects.md section 1
rule 2, no k5 cell removes them). Each test names the seed lines of its examples."""
from __future__ import annotations

from nodecompute.api import k5_compute
from nodecompute.api.keys import servers_key
from tests.api.k5_examples import assert_like
from tests.api.test_k5_compute import _body, _k5, k5_world  # noqa: F401 (fixture)
from tests.api.test_metadata_wiring import cloud  # noqa: F401 (fixture)
from tests.api.test_servers_networks import hotplug  # noqa: F401 (fixture: test:/// cannot hot-plug a NIC)

LINK = {"href": "http://openstack.example.com/openstack/flavors/1", "rel": "bookmark"}
# L1043 (and L427 with the zone), with the keys L2526, L2775, L3064, L3655, L3938/L2865 add
SERVER = {"accessIPv4": "", "accessIPv6": "",
          "addresses": {"private": [{"addr": "192.168.0.3", "version": 4, "OS-EXT-IPS:type": "fixed",
                                     "OS-EXT-IPS-MAC:mac_addr": "aa:bb:cc:dd:ee:ff"}]},
          "created": "2012-08-20T21:11:09Z", "flavor": {"id": "1", "links": [LINK]},
          "hostId": "65201c14a29663e06d0748e561207d998b343e1d164bfa0aafa9c45d",
          "id": "893c7791-f1df-4c3d-8383-3caae9656c62",
          "image": {"id": "70a599e0-31e7-49b7-b260-868f441e862b", "links": [LINK]},
          "links": [{**LINK, "rel": "self"}, LINK], "metadata": {"My Server Name": "Apache1"},
          "name": "new-server-test", "progress": 0, "status": "ACTIVE", "tenant_id": "openstack",
          "updated": "2012-08-20T21:11:09Z", "user_id": "fake",
          "OS-EXT-AZ:availability_zone": "nova",  # L427 (D63)
          "OS-EXT-STS:power_state": 1, "OS-EXT-STS:task_state": None, "OS-EXT-STS:vm_state": "active",  # L2526
          "OS-EXT-SRV-ATTR:host": "compute", "OS-EXT-SRV-ATTR:hypervisor_hostname": "fake-mini",
          "OS-EXT-SRV-ATTR:instance_name": "instance-00000001",  # L2775
          "OS-DCF:diskConfig": "AUTO",  # L3064
          "config_drive": ""}  # L3655
AS_OPENSTACK = {"key_name", "security_groups", "OS-SRV-USG:launched_at", "OS-SRV-USG:terminated_at",
                "os-extended-volumes:volumes_attached"}
HINTS = {"OS-SCH-HNT:scheduler_hints": {"fcx.dedicated": "True"}}  # L5125, L5204: dedicated servers only (D25)
SUMMARY = {"id": "616fb98f-46ca-475e-917e-2563e5a8cd19", "links": [{**LINK, "rel": "self"}, LINK],
           "name": "new-server-test"}  # L813, L2708, L4265


async def _servers(k5_world):
    api, admin, image_id, network_id, _ = k5_world
    made = []
    for hints in ({}, {"os:scheduler_hints": {k5_compute.DEDICATED: "true"}}):
        body = _body(image_id, network_id, name="new-server-test", metadata={"My Server Name": "Apache1"})
        resp = await _k5(api, "POST", "/servers", admin, json={**body, **hints})
        assert resp.status == 202, await resp.text()
        made.append((await resp.json())["server"]["id"])
    await api.client.server.app[servers_key].wait_idle()
    return made


async def test_show_l427_l1043_l2526_l2775_l3064_l3655_l3938_l5125(k5_world):  # noqa: F811
    api, admin, image_id, *_ = k5_world
    plain, dedicated = await _servers(k5_world)
    for server_id, example in ((plain, SERVER), (dedicated, {**SERVER, **HINTS})):
        shown = (await (await _k5(api, "GET", f"/servers/{server_id}", admin)).json())
        assert_like(shown, {"server": example}, {"$.server": AS_OPENSTACK})
        one = shown["server"]
        assert (one["id"], one["name"], one["metadata"], one["image"]["id"], one["flavor"]["id"]) == (
            server_id, "new-server-test", {"My Server Name": "Apache1"}, image_id, "42")
        assert one["links"][0]["href"].endswith(f"/k5/v2/servers/{server_id}")
    assert one["OS-SCH-HNT:scheduler_hints"] == {"fcx.dedicated": "True"}


async def test_detail_l508_l2613_l2865_l3152_l3740_l4025_l5204(k5_world):  # noqa: F811
    api, admin, *_ = k5_world
    plain, dedicated = await _servers(k5_world)
    listed = (await (await _k5(api, "GET", "/servers/detail", admin)).json())
    assert set(listed) == {"servers"}
    by_id = {server["id"]: server for server in listed["servers"]}
    assert set(by_id) == {plain, dedicated}
    assert_like({"servers": [by_id[plain]]}, {"servers": [SERVER]}, {"$.servers[]": AS_OPENSTACK})
    assert_like({"servers": [by_id[dedicated]]}, {"servers": [{**SERVER, **HINTS}]}, {"$.servers[]": AS_OPENSTACK})
    for server_id, server in by_id.items():
        assert server == (await (await _k5(api, "GET", f"/servers/{server_id}", admin)).json())["server"]


async def test_list_l813_l2708_l4265(k5_world):  # noqa: F811
    api, admin, *_ = k5_world
    made = await _servers(k5_world)
    listed = (await (await _k5(api, "GET", "/servers", admin)).json())
    assert_like(listed, {"servers": [SUMMARY]})
    assert sorted(s["id"] for s in listed["servers"]) == sorted(made)
    assert {s["name"] for s in listed["servers"]} == {"new-server-test"}


# L1158/L1251 (update), L1465 (rebuild): L1043's keys; Nova's view adds `OS-DCF:diskConfig` (L3064) and the address
# extensions (L2865, L3938). L1158/L1251 also show `name` and `self` links under image and flavor, which L1043 and
# L1465 do not: the seed contradicts itself and Nova's view is kept (dialects.md section 1 rule 4).
BASE = {key: SERVER[key] for key in ("accessIPv4", "accessIPv6", "addresses", "created", "flavor", "hostId", "id",
                                     "image", "links", "metadata", "name", "progress", "status", "tenant_id",
                                     "updated", "user_id", "OS-DCF:diskConfig")}


async def test_update_l1131_l1158_l1143_l1251(k5_world):  # noqa: F811
    api, admin, *_ = k5_world
    server_id, _ = await _servers(k5_world)
    resp = await _k5(api, "PUT", f"/servers/{server_id}", admin, json={"server": {"name": "new-server-test"}})
    assert resp.status == 200, await resp.text()  # L1131
    renamed = await resp.json()
    assert_like(renamed, {"server": BASE})  # L1158
    assert (renamed["server"]["id"], renamed["server"]["name"]) == (server_id, "new-server-test")
    resp = await _k5(api, "PUT", f"/servers/{server_id}", admin, json={"server": {  # L1143
        "accessIPv4": "67.23.10.132", "accessIPv6": "::babe:67.23.10.132"}})
    assert resp.status == 200, await resp.text()
    readdressed = await resp.json()
    assert_like(readdressed, {"server": BASE})  # L1251
    # the v6 address comes back in its canonical form (as Nova's netaddr writes it)
    assert (readdressed["server"]["id"], readdressed["server"]["accessIPv4"], readdressed["server"]["accessIPv6"]) == (
        server_id, "67.23.10.132", "::babe:4317:a84")


async def test_rebuild_l1442_l1465(k5_world):  # noqa: F811
    api, admin, image_id, *_ = k5_world
    server_id, _ = await _servers(k5_world)
    resp = await _k5(api, "POST", f"/servers/{server_id}/action", admin, json={"rebuild": {  # L1442 (imageRef: D38)
        "name": "foobar", "adminPass": "seekr3t", "accessIPv4": "1.2.3.4", "accessIPv6": "fe80::100",
        "metadata": {"meta var": "meta val"}}})
    assert resp.status == 202, await resp.text()
    rebuilt = await resp.json()
    # L1465: its addresses as shown there (Nova's rebuild view leaves out the address extensions)
    assert_like(rebuilt, {"server": {**BASE, "adminPass": "seekr3t",
                                     "addresses": {"private": [{"addr": "192.168.0.3", "version": 4}]}}})
    one = rebuilt["server"]
    assert (one["id"], one["name"], one["adminPass"], one["metadata"], one["image"]["id"]) == (
        server_id, "foobar", "seekr3t", {"meta var": "meta val"}, image_id)
    assert (one["accessIPv4"], one["accessIPv6"]) == ("1.2.3.4", "fe80::100")
    await api.client.server.app[servers_key].wait_idle()


# L4703 (create), L4741 (list items), L4787 (show): the same keys
INTERFACE = {"fixed_ips": [{"ip_address": "192.168.1.1", "subnet_id": "f8a6e8f8-c2ec-497c-9f23-da9616de54ef"}],
             "mac_addr": "fa:16:3e:4c:2c:30", "net_id": "3cb9bc59-5699-4588-a4b1-b87f96708bc6",
             "port_id": "ce531f90-199f-48c0-816c-13e38010b442", "port_state": "ACTIVE"}


async def test_interfaces_l4691_l4703_l4741_l4787(k5_world, cloud, hotplug):  # noqa: F811
    api, admin, image_id, network_id, _ = k5_world
    net = cloud[2]
    server_id, _ = await _servers(k5_world)
    port = await net.port(network_id)
    resp = await _k5(api, "POST", f"/servers/{server_id}/os-interface", admin,
                     json={"interfaceAttachment": {"port_id": port["id"]}})  # L4691
    assert resp.status == 200, await resp.text()
    attached = await resp.json()
    assert_like(attached, {"interfaceAttachment": INTERFACE})  # L4703
    one = attached["interfaceAttachment"]
    assert (one["port_id"], one["net_id"], one["mac_addr"]) == (port["id"], network_id, port["mac_address"])
    assert one["fixed_ips"] == [{"ip_address": ip["ip_address"], "subnet_id": ip["subnet_id"]}
                                for ip in port["fixed_ips"]]
    await api.client.server.app[servers_key].wait_idle()
    listed = await (await _k5(api, "GET", f"/servers/{server_id}/os-interface", admin)).json()  # L4741
    assert_like(listed, {"interfaceAttachments": [INTERFACE]})
    assert port["id"] in {i["port_id"] for i in listed["interfaceAttachments"]}
    shown = await (await _k5(api, "GET", f"/servers/{server_id}/os-interface/{port['id']}", admin)).json()  # L4787
    assert_like(shown, {"interfaceAttachment": INTERFACE})
    assert shown["interfaceAttachment"] in listed["interfaceAttachments"]
    assert [call[0] for call in hotplug] == ["attach"]
