"""Routers (#2813-#2815): create, list, show, update, delete, the external gateway (ext-gw-mode's enable_snat),
add/remove_router_interface by subnet or port, Neutron's faults, the router quota, and what the host is asked to
hold (recording stand-in: the real namespace is tests/integration/test_routers_floating.py's)."""
from __future__ import annotations

import pytest

from tests.api.helpers import assert_neutron_fault
from tests.api.l3_env import L3, with_external

ROUTER_KEYS = {"id", "name", "tenant_id", "project_id", "admin_state_up", "status", "external_gateway_info",
               "description", "created_at", "updated_at", "revision_number"}
INTERFACE_KEYS = {"id", "tenant_id", "project_id", "port_id", "network_id", "subnet_id", "subnet_ids"}
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
async def lab(member) -> tuple[dict, dict]:
    network = await member.network("lab")
    return network, await member.subnet(network["id"], "198.18.40.0/24")


async def test_a_router_without_gateway(member, hostnet, make_user):
    router = await member.router("r1", description="edge")
    assert set(router) == ROUTER_KEYS
    assert (router["name"], router["description"], router["status"], router["admin_state_up"]) == \
        ("r1", "edge", "ACTIVE", True)
    assert router["external_gateway_info"] is None and router["revision_number"] == 1
    spec = hostnet.routers[router["id"]]
    assert spec.interfaces == () and spec.gateway is None and spec.floating_ips == ()  # a namespace, nothing more
    assert (await member.ok("GET", f"/routers/{router['id']}"))["router"] == router
    assert (await member.ok("GET", "/routers?name=r1"))["routers"] == [router]
    assert (await member.ok("GET", "/routers?fields=id&fields=name"))["routers"] == [{"id": router["id"],
                                                                                       "name": "r1"}]
    other = L3(member.client, await make_user("beta", "member"))
    await assert_neutron_fault(await other.get(f"/routers/{router['id']}"), 404, "RouterNotFound",
                               f"Router {router['id']} could not be found")
    assert (await other.ok("GET", "/routers"))["routers"] == []
    reader = L3(member.client, await make_user("alpha", "reader"))
    await assert_neutron_fault(await reader.post("/routers", json={"router": {"name": "x"}}), 403,
                               "PolicyNotAuthorized", "rule:create_router is disallowed by policy")


async def test_the_gateway_takes_an_address_of_the_pool(member, admin, hostnet):
    external = await member.external()
    router = await member.gateway_router()
    info = router["external_gateway_info"]
    assert info == {"network_id": external["id"], "enable_snat": True, "external_fixed_ips": [
        {"subnet_id": external["subnets"][0], "ip_address": "203.0.113.10"}]}
    spec = hostnet.routers[router["id"]]
    assert spec.gateway.addresses == ("203.0.113.10/24",) and spec.gateway.network_id == external["id"]
    assert spec.gateway_ip == "203.0.113.1" and spec.snat is True
    gateway_ports = (await admin.ok("GET", f"/ports?device_id={router['id']}"))["ports"]
    assert [(p["device_owner"], p["project_id"]) for p in gateway_ports] == [("network:router_gateway", "")]
    assert (await member.ok("GET", f"/ports?device_id={router['id']}"))["ports"] == []  # not the project's
    cleared = await member.ok("PUT", f"/routers/{router['id']}", json={"router": {"external_gateway_info": {}}})
    assert cleared["router"]["external_gateway_info"] is None and hostnet.routers[router["id"]].gateway is None
    assert (await admin.ok("GET", f"/ports?device_id={router['id']}"))["ports"] == []
    again = await member.ok("PUT", f"/routers/{router['id']}", json={"router": {"external_gateway_info": {
        "network_id": external["id"]}}})
    assert again["router"]["external_gateway_info"]["external_fixed_ips"][0]["ip_address"] == "203.0.113.10"
    cleared = await member.ok("PUT", f"/routers/{router['id']}", json={"router": {"external_gateway_info": None}})
    assert cleared["router"]["external_gateway_info"] is None


