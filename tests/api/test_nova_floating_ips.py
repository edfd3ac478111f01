"""Nova's os-floating-ips (#1401-#1404) and os-floating-ip-pools (#1405) proxies over the networking core: the same
floating IPs the network face shows, Nova's bodies and faults, 2.35 the last version (Nova's bare 404 from 2.36)."""
from __future__ import annotations

import dataclasses

import pytest

from nodecompute.app import create_app
from tests.api.helpers import Api, assert_fault
from tests.api.l3_env import L3, with_external

NOWHERE = "00000000-0000-4000-8000-000000000000"


def at(version: str) -> dict[str, str]:
    return {"X-OpenStack-Nova-API-Version": version}


@pytest.fixture
def cfg(cfg):
    return with_external(cfg)


@pytest.fixture
async def member(make_user) -> str:
    return await make_user("alpha", "member")


@pytest.fixture
def net(api, member) -> L3:
    return L3(api.client, member)


async def _ok(resp, status: int = 200) -> dict:
    assert resp.status == status, (resp.status, await resp.text())
    return await resp.json() if status != 202 else {}


async def test_allocate_show_list_release(api, member, net):
    pools = await _ok(await api.get("/os-floating-ip-pools", member))
    assert pools == {"floating_ip_pools": [{"name": "public"}]}
    made = (await _ok(await api.post("/os-floating-ips", member, json={"pool": "public"})))["floating_ip"]
    assert made == {"fixed_ip": None, "id": made["id"], "instance_id": None, "ip": "203.0.113.10", "pool": "public"}
    neutron = (await net.ok("GET", f"/floatingips/{made['id']}"))["floatingip"]
    assert neutron["floating_ip_address"] == "203.0.113.10"  # one floating IP, seen from both faces
    default = (await _ok(await api.post("/os-floating-ips", member)))["floating_ip"]  # no body: the default pool
    assert (default["ip"], default["pool"]) == ("203.0.113.11", "public")
    null = (await _ok(await api.post("/os-floating-ips", member, data="null",
                                     headers={"Content-Type": "application/json"})))["floating_ip"]
    assert (null["ip"], null["pool"]) == ("203.0.113.12", "public")  # Nova's schema takes a null body too
    await _ok(await api.delete(f"/os-floating-ips/{null['id']}", member), 202)
    assert (await _ok(await api.get(f"/os-floating-ips/{made['id']}", member)))["floating_ip"] == made
    listed = (await _ok(await api.get("/os-floating-ips", member)))["floating_ips"]
    assert sorted(f["ip"] for f in listed) == ["203.0.113.10", "203.0.113.11"]
    await _ok(await api.delete(f"/os-floating-ips/{made['id']}", member), 202)
    await assert_fault(await api.get(f"/os-floating-ips/{made['id']}", member), 404,
                       message=f"Floating IP not found for ID {made['id']}")
    assert [f["ip"] for f in (await _ok(await api.get("/os-floating-ips", member)))["floating_ips"]] == \
        ["203.0.113.11"]


async def test_pool_by_id_and_unknown_pools(api, member, net):
    external = await net.external()
    by_id = (await _ok(await api.post("/os-floating-ips", member, json={"pool": external["id"]})))["floating_ip"]
    assert by_id["pool"] == "public"
    for pool in ("elsewhere", NOWHERE):
        await assert_fault(await api.post("/os-floating-ips", member, json={"pool": pool}), 404,
                           message="Floating IP pool not found.")
    await assert_fault(await api.post("/os-floating-ips", member, json={"pool": 5}), 400)
    assert len((await _ok(await api.get("/os-floating-ips", member)))["floating_ips"]) == 1


async def test_associated_floating_ip_shows_its_port_device(api, member, net):
    network, _, _ = await net.lab("198.18.52.0/24")
    port = await net.port(network["id"], device_id="vm-7", device_owner="compute:nova")
    fip = await net.floatingip(port_id=port["id"])
    shown = (await _ok(await api.get(f"/os-floating-ips/{fip['id']}", member)))["floating_ip"]
    assert (shown["instance_id"], shown["fixed_ip"]) == ("vm-7", port["fixed_ips"][0]["ip_address"])
    await _ok(await api.delete(f"/os-floating-ips/{fip['id']}", member), 202)  # released though associated
    assert (await net.ok("GET", "/floatingips"))["floatingips"] == []


async def test_only_the_callers_project_is_listed(api, member, make_user, admin_token):
    await _ok(await api.post("/os-floating-ips", member))
    other = await make_user("beta", "member")
    assert (await _ok(await api.get("/os-floating-ips", other)))["floating_ips"] == []
    assert (await _ok(await api.get("/os-floating-ips", admin_token)))["floating_ips"] == []
    mine = (await _ok(await api.get("/os-floating-ips", member)))["floating_ips"][0]
    await assert_fault(await api.get(f"/os-floating-ips/{mine['id']}", other), 404)
    await assert_fault(await api.delete(f"/os-floating-ips/{mine['id']}", other), 404)


async def test_pool_exhausted(api, member):
    for _ in range(11):  # the pool holds .10-.20
        await _ok(await api.post("/os-floating-ips", member))
    await assert_fault(await api.post("/os-floating-ips", member, json={"pool": "public"}), 404,
                       message="No more floating IPs in pool public.")
    await assert_fault(await api.post("/os-floating-ips", member), 404, message="No more floating IPs available.")
    assert len((await _ok(await api.get("/os-floating-ips", member)))["floating_ips"]) == 11


async def test_over_quota(api, member, admin_token):
    resp = await api.client.get("/identity/v3/auth/tokens", headers={"X-Auth-Token": member,
                                                                      "X-Subject-Token": member})
    project = (await resp.json())["token"]["project"]["id"]
    await L3(api.client, admin_token).ok("PUT", f"/quotas/{project}", json={"quota": {"floatingip": 1}})
    await _ok(await api.post("/os-floating-ips", member))
    await assert_fault(await api.post("/os-floating-ips", member, json={"pool": "public"}), 403,
                       message="IP allocation over quota in pool public.")
    await assert_fault(await api.post("/os-floating-ips", member), 403, message="IP allocation over quota.")
    assert len((await _ok(await api.get("/os-floating-ips", member)))["floating_ips"]) == 1


async def test_the_proxies_end_at_2_36(ladder_api, member):
    made = (await _ok(await ladder_api.post("/os-floating-ips", member, headers=at("2.35"))))["floating_ip"]
    for method, path in (("GET", "/os-floating-ips"), ("POST", "/os-floating-ips"),
                         ("GET", f"/os-floating-ips/{made['id']}"), ("DELETE", f"/os-floating-ips/{made['id']}"),
                         ("GET", "/os-floating-ip-pools")):
        resp = await ladder_api.request(method, path, member, headers=at("2.36"))
        assert resp.status == 404, (method, path, resp.status)
    assert (await _ok(await ladder_api.get("/os-floating-ip-pools", member, headers=at("2.35"))))[
        "floating_ip_pools"] == [{"name": "public"}]


async def test_no_external_network_no_pools(aiohttp_client, cfg):
    plain = dataclasses.replace(cfg, network=dataclasses.replace(cfg.network, external_cidr="", external_pool=()))
    api = Api(await aiohttp_client(create_app(plain, with_servers=False)))
    token = await api.token("admin", "admin-secret", "admin")
    assert await _ok(await api.get("/os-floating-ip-pools", token)) == {"floating_ip_pools": []}
    assert await _ok(await api.get("/os-floating-ips", token)) == {"floating_ips": []}
    await assert_fault(await api.post("/os-floating-ips", token), 404, message="Floating IP pool not found.")
