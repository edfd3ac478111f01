"""A server's security groups through the compute API (issue 14, server side): `security_groups` on server create
(names or ids, applied to the ports the server makes; an unknown one is 400 and makes nothing), the groups in the
server view (the names on its ports, as Nova reads them from Neutron), GET /servers/{id}/os-security-groups (#1508)
and the addSecurityGroup / removeSecurityGroup actions (#1509-#1510) with Nova's faults, at 2.1 and past 2.36."""
from __future__ import annotations

import pytest

from nodecompute.api.keys import servers_key
from nodecompute.db import servers as servers_db
from tests.api.helpers import Api, Net, assert_fault, upload_raw_image


@pytest.fixture
async def cloud(aiohttp_client, ladder_app, hostnet):
    client = await aiohttp_client(ladder_app())
    api = Api(client)
    admin = await api.token("admin", "admin-secret", "admin")
    net = Net(client, admin)
    image_id = await upload_raw_image(client.server.app, admin)
    network = await net.network("sgnet")
    await net.subnet(network["id"], "198.18.42.0/24")
    web = (await net.ok("POST", "/security-groups", 201, json={"security_group": {"name": "web"}}))["security_group"]
    yield api, admin, net, image_id, web
    service = client.server.app[servers_key]
    await service.wait_idle()
    for server in service.store.read(servers_db.list_all_live):
        await service.guests.destroy(server.uuid, server.instance_name)


def _v(version: str) -> dict:
    return {"OpenStack-API-Version": f"compute {version}"}


async def _boot(api: Api, token: str, image_id: str, version: str = "2.1", **server) -> dict:
    body = {"server": {"name": "vm", "imageRef": image_id, "flavorRef": "42", **server}}
    resp = await api.post("/servers", token, json=body, headers=_v(version))
    assert resp.status == 202, await resp.text()
    created = (await resp.json())["server"]
    await api.client.server.app[servers_key].wait_idle()
    return created


async def _port_groups(net: Net, server_id: str) -> list[list[str]]:
    ports = (await net.ok("GET", f"/ports?device_id={server_id}"))["ports"]
    return [sorted(p["security_groups"]) for p in ports]


async def _shown(api: Api, token: str, server_id: str, version: str = "2.1") -> dict:
    resp = await api.get(f"/servers/{server_id}", token, headers=_v(version))
    assert resp.status == 200
    return (await resp.json())["server"]


async def _action(api: Api, token: str, server_id: str, body: dict, version: str = "2.1"):
    return await api.post(f"/servers/{server_id}/action", token, json=body, headers=_v(version))


async def test_create_with_groups_by_name_and_id_applies_them_to_its_ports(cloud):
    api, admin, net, image_id, web = cloud
    requested = [{"name": "web"}, {"name": "default"}]
    created = await _boot(api, admin, image_id, security_groups=requested)
    assert created["security_groups"] == requested  # Nova echoes the request
    default_id = (await net.ok("GET", "/security-groups?name=default"))["security_groups"][0]["id"]
    assert await _port_groups(net, created["id"]) == [sorted([web["id"], default_id])]
    assert sorted(g["name"] for g in (await _shown(api, admin, created["id"]))["security_groups"]) == \
        ["default", "web"]
    by_id = await _boot(api, admin, image_id, security_groups=[{"name": web["id"]}])
    assert await _port_groups(net, by_id["id"]) == [[web["id"]]]
    assert (await _shown(api, admin, by_id["id"]))["security_groups"] == [{"name": "web"}]


async def test_create_without_groups_puts_the_default_group_on_its_port(cloud):
    api, admin, net, image_id, _web = cloud
    created = await _boot(api, admin, image_id)
    assert created["security_groups"] == [{"name": "default"}]
    assert (await _shown(api, admin, created["id"]))["security_groups"] == [{"name": "default"}]


async def test_create_with_an_unknown_group_is_400_and_makes_nothing(cloud):
    api, admin, net, image_id, _web = cloud
    body = {"server": {"name": "vm", "imageRef": image_id, "flavorRef": "42", "security_groups": [{"name": "nope"}]}}
    resp = await api.post("/servers", admin, json=body)
    await assert_fault(resp, 400, None, "Security group nope not found for project")
    assert (await (await api.get("/servers", admin)).json())["servers"] == []
    assert (await net.ok("GET", "/ports?device_owner=compute:nova"))["ports"] == []


@pytest.mark.parametrize("version", ["2.1", "2.36", "latest"])
async def test_list_add_and_remove_a_servers_groups(cloud, version):
    api, admin, net, image_id, web = cloud
    server_id = (await _boot(api, admin, image_id))["id"]
    listed = await api.get(f"/servers/{server_id}/os-security-groups", admin, headers=_v(version))
    assert listed.status == 200
    groups = (await listed.json())["security_groups"]
    assert [(g["name"], sorted(g)) for g in groups] == [
        ("default", ["description", "id", "name", "rules", "tenant_id"])]
    resp = await _action(api, admin, server_id, {"addSecurityGroup": {"name": "web"}}, version)
    assert resp.status == 202, await resp.text()
    assert len((await _port_groups(net, server_id))[0]) == 2
    names = [g["name"] for g in (await (await api.get(f"/servers/{server_id}/os-security-groups", admin,
                                                      headers=_v(version))).json())["security_groups"]]
    assert sorted(names) == ["default", "web"]
    resp = await _action(api, admin, server_id, {"removeSecurityGroup": {"name": "default"}}, version)
    assert resp.status == 202, await resp.text()
    assert await _port_groups(net, server_id) == [[web["id"]]]
    assert (await _shown(api, admin, server_id, version))["security_groups"] == [{"name": "web"}]


async def test_action_refusals_are_novas_and_change_nothing(cloud):
    api, admin, net, image_id, _web = cloud
    server_id = (await _boot(api, admin, image_id))["id"]
    before = await _port_groups(net, server_id)
    await assert_fault(await _action(api, admin, server_id, {"addSecurityGroup": {}}), 400, None,
                       "Security group not specified")
    await assert_fault(await _action(api, admin, server_id, {"addSecurityGroup": {"name": " "}}), 400, None,
                       "Security group name cannot be empty")
    await assert_fault(await _action(api, admin, server_id, {"addSecurityGroup": "web"}), 400, None,
                       "Missing parameter dict")
    await assert_fault(await _action(api, admin, server_id, {"addSecurityGroup": {"name": "nope"}}), 404)
    await assert_fault(await _action(api, admin, server_id, {"addSecurityGroup": {"name": "default"}}), 400)
    await assert_fault(await _action(api, admin, server_id, {"removeSecurityGroup": {"name": "web"}}), 404)
    assert await _port_groups(net, server_id) == before
    missing = "/servers/00000000-0000-0000-0000-000000000000"
    await assert_fault(await api.get(missing + "/os-security-groups", admin), 404)
    await assert_fault(await api.post(missing + "/action", admin, json={"addSecurityGroup": {"name": "web"}}), 404)