async def test_snat_and_fixed_gateway_addresses_are_the_admins(member, admin, hostnet):
    external = await member.external()
    gateway = {"network_id": external["id"], "enable_snat": False}
    await assert_neutron_fault(await member.post("/routers", json={"router": {"external_gateway_info": gateway}}),
                               403, "PolicyNotAuthorized",
                               "(rule:create_router and (rule:create_router:external_gateway_info and "
                               "(rule:create_router:external_gateway_info:network_id and "
                               "rule:create_router:external_gateway_info:enable_snat))) is disallowed by policy")
    assert (await member.ok("GET", "/routers"))["routers"] == []
    fixed = {**gateway, "external_fixed_ips": [{"ip_address": "203.0.113.15"}]}
    router = await admin.router(external_gateway_info=fixed)
    assert router["external_gateway_info"]["enable_snat"] is False
    assert router["external_gateway_info"]["external_fixed_ips"][0]["ip_address"] == "203.0.113.15"
    assert hostnet.routers[router["id"]].snat is False
    snat = await admin.ok("PUT", f"/routers/{router['id']}", json={"router": {"external_gateway_info": {
        "network_id": external["id"]}}})  # a gateway without enable_snat turns it on, as Neutron does
    assert snat["router"]["external_gateway_info"]["enable_snat"] is True and hostnet.routers[router["id"]].snat
    moved = await admin.ok("PUT", f"/routers/{router['id']}", json={"router": {"external_gateway_info": {
        "network_id": external["id"], "external_fixed_ips": [{"ip_address": "203.0.113.16"}]}}})
    assert moved["router"]["external_gateway_info"]["external_fixed_ips"][0]["ip_address"] == "203.0.113.16"
    assert hostnet.routers[router["id"]].gateway.addresses == ("203.0.113.16/24",)
    await assert_neutron_fault(await admin.post("/routers", json={"router": {"external_gateway_info": {
        "network_id": external["id"], "external_fixed_ips": [{"ip_address": "203.0.113.1"}]}}}), 400, "BadRequest",
        "Bad router request: External IP 203.0.113.1 is the same as the gateway IP.")


@pytest.mark.parametrize("gateway, status, type_, message", [
    ({"network_id": "x"}, 400, "HTTPBadRequest",
     "Invalid input for external_gateway_info. Reason: 'x' is not a valid UUID."),
    ({"enable_snat": True}, 400, "HTTPBadRequest", None),
    ({"network_id": NOWHERE, "color": "red"}, 400, "HTTPBadRequest",
     "Invalid input for external_gateway_info. Reason: Unexpected keys supplied: color."),
    ("x", 400, "HTTPBadRequest", "Invalid input for external_gateway_info. Reason: 'x' is not a dictionary."),
    ({"network_id": NOWHERE}, 404, "NetworkNotFound", f"Network {NOWHERE} could not be found."),
])
async def test_bad_gateways(member, gateway, status, type_, message):
    await assert_neutron_fault(await member.post("/routers", json={"router": {"external_gateway_info": gateway}}),
                               status, type_, message)
    assert (await member.ok("GET", "/routers"))["routers"] == []


async def test_a_gateway_must_be_on_the_external_network(member, lab):
    await assert_neutron_fault(await member.post("/routers", json={"router": {"external_gateway_info": {
        "network_id": lab[0]["id"]}}}), 400, "BadRequest",
        f"Bad router request: Network {lab[0]['id']} is not an external network.")


