"""Floating IPs (#2816-#2817): allocation from the external network's pool, association to a port through the router
that joins its subnet to the external network (with Neutron's faults), disassociation, deletion, filters, the
floatingip quota, and the NAT the router namespace is asked to hold (recording stand-in)."""
from __future__ import annotations

import pytest

from nodecompute.hostnet import FloatingIp
from tests.api.helpers import assert_neutron_fault
from tests.api.l3_env import L3, with_external

FIP_KEYS = {"id", "tenant_id", "project_id", "floating_ip_address", "floating_network_id", "router_id", "port_id",
            "fixed_ip_address", "status", "port_details", "description", "created_at", "updated_at",
            "revision_number"}
NOWHERE = "00000000-0000-4000-8000-000000000000"


@pytest.fixture
def cfg(cfg):
    return with_external(cfg)


@pytest.fixture
def admin(api, admin_token) -> L3:
    return L3(api.client, admin_token)


@pytest.fixture
async def member(api, make_user) -> L3:
    return L3(api.client, await make_user("alpha", "member"))


@pytest.fixture
async def lab(member) -> tuple[dict, dict, dict]:
    return await member.lab("198.18.50.0/24")


async def test_allocate_associate_disassociate_delete(member, admin, lab, hostnet):
    network, subnet, router = lab
    port = await member.port(network["id"], device_id="vm-1", device_owner="compute:nova")
    fip = await member.floatingip(description="web")
    assert set(fip) == FIP_KEYS
    external = await member.external()
    assert (fip["floating_ip_address"], fip["floating_network_id"], fip["status"], fip["description"]) == \
        ("203.0.113.11", external["id"], "DOWN", "web")  # .10 is the router's gateway
    assert (fip["port_id"], fip["fixed_ip_address"], fip["router_id"], fip["port_details"]) == (None,) * 4
    holder = [p for p in (await admin.ok("GET", "/ports?device_owner=network:floatingip"))["ports"]]
    assert [(p["device_id"], p["project_id"], p["fixed_ips"][0]["ip_address"]) for p in holder] == \
        [(fip["id"], "", "203.0.113.11")]

    associated = (await member.ok("PUT", f"/floatingips/{fip['id']}", json={"floatingip": {
        "port_id": port["id"]}}))["floatingip"]
    fixed = port["fixed_ips"][0]["ip_address"]
    assert (associated["port_id"], associated["fixed_ip_address"], associated["router_id"], associated["status"]) \
        == (port["id"], fixed, router["id"], "ACTIVE")
    assert associated["port_details"] == {
        "name": "", "network_id": network["id"], "mac_address": port["mac_address"], "admin_state_up": True,
        "status": "DOWN", "device_id": "vm-1", "device_owner": "compute:nova"}
    assert hostnet.routers[router["id"]].floating_ips == (FloatingIp("203.0.113.11", fixed),)
    assert ("set_floating_ips", router["id"]) in hostnet.calls  # only the NAT table and the /32s change

    assert (await member.ok("GET", f"/floatingips?port_id={port['id']}"))["floatingips"] == [associated]
    assert (await member.ok("GET", "/floatingips?floating_ip_address=203.0.113.11"))["floatingips"] == [associated]
    assert (await member.ok("GET", "/floatingips?status=DOWN"))["floatingips"] == []

    kept = await member.ok("PUT", f"/floatingips/{fip['id']}", json={"floatingip": {"description": "kept"}})
    assert (kept["floatingip"]["port_id"], kept["floatingip"]["description"]) == (port["id"], "kept")
    off = (await member.ok("PUT", f"/floatingips/{fip['id']}", json={"floatingip": {"port_id": None}}))["floatingip"]
    assert (off["port_id"], off["fixed_ip_address"], off["router_id"], off["status"]) == (None, None, None, "DOWN")
    assert hostnet.routers[router["id"]].floating_ips == ()

    await member.ok("PUT", f"/floatingips/{fip['id']}", json={"floatingip": {"port_id": port["id"]}})
    await member.ok("DELETE", f"/floatingips/{fip['id']}", 204)
    assert hostnet.routers[router["id"]].floating_ips == ()
    await assert_neutron_fault(await member.get(f"/floatingips/{fip['id']}"), 404, "FloatingIPNotFound",
                               f"Floating IP {fip['id']} could not be found")
    assert (await admin.ok("GET", "/ports?device_owner=network:floatingip"))["ports"] == []


