"""Start-up support and clean-up: restore() rebuilds lost pieces from the records, a restarted adapter finds its
dnsmasq again by pid file, sweep() removes only this daemon's unrecorded leftovers, deleting everything leaves
nothing behind."""
from __future__ import annotations

import asyncio
import dataclasses
import ipaddress
import json
import os
import signal

import pytest

from nodecompute.hostnet.dnsmasq import cmdline as cmdline_of
from nodecompute.hostnet.names import dhcp_leg_name
from nodecompute.hostnet import FixedIp, FloatingIp, HostNet, Port, Recorded, Router, RouterLeg, tap_name
from tests.integration.hostnet_env import Bed, ip, new_id, random_mac, random_subnets, serve

pytestmark = pytest.mark.integration


@pytest.fixture
async def bed():
    bed = Bed.make()
    bed.hostnet.check()
    try:
        yield bed
    finally:
        await bed.close()


def leg(network, address: str) -> RouterLeg:
    prefixlen = ipaddress.IPv4Network(network.subnets[0].cidr).prefixlen
    return RouterLeg(new_id(), network.id, random_mac(), (f"{address}/{prefixlen}",))


def plugged_port(network, host_number: int) -> Port:
    cidr = ipaddress.IPv4Network(network.subnets[0].cidr)
    return Port(new_id(), network.id, random_mac(), (FixedIp(network.subnets[0].id, str(cidr[host_number])),))


async def reach(bed: Bed, client, server, url: str) -> dict | None:
    runner = await serve(bed.hostnet, await bed.hostnet.open_listener(server.namespace, "0.0.0.0", 8080))
    try:
        body = await asyncio.to_thread(client.wget, url)
    finally:
        await runner.cleanup()
    return json.loads(body) if body else None


async def test_restore_after_losing_pieces_brings_connectivity_back(bed):
    cidr, ext = random_subnets(2)
    network, external = bed.network(cidr), bed.network(ext, gateway=False, dhcp=False)
    for net in (network, external):
        await bed.hostnet.ensure_bridge(net.id)
    guest, outside = bed.guest(network, 10), bed.outside(external, str(ext[100]))
    floating = str(ext[60])
    router = Router(new_id(), interfaces=(leg(network, str(cidr[1])),), gateway=leg(external, str(ext[2])),
                    floating_ips=(FloatingIp(floating, str(cidr[10])),))
    bed.router_ids.append(router.id)
    tap_port = plugged_port(network, 30)
    bed.links.append(tap_name(tap_port.id))
    records = ((network, external), (*bed.ports(network), tap_port), (router,))
    await bed.hostnet.restore(*records)
    assert (await asyncio.to_thread(guest.dhcp, bed.hook))["ip"] == str(cidr[10])
    assert (await reach(bed, outside, guest, f"http://{floating}:8080/"))["peer"] == str(ext[100])

    # lose pieces: dnsmasq dies, the router's subnet leg and its NAT table go, the tap leaves its bridge
    os.kill(bed.hostnet.dhcp_pid(network.id), signal.SIGKILL)
    ip("link", "del", tap_name(router.interfaces[0].port_id))
    ip("netns", "exec", bed.hostnet.router_namespace(router.id), "nft", "delete", "table", "ip",
       bed.hostnet.names.nat_table)
    ip("link", "set", tap_name(tap_port.id), "nomaster")
    await asyncio.sleep(0.1)
    assert bed.hostnet.dhcp_pid(network.id) is None
    assert not await asyncio.to_thread(guest.ping, str(cidr[1]), 1, 1)

    restarted = HostNet(bed.prefix, bed.hostnet.state_dir)  # a daemon restart: a new adapter on the same state
    try:
        await restarted.restore(*records)
        pid = restarted.dhcp_pid(network.id)
        assert pid is not None
        await restarted.restore(*records)  # idempotent: nothing to do, same dnsmasq
        assert restarted.dhcp_pid(network.id) == pid
    finally:
        restarted.close()
    assert (await asyncio.to_thread(guest.dhcp, bed.hook))["ip"] == str(cidr[10])
    assert await asyncio.to_thread(guest.ping, str(cidr[1]))
    assert (await reach(bed, outside, guest, f"http://{floating}:8080/"))["peer"] == str(ext[100])
    master = ip("-o", "link", "show", tap_name(tap_port.id)).stdout
    assert f"master brq{network.id[:11]}" in master


async def test_dnsmasq_is_restarted_only_when_its_command_line_or_its_leg_changes(bed):
    (cidr,) = random_subnets(1)
    network = bed.network(cidr)
    first = await bed.hostnet.ensure_network(network)
    assert await bed.hostnet.ensure_network(network) == first
    upstream = dataclasses.replace(network, dns_servers=("198.18.255.53",))
    second = await bed.hostnet.ensure_network(upstream)
    assert second != first and bed.hostnet.dhcp_pid(network.id) == second
    assert "--server=198.18.255.53" in cmdline_of(second) and "--no-resolv" in cmdline_of(second)
    assert cmdline_of(first) is None  # the old one was stopped

    guest = bed.guest(network, 12)
    ip("link", "del", tap_name(network.dhcp_port.id))  # the DHCP leg is lost while dnsmasq runs
    third = await bed.hostnet.ensure_network(upstream, bed.ports(network))
    assert third != second and cmdline_of(second) is None
    assert (await asyncio.to_thread(guest.dhcp, bed.hook))["ip"] == str(cidr[12])