async def test_interfaces_by_subnet(member, lab, hostnet):
    network, subnet = lab
    router = await member.gateway_router()
    added = await member.add_interface(router["id"], subnet_id=subnet["id"])
    assert set(added) == INTERFACE_KEYS
    assert (added["id"], added["network_id"], added["subnet_id"], added["subnet_ids"]) == \
        (router["id"], network["id"], subnet["id"], [subnet["id"]])
    port = (await member.ok("GET", f"/ports/{added['port_id']}"))["port"]
    assert (port["device_owner"], port["device_id"], port["status"]) == \
        ("network:router_interface", router["id"], "ACTIVE")
    assert port["fixed_ips"] == [{"subnet_id": subnet["id"], "ip_address": "198.18.40.1"}]  # the gateway address
    (leg,) = hostnet.routers[router["id"]].interfaces
    assert (leg.port_id, leg.network_id, leg.mac, leg.addresses) == \
        (port["id"], network["id"], port["mac_address"], ("198.18.40.1/24",))
    assert (port["mac_address"], "198.18.40.1") in hostnet.dhcp_entries(network["id"])
    shown = (await member.ok("GET", f"/routers/{router['id']}"))["router"]
    assert shown["revision_number"] > router["revision_number"]

    await assert_neutron_fault(await member.put(f"/routers/{router['id']}/add_router_interface", json={
        "subnet_id": subnet["id"]}), 400, "BadRequest",
        f"Bad router request: Router already has a port on subnet {subnet['id']}.")
    second = await member.router("second")
    await assert_neutron_fault(await member.put(f"/routers/{second['id']}/add_router_interface", json={
        "subnet_id": subnet["id"]}), 409, "IpAddressAlreadyAllocated",
        f"IP address 198.18.40.1 already allocated in subnet {subnet['id']}")
    other = await member.network("other")
    overlapping = await member.subnet(other["id"], "198.18.40.128/25")
    await assert_neutron_fault(await member.put(f"/routers/{router['id']}/add_router_interface", json={
        "subnet_id": overlapping["id"]}), 400, "BadRequest",
        f"Bad router request: Cidr 198.18.40.128/25 of subnet {overlapping['id']} overlaps with cidr 198.18.40.0/24 "
        f"of subnet {subnet['id']}.")

    await assert_neutron_fault(await member.delete(f"/ports/{port['id']}"), 409, "ServicePortInUse",
                               f"Port {port['id']} cannot be deleted directly via the port API: has device owner "
                               f"network:router_interface.")
    await assert_neutron_fault(await member.delete(f"/subnets/{subnet['id']}"), 409, "SubnetInUse")
    await assert_neutron_fault(await member.delete(f"/networks/{network['id']}"), 409, "NetworkInUse")
    await assert_neutron_fault(await member.delete(f"/routers/{router['id']}"), 409, "RouterInUse",
                               f"Router {router['id']} has ports still attached: {port['id']}")

    removed = await member.ok("PUT", f"/routers/{router['id']}/remove_router_interface", json={
        "subnet_id": subnet["id"]})
    assert removed == added
    assert hostnet.routers[router["id"]].interfaces == ()
    await assert_neutron_fault(await member.get(f"/ports/{port['id']}"), 404, "PortNotFound")
    await assert_neutron_fault(await member.put(f"/routers/{router['id']}/remove_router_interface", json={
        "subnet_id": subnet["id"]}), 404, "RouterInterfaceNotFoundForSubnet",
        f"Router {router['id']} has no interface on subnet {subnet['id']}")
    await member.ok("DELETE", f"/routers/{router['id']}", 204)
    assert router["id"] not in hostnet.routers and ("delete_router", router["id"]) in hostnet.calls
    await member.ok("DELETE", f"/networks/{network['id']}", 204)


async def test_interfaces_by_port(member, lab, hostnet):
    network, subnet = lab
    router = await member.router()
    port = await member.port(network["id"], fixed_ips=[{"ip_address": "198.18.40.254"}])
    added = await member.add_interface(router["id"], port_id=port["id"])
    assert (added["port_id"], added["subnet_ids"]) == (port["id"], [subnet["id"]])
    adopted = (await member.ok("GET", f"/ports/{port['id']}"))["port"]
    assert (adopted["device_owner"], adopted["device_id"]) == ("network:router_interface", router["id"])
    assert hostnet.routers[router["id"]].interfaces[0].addresses == ("198.18.40.254/24",)
    await assert_neutron_fault(await member.put(f"/routers/{router['id']}/add_router_interface", json={
        "port_id": port["id"]}), 409, "PortInUse",
        f"Unable to complete operation on port {port['id']} for network {network['id']}. Port already has an "
        f"attached device {router['id']}.")
    await assert_neutron_fault(await member.put(f"/routers/{router['id']}/remove_router_interface", json={
        "port_id": port["id"], "subnet_id": NOWHERE}), 400, "SubnetMismatchForPort",
        f"Subnet on port {port['id']} does not match the requested subnet {NOWHERE}.")
    await assert_neutron_fault(await member.put(f"/routers/{router['id']}/remove_router_interface", json={
        "port_id": NOWHERE}), 404, "RouterInterfaceNotFound",
        f"Router {router['id']} does not have an interface with id {NOWHERE}")
    await member.ok("PUT", f"/routers/{router['id']}/remove_router_interface", json={"port_id": port["id"]})
    await assert_neutron_fault(await member.get(f"/ports/{port['id']}"), 404, "PortNotFound")