async def test_associate_at_create_and_the_port_going(member, lab, hostnet):
    network, _, router = lab
    port = await member.port(network["id"])
    fip = await member.floatingip(port_id=port["id"])
    assert (fip["status"], fip["router_id"]) == ("ACTIVE", router["id"])
    assert len(hostnet.routers[router["id"]].floating_ips) == 1
    await member.ok("DELETE", f"/ports/{port['id']}", 204)
    after = (await member.ok("GET", f"/floatingips/{fip['id']}"))["floatingip"]
    assert (after["port_id"], after["router_id"], after["status"]) == (None, None, "DOWN")
    assert hostnet.routers[router["id"]].floating_ips == ()


async def test_an_unreachable_subnet(member):
    network = await member.network("island")
    subnet = await member.subnet(network["id"], "198.18.51.0/24")
    port = await member.port(network["id"])
    external = await member.external()
    fip = await member.floatingip()
    await assert_neutron_fault(await member.put(f"/floatingips/{fip['id']}", json={"floatingip": {
        "port_id": port["id"]}}), 404, "ExternalGatewayForFloatingIPNotFound",
        f"External network {external['id']} is not reachable from subnet {subnet['id']}.  Therefore, cannot "
        f"associate Port {port['id']} with a Floating IP.")
    router = await member.router()  # a leg on the subnet, but no gateway
    await member.add_interface(router["id"], subnet_id=subnet["id"])
    await assert_neutron_fault(await member.post("/floatingips", json={"floatingip": {
        "floating_network_id": external["id"], "port_id": port["id"]}}), 404, "ExternalGatewayForFloatingIPNotFound")
    assert [f["id"] for f in (await member.ok("GET", "/floatingips"))["floatingips"]] == [fip["id"]]


async def test_association_faults(member, admin, lab, make_user):
    network, subnet, router = lab
    fip = await member.floatingip()
    path = f"/floatingips/{fip['id']}"
    await assert_neutron_fault(await member.put(path, json={"floatingip": {"fixed_ip_address": "198.18.50.9"}}),
                               400, "BadRequest",
                               "Bad floatingip request: fixed_ip_address cannot be specified without a port_id.")
    two = await member.port(network["id"], fixed_ips=[{"ip_address": "198.18.50.20"},
                                                       {"ip_address": "198.18.50.21"}])
    await assert_neutron_fault(await member.put(path, json={"floatingip": {"port_id": two["id"]}}), 400,
                               "BadRequest", f"Bad floatingip request: Port {two['id']} has multiple fixed IPv4 "
                               f"addresses.  Must provide a specific IPv4 address when assigning a floating IP.")
    await assert_neutron_fault(await member.put(path, json={"floatingip": {
        "port_id": two["id"], "fixed_ip_address": "198.18.50.22"}}), 400, "BadRequest",
        f"Bad floatingip request: Port {two['id']} does not have fixed ip 198.18.50.22.")
    chosen = await member.ok("PUT", path, json={"floatingip": {"port_id": two["id"],
                                                               "fixed_ip_address": "198.18.50.21"}})
    assert chosen["floatingip"]["fixed_ip_address"] == "198.18.50.21"
    second = await member.floatingip()
    await assert_neutron_fault(await member.put(f"/floatingips/{second['id']}", json={"floatingip": {
        "port_id": two["id"], "fixed_ip_address": "198.18.50.21"}}), 409, "FloatingIPPortAlreadyAssociated",
        f"Cannot associate floating IP {second['floating_ip_address']} ({second['id']}) with port {two['id']} using "
        f"fixed IP 198.18.50.21, as that fixed IP already has a floating IP on external network "
        f"{second['floating_network_id']}.")
    await assert_neutron_fault(await member.put(f"/ports/{two['id']}", json={"port": {"fixed_ips": [
        {"ip_address": "198.18.50.20"}]}}), 400, "BadRequest",
        f"Bad port request: Cannot update the fixed_ips of the port {two['id']}, because its original fixed_ip has "
        f"been associated to a floating ip.")
    dhcp = next(p for p in (await member.ok("GET", f"/ports?network_id={network['id']}"))["ports"]
                if p["device_owner"] == "network:dhcp")
    await assert_neutron_fault(await member.put(f"/floatingips/{second['id']}", json={"floatingip": {
        "port_id": dhcp["id"]}}), 400, "BadRequest",
        f"Bad floatingip request: Port {dhcp['id']} is unable to be assigned a floating IP.")
    await assert_neutron_fault(await member.put(f"/floatingips/{second['id']}", json={"floatingip": {
        "port_id": NOWHERE}}), 404, "PortNotFound")
    other = L3(member.client, await make_user("beta", "member"))
    await assert_neutron_fault(await other.put(f"/floatingips/{second['id']}", json={"floatingip": {
        "port_id": None}}), 404, "FloatingIPNotFound")
    foreign = await other.port((await other.network("b"))["id"])
    await assert_neutron_fault(await member.put(f"/floatingips/{second['id']}", json={"floatingip": {
        "port_id": foreign["id"]}}), 404, "PortNotFound")
    admins_port = await admin.port(network["id"])  # on the member's network (so the member sees it), the admin's
    await assert_neutron_fault(await member.put(f"/floatingips/{second['id']}", json={"floatingip": {
        "port_id": admins_port["id"]}}), 400, "BadRequest",
        f"Bad floatingip request: Cannot process floating IP association with Port {admins_port['id']}, since that "
        f"port is owned by a different project.")
    admins = await admin.floatingip()  # an admin associates any port
    await admin.ok("PUT", f"/floatingips/{admins['id']}", json={"floatingip": {
        "port_id": two["id"], "fixed_ip_address": "198.18.50.20"}})


