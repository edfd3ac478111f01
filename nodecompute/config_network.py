"""Checks of the `[network]` keys, those of the external network among them (config.py raises what they find).

The external network is an IPv4 cidr apart from the tenant ranges, with the upstream router's address (its
gateway) and the ranges router gateways and floating IPs are taken from inside it.
"""
from __future__ import annotations

import ipaddress
import re
from typing import Any

_IFNAME = re.compile(r"^[A-Za-z0-9_.:-]{1,15}$")
MAX_PREFIXLEN = 30


class _Problem(Exception):
    pass


def external_network_problem(network: Any) -> str | None:
    """What is wrong with the external network's keys of a NetworkConfig, naming the key (None: nothing)."""
    try:
        _check(network)
    except _Problem as problem:
        return str(problem)
    return None


def network_problem(network: Any) -> str | None:
    """What is wrong with any key of a NetworkConfig, naming the key (None: nothing)."""
    if network.mtu > 9000:
        return f"[network] mtu: must be at most 9000, got {network.mtu}"
    for cidr in network.subnet_ranges:
        try:
            ipaddress.IPv4Network(cidr)
        except ValueError:
            return f"[network] subnet_ranges: {cidr!r} is not an IPv4 network such as 10.0.0.0/8"
    for server in network.dns_servers:
        try:
            ipaddress.ip_address(server)
        except ValueError:
            return f"[network] dns_servers: {server!r} is not an IP address"
    return external_network_problem(network)


def _check(network: Any) -> None:
    if not network.external_cidr:
        for key in ("external_gateway", "external_pool", "external_uplink"):
            if getattr(network, key):
                raise _Problem(f"[network] {key}: needs [network] external_cidr")
        return
    try:
        net = ipaddress.IPv4Network(network.external_cidr)
    except ValueError:
        raise _Problem(f"[network] external_cidr: {network.external_cidr!r} is not an IPv4 network such as "
                       f"203.0.113.0/24") from None
    if net.prefixlen > MAX_PREFIXLEN:
        raise _Problem(f"[network] external_cidr: {net} is too small (a prefix length of at most {MAX_PREFIXLEN})")
    for cidr in network.subnet_ranges:
        if net.overlaps(ipaddress.IPv4Network(cidr)):
            raise _Problem(f"[network] external_cidr: {net} overlaps the tenant range {cidr} (subnet_ranges)")
    gateway = _address(net, network.external_gateway, "external_gateway") if network.external_gateway else None
    for first, last in pool_ranges(network.external_pool):
        low, high = _address(net, first, "external_pool"), _address(net, last, "external_pool")
        if low > high or (gateway is not None and low <= gateway <= high):
            raise _Problem(f"[network] external_pool: {first}-{last} must be first-last inside {net}, without the "
                           f"gateway")
    if not network.external_name or len(network.external_name) > 255:
        raise _Problem("[network] external_name: 1 to 255 characters")
    if network.external_uplink and not _IFNAME.match(network.external_uplink):
        raise _Problem(f"[network] external_uplink: {network.external_uplink!r} is not an interface name")


def pool_ranges(pools: tuple[str, ...]) -> list[tuple[str, str]]:
    """("first-last", ...) as (first, last) pairs (a lone address is a range of one)."""
    found = []
    for pool in pools:
        first, _, last = pool.partition("-")
        found.append((first.strip(), (last or first).strip()))
    return found


def _address(net: ipaddress.IPv4Network, text: str, key: str) -> ipaddress.IPv4Address:
    try:
        address = ipaddress.IPv4Address(text)
    except ValueError:
        raise _Problem(f"[network] {key}: {text!r} is not an IPv4 address") from None
    if not net.network_address < address < net.broadcast_address:
        raise _Problem(f"[network] {key}: {address} is not a usable address of {net}")
    return address
