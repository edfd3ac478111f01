"""IPv4 address management as pure functions: a subnet's cidr, gateway and allocation pools checked with Neutron's
faults, the defaults Neutron derives, and the next free address of a subnet.

A subnet's usable addresses exclude its network and broadcast addresses; the gateway lies outside every pool; a
fixed address is either asked for (anywhere in the subnet's usable range, the gateway excepted) or the lowest free
address of the pools, in pool order.
"""
from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence

from nodecompute.domain.network_errors import (DNSNameServersExhausted, GatewayConflictWithAllocationPools,
                                               HostRoutesExhausted, InvalidAllocationPool, InvalidInput,
                                               OutOfBoundsAllocationPool, OverlappingAllocationPools)
from nodecompute.domain.network_models import AllocationPool, HostRoute

MAX_DNS_NAMESERVERS = 5  # Neutron's max_dns_nameservers
MAX_HOST_ROUTES = 20  # Neutron's max_subnet_host_routes
MAX_PREFIXLEN = 30  # a smaller subnet has no room for a gateway, a DHCP port and a guest
IPV6_REFUSED = "IPv6 subnets are not supported by nodecompute (IPv4 only)"


def parse_cidr(text: str) -> ipaddress.IPv4Network:
    """The subnet's network, in Neutron's words when `text` is not a canonical IPv4 cidr."""
    try:
        net = ipaddress.ip_network(text, strict=False)
    except ValueError:
        raise InvalidInput(error_message=f"'{text}' is not a valid IP subnet") from None
    if net.version != 4:
        raise InvalidInput(error_message=IPV6_REFUSED)
    if str(net) != text:
        raise InvalidInput(error_message=f"'{text}' isn't a recognized IP subnet cidr, '{net}' is recommended")
    if net.prefixlen > MAX_PREFIXLEN:
        raise InvalidInput(error_message=f"Subnet {text} is too small: a prefix length of at most {MAX_PREFIXLEN} "
                                         f"is required")
    return net


def check_in_ranges(net: ipaddress.IPv4Network, ranges: Iterable[str]) -> None:
    allowed = [ipaddress.IPv4Network(r) for r in ranges]
    if not any(net.subnet_of(r) for r in allowed):
        names = ", ".join(str(r) for r in allowed) or "none"
        raise InvalidInput(error_message=f"Requested subnet with cidr: {net} is outside the ranges allowed for "
                                         f"tenant subnets on this cloud ({names})")


def check_no_overlap(net: ipaddress.IPv4Network, network_id: str, others: Iterable[str]) -> None:
    for cidr in others:
        if net.overlaps(ipaddress.IPv4Network(cidr)):
            raise InvalidInput(error_message=f"Requested subnet with cidr: {net} for network: {network_id} "
                                             f"overlaps with another subnet")


def _usable(net: ipaddress.IPv4Network) -> tuple[int, int]:
    return int(net.network_address) + 1, int(net.broadcast_address) - 1


def _address(text: str, what: str) -> ipaddress.IPv4Address:
    try:
        return ipaddress.IPv4Address(text)
    except ValueError:
        raise InvalidInput(error_message=f"'{text}' is not a valid IP address ({what})") from None


def check_gateway(net: ipaddress.IPv4Network, gateway: str | None) -> str | None:
    if gateway is None:
        return None
    ip = _address(gateway, "gateway_ip")
    low, high = _usable(net)
    if not low <= int(ip) <= high:
        raise InvalidInput(error_message="Gateway is not valid on subnet")
    return str(ip)


def default_gateway(net: ipaddress.IPv4Network) -> str:
    return str(net.network_address + 1)


def default_pools(net: ipaddress.IPv4Network, gateway: str | None) -> tuple[AllocationPool, ...]:
    """The usable range less the gateway (one pool, or two when the gateway sits inside it)."""
    low, high = _usable(net)
    gw = int(ipaddress.IPv4Address(gateway)) if gateway else None
    spans = [(low, high)] if gw is None or not low <= gw <= high else [(low, gw - 1), (gw + 1, high)]
    return tuple(AllocationPool(str(ipaddress.IPv4Address(a)), str(ipaddress.IPv4Address(b)))
                 for a, b in spans if a <= b)


def _pool_text(pool: AllocationPool) -> str:
    return f"{pool.start}-{pool.end}"


def check_pools(net: ipaddress.IPv4Network, pools: Sequence[AllocationPool], gateway: str | None) -> None:
    """Each pool in the usable range with start <= end, no two overlapping, none holding the gateway."""
    low, high = _usable(net)
    spans = []
    for pool in pools:
        start, end = _address(pool.start, "allocation_pools"), _address(pool.end, "allocation_pools")
        if start > end:
            raise InvalidAllocationPool(pool=_pool_text(pool))
        if int(start) < low or int(end) > high:
            raise OutOfBoundsAllocationPool(pool=_pool_text(pool), subnet_cidr=str(net))
        spans.append((int(start), int(end), pool))
    spans.sort(key=lambda s: s[0])
    for (_, end, pool), (start, _, following) in zip(spans, spans[1:]):
        if start <= end:
            raise OverlappingAllocationPools(pool_1=_pool_text(pool), pool_2=_pool_text(following),
                                             subnet_cidr=str(net))
    if gateway is not None:
        gw = int(ipaddress.IPv4Address(gateway))
        for start, end, pool in spans:
            if start <= gw <= end:
                raise GatewayConflictWithAllocationPools(ip_address=gateway, pool=_pool_text(pool))


def check_nameservers(subnet_id: str, servers: Sequence[str]) -> tuple[str, ...]:
    if len(servers) > MAX_DNS_NAMESERVERS:
        raise DNSNameServersExhausted(subnet_id=subnet_id, quota=MAX_DNS_NAMESERVERS)
    return tuple(servers)


def check_host_routes(subnet_id: str, routes: Sequence[HostRoute]) -> tuple[HostRoute, ...]:
    if len(routes) > MAX_HOST_ROUTES:
        raise HostRoutesExhausted(subnet_id=subnet_id, quota=MAX_HOST_ROUTES)
    return tuple(routes)


def in_subnet(net: ipaddress.IPv4Network, ip: str) -> bool:
    """A usable address of the subnet (neither its network nor its broadcast address)."""
    low, high = _usable(net)
    return low <= int(ipaddress.IPv4Address(ip)) <= high


def first_free(pools: Sequence[AllocationPool], taken: set[str]) -> str | None:
    """The lowest address of the pools (in pool order) that is not taken."""
    used = {int(ipaddress.IPv4Address(ip)) for ip in taken}
    for pool in pools:
        start, end = int(ipaddress.IPv4Address(pool.start)), int(ipaddress.IPv4Address(pool.end))
        candidate = start
        for ip in sorted(u for u in used if start <= u <= end):
            if ip > candidate:
                break
            candidate = ip + 1
        if candidate <= end:
            return str(ipaddress.IPv4Address(candidate))
    return None
