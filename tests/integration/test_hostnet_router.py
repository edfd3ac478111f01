"""Routers: a namespace with two subnet legs and a gateway leg on an external bridge, an "outside" namespace on that
bridge, stand-in guests on each subnet. One topology for the module; each test restores the floating IPs it set."""
from __future__ import annotations

import asyncio
import dataclasses
import ipaddress
import json
import re
import subprocess
from pathlib import Path

import pytest

from nodecompute.hostnet import FloatingIp, Router, RouterLeg
from tests.integration.hostnet_env import Bed, new_id, random_mac, random_subnets, serve

pytestmark = pytest.mark.integration
METADATA_PORT = 9697


@dataclasses.dataclass
class Topology:
    bed: Bed
    router: Router
    cidrs: list[ipaddress.IPv4Network]  # subnet one, subnet two, external
    guest_one: object
    guest_two: object
    outside: object

    @property
    def external(self) -> ipaddress.IPv4Network:
        return self.cidrs[2]


def leg(network, address: str) -> RouterLeg:
    prefixlen = ipaddress.IPv4Network(network.subnets[0].cidr).prefixlen
    return RouterLeg(new_id(), network.id, random_mac(), (f"{address}/{prefixlen}",))


@pytest.fixture(scope="module")
async def topo():
    bed = Bed.make()
    try:
        bed.hostnet.check()
        one, two, ext = cidrs = random_subnets(3)
        net_one, net_two = bed.network(one), bed.network(two)
        external = bed.network(ext, gateway=False, dhcp=False)
        for network in (net_one, net_two, external):
            await bed.hostnet.ensure_bridge(network.id)
        guest_one, guest_two = bed.guest(net_one, 10), bed.guest(net_two, 10)
        outside = bed.outside(external, str(ext[100]))
        for network in (net_one, net_two):
            await bed.hostnet.ensure_network(network, bed.ports(network))
        router = Router(new_id(), interfaces=(leg(net_one, str(one[1])), leg(net_two, str(two[1]))),
                        gateway=leg(external, str(ext[2])), gateway_ip=str(ext[100]), metadata_port=METADATA_PORT)
        bed.router_ids.append(router.id)
        await bed.hostnet.ensure_router(router)
        await asyncio.gather(asyncio.to_thread(guest_one.dhcp, bed.hook), asyncio.to_thread(guest_two.dhcp, bed.hook))
        yield Topology(bed, router, cidrs, guest_one, guest_two, outside)
    finally:
        await bed.close()


def tracked_to(topo: Topology, address: str) -> list[str]:
    """Conntrack entries in the router namespace whose original destination is `address`."""
    done = subprocess.run(["ip", "netns", "exec", topo.bed.hostnet.router_namespace(topo.router.id), "cat",
                           "/proc/net/nf_conntrack"], capture_output=True, text=True, check=True)
    return [line for line in done.stdout.splitlines() if re.search(r"\bdst=(\S+)", line).group(1) == address]


async def fetch(guest, url: str, seconds: int = 3) -> dict | None:
    body = await asyncio.to_thread(guest.wget, url, seconds)
    return json.loads(body) if body else None


async def test_router_forwards_between_subnets_and_its_gateway_answers_ping(topo):
    one, two, _ = topo.cidrs
    host_forwarding = Path("/proc/sys/net/ipv4/ip_forward").read_text()
    await topo.bed.hostnet.ensure_router(topo.router)  # again: everything exists, nothing breaks
    assert await asyncio.to_thread(topo.guest_one.ping, str(one[1]))  # its own gateway
    assert await asyncio.to_thread(topo.guest_one.ping, str(two[1]))  # the router's other leg
    assert await asyncio.to_thread(topo.guest_one.ping, str(two[10]))  # a guest on the other subnet
    received = await asyncio.to_thread(topo.guest_one.tcp_send, topo.guest_two, 7001, "across the router")
    assert received == "across the router"
    assert await topo.bed.hostnet.get_sysctl(topo.bed.hostnet.router_namespace(topo.router.id),
                                             "net.ipv4.ip_forward") == "1"
    assert Path("/proc/sys/net/ipv4/ip_forward").read_text() == host_forwarding  # the host's is never touched
    routes = subprocess.run(["ip", "netns", "exec", topo.bed.hostnet.router_namespace(topo.router.id), "ip", "-4",
                             "route"], capture_output=True, text=True, check=True).stdout
    assert f"default via {topo.external[100]} dev qg-{topo.router.gateway.port_id[:11]}" in routes


async def test_snat_lets_a_guest_reach_the_outside_from_the_gateway_address(topo):
    ext = topo.external
    runner = await serve(topo.bed.hostnet, await topo.bed.hostnet.open_listener(topo.outside.namespace,
                                                                                 "0.0.0.0", 8080))
    try:
        seen = await fetch(topo.guest_one, f"http://{ext[100]}:8080/out")
    finally:
        await runner.cleanup()
    # the outside has no route to the subnets: only SNAT to the gateway leg's address can answer
    assert seen == {"namespace": topo.outside.namespace, "peer": str(ext[2]), "path": "/out"}


async def test_floating_ip_reaches_the_guest_and_stops_after_disassociation(topo):
    one, _, ext = topo.cidrs
    hostnet, floating = topo.bed.hostnet, str(ext[50])
    associated = dataclasses.replace(topo.router, floating_ips=(FloatingIp(floating, str(one[10])),))
    in_guest = await serve(hostnet, await hostnet.open_listener(topo.guest_one.namespace, "0.0.0.0", 8080))
    outside = await serve(hostnet, await hostnet.open_listener(topo.outside.namespace, "0.0.0.0", 8081))
    try:
        await hostnet.set_floating_ips(associated)
        inbound = await fetch(topo.outside, f"http://{floating}:8080/in")
        outbound = await fetch(topo.guest_one, f"http://{ext[100]}:8081/out")
        tracked = tracked_to(topo, floating)
        await hostnet.set_floating_ips(topo.router)
        forgotten = tracked_to(topo, floating)
        after_inbound = await fetch(topo.outside, f"http://{floating}:8080/in", seconds=1)
        after_outbound = await fetch(topo.guest_one, f"http://{ext[100]}:8081/out")
    finally:
        await hostnet.set_floating_ips(topo.router)
        await in_guest.cleanup()
        await outside.cleanup()
    assert inbound == {"namespace": topo.guest_one.namespace, "peer": str(ext[100]), "path": "/in"}  # DNAT
    assert outbound["peer"] == floating  # the guest's own traffic leaves from its floating IP
    assert tracked and not forgotten  # the floating IP's tracked connections went with it
    assert after_inbound is None
    assert after_outbound["peer"] == str(ext[2])  # back to the router's address


async def test_metadata_request_is_redirected_to_the_listener_in_the_router_namespace(topo):
    two, ext = topo.cidrs[1], topo.external
    hostnet = topo.bed.hostnet
    namespace = hostnet.router_namespace(topo.router.id)
    runner = await serve(hostnet, await hostnet.open_listener(namespace, "0.0.0.0", METADATA_PORT))
    try:
        seen = await fetch(topo.guest_two, "http://169.254.169.254/latest/meta-data/instance-id")
        from_outside = await fetch(topo.outside, f"http://{ext[2]}:{METADATA_PORT}/latest/meta-data/instance-id",
                                   seconds=1)
    finally:
        await runner.cleanup()
    assert seen == {"namespace": namespace, "peer": str(two[10]), "path": "/latest/meta-data/instance-id"}
    assert from_outside is None  # the listener's port answers only redirected metadata requests