async def test_what_a_floating_ip_holds_back(member, lab):
    network, subnet, router = lab
    port = await member.port(network["id"])
    await member.floatingip(port_id=port["id"])
    await assert_neutron_fault(await member.put(f"/routers/{router['id']}/remove_router_interface", json={
        "subnet_id": subnet["id"]}), 409, "RouterInterfaceInUseByFloatingIP",
        f"Router interface for subnet {subnet['id']} on router {router['id']} cannot be deleted, as it is required "
        f"by one or more floating IPs.")
    external = await member.external()
    await assert_neutron_fault(await member.put(f"/routers/{router['id']}", json={"router": {
        "external_gateway_info": None}}), 409, "RouterExternalGatewayInUseByFloatingIp",
        f"Gateway cannot be updated for router {router['id']}, since a gateway to external network {external['id']} "
        f"is required by one or more floating IPs.")


@pytest.mark.parametrize("attrs, status, type_, message", [
    ({"floating_network_id": NOWHERE}, 404, "NetworkNotFound", None),
    ({"floating_network_id": "x"}, 400, "HTTPBadRequest",
     "Invalid input for floating_network_id. Reason: 'x' is not a valid UUID."),
    ({"floating_ip_address": "203.0.113.12"}, 403, "PolicyNotAuthorized",
     "(rule:create_floatingip and rule:create_floatingip:floating_ip_address) is disallowed by policy"),
    ({"router_id": NOWHERE}, 400, "HTTPBadRequest", "Attribute 'router_id' not allowed in POST"),
])
async def test_bad_allocations(member, attrs, status, type_, message):
    body = {"floatingip": {"floating_network_id": (await member.external())["id"], **attrs}}
    await assert_neutron_fault(await member.post("/floatingips", json=body), status, type_, message)
    assert (await member.ok("GET", "/floatingips"))["floatingips"] == []


async def test_only_the_external_network_gives_floating_ips(member):
    network = await member.network("plain")
    await member.subnet(network["id"], "198.18.52.0/24")
    await assert_neutron_fault(await member.post("/floatingips", json={"floatingip": {
        "floating_network_id": network["id"]}}), 400, "BadRequest",
        f"Bad floatingip request: Network {network['id']} is not a valid external network.")


async def test_admins_choose_the_address_and_the_pool_runs_out(admin):
    chosen = await admin.floatingip(floating_ip_address="203.0.113.200")  # outside the pool, inside the subnet
    assert chosen["floating_ip_address"] == "203.0.113.200"
    await assert_neutron_fault(await admin.post("/floatingips", json={"floatingip": {
        "floating_network_id": chosen["floating_network_id"], "floating_ip_address": "203.0.113.200"}}), 409,
        "IpAddressAlreadyAllocated")
    made = [await admin.floatingip() for _ in range(11)]  # .10 to .20
    assert [f["floating_ip_address"] for f in made] == [f"203.0.113.{n}" for n in range(10, 21)]
    await assert_neutron_fault(await admin.post("/floatingips", json={"floatingip": {
        "floating_network_id": chosen["floating_network_id"]}}), 409, "IpAddressGenerationFailure",
        f"No more IP addresses available on network {chosen['floating_network_id']}.")


async def test_the_floatingip_quota(member, admin):
    fip = await member.floatingip()
    project = fip["project_id"]
    assert (await member.ok("GET", f"/quotas/{project}/details"))["quota"]["floatingip"] == {
        "limit": 50, "used": 1, "reserved": 0}
    await admin.ok("PUT", f"/quotas/{project}", json={"quota": {"floatingip": 1}})
    await assert_neutron_fault(await member.post("/floatingips", json={"floatingip": {
        "floating_network_id": fip["floating_network_id"]}}), 409, "OverQuota",
        "Quota exceeded for resources: ['floatingip'].")
