"""The pure IPAM: Neutron's defaults for a subnet, its checks with Neutron's faults, and the next free address."""
from __future__ import annotations

import ipaddress

import pytest

from nodecompute.compute import ipam
from nodecompute.domain import network_errors as errors
from nodecompute.domain.network_models import AllocationPool, HostRoute

NET = ipaddress.IPv4Network("198.18.4.0/24")


def pools(*spans: tuple[str, str]) -> tuple[AllocationPool, ...]:
    return tuple(AllocationPool(a, b) for a, b in spans)


def test_default_gateway_and_pools():
    assert ipam.default_gateway(NET) == "198.18.4.1"
    assert ipam.default_pools(NET, "198.18.4.1") == pools(("198.18.4.2", "198.18.4.254"))
    assert ipam.default_pools(NET, None) == pools(("198.18.4.1", "198.18.4.254"))
    assert ipam.default_pools(NET, "198.18.4.254") == pools(("198.18.4.1", "198.18.4.253"))
    assert ipam.default_pools(NET, "198.18.4.9") == pools(("198.18.4.1", "198.18.4.8"), ("198.18.4.10",
                                                                                        "198.18.4.254"))
    tiny = ipaddress.IPv4Network("198.18.4.0/30")
    assert ipam.default_pools(tiny, "198.18.4.1") == pools(("198.18.4.2", "198.18.4.2"))


@pytest.mark.parametrize("text, fault", [
    ("198.18.4.0/24", None), ("198.18.4.1/24", errors.InvalidInput), ("2001:db8::/64", errors.InvalidInput),
    ("10.0.0.0/31", errors.InvalidInput), ("nonsense", errors.InvalidInput), ("198.18.4.0/8", errors.InvalidInput),
])
def test_parse_cidr(text, fault):
    if fault is None:
        assert ipam.parse_cidr(text) == ipaddress.IPv4Network(text)
    else:
        with pytest.raises(fault):
            ipam.parse_cidr(text)


def test_ranges_and_overlap():
    ipam.check_in_ranges(NET, ["198.18.0.0/15"])
    with pytest.raises(errors.InvalidInput, match="outside the ranges allowed"):
        ipam.check_in_ranges(NET, ["10.0.0.0/8", "192.168.0.0/16"])
    with pytest.raises(errors.InvalidInput, match=r"ranges allowed for tenant subnets on this cloud \(none\)"):
        ipam.check_in_ranges(NET, [])
    ipam.check_no_overlap(NET, "n", ["198.18.5.0/24"])
    with pytest.raises(errors.InvalidInput, match="overlaps with another subnet"):
        ipam.check_no_overlap(NET, "n", ["198.18.4.128/25"])


@pytest.mark.parametrize("gateway, ok", [("198.18.4.1", True), ("198.18.4.254", True), (None, True),
                                         ("198.18.4.0", False), ("198.18.4.255", False), ("198.18.5.1", False),
                                         ("x", False)])
def test_gateway(gateway, ok):
    if ok:
        assert ipam.check_gateway(NET, gateway) == gateway
    else:
        with pytest.raises(errors.InvalidInput):
            ipam.check_gateway(NET, gateway)


@pytest.mark.parametrize("spans, gateway, fault", [
    ((("198.18.4.2", "198.18.4.254"),), "198.18.4.1", None),
    ((("198.18.4.2", "198.18.4.9"), ("198.18.4.20", "198.18.4.29")), "198.18.4.1", None),
    ((("198.18.4.9", "198.18.4.2"),), None, errors.InvalidAllocationPool),
    ((("198.18.4.0", "198.18.4.9"),), None, errors.OutOfBoundsAllocationPool),
    ((("198.18.4.2", "198.18.4.255"),), None, errors.OutOfBoundsAllocationPool),
    ((("198.18.4.20", "198.18.4.29"), ("198.18.4.2", "198.18.4.20")), None, errors.OverlappingAllocationPools),
    ((("198.18.4.1", "198.18.4.9"),), "198.18.4.5", errors.GatewayConflictWithAllocationPools),
])
def test_pools(spans, gateway, fault):
    if fault is None:
        ipam.check_pools(NET, pools(*spans), gateway)
    else:
        with pytest.raises(fault):
            ipam.check_pools(NET, pools(*spans), gateway)


def test_nameserver_and_route_limits():
    assert ipam.check_nameservers("s", ["198.18.0.1"] * 5) == ("198.18.0.1",) * 5
    with pytest.raises(errors.DNSNameServersExhausted, match="exceeds the limit 5"):
        ipam.check_nameservers("s", ["198.18.0.1"] * 6)
    routes = [HostRoute(f"198.19.{n}.0/24", "198.18.4.1") for n in range(21)]
    assert len(ipam.check_host_routes("s", routes[:20])) == 20
    with pytest.raises(errors.HostRoutesExhausted):
        ipam.check_host_routes("s", routes)


def test_first_free_walks_the_pools_in_order():
    two = pools(("198.18.4.10", "198.18.4.12"), ("198.18.4.2", "198.18.4.3"))
    assert ipam.first_free(two, set()) == "198.18.4.10"
    assert ipam.first_free(two, {"198.18.4.10", "198.18.4.11"}) == "198.18.4.12"
    assert ipam.first_free(two, {"198.18.4.10", "198.18.4.11", "198.18.4.12"}) == "198.18.4.2"
    assert ipam.first_free(two, {"198.18.4.11"}) == "198.18.4.10"
    full = {"198.18.4.10", "198.18.4.11", "198.18.4.12", "198.18.4.2", "198.18.4.3", "198.18.9.9"}
    assert ipam.first_free(two, full) is None


def test_first_free_in_a_large_pool_is_quick():
    big = pools(("10.0.0.1", "10.255.255.254"))
    taken = {str(ipaddress.IPv4Address(int(ipaddress.IPv4Address("10.0.0.1")) + n)) for n in range(5000)}
    assert ipam.first_free(big, taken) == "10.0.19.137"


def test_in_subnet_excludes_network_and_broadcast():
    assert ipam.in_subnet(NET, "198.18.4.1") and ipam.in_subnet(NET, "198.18.4.254")
    assert not ipam.in_subnet(NET, "198.18.4.0") and not ipam.in_subnet(NET, "198.18.4.255")
