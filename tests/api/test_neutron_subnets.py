"""Subnets (#2805-#2806): IPv4 only, inside the configured ranges, Neutron's defaults and checks, and the DHCP port
and dnsmasq host side that DHCP subnets bring (recording stand-in)."""
from __future__ import annotations

import pytest

from tests.api.helpers import Net, assert_neutron_fault

SUBNET_KEYS = {"id", "name", "tenant_id", "project_id", "network_id", "ip_version", "subnetpool_id", "enable_dhcp",
               "ipv6_ra_mode", "ipv6_address_mode", "gateway_ip", "cidr", "allocation_pools", "host_routes",
               "dns_nameservers", "description", "created_at", "updated_at", "revision_number"}


@pytest.fixture
def net(api, admin_token) -> Net:
    return Net(api.client, admin_token)


@pytest.fixture
async def network(net) -> dict:
    return await net.network("lab")


async def _dhcp_port(net: Net, network_id: str) -> dict | None:
    ports = (await net.ok("GET", f"/ports?network_id={network_id}&device_owner=network:dhcp"))["ports"]
    assert len(ports) <= 1
    return ports[0] if ports else None


async def test_defaults_gateway_pool_and_the_dhcp_port(net, network, hostnet):
    subnet = await net.subnet(network["id"], "198.18.7.0/24", name="s1")
    assert set(subnet) == SUBNET_KEYS
    assert subnet["gateway_ip"] == "198.18.7.1" and subnet["ip_version"] == 4 and subnet["enable_dhcp"] is True
    assert subnet["allocation_pools"] == [{"start": "198.18.7.2", "end": "198.18.7.254"}]
    assert subnet["dns_nameservers"] == [] and subnet["host_routes"] == [] and subnet["subnetpool_id"] is None
    shown = (await net.ok("GET", f"/networks/{network['id']}"))["network"]
    assert shown["subnets"] == [subnet["id"]] and shown["revision_number"] == 2

    dhcp = await _dhcp_port(net, network["id"])
    assert dhcp["fixed_ips"] == [{"subnet_id": subnet["id"], "ip_address": "198.18.7.2"}]
    assert dhcp["status"] == "ACTIVE" and dhcp["device_id"].startswith("dhcp") \
        and dhcp["device_id"].endswith(network["id"]) and dhcp["security_groups"] == []
    spec = hostnet.networks[network["id"]]
    assert spec.dhcp_port.id == dhcp["id"] and spec.dhcp_port.mac == dhcp["mac_address"]
    assert [(s.id, s.cidr, s.gateway_ip, s.enable_dhcp) for s in spec.subnets] == \
        [(subnet["id"], "198.18.7.0/24", "198.18.7.1", True)]
    assert spec.domain == "openstacklocal" and spec.dns_servers == ()


async def test_no_gateway_and_own_pools_nameservers_routes(net, network, hostnet):
    subnet = await net.subnet(network["id"], "198.18.8.0/24", gateway_ip=None,
                              allocation_pools=[{"start": "198.18.8.100", "end": "198.18.8.110"}],
                              dns_nameservers=["198.18.255.53"],
                              host_routes=[{"destination": "198.19.0.0/24", "nexthop": "198.18.8.254"}])
    assert subnet["gateway_ip"] is None
    assert subnet["allocation_pools"] == [{"start": "198.18.8.100", "end": "198.18.8.110"}]
    assert (await _dhcp_port(net, network["id"]))["fixed_ips"][0]["ip_address"] == "198.18.8.100"
    (spec,) = hostnet.networks[network["id"]].subnets
    assert spec.dns_nameservers == ("198.18.255.53",) and spec.host_routes == (("198.19.0.0/24", "198.18.8.254"),)


