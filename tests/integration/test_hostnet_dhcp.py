"""DHCP and the metadata listener on a network without a router: dnsmasq in the network's namespace, stand-in guests
(namespaces with busybox) on the bridge."""
from __future__ import annotations

import asyncio
import json

import pytest
from tests.integration.hostnet_env import Bed, random_subnets, serve

pytestmark = pytest.mark.integration


@pytest.fixture
async def bed():
    bed = Bed.make()
    bed.hostnet.check()
    try:
        yield bed
    finally:
        await bed.close()


async def test_two_guests_get_their_leases_and_reach_each_other(bed):
    (cidr,) = random_subnets(1)
    network = bed.network(cidr, dns_nameservers=("198.18.255.53",))
    started = await bed.hostnet.ensure_network(network)
    one, two = bed.guest(network, 10), bed.guest(network, 11)
    pid = await bed.hostnet.ensure_network(network, bed.ports(network))
    assert pid == started  # new hosts: the same dnsmasq re-read its hosts file (SIGHUP)

    lease_one, lease_two = await asyncio.gather(asyncio.to_thread(one.dhcp, bed.hook),
                                                asyncio.to_thread(two.dhcp, bed.hook))

    assert (lease_one["ip"], lease_two["ip"]) == (str(cidr[10]), str(cidr[11]))
    assert lease_one["mask"] == "24" and lease_one["router"] == str(cidr[1])
    assert lease_one["dns"] == "198.18.255.53" and lease_one["domain"] == "openstacklocal"
    assert lease_one["hostname"] == "guest0" and lease_two["hostname"] == "guest1"
    assert lease_one["serverid"] == str(cidr[2])  # the DHCP port's address answered
    assert "staticroutes" not in lease_one  # a routed subnet gets no option 121
    assert await asyncio.to_thread(one.ping, str(cidr[11]))
    assert await asyncio.to_thread(one.tcp_send, two, 7777, "hello from guest0") == "hello from guest0"
    assert bed.hostnet.dhcp_pid(network.id) == pid


async def test_subnet_without_router_routes_metadata_to_the_dhcp_port_where_a_listener_answers(bed):
    (cidr,) = random_subnets(1)
    network = bed.network(cidr, metadata_via_dhcp=True, host_routes=(("198.19.254.0/24", str(cidr[1])),))
    await bed.hostnet.ensure_bridge(network.id)
    guest = bed.guest(network, 20)
    await bed.hostnet.ensure_network(network, bed.ports(network))
    namespace = bed.hostnet.dhcp_namespace(network.id)
    sock = await bed.hostnet.open_listener(namespace, "169.254.169.254", 80)
    runner = await serve(bed.hostnet, sock)
    try:
        lease = await asyncio.to_thread(guest.dhcp, bed.hook)
        dhcp_ip = str(cidr[2])
        assert lease["staticroutes"].split() == ["198.19.254.0/24", str(cidr[1]), "169.254.169.254/32", dhcp_ip,
                                                 "0.0.0.0/0", str(cidr[1])]
        assert f"169.254.169.254 via {dhcp_ip}" in guest.routes()
        body = await asyncio.to_thread(guest.wget, "http://169.254.169.254/openstack/latest/meta_data.json")
    finally:
        await runner.cleanup()
    assert body is not None
    assert json.loads(body) == {"namespace": namespace, "peer": str(cidr[20]),
                                "path": "/openstack/latest/meta_data.json"}


async def test_an_address_given_to_a_new_port_is_leased_to_its_mac_not_the_old_ones(bed):
    """A port deleted while its guest held a lease, its address given to the next port (the lowest free one,
    as IPAM does): dnsmasq must forget the old lease, or it keeps the address for the old MAC."""
    (cidr,) = random_subnets(1)
    network = bed.network(cidr)
    await bed.hostnet.ensure_network(network)
    first = bed.guest(network, 10)
    await bed.hostnet.ensure_network(network, bed.ports(network))
    assert (await asyncio.to_thread(first.dhcp, bed.hook))["ip"] == str(cidr[10])
    first.port = None  # the port is deleted; another port on another guest takes its address
    second = bed.guest(network, 10)
    await bed.hostnet.ensure_network(network, bed.ports(network))
    assert (await asyncio.to_thread(second.dhcp, bed.hook))["ip"] == str(cidr[10])
