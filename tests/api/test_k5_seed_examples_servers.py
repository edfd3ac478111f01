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
