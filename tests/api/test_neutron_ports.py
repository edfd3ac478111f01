"""Ports (#2807-#2808): MACs, fixed addresses (IPAM in SQLite), the default security group placeholder, binding
attributes, isolation, and the DHCP host entries the host side serves (recording stand-in)."""
from __future__ import annotations

import re

import pytest

from tests.api.helpers import Net, assert_neutron_fault

PORT_KEYS = {"id", "name", "network_id", "tenant_id", "project_id", "mac_address", "admin_state_up", "status",
             "device_id", "device_owner", "fixed_ips", "security_groups", "port_security_enabled",
             "binding:host_id", "binding:profile", "binding:vif_details", "binding:vif_type", "binding:vnic_type",
             "description", "created_at", "updated_at", "revision_number"}
BINDING_ADMIN_ONLY = {"binding:host_id", "binding:profile", "binding:vif_details", "binding:vif_type"}
MAC = re.compile(r"^fa:16:3e(:[0-9a-f]{2}){3}$")


@pytest.fixture
def net(api, admin_token) -> Net:
    return Net(api.client, admin_token)


@pytest.fixture
async def member(api, make_user) -> Net:
    return Net(api.client, await make_user("alpha", "member"))


@pytest.fixture
async def lab(member) -> tuple[dict, dict]:
    network = await member.network("lab")
    return network, await member.subnet(network["id"], "198.18.30.0/28")  # .2-.14; the DHCP port takes .2


async def test_port_defaults(member, lab, hostnet):
    network, subnet = lab
    port = await member.port(network["id"], name="p1")
    assert set(port) == PORT_KEYS - BINDING_ADMIN_ONLY  # binding details are the admin's (Neutron's policy)
    assert MAC.match(port["mac_address"]) and port["status"] == "DOWN" and port["admin_state_up"] is True
    assert port["fixed_ips"] == [{"subnet_id": subnet["id"], "ip_address": "198.18.30.3"}]
    assert port["device_id"] == "" and port["device_owner"] == "" and port["binding:vnic_type"] == "normal"
    assert port["port_security_enabled"] is True and len(port["security_groups"]) == 1
    again = await member.port(network["id"])
    assert again["security_groups"] == port["security_groups"]  # the project's one default group
    assert again["fixed_ips"][0]["ip_address"] == "198.18.30.4" and again["mac_address"] != port["mac_address"]
    assert hostnet.dhcp_entries(network["id"]) == sorted([(port["mac_address"], "198.18.30.3"),
                                                          (again["mac_address"], "198.18.30.4")])
    entry = next(p for p in hostnet.hosts[network["id"]] if p.id == port["id"])
    assert entry.hostname == "" and entry.plugged is False  # host-<a-b-c-d> as Neutron; taps are the servers'


async def test_admin_sees_the_binding(net, member, lab):
    port = await member.port(lab[0]["id"], device_owner="compute:nova", device_id="vm-1")
    shown = (await net.ok("GET", f"/ports/{port['id']}"))["port"]
    assert set(shown) == PORT_KEYS
    assert shown["binding:vif_type"] == "unbound" and shown["binding:host_id"] == "" and shown["binding:profile"] == {}
    bound = await net.ok("PUT", f"/ports/{port['id']}", json={"port": {"binding:host_id": "h1"}})
    assert bound["port"]["binding:host_id"] == "h1"
    await assert_neutron_fault(await member.put(f"/ports/{port['id']}", json={"port": {"binding:host_id": "h2"}}),
                               403, "PolicyNotAuthorized")


async def test_asked_addresses_and_macs(member, lab, hostnet):
    network, subnet = lab
    port = await member.port(network["id"], mac_address="FA:16:3E:00:00:01",
                             fixed_ips=[{"subnet_id": subnet["id"], "ip_address": "198.18.30.10"}])
    assert port["mac_address"] == "fa:16:3e:00:00:01"
    assert port["fixed_ips"] == [{"subnet_id": subnet["id"], "ip_address": "198.18.30.10"}]
    by_ip = await member.port(network["id"], fixed_ips=[{"ip_address": "198.18.30.11"}])
    assert by_ip["fixed_ips"][0]["subnet_id"] == subnet["id"]
    by_subnet = await member.port(network["id"], fixed_ips=[{"subnet_id": subnet["id"]}])
    assert by_subnet["fixed_ips"][0]["ip_address"] == "198.18.30.3"
    none = await member.port(network["id"], fixed_ips=[])
    assert none["fixed_ips"] == []
    assert ("fa:16:3e:00:00:01", "198.18.30.10") in hostnet.dhcp_entries(network["id"])