async def test_a_gateway_inside_the_range_splits_the_default_pool(net, network):
    subnet = await net.subnet(network["id"], "198.18.9.0/24", gateway_ip="198.18.9.100")
    assert subnet["allocation_pools"] == [{"start": "198.18.9.1", "end": "198.18.9.99"},
                                          {"start": "198.18.9.101", "end": "198.18.9.254"}]


async def test_without_dhcp_no_dhcp_port_until_enabled(net, network, hostnet):
    subnet = await net.subnet(network["id"], "198.18.10.0/24", enable_dhcp=False)
    assert await _dhcp_port(net, network["id"]) is None
    assert hostnet.networks[network["id"]].dhcp_port is None
    updated = await net.ok("PUT", f"/subnets/{subnet['id']}", json={"subnet": {"enable_dhcp": True}})
    assert updated["subnet"]["enable_dhcp"] is True and updated["subnet"]["revision_number"] == 2
    dhcp = await _dhcp_port(net, network["id"])
    assert dhcp is not None and hostnet.networks[network["id"]].dhcp_port.id == dhcp["id"]
    await net.ok("PUT", f"/subnets/{subnet['id']}", json={"subnet": {"enable_dhcp": False}})
    assert await _dhcp_port(net, network["id"]) is None and hostnet.networks[network["id"]].dhcp_port is None


async def test_two_dhcp_subnets_give_the_dhcp_port_an_address_on_each(net, network):
    one = await net.subnet(network["id"], "198.18.11.0/24")
    two = await net.subnet(network["id"], "198.18.12.0/24")
    dhcp = await _dhcp_port(net, network["id"])
    assert dhcp["fixed_ips"] == [{"subnet_id": one["id"], "ip_address": "198.18.11.2"},
                                 {"subnet_id": two["id"], "ip_address": "198.18.12.2"}]
    await net.ok("DELETE", f"/subnets/{one['id']}", 204)
    dhcp = await _dhcp_port(net, network["id"])
    assert dhcp["fixed_ips"] == [{"subnet_id": two["id"], "ip_address": "198.18.12.2"}]
    await net.ok("DELETE", f"/subnets/{two['id']}", 204)
    assert await _dhcp_port(net, network["id"]) is None
    assert (await net.ok("GET", f"/networks/{network['id']}"))["network"]["subnets"] == []


