"""EC2 `public-ipv4` from the metadata service (issue 16): the floating IP associated with the server's fixed
address, read at each request, as Nova's metadata answers it (ec2utils' `floating_ips[0]`); "" without one."""
from __future__ import annotations

import pytest

from nodecompute.api.keys import servers_key
from nodecompute.compute.metadata_documents import ec2_meta_data
from tests.api.helpers import Api, upload_raw_image
from tests.api.l3_env import L3, with_external
from tests.api.test_metadata_wiring import _lookup, _server


@pytest.fixture
def cfg(cfg):
    return with_external(cfg)


async def test_public_ipv4_follows_the_floating_ip(aiohttp_client, ladder_app, hostnet):
    client = await aiohttp_client(ladder_app())
    api = Api(client)
    admin = await api.token("admin", "admin-secret", "admin")
    net = L3(client, admin)
    image_id = await upload_raw_image(client.server.app, admin)
    network, subnet, router = await net.lab("198.18.11.0/24")
    server_id, address = await _server(api, admin, image_id, network["id"], "vm-public")
    lookup, router_ns = _lookup(api, hostnet), hostnet.router_namespace(router["id"])
    try:
        md = await lookup(router_ns, address)
        assert (md.uuid, md.fixed_ipv4, md.floating_ipv4) == (server_id, address, "")
        (port,) = (await net.ok("GET", f"/ports?device_id={server_id}"))["ports"]
        fip = await net.floatingip(port_id=port["id"])
        md = await lookup(router_ns, address)
        assert md.floating_ipv4 == fip["floating_ip_address"] and md.floating_ipv4.startswith("203.0.113.")
        assert ec2_meta_data(md, "latest", for_drive=False)["public-ipv4"] == fip["floating_ip_address"]
        await net.ok("PUT", f"/floatingips/{fip['id']}", json={"floatingip": {"port_id": None}})
        assert (await lookup(router_ns, address)).floating_ipv4 == ""
    finally:
        service = client.server.app[servers_key]
        assert (await api.delete(f"/servers/{server_id}", admin)).status == 204
        await service.wait_idle()