@pytest.mark.parametrize("attrs, status, type_, message", [
    ({"fixed_ips": [{"ip_address": "198.18.30.2"}]}, 409, "IpAddressAlreadyAllocated", None),  # the DHCP port's
    ({"fixed_ips": [{"ip_address": "198.18.30.1"}]}, 409, "IpAddressAlreadyAllocated", None),  # the gateway
    ({"fixed_ips": [{"ip_address": "198.18.30.15"}]}, 400, "InvalidIpForNetwork",  # the broadcast address
     "IP address 198.18.30.15 is not a valid IP for any of the subnets on the specified network."),
    ({"fixed_ips": [{"ip_address": "198.18.31.5"}]}, 400, "InvalidIpForNetwork", None),
    ({"fixed_ips": [{"ip_address": "198.18.30.9"}, {"ip_address": "198.18.30.9"}]}, 400, "HTTPBadRequest",
     "Invalid input for fixed_ips. Reason: Duplicate IP address '198.18.30.9'."),
    ({"fixed_ips": [{"ip_address": "x"}]}, 400, "HTTPBadRequest", None),
    ({"fixed_ips": [{"mac": "x"}]}, 400, "HTTPBadRequest", None),
    ({"fixed_ips": [{"subnet_id": "00000000-0000-0000-0000-000000000000"}]}, 404, "SubnetNotFound", None),
    ({"mac_address": "01:16:3e:00:00:01"}, 400, "HTTPBadRequest",
     "Invalid input for mac_address. Reason: '01:16:3e:00:00:01' is not a valid MAC address."),
    ({"device_owner": "network:dhcp"}, 400, "InvalidInput", None),
    ({"port_security_enabled": False, "security_groups": ["00000000-0000-0000-0000-000000000000"]}, 409,
     "PortSecurityAndIPRequiredForSecurityGroups", None),
    ({"security_groups": ["00000000-0000-0000-0000-000000000000"]}, 404, "SecurityGroupNotFound",
     "Security group 00000000-0000-0000-0000-000000000000 does not exist"),
    ({"binding:vnic_type": "direct"}, 400, "HTTPBadRequest", None),
    ({"status": "ACTIVE"}, 400, "HTTPBadRequest", "Attribute 'status' not allowed in POST"),
    ({"network_id": "00000000-0000-0000-0000-000000000000"}, 404, "NetworkNotFound", None),
])
async def test_bad_ports(member, lab, attrs, status, type_, message):
    network, subnet = lab
    before = (await member.ok("GET", "/ports"))["ports"]
    body = {"port": {"network_id": network["id"], **attrs}}
    await assert_neutron_fault(await member.post("/ports", json=body), status, type_, message)
    assert (await member.ok("GET", "/ports"))["ports"] == before


async def test_a_taken_address_or_mac_is_a_conflict(member, lab):
    network, subnet = lab
    first = await member.port(network["id"], fixed_ips=[{"ip_address": "198.18.30.9"}])
    await assert_neutron_fault(await member.post("/ports", json={"port": {
        "network_id": network["id"], "fixed_ips": [{"ip_address": "198.18.30.9"}]}}), 409,
        "IpAddressAlreadyAllocated", f"IP address 198.18.30.9 already allocated in subnet {subnet['id']}")
    await assert_neutron_fault(await member.post("/ports", json={"port": {
        "network_id": network["id"], "mac_address": first["mac_address"]}}), 409, "MacAddressInUse",
        f"Unable to complete operation for network {network['id']}. The mac address {first['mac_address']} is in "
        f"use.")


async def test_an_exhausted_subnet(member, lab):
    network, _ = lab
    made = [await member.port(network["id"]) for _ in range(12)]  # .3 to .14
    assert sorted(int(p["fixed_ips"][0]["ip_address"].rsplit(".", 1)[1]) for p in made) == list(range(3, 15))
    await assert_neutron_fault(await member.post("/ports", json={"port": {"network_id": network["id"]}}), 409,
                               "IpAddressGenerationFailure",
                               f"No more IP addresses available on network {network['id']}.")
    await member.ok("DELETE", f"/ports/{made[4]['id']}", 204)
    assert (await member.port(network["id"]))["fixed_ips"][0]["ip_address"] == "198.18.30.7"  # freed, handed again


async def test_port_security_off_means_no_groups(member, lab):
    port = await member.port(lab[0]["id"], port_security_enabled=False)
    assert port["port_security_enabled"] is False and port["security_groups"] == []
    secured = await member.port(lab[0]["id"])
    await assert_neutron_fault(await member.put(f"/ports/{secured['id']}", json={"port": {
        "port_security_enabled": False}}), 409, "PortSecurityPortHasSecurityGroup")
    off = await member.ok("PUT", f"/ports/{secured['id']}", json={"port": {"port_security_enabled": False,
                                                                           "security_groups": []}})
    assert off["port"]["security_groups"] == [] and off["port"]["port_security_enabled"] is False
    network = await member.network("insecure", port_security_enabled=False)
    assert (await member.port(network["id"]))["port_security_enabled"] is False  # the network's default