@pytest.mark.parametrize("body, message", [
    ({}, "Bad router request: Either subnet_id or port_id must be specified."),
    ({"subnet_id": "x"}, "Bad router request: 'x' is not a valid UUID."),
    ({"subnet_id": NOWHERE, "port_id": NOWHERE}, "Bad router request: Cannot specify both subnet-id and port-id."),
])
async def test_bad_interface_bodies(member, body, message):
    router = await member.router()
    await assert_neutron_fault(await member.put(f"/routers/{router['id']}/add_router_interface", json=body), 400,
                               "BadRequest", message)


async def test_a_subnet_without_gateway_or_of_another_project(member, admin, make_user):
    router = await member.router()
    network = await member.network("nogw")
    subnet = await member.subnet(network["id"], "198.18.41.0/24", gateway_ip=None)
    await assert_neutron_fault(await member.put(f"/routers/{router['id']}/add_router_interface", json={
        "subnet_id": subnet["id"]}), 400, "BadRequest",
        "Bad router request: Subnet for router interface must have a gateway IP.")
    shared = await admin.network("shared", shared=True)
    shared_subnet = await admin.subnet(shared["id"], "198.18.42.0/24")
    await assert_neutron_fault(await member.put(f"/routers/{router['id']}/add_router_interface", json={
        "subnet_id": shared_subnet["id"]}), 400, "BadRequest",
        f"Bad router request: Cannot add interface to router because subnet {shared_subnet['id']} is not owned by "
        f"project making the request.")
    other = L3(member.client, await make_user("beta", "member"))
    hidden = await other.subnet((await other.network("b"))["id"], "198.18.43.0/24")
    await assert_neutron_fault(await member.put(f"/routers/{router['id']}/add_router_interface", json={
        "subnet_id": hidden["id"]}), 404, "SubnetNotFound")


async def test_admin_state_down_takes_the_router_off_the_host(member, hostnet):
    router = await member.gateway_router()
    down = await member.ok("PUT", f"/routers/{router['id']}", json={"router": {"admin_state_up": False,
                                                                               "name": "down"}})
    assert (down["router"]["admin_state_up"], down["router"]["name"]) == (False, "down")
    assert router["id"] not in hostnet.routers
    await member.ok("PUT", f"/routers/{router['id']}", json={"router": {"admin_state_up": True}})
    assert hostnet.routers[router["id"]].gateway is not None


async def test_a_host_failure_on_create_leaves_no_router(member, admin, hostnet):
    hostnet.fail("ensure_router")
    resp = await member.post("/routers", json={"router": {"name": "doomed", "external_gateway_info": {
        "network_id": (await member.external())["id"]}}})
    await assert_neutron_fault(resp, 500, "HTTPInternalServerError")
    assert (await member.ok("GET", "/routers"))["routers"] == []
    assert [p for p in (await admin.ok("GET", "/ports"))["ports"] if p["device_owner"] == "network:router_gateway"] \
        == []


async def test_the_router_quota(member, admin):
    project = (await member.router("first"))["project_id"]
    details = (await member.ok("GET", f"/quotas/{project}/details"))["quota"]
    assert details["router"] == {"limit": 10, "used": 1, "reserved": 0}
    await admin.ok("PUT", f"/quotas/{project}", json={"quota": {"router": 1}})
    await assert_neutron_fault(await member.post("/routers", json={"router": {"name": "second"}}), 409, "OverQuota",
                               "Quota exceeded for resources: ['router'].")


async def test_the_l3_extensions_are_listed(member):
    aliases = {e["alias"] for e in (await member.ok("GET", "/extensions"))["extensions"]}
    assert {"router", "ext-gw-mode", "fip-port-details", "auto-allocated-topology", "external-net"} <= aliases
    assert not {"dvr", "l3-ha", "extraroute", "l3_agent_scheduler", "router_availability_zone"} & aliases
    shown = await member.ok("GET", "/extensions/router")
    assert shown["extension"]["name"] == "Neutron L3 Router"
