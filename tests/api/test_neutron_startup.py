"""Networking at start: the host side restored from SQLite, this daemon's leftovers swept; and networking off (no
catalog entry, 503 in Neutron's shape) when the host lacks what it needs, or refusing to start when asked for."""
from __future__ import annotations

import dataclasses

import pytest
from aiohttp.test_utils import TestClient, TestServer

from nodecompute.app import create_app
from nodecompute.config import ConfigError
from nodecompute.hostnet import FloatingIp
from tests.api.helpers import Api, Net, assert_neutron_fault
from tests.api.l3_env import L3, with_external
from tests.api.network_fakes import RecordingHostNet


async def _catalog_types(api: Api) -> list[str]:
    resp = await api.client.post("/identity/v3/auth/tokens", json={"auth": {"identity": {
        "methods": ["password"], "password": {"user": {"name": "admin", "domain": {"id": "default"},
                                                       "password": "admin-secret"}}}}})
    return [entry["type"] for entry in (await resp.json())["token"]["catalog"]]


async def test_a_restart_rebuilds_every_network_from_the_database(aiohttp_client, cfg):
    first = RecordingHostNet()
    client = await aiohttp_client(create_app(cfg, with_servers=False, hostnet_factory=lambda c: first))
    api = Api(client)
    net = Net(client, await api.token("admin", "admin-secret", "admin"))
    dhcp_net = await net.network("with-dhcp")
    await net.subnet(dhcp_net["id"], "198.18.70.0/24")
    port = await net.port(dhcp_net["id"])
    bare = await net.network("bare")
    await client.close()
    assert first.closed

    second = RecordingHostNet()
    client = await aiohttp_client(create_app(cfg, with_servers=False, hostnet_factory=lambda c: second))
    assert {("restore", dhcp_net["id"]), ("restore", bare["id"])} <= set(second.calls)
    assert second.networks[dhcp_net["id"]] == first.networks[dhcp_net["id"]]  # the same DHCP, the same entries
    assert second.dhcp_entries(dhcp_net["id"]) == [(port["mac_address"], port["fixed_ips"][0]["ip_address"])]
    assert second.networks[bare["id"]].dhcp_port is None
    (recorded,) = second.swept
    assert recorded.network_ids == {dhcp_net["id"], bare["id"]}
    await client.close()


async def test_networking_off_when_the_host_cannot(aiohttp_client, cfg):
    fake = RecordingHostNet(check_error="host networking needs root or the capabilities CAP_NET_ADMIN and "
                                        "CAP_SYS_ADMIN")
    client = await aiohttp_client(create_app(cfg, with_servers=False, hostnet_factory=lambda c: fake))
    api = Api(client)
    assert "network" not in await _catalog_types(api) and "compute" in await _catalog_types(api)
    assert fake.closed and fake.calls == []
    for path in ("/networking/", "/networking/v2.0/networks"):
        resp = await client.get(path, headers={"X-Auth-Token": await api.token("admin", "admin-secret", "admin")})
        await assert_neutron_fault(resp, 503, "ServiceUnavailable",
                                   "Networking is disabled on this host: host networking needs root or the "
                                   "capabilities CAP_NET_ADMIN and CAP_SYS_ADMIN")
    resp = await client.get("/compute/v2.1/flavors", headers={"X-Auth-Token": await api.token("admin", "admin-secret",
                                                                                              "admin")})
    assert resp.status == 200  # the rest of the cloud runs


async def test_enabled_true_refuses_to_start_without_it(aiohttp_client, cfg):
    strict = dataclasses.replace(cfg, network=dataclasses.replace(cfg.network, enabled="true"))
    fake = RecordingHostNet(check_error="dnsmasq is not installed (Debian package dnsmasq-base)")
    client = TestClient(TestServer(create_app(strict, with_servers=False, hostnet_factory=lambda c: fake)))
    try:
        with pytest.raises(ConfigError, match="enabled = true, but networking cannot run on this host: dnsmasq is "
                                              "not installed"):
            await client.start_server()
    finally:
        await client.close()  # aiohttp_client would leave its session open when the app does not start


async def test_enabled_false_never_touches_the_host(aiohttp_client, cfg):
    off = dataclasses.replace(cfg, network=dataclasses.replace(cfg.network, enabled="false"))
    made = []
    client = await aiohttp_client(create_app(off, with_servers=False, hostnet_factory=lambda c: made.append(c)))
    api = Api(client)
    assert made == [] and "network" not in await _catalog_types(api)
    resp = await client.get("/networking/")
    await assert_neutron_fault(resp, 503, "ServiceUnavailable",
                               "Networking is disabled on this host: [network] enabled = false")


async def test_a_restart_restores_routers_and_their_nat_and_follows_the_external_config(aiohttp_client, cfg):
    cfg = with_external(cfg)
    first = RecordingHostNet()
    client = await aiohttp_client(create_app(cfg, with_servers=False, hostnet_factory=lambda c: first))
    net = L3(client, await Api(client).token("admin", "admin-secret", "admin"))
    network, _, router = await net.lab("198.18.71.0/24")
    port = await net.port(network["id"])
    fip = await net.floatingip(port_id=port["id"])
    external = await net.external()
    await client.close()

    second = RecordingHostNet()
    renamed = dataclasses.replace(cfg, network=dataclasses.replace(cfg.network, external_name="outside"))
    client = await aiohttp_client(create_app(renamed, with_servers=False, hostnet_factory=lambda c: second))
    assert second.routers[router["id"]] == first.routers[router["id"]]  # legs, gateway and the floating IP's NAT
    assert second.routers[router["id"]].floating_ips == (FloatingIp(fip["floating_ip_address"],
                                                                    fip["fixed_ip_address"]),)
    (recorded,) = second.swept
    assert recorded.router_ids == {router["id"]} and external["id"] in recorded.network_ids
    net = L3(client, await Api(client).token("admin", "admin-secret", "admin"))
    assert (await net.external())["id"] == external["id"] and (await net.external())["name"] == "outside"
    await client.close()

    without = dataclasses.replace(cfg, network=dataclasses.replace(cfg.network, external_cidr="", external_pool=()))
    client = TestClient(TestServer(create_app(without, with_servers=False,
                                              hostnet_factory=lambda c: RecordingHostNet())))
    try:
        with pytest.raises(ConfigError, match="still holds 2 router gateways and floating IPs"):
            await client.start_server()
    finally:
        await client.close()