async def test_sweep_removes_only_this_daemons_unrecorded_leftovers(bed):
    kept_cidr, gone_cidr, other_cidr = random_subnets(3)
    kept, gone = bed.network(kept_cidr), bed.network(gone_cidr)
    kept_pid = await bed.hostnet.ensure_network(kept)
    gone_pid = await bed.hostnet.ensure_network(gone)
    stray_router = Router(new_id(), interfaces=(leg(gone, str(gone_cidr[1])),))
    await bed.hostnet.ensure_router(stray_router)
    stale_tap = await bed.hostnet.ensure_tap(plugged_port(kept, 40))
    bed.links.append(stale_tap)
    other = Bed.make()  # another daemon on the same host, with its own prefix
    try:
        other_network = other.network(other_cidr)
        other_pid = await other.hostnet.ensure_network(other_network)

        swept = await bed.hostnet.sweep(Recorded(network_ids=frozenset({kept.id}),
                                                 stale_links=frozenset({stale_tap, "tapnotours0000"})))

        assert sorted(swept.namespaces) == sorted([bed.hostnet.dhcp_namespace(gone.id),
                                                   bed.hostnet.router_namespace(stray_router.id)])
        assert swept.links == [stale_tap]
        assert not bed.hostnet.dhcp_dir(gone.id).exists() and bed.hostnet.dhcp_dir(kept.id).exists()
        assert bed.hostnet.dhcp_pid(gone.id) is None and cmdline_of(gone_pid) is None
        assert bed.hostnet.dhcp_pid(kept.id) == kept_pid
        assert other.hostnet.dhcp_pid(other_network.id) == other_pid
        assert os.path.exists(f"/run/netns/{other.hostnet.dhcp_namespace(other_network.id)}")
        assert await bed.hostnet.list_links([stale_tap, f"brq{kept.id[:11]}"]) == {f"brq{kept.id[:11]}"}
    finally:
        await other.close()


async def test_deleting_everything_leaves_no_interface_namespace_process_or_file(bed):
    cidr, ext = random_subnets(2)
    network = bed.network(cidr, metadata_via_dhcp=True)
    external = bed.network(ext, gateway=False, dhcp=False)
    router = Router(new_id(), interfaces=(leg(network, str(cidr[1])),), gateway=leg(external, str(ext[2])),
                    floating_ips=(FloatingIp(str(ext[70]), str(cidr[10])),), metadata_port=9697)
    port = plugged_port(network, 10)
    bed.links.append(tap_name(port.id))
    bed.router_ids.append(router.id)
    await bed.hostnet.restore((network, external), (port,), (router,))
    listeners = [await bed.hostnet.open_listener(bed.hostnet.dhcp_namespace(network.id), "169.254.169.254", 80),
                 await bed.hostnet.open_listener(bed.hostnet.router_namespace(router.id), "0.0.0.0", 9697)]
    made = {tap_name(port.id), tap_name(router.interfaces[0].port_id), tap_name(router.gateway.port_id),
            tap_name(network.dhcp_port.id), f"brq{network.id[:11]}", f"brq{external.id[:11]}"}
    assert await bed.hostnet.list_links(made) == made

    for sock in listeners:  # the daemon stops its metadata sites before deleting their namespaces
        sock.close()
    await bed.hostnet.delete_router(router.id)
    assert await bed.hostnet.delete_link(tap_name(port.id))
    await bed.hostnet.delete_network(network)
    await bed.hostnet.delete_network(external)

    assert await bed.hostnet.list_links(made) == set()
    assert bed.leftovers() == []


async def test_a_port_added_reloads_dnsmasq_and_a_changed_network_redoes_its_dhcp_leg(bed):
    """Adding hosts to a settled network takes the short way (files and a SIGHUP, the leg not checked again); a
    change of what the leg is made of (here the MTU) still reaches the leg."""
    (cidr,) = random_subnets(1)
    network = bed.network(cidr)
    pid = await bed.hostnet.ensure_network(network)
    guest = bed.guest(network, 14)
    assert await bed.hostnet.ensure_network(network, bed.ports(network)) == pid
    assert (await asyncio.to_thread(guest.dhcp, bed.hook))["ip"] == str(cidr[14])

    smaller = dataclasses.replace(network, mtu=1400)
    await bed.hostnet.ensure_network(smaller, bed.ports(network))
    inner = ip("netns", "exec", bed.hostnet.dhcp_namespace(network.id), "ip", "-o", "link", "show",
               dhcp_leg_name(network.dhcp_port.id)).stdout
    assert " mtu 1400 " in inner
    assert " mtu 1400 " in ip("-o", "link", "show", tap_name(network.dhcp_port.id)).stdout
