"""Host-side interfaces, namespaces and the worker thread of the host networking adapter (root, no guests)."""
from __future__ import annotations

import asyncio
import socket
import threading
import time
from pathlib import Path

import pytest
from pyroute2 import netns as pyroute2_netns

from nodecompute.hostnet import HostNet, NamespaceStuck, Port, tap_name
from tests.integration.hostnet_env import Bed, ip, new_id, random_subnets

pytestmark = pytest.mark.integration


@pytest.fixture
async def bed():
    bed = Bed.make()
    try:
        yield bed
    finally:
        await bed.close()


async def test_a_tap_is_made_before_the_guest_in_its_bridge_and_the_host_holds_no_address(bed):
    network = bed.network(random_subnets(1)[0], dhcp=False)
    port = Port(new_id(), network.id, "fa:16:3e:12:34:56")
    bridge = await bed.hostnet.ensure_bridge(network.id)
    bed.links.append(tap_name(port.id))
    tap = await bed.hostnet.ensure_tap(port)
    assert tap == await bed.hostnet.ensure_tap(port)  # idempotent

    details = ip("-d", "-o", "link", "show", tap).stdout
    assert f"master {bridge}" in details and "state DOWN" in details  # up, no carrier until QEMU opens it
    assert "link/ether fe:16:3e:12:34:56" in details  # libvirt's rule: the guest MAC with fe first
    assert "<NO-CARRIER,BROADCAST,MULTICAST,UP>" in details
    assert "tun type tap pi off" in details and "persist on" in details  # outlives whoever opens it
    for name in (bridge, tap):
        assert ip("-o", "addr", "show", "dev", name).stdout == ""  # no IPv4, no IPv6 link-local
        assert Path(f"/proc/sys/net/ipv6/conf/{name}/disable_ipv6").read_text().strip() == "1"
    assert await bed.hostnet.list_links([tap, bridge, "tapnotmade0000"]) == {tap, bridge}
    assert await bed.hostnet.delete_link(tap) and not await bed.hostnet.exists(tap)
    assert not await bed.hostnet.delete_link(tap)  # already gone: nothing to do


async def test_an_existing_bridge_or_tap_that_differs_is_set_right_again(bed):
    """The quick checks (ioctls) of a bridge or tap already there still catch one brought down, given another MTU
    or moved to another bridge, and mend it."""
    network = bed.network(random_subnets(1)[0], dhcp=False)
    other = bed.network(random_subnets(1)[0], dhcp=False)
    port = Port(new_id(), network.id, "fa:16:3e:12:34:57")
    bridge = await bed.hostnet.ensure_bridge(network.id, mtu=1400)
    elsewhere = await bed.hostnet.ensure_bridge(other.id)
    bed.links.append(tap_name(port.id))
    tap = await bed.hostnet.ensure_tap(port, mtu=1400)
    ip("link", "set", "dev", bridge, "down", "mtu", "1300")
    ip("link", "set", "dev", tap, "down", "mtu", "1280", "master", elsewhere, "address", "fe:16:3e:00:00:01")

    assert await bed.hostnet.ensure_bridge(network.id, mtu=1400) == bridge
    assert await bed.hostnet.ensure_tap(port, mtu=1400) == tap
    bridge_shown = ip("-d", "-o", "link", "show", bridge).stdout
    assert "mtu 1400" in bridge_shown and ",UP" in bridge_shown
    tap_shown = ip("-d", "-o", "link", "show", tap).stdout
    assert f"master {bridge}" in tap_shown and "mtu 1400" in tap_shown and ",UP" in tap_shown
    assert "link/ether fe:16:3e:12:34:57" in tap_shown


async def test_sysctls_are_set_inside_a_namespace_only(bed):
    namespace = bed.hostnet.router_namespace(new_id())
    host_value = Path("/proc/sys/net/ipv4/ip_forward").read_text()
    try:
        assert await bed.hostnet.ensure_namespace(namespace)
        assert not await bed.hostnet.ensure_namespace(namespace)  # exists already
        assert namespace in await bed.hostnet.list_namespaces()
        await bed.hostnet.set_sysctl(namespace, "net.ipv4.ip_forward", "1")
        assert await bed.hostnet.get_sysctl(namespace, "net.ipv4.ip_forward") == "1"
        assert Path("/proc/sys/net/ipv4/ip_forward").read_text() == host_value
        with pytest.raises(ValueError):
            await bed.hostnet.set_sysctl(namespace, "kernel.hostname", "x")
        assert await bed.hostnet.in_namespace(namespace, lambda ipr: [l.get("ifname") for l in ipr.link("dump")]) \
            == ["lo"]
    finally:
        await bed.hostnet.delete_namespace(namespace)
    assert namespace not in await bed.hostnet.list_namespaces()


async def test_a_listener_knows_its_namespace_and_when_that_namespace_was_made_again(bed):
    namespace = bed.hostnet.router_namespace(new_id())
    await bed.hostnet.ensure_namespace(namespace)
    sock = await bed.hostnet.open_listener(namespace, "0.0.0.0", 9697)
    try:
        assert bed.hostnet.namespace_of(sock) == namespace
        assert await bed.hostnet.listener_is_current(sock)
        with socket.socket() as host_socket:
            assert bed.hostnet.namespace_of(host_socket) is None
        ip("netns", "del", namespace)  # lost behind the adapter's back...
        assert not await bed.hostnet.listener_is_current(sock)
        await bed.hostnet.ensure_namespace(namespace)  # ...and made again, as restore() does
        assert not await bed.hostnet.listener_is_current(sock)
        again = await bed.hostnet.open_listener(namespace, "0.0.0.0", 9697)
        with again:
            assert await bed.hostnet.listener_is_current(again)
    finally:
        sock.close()
        await bed.hostnet.delete_namespace(namespace)


async def test_a_cancelled_call_still_finishes_its_job(bed):
    finished = threading.Event()

    def slow_job() -> None:
        time.sleep(0.3)
        finished.set()

    call = asyncio.ensure_future(bed.hostnet.run(slow_job))
    await asyncio.sleep(0.05)
    call.cancel()
    with pytest.raises(asyncio.CancelledError):
        await call
    assert not finished.is_set()
    assert await asyncio.to_thread(finished.wait, 5)


async def test_a_thread_left_in_another_namespace_refuses_further_work(bed):
    namespace = bed.hostnet.dhcp_namespace(new_id())
    stray = HostNet(bed.prefix, bed.hostnet.state_dir)
    await bed.hostnet.ensure_namespace(namespace)
    try:
        await stray.run(pyroute2_netns.setns, namespace, 0)  # a buggy job that never comes back
        with pytest.raises(NamespaceStuck):
            await stray.list_links(["lo"])
        with pytest.raises(NamespaceStuck):  # and it stays refused
            await stray.ensure_namespace(bed.hostnet.dhcp_namespace(new_id()))
    finally:
        stray.close()
        await bed.hostnet.delete_namespace(namespace)