@pytest.mark.parametrize("attrs, status, type_, message", [
    ({"cidr": "2001:db8::/64", "ip_version": 6}, 400, "InvalidInput",
     "Invalid input for operation: IPv6 subnets are not supported by nodecompute (IPv4 only)."),
    ({"cidr": "2001:db8::/64"}, 400, "InvalidInput", None),
    ({"ipv6_ra_mode": "slaac"}, 400, "HTTPBadRequest", None),
    ({"cidr": "10.1.0.0/24"}, 400, "InvalidInput", "Invalid input for operation: Requested subnet with cidr: "
     "10.1.0.0/24 is outside the ranges allowed for tenant subnets on this cloud (198.18.0.0/15)."),
    ({"cidr": "198.18.13.5/24"}, 400, "InvalidInput", "Invalid input for operation: '198.18.13.5/24' isn't a "
     "recognized IP subnet cidr, '198.18.13.0/24' is recommended."),
    ({"cidr": "nonsense"}, 400, "HTTPBadRequest", "Invalid input for cidr. Reason: 'nonsense' is not a valid IP "
     "subnet."),
    ({"cidr": "198.18.13.0/31"}, 400, "InvalidInput", None),
    ({"cidr": None}, 400, "BadRequest", "Bad subnets request: a subnetpool must be specified in the absence of a "
     "cidr."),
    ({"gateway_ip": "198.18.14.1"}, 400, "InvalidInput", "Invalid input for operation: Gateway is not valid on "
     "subnet."),
    ({"gateway_ip": "198.18.13.255"}, 400, "InvalidInput", None),
    ({"allocation_pools": [{"start": "198.18.13.10", "end": "198.18.13.5"}]}, 400, "InvalidAllocationPool",
     "The allocation pool 198.18.13.10-198.18.13.5 is not valid."),
    ({"allocation_pools": [{"start": "198.18.13.0", "end": "198.18.13.5"}]}, 400, "OutOfBoundsAllocationPool",
     "The allocation pool 198.18.13.0-198.18.13.5 spans beyond the subnet cidr 198.18.13.0/24."),
    ({"allocation_pools": [{"start": "198.18.13.2", "end": "198.18.13.9"},
                           {"start": "198.18.13.5", "end": "198.18.13.20"}]}, 409, "OverlappingAllocationPools",
     None),
    ({"allocation_pools": [{"start": "198.18.13.1", "end": "198.18.13.9"}]}, 409,
     "GatewayConflictWithAllocationPools",
     "Gateway ip 198.18.13.1 conflicts with allocation pool 198.18.13.1-198.18.13.9."),
    ({"allocation_pools": [{"start": "198.18.13.2"}]}, 400, "HTTPBadRequest", None),
    ({"dns_nameservers": ["198.18.0.1", "198.18.0.1"]}, 400, "HTTPBadRequest",
     "Invalid input for dns_nameservers. Reason: Duplicate nameserver '198.18.0.1'."),
    ({"dns_nameservers": [f"198.18.0.{n}" for n in range(1, 7)]}, 400, "DNSNameServersExhausted", None),
    ({"host_routes": [{"destination": "x", "nexthop": "198.18.13.9"}]}, 400, "HTTPBadRequest", None),
    ({"network_id": "f" * 8 + "-0000-0000-0000-" + "0" * 12}, 404, "NetworkNotFound", None),
    ({"network_id": "nope"}, 400, "HTTPBadRequest", "Invalid input for network_id. Reason: 'nope' is not a valid "
     "UUID."),
    ({"subnetpool_id": "f" * 8 + "-0000-0000-0000-" + "0" * 12}, 400, "HTTPBadRequest", None),
])
async def test_bad_subnets(net, network, attrs, status, type_, message):
    body = {"subnet": {"network_id": network["id"], "cidr": "198.18.13.0/24", "ip_version": 4, **attrs}}
    await assert_neutron_fault(await net.post("/subnets", json=body), status, type_, message)
    assert (await net.ok("GET", "/subnets"))["subnets"] == []
    assert (await net.ok("GET", "/ports"))["ports"] == []


async def test_a_subnet_needs_ip_version_and_a_cidr(net, network):
    await assert_neutron_fault(await net.post("/subnets", json={"subnet": {"network_id": network["id"],
                                                                           "cidr": "198.18.1.0/24"}}),
                               400, "HTTPBadRequest",
                               "Failed to parse request. Required attribute 'ip_version' not specified")
    await assert_neutron_fault(await net.post("/subnets", json={"subnet": {"network_id": network["id"],
                                                                           "ip_version": 4}}),
                               400, "BadRequest",
                               "Bad subnets request: a subnetpool must be specified in the absence of a cidr.")


async def test_overlapping_subnets_on_one_network_are_refused(net, network):
    await net.subnet(network["id"], "198.18.16.0/24")
    await assert_neutron_fault(await net.post("/subnets", json={"subnet": {
        "network_id": network["id"], "cidr": "198.18.16.128/25", "ip_version": 4}}), 400, "InvalidInput",
        f"Invalid input for operation: Requested subnet with cidr: 198.18.16.128/25 for network: {network['id']} "
        f"overlaps with another subnet.")
    other = await net.network("other")
    await net.subnet(other["id"], "198.18.16.0/24")  # other networks are other bridges: overlap is allowed