async def test_update_name_addresses_and_delete(member, lab, hostnet):
    network, subnet = lab
    port = await member.port(network["id"])
    updated = (await member.ok("PUT", f"/ports/{port['id']}", json={"port": {
        "name": "renamed", "device_id": "d", "device_owner": "compute:nova",
        "fixed_ips": [{"subnet_id": subnet["id"], "ip_address": "198.18.30.12"}]}}))["port"]
    assert updated["name"] == "renamed" and updated["device_owner"] == "compute:nova"
    assert updated["fixed_ips"] == [{"subnet_id": subnet["id"], "ip_address": "198.18.30.12"}]
    assert updated["revision_number"] == 2
    assert hostnet.dhcp_entries(network["id"]) == [(port["mac_address"], "198.18.30.12")]
    kept = (await member.ok("PUT", f"/ports/{port['id']}", json={"port": {
        "fixed_ips": [{"subnet_id": subnet["id"]}]}}))["port"]
    assert kept["fixed_ips"][0]["ip_address"] == "198.18.30.12"  # a subnet the port is on keeps its address
    await assert_neutron_fault(await member.put(f"/ports/{port['id']}", json={"port": {"mac_address":
                                                                                       "fa:16:3e:00:00:09"}}),
                               403, "PolicyNotAuthorized")
    await member.ok("DELETE", f"/ports/{port['id']}", 204)
    assert hostnet.dhcp_entries(network["id"]) == []
    await assert_neutron_fault(await member.get(f"/ports/{port['id']}"), 404, "PortNotFound",
                               f"Port {port['id']} could not be found.")


async def test_the_dhcp_port_goes_only_with_its_subnets(member, lab):
    network, _ = lab
    (dhcp,) = (await member.ok("GET", "/ports?device_owner=network:dhcp"))["ports"]
    await assert_neutron_fault(await member.delete(f"/ports/{dhcp['id']}"), 409, "ServicePortInUse")
    await assert_neutron_fault(await member.put(f"/ports/{dhcp['id']}", json={"port": {"fixed_ips": []}}), 400,
                               "InvalidInput")
    renamed = await member.ok("PUT", f"/ports/{dhcp['id']}", json={"port": {"name": "dhcp"}})
    assert renamed["port"]["name"] == "dhcp"


async def test_projects_see_their_ports_and_those_on_their_networks(net, member, lab, api, make_user):
    other = Net(api.client, await make_user("beta", "member"))
    shared = await net.network("shared", shared=True)
    await net.subnet(shared["id"], "198.18.32.0/24")
    theirs = await other.port(shared["id"])
    mine = await member.port(lab[0]["id"])
    visible = {p["id"] for p in (await member.ok("GET", "/ports"))["ports"]}
    assert mine["id"] in visible and theirs["id"] not in visible
    await assert_neutron_fault(await member.get(f"/ports/{theirs['id']}"), 404, "PortNotFound")
    await assert_neutron_fault(await member.delete(f"/ports/{theirs['id']}"), 404, "PortNotFound")
    assert theirs["id"] in {p["id"] for p in (await net.ok("GET", "/ports"))["ports"]}  # the network owner's view
    await assert_neutron_fault(await other.post("/ports", json={"port": {"network_id": lab[0]["id"]}}), 404,
                               "NetworkNotFound")
    await assert_neutron_fault(await other.post("/ports", json={"port": {
        "network_id": shared["id"], "fixed_ips": [{"ip_address": "198.18.32.50"}]}}), 403, "PolicyNotAuthorized",
        "(rule:create_port and rule:create_port:fixed_ips:ip_address) is disallowed by policy")
    await assert_neutron_fault(await other.post("/ports", json={"port": {
        "network_id": shared["id"], "mac_address": "fa:16:3e:00:00:42"}}), 403, "PolicyNotAuthorized")


async def test_a_host_failure_on_port_create_undoes_it(member, lab, hostnet):
    hostnet.fail("ensure_network")
    await assert_neutron_fault(await member.post("/ports", json={"port": {"network_id": lab[0]["id"]}}), 500,
                               "HTTPInternalServerError")
    assert [p["device_owner"] for p in (await member.ok("GET", "/ports"))["ports"]] == ["network:dhcp"]
    assert hostnet.dhcp_entries(lab[0]["id"]) == []
