"""addFloatingIp / removeFloatingIp (#1406-#1407) through the compute API on a server with a NIC behind a router
(issue 15, server side): the floating address shows in the server's `addresses` as `OS-EXT-IPS:type` floating right
after its fixed address (and in /ips), leaves on remove; Nova's faults; both actions are 404 from 2.44."""
from __future__ import annotations

import pytest

from nodecompute.api.keys import servers_key
from nodecompute.db import servers as servers_db
from tests.api.helpers import Api, assert_fault, upload_raw_image
from tests.api.l3_env import L3, with_external


@pytest.fixture
def cfg(cfg):
    return with_external(cfg)


@pytest.fixture
async def cloud(aiohttp_client, ladder_app, hostnet):
    client = await aiohttp_client(ladder_app())
    api = Api(client)
    admin = await api.token("admin", "admin-secret", "admin")
    l3 = L3(client, admin)
    image_id = await upload_raw_image(client.server.app, admin)
    network, _subnet, router = await l3.lab("198.18.56.0/24")
    body = {"server": {"name": "vm", "imageRef": image_id, "flavorRef": "42", "networks": [{"uuid": network["id"]}]}}
    resp = await api.post("/servers", admin, json=body)
    assert resp.status == 202, await resp.text()
    server_id = (await resp.json())["server"]["id"]
    service = client.server.app[servers_key]
    await service.wait_idle()
    yield api, admin, l3, server_id, network
    await service.wait_idle()
    for server in service.store.read(servers_db.list_all_live):
        await service.guests.destroy(server.uuid, server.instance_name)


def _v(version: str) -> dict:
    return {"OpenStack-API-Version": f"compute {version}"}


async def _action(api: Api, token: str, server_id: str, body: dict, version: str = "2.1"):
    return await api.post(f"/servers/{server_id}/action", token, json=body, headers=_v(version))


async def _addresses(api: Api, token: str, server_id: str) -> list[dict]:
    server = (await (await api.get(f"/servers/{server_id}", token)).json())["server"]
    return [entry for entries in server["addresses"].values() for entry in entries]


@pytest.mark.parametrize("version", ["2.1", "2.43"])
async def test_add_and_remove_a_floating_ip(cloud, version):
    api, admin, l3, server_id, network = cloud
    address = (await l3.floatingip())["floating_ip_address"]
    resp = await _action(api, admin, server_id, {"addFloatingIp": {"address": address}}, version)
    assert resp.status == 202, await resp.text()
    entries = await _addresses(api, admin, server_id)
    assert [(e["addr"], e["OS-EXT-IPS:type"]) for e in entries][1:] == [(address, "floating")]
    assert entries[0]["OS-EXT-IPS:type"] == "fixed"
    assert entries[1]["OS-EXT-IPS-MAC:mac_addr"] == entries[0]["OS-EXT-IPS-MAC:mac_addr"]
    ips = (await (await api.get(f"/servers/{server_id}/ips", admin)).json())["addresses"]
    assert [e["addr"] for e in ips[network["name"]]][1:] == [address]
    fip = (await l3.ok("GET", f"/floatingips?floating_ip_address={address}"))["floatingips"][0]
    assert fip["fixed_ip_address"] == entries[0]["addr"]
    resp = await _action(api, admin, server_id, {"removeFloatingIp": {"address": address}}, version)
    assert resp.status == 202, await resp.text()
    assert [e["OS-EXT-IPS:type"] for e in await _addresses(api, admin, server_id)] == ["fixed"]


async def test_refusals_and_gone_at_2_44(cloud):
    api, admin, l3, server_id, _network = cloud
    address = (await l3.floatingip())["floating_ip_address"]
    await assert_fault(await _action(api, admin, server_id, {"addFloatingIp": {"address": "198.18.99.9"}}), 404,
                       None, "floating IP not found")
    await assert_fault(await _action(api, admin, server_id, {"addFloatingIp": {"address": address,
                                                                               "fixed_address": "198.18.57.1"}}),
                       400, None, "Specified fixed address not assigned to instance")
    await assert_fault(await _action(api, admin, server_id, {"addFloatingIp": {}}), 400)
    await assert_fault(await _action(api, admin, server_id, {"removeFloatingIp": {"address": address}}), 409)
    for key in ("addFloatingIp", "removeFloatingIp"):
        await assert_fault(await _action(api, admin, server_id, {key: {"address": address}}, "2.44"), 404)
    missing = "00000000-0000-0000-0000-000000000000"
    await assert_fault(await _action(api, admin, missing, {"addFloatingIp": {"address": address}}), 404)
    assert [e["OS-EXT-IPS:type"] for e in await _addresses(api, admin, server_id)] == ["fixed"]