async def test_a_subnet_with_ports_is_not_deleted(net, network):
    subnet = await net.subnet(network["id"], "198.18.17.0/24")
    port = await net.port(network["id"])
    await assert_neutron_fault(await net.delete(f"/subnets/{subnet['id']}"), 409, "SubnetInUse",
                               f"Unable to complete operation on subnet {subnet['id']}: One or more ports have an "
                               f"IP allocation from this subnet.")
    await net.ok("DELETE", f"/ports/{port['id']}", 204)
    await net.ok("DELETE", f"/subnets/{subnet['id']}", 204)
    await assert_neutron_fault(await net.get(f"/subnets/{subnet['id']}"), 404, "SubnetNotFound",
                               f"Subnet {subnet['id']} could not be found.")


async def test_updates_name_pools_gateway(net, network, hostnet):
    subnet = await net.subnet(network["id"], "198.18.18.0/24",
                              allocation_pools=[{"start": "198.18.18.2", "end": "198.18.18.100"}])
    port = await net.port(network["id"], fixed_ips=[{"ip_address": "198.18.18.150"}])
    ip = "198.18.18.150"
    await assert_neutron_fault(await net.put(f"/subnets/{subnet['id']}", json={"subnet": {"gateway_ip": ip}}), 409,
                               "GatewayIpInUse", f"Current gateway ip {ip} already in use by port {port['id']}. "
                                                 f"Unable to update.")
    await assert_neutron_fault(await net.put(f"/subnets/{subnet['id']}", json={"subnet": {"cidr": "198.18.19.0/24"}}),
                               400, "HTTPBadRequest", "Cannot update read-only attribute cidr")
    body = {"subnet": {"name": "renamed", "gateway_ip": None, "dns_nameservers": ["198.18.255.1"],
                       "allocation_pools": [{"start": "198.18.18.2", "end": "198.18.18.200"}]}}
    updated = (await net.ok("PUT", f"/subnets/{subnet['id']}", json=body))["subnet"]
    assert updated["name"] == "renamed" and updated["gateway_ip"] is None
    assert updated["allocation_pools"] == [{"start": "198.18.18.2", "end": "198.18.18.200"}]
    (spec,) = hostnet.networks[network["id"]].subnets
    assert spec.gateway_ip is None and spec.dns_nameservers == ("198.18.255.1",)


async def test_subnets_of_shared_networks_are_visible_but_only_the_owner_adds_them(api, net, make_user):
    member = Net(api.client, await make_user("alpha", "member"))
    other = Net(api.client, await make_user("beta", "member"))
    shared = await net.network("shared", shared=True)
    subnet = await net.subnet(shared["id"], "198.18.20.0/24")
    private = await other.network("private")
    hidden = await other.subnet(private["id"], "198.18.21.0/24")
    assert [s["id"] for s in (await member.ok("GET", "/subnets"))["subnets"]] == [subnet["id"]]
    assert (await member.ok("GET", f"/subnets/{subnet['id']}"))["subnet"]["cidr"] == "198.18.20.0/24"
    await assert_neutron_fault(await member.get(f"/subnets/{hidden['id']}"), 404, "SubnetNotFound")
    body = {"subnet": {"network_id": shared["id"], "cidr": "198.18.22.0/24", "ip_version": 4}}
    await assert_neutron_fault(await member.post("/subnets", json=body), 403, "PolicyNotAuthorized",
                               "rule:create_subnet is disallowed by policy")
    body["subnet"]["network_id"] = private["id"]
    await assert_neutron_fault(await member.post("/subnets", json=body), 404, "NetworkNotFound")


async def test_a_host_failure_on_subnet_create_undoes_it(net, network, hostnet):
    hostnet.fail("ensure_network")
    body = {"subnet": {"network_id": network["id"], "cidr": "198.18.23.0/24", "ip_version": 4}}
    await assert_neutron_fault(await net.post("/subnets", json=body), 500, "HTTPInternalServerError")
    assert (await net.ok("GET", "/subnets"))["subnets"] == [] and (await net.ok("GET", "/ports"))["ports"] == []
    assert hostnet.networks[network["id"]].subnets == ()  # the host was brought back to the rows
