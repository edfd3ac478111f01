"""`networks: "auto"` (Nova's "get me a network", 2.37) with a default external network configured: a project with
no network of its own gets Neutron's auto-allocated topology (network, subnet, router on the external network) and
the server boots on it; a second server boots on the same network; a project with a network boots on that."""
from __future__ import annotations

import pytest

from nodecompute.api.keys import servers_key
from nodecompute.db import servers as servers_db
from tests.api.helpers import Api, upload_raw_image
from tests.api.l3_env import L3, with_external


@pytest.fixture
def cfg(cfg):
    return with_external(cfg)


@pytest.fixture
async def cloud(aiohttp_client, ladder_app, hostnet):
    client = await aiohttp_client(ladder_app())
    api = Api(client)
    admin = await api.token("admin", "admin-secret", "admin")
    image_id = await upload_raw_image(client.server.app, admin)
    yield api, admin, L3(client, admin), image_id
    service = client.server.app[servers_key]
    await service.wait_idle()
    for server in service.store.read(servers_db.list_all_live):
        await service.guests.destroy(server.uuid, server.instance_name)


async def _boot_auto(api: Api, token: str, image_id: str) -> dict:
    body = {"server": {"name": "vm", "imageRef": image_id, "flavorRef": "42", "networks": "auto"}}
    resp = await api.post("/servers", token, json=body, headers={"OpenStack-API-Version": "compute 2.37"})
    assert resp.status == 202, await resp.text()
    server_id = (await resp.json())["server"]["id"]
    await api.client.server.app[servers_key].wait_idle()
    server = (await (await api.get(f"/servers/{server_id}", token)).json())["server"]
    assert server["status"] == "ACTIVE", server
    return server


async def test_auto_allocates_a_topology_once_and_boots_on_it(cloud):
    api, admin, l3, image_id = cloud
    first = await _boot_auto(api, admin, image_id)
    ports = (await l3.ok("GET", f"/ports?device_id={first['id']}"))["ports"]
    assert len(ports) == 1
    network_id = ports[0]["network_id"]
    project = first["tenant_id"]
    topology = (await l3.ok("GET", f"/auto-allocated-topology/{project}"))["auto_allocated_topology"]
    assert topology["id"] == network_id
    assert [e["OS-EXT-IPS:type"] for entries in first["addresses"].values() for e in entries] == ["fixed"]
    routers = (await l3.ok("GET", "/routers"))["routers"]
    assert len(routers) == 1 and routers[0]["external_gateway_info"]
    second = await _boot_auto(api, admin, image_id)
    assert [p["network_id"] for p in (await l3.ok("GET", f"/ports?device_id={second['id']}"))["ports"]] == \
        [network_id]
    assert len((await l3.ok("GET", "/routers"))["routers"]) == 1


async def test_a_project_with_a_network_boots_on_it(cloud):
    api, admin, l3, image_id = cloud
    own = await l3.network("mine")
    await l3.subnet(own["id"], "198.18.58.0/24")
    server = await _boot_auto(api, admin, image_id)
    assert [p["network_id"] for p in (await l3.ok("GET", f"/ports?device_id={server['id']}"))["ports"]] == \
        [own["id"]]
    assert (await l3.ok("GET", "/routers"))["routers"] == []
