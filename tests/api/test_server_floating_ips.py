"""What servers' addFloatingIp / removeFloatingIp (#1406-#1407) and their `floating` addresses run on
(compute/server_floating_ips.py), with ports whose device_id is a server id standing in for the server's NICs until
servers get ports: Nova's checks and texts, the association seen on the network face and in the router's NAT."""
from __future__ import annotations

import datetime

import pytest

from nodecompute.api.keys import network_key
from nodecompute.domain.errors import BadRequest, Conflict, NotFound
from nodecompute.domain.models import AuthContext
from nodecompute.hostnet import FloatingIp
from tests.api.l3_env import L3, with_external

SERVER = "5f1c1f9a-3c3e-4a55-9d0e-0a1b2c3d4e5f"
OTHER_SERVER = "6f1c1f9a-3c3e-4a55-9d0e-0a1b2c3d4e5f"
EPOCH = datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc)


@pytest.fixture
def cfg(cfg):
    return with_external(cfg)


@pytest.fixture
async def member(api, make_user) -> L3:
    return L3(api.client, await make_user("alpha", "member"))


async def _ctx(member: L3) -> AuthContext:
    resp = await member.client.get("/identity/v3/auth/tokens", headers={"X-Auth-Token": member.token,
                                                                         "X-Subject-Token": member.token})
    token = (await resp.json())["token"]
    return AuthContext(user_id=token["user"]["id"], user_name=token["user"]["name"],
                       project_id=token["project"]["id"], project_name=token["project"]["name"], roles=("member",),
                       expires_at=EPOCH, issued_at=EPOCH, audit_id="test")


@pytest.fixture
def fips(api):
    return api.client.server.app[network_key].server_floating_ips


async def test_add_and_remove_on_a_servers_port(member, fips, hostnet):
    network, _, router = await member.lab("198.18.53.0/24")
    port = await member.port(network["id"], device_id=SERVER, device_owner="compute:nova",
                             fixed_ips=[{"ip_address": "198.18.53.30"}, {"ip_address": "198.18.53.31"}])
    address = (await member.floatingip())["floating_ip_address"]
    ctx = await _ctx(member)
    added = await fips.add(ctx, SERVER, address, None)  # the first IPv4 fixed address
    assert (added.port_id, added.fixed_ip_address, added.router_id) == (port["id"], "198.18.53.30", router["id"])
    assert hostnet.routers[router["id"]].floating_ips == (FloatingIp(address, "198.18.53.30"),)
    assert fips.floating_by_fixed(SERVER) == {(port["id"], "198.18.53.30"): [address]}
    moved = await fips.add(ctx, SERVER, address, "198.18.53.31")  # Neutron re-associates
    assert moved.fixed_ip_address == "198.18.53.31"
    assert fips.floating_by_fixed(SERVER) == {(port["id"], "198.18.53.31"): [address]}

    with pytest.raises(Conflict) as refused:
        await fips.remove(ctx, OTHER_SERVER, address)
    assert refused.value.message == f"Floating IP {address} is not associated with instance {OTHER_SERVER}."
    removed = await fips.remove(ctx, SERVER, address)
    assert (removed.port_id, removed.status) == (None, "DOWN")
    assert hostnet.routers[router["id"]].floating_ips == ()
    assert fips.floating_by_fixed(SERVER) == {}
    with pytest.raises(Conflict):
        await fips.remove(ctx, SERVER, address)


async def test_novas_refusals(member, make_user, fips, api):
    ctx = await _ctx(member)
    address = (await member.floatingip())["floating_ip_address"]
    with pytest.raises(BadRequest, match="^Instance network is not ready yet$"):
        await fips.add(ctx, SERVER, address, None)
    island = await member.network("island")
    await member.port(island["id"], device_id=SERVER, device_owner="compute:nova")  # no subnet: no fixed IPs
    with pytest.raises(BadRequest, match="^No fixed IPs associated to instance$"):
        await fips.add(ctx, SERVER, address, None)

    subnet = await member.subnet(island["id"], "198.18.54.0/24")
    port = await member.port(island["id"], device_id=OTHER_SERVER, device_owner="compute:nova")
    with pytest.raises(BadRequest, match="^Specified fixed address not assigned to instance$"):
        await fips.add(ctx, OTHER_SERVER, address, "198.18.54.99")
    with pytest.raises(NotFound, match="^floating IP not found$"):
        await fips.add(ctx, OTHER_SERVER, "203.0.113.19", None)
    fixed = port["fixed_ips"][0]["ip_address"]
    external = await member.external()
    with pytest.raises(BadRequest) as unreachable:  # no router from the subnet to the external network
        await fips.add(ctx, OTHER_SERVER, address, None)
    assert unreachable.value.message == (
        f"Unable to associate floating IP {address} to fixed IP {fixed} for instance {OTHER_SERVER}. Error: "
        f"External network {external['id']} is not reachable from subnet {subnet['id']}.  Therefore, cannot "
        f"associate Port {port['id']} with a Floating IP.")
    with pytest.raises(NotFound, match=r"^Floating IP not found for address 203\.0\.113\.19\.$"):
        await fips.remove(ctx, OTHER_SERVER, "203.0.113.19")

    other = await _ctx(L3(api.client, await make_user("beta", "member")))
    with pytest.raises(NotFound, match="^floating IP not found$"):  # another project's floating IP
        await fips.add(other, OTHER_SERVER, address, None)
    assert (await member.ok("GET", "/floatingips"))["floatingips"][0]["port_id"] is None
