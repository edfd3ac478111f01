"""The network face: version discovery, extensions, the catalog entry, networks (#2801-#2804) with Neutron's
bodies, codes and faults, project isolation, and the host side kept in step (recording stand-in)."""
from __future__ import annotations

import pytest

from nodecompute.app import store_key
from nodecompute.db import networks as networks_db
from tests.api.helpers import Net, assert_keystone_error, assert_neutron_fault

NETWORK_KEYS = {"id", "name", "tenant_id", "project_id", "admin_state_up", "mtu", "status", "subnets", "shared",
                "router:external", "port_security_enabled", "l2_adjacency", "description", "created_at",
                "updated_at", "revision_number"}


@pytest.fixture
def net(api, admin_token) -> Net:
    return Net(api.client, admin_token)


@pytest.fixture
async def member(api, make_user) -> Net:
    return Net(api.client, await make_user("alpha", "member"))


@pytest.fixture
async def other(api, make_user) -> Net:
    return Net(api.client, await make_user("beta", "member"))


@pytest.mark.parametrize("path", ["/networking", "/networking/"])
async def test_version_discovery_needs_no_token(api, path):
    resp = await api.client.get(path)
    assert resp.status == 200
    body = await resp.json()
    host = f"http://{resp.url.host}:{resp.url.port}"
    assert body == {"versions": [{"id": "v2.0", "status": "CURRENT",
                                  "links": [{"rel": "self", "href": f"{host}/networking/v2.0/"}]}]}


async def test_v2_root_lists_the_core_resources(api, net):
    body = await net.ok("GET", "/")
    assert [r["collection"] for r in body["resources"]] == ["subnets", "networks", "ports"]
    assert body["resources"][1]["links"][0]["href"].endswith("/networking/v2.0/networks")


async def test_resources_need_a_token_with_keystones_401(api):
    resp = await api.client.get("/networking/v2.0/networks")
    await assert_keystone_error(resp, 401)
    assert resp.headers["WWW-Authenticate"].startswith("Keystone uri=")


async def test_catalog_has_the_network_service(api):
    resp = await api.client.post("/identity/v3/auth/tokens", json={"auth": {"identity": {
        "methods": ["password"], "password": {"user": {"name": "admin", "domain": {"id": "default"},
                                                       "password": "admin-secret"}}}}})
    catalog = (await resp.json())["token"]["catalog"]
    (entry,) = [e for e in catalog if e["type"] == "network"]
    assert entry["name"] == "neutron"
    assert {e["interface"] for e in entry["endpoints"]} == {"public", "internal", "admin"}
    assert entry["endpoints"][0]["url"] == "http://127.0.0.1:8774/networking"


async def test_extensions_list_and_show(net):
    body = await net.ok("GET", "/extensions")
    aliases = [e["alias"] for e in body["extensions"]]
    assert {"quotas", "quota_details", "binding", "port-security", "security-group", "external-net", "net-mtu",
            "pagination", "sorting", "filter-validation", "standard-attr-description", "project-id", "router",
            "ext-gw-mode", "fip-port-details", "auto-allocated-topology"} <= set(aliases)
    assert not {"dhcp_agent_scheduler", "standard-attr-tag", "l3-ha", "dvr"} & set(aliases)
    for extension in body["extensions"]:
        assert set(extension) == {"alias", "name", "description", "updated", "links"}
    shown = await net.ok("GET", "/extensions/quotas")
    assert shown["extension"]["alias"] == "quotas"
    await assert_neutron_fault(await net.get("/extensions/dvr"), 404, "HTTPNotFound",
                               "Extension with alias dvr does not exist")


async def test_network_create_show_list_update_delete(net, hostnet):
    created = await net.network("lab", description="d")
    assert set(created) == NETWORK_KEYS
    assert created["status"] == "ACTIVE" and created["mtu"] == 1500 and created["subnets"] == []
    assert created["shared"] is False and created["router:external"] is False and created["admin_state_up"] is True
    assert created["tenant_id"] == created["project_id"] and created["revision_number"] == 1
    assert created["created_at"].endswith("Z") and created["description"] == "d"
    assert created["id"] in hostnet.networks  # its bridge is made at once

    shown = await net.ok("GET", f"/networks/{created['id']}")
    assert shown["network"] == created
    listed = await net.ok("GET", "/networks")
    assert [n["id"] for n in listed["networks"]] == [created["id"]] and "networks_links" not in listed

    updated = await net.ok("PUT", f"/networks/{created['id']}", json={"network": {"name": "lab2", "mtu": 1400}})
    assert updated["network"]["name"] == "lab2" and updated["network"]["mtu"] == 1400
    assert updated["network"]["revision_number"] == 2
    assert hostnet.networks[created["id"]].mtu == 1400  # the bridge follows the MTU

    resp = await net.delete(f"/networks/{created['id']}")
    assert resp.status == 204 and await resp.read() == b""
    assert created["id"] not in hostnet.networks
    await assert_neutron_fault(await net.get(f"/networks/{created['id']}"), 404, "NetworkNotFound",
                               f"Network {created['id']} could not be found.")


async def test_create_with_every_writable_attribute(net):
    body = await net.network("n", admin_state_up=False, shared=True, mtu=9000, port_security_enabled=False,
                             **{"router:external": False})
    assert (body["admin_state_up"], body["shared"], body["mtu"], body["port_security_enabled"]) == \
        (False, True, 9000, False)


@pytest.mark.parametrize("network, status, type_, message", [
    ({"name": 5}, 400, "HTTPBadRequest", "Invalid input for name. Reason: '5' is not a valid string."),
    ({"name": "x" * 256}, 400, "HTTPBadRequest", None),
    ({"nope": 1}, 400, "HTTPBadRequest", "Unrecognized attribute(s) 'nope'"),
    ({"id": "x"}, 400, "HTTPBadRequest", "Attribute 'id' not allowed in POST"),
    ({"status": "DOWN"}, 400, "HTTPBadRequest", "Attribute 'status' not allowed in POST"),
    ({"admin_state_up": "maybe"}, 400, "InvalidInput",
     "Invalid input for operation: 'maybe' cannot be converted to boolean."),
    ({"mtu": 67}, 400, "HTTPBadRequest", "Invalid input for mtu. Reason: '67' is too small - must be at least '68'."),
    ({"mtu": "big"}, 400, "InvalidInput", "Invalid input for operation: 'big' is not an integer."),
    ({"router:external": True}, 400, "InvalidInput", None),
    ({"project_id": "a", "tenant_id": "b"}, 400, "HTTPBadRequest", "'project_id' and 'tenant_id' do not match"),
])
async def test_bad_network_bodies(net, api, network, status, type_, message):
    await assert_neutron_fault(await net.post("/networks", json={"network": network}), status, type_, message)
    assert (await net.ok("GET", "/networks"))["networks"] == []


@pytest.mark.parametrize("raw, message", [
    (b"{", "Body contains invalid data"), (b"[1]", "Body contains invalid data"), (b"", "Resource body required"),
    (b'{"networks": [{}]}', "Bulk operation not supported"),
    (b'{"net": {}}', "Unable to find 'network' in request body"),
    (b'{"network": 3}', "Object 'network' contains invalid data"),
])
async def test_malformed_bodies_are_neutrons_400(net, raw, message):
    resp = await net.post("/networks", data=raw, headers={"Content-Type": "application/json"})
    await assert_neutron_fault(resp, 400, "HTTPBadRequest", message)


async def test_read_only_attribute_on_update(net):
    created = await net.network()
    await assert_neutron_fault(await net.put(f"/networks/{created['id']}", json={"network": {"status": "DOWN"}}),
                               400, "HTTPBadRequest", "Cannot update read-only attribute status")


async def test_unknown_path_and_method(net):
    await assert_neutron_fault(await net.get("/trunks"), 404, "HTTPNotFound", "The resource could not be found.")
    await assert_neutron_fault(await net.post("/networks/abc", json={}), 405, "HTTPMethodNotAllowed",
                               "The method POST is not allowed for this resource.")


async def test_member_cannot_share_and_reader_cannot_write(api, member, make_user):
    await assert_neutron_fault(await member.post("/networks", json={"network": {"shared": True}}), 403,
                               "PolicyNotAuthorized",
                               "(rule:create_network and rule:create_network:shared) is disallowed by policy")
    reader = Net(api.client, await make_user("alpha", "reader"))
    await assert_neutron_fault(await reader.post("/networks", json={"network": {}}), 403, "PolicyNotAuthorized",
                               "rule:create_network is disallowed by policy")
    await assert_neutron_fault(await member.post("/networks", json={"network": {"project_id": "someone"}}), 400,
                               "HTTPBadRequest", "Specifying 'project_id' other than the authenticated project in "
                                                 "request is not allowed for the current user.")


async def test_projects_see_their_own_and_shared_networks(net, member, other):
    mine = await member.network("mine")
    theirs = await other.network("theirs")
    shared = await net.network("shared", shared=True)
    assert {n["id"] for n in (await member.ok("GET", "/networks"))["networks"]} == {mine["id"], shared["id"]}
    assert {n["id"] for n in (await net.ok("GET", "/networks"))["networks"]} == {mine["id"], theirs["id"],
                                                                                 shared["id"]}
    await assert_neutron_fault(await member.get(f"/networks/{theirs['id']}"), 404, "NetworkNotFound")
    await assert_neutron_fault(await member.delete(f"/networks/{theirs['id']}"), 404, "NetworkNotFound")
    await assert_neutron_fault(await member.put(f"/networks/{shared['id']}", json={"network": {"name": "x"}}),
                               403, "PolicyNotAuthorized", "rule:update_network is disallowed by policy")
    await assert_neutron_fault(await member.put(f"/networks/{mine['id']}", json={"network": {"shared": True}}),
                               403, "PolicyNotAuthorized")


async def test_admin_creates_for_another_project(net, member):
    project = (await member.network("probe"))["project_id"]
    made = await net.network("for-alpha", project_id=project)
    assert made["project_id"] == project
    assert made["id"] in {n["id"] for n in (await member.ok("GET", "/networks"))["networks"]}


async def test_unsharing_a_network_other_projects_use_is_refused(net, other):
    shared = await net.network("shared", shared=True)
    await net.subnet(shared["id"], "198.18.40.0/24")
    await other.port(shared["id"])
    await assert_neutron_fault(await net.put(f"/networks/{shared['id']}", json={"network": {"shared": False}}),
                               409, "InvalidSharedSetting")


async def test_a_network_with_ports_is_not_deleted(net, hostnet):
    network = await net.network()
    await net.subnet(network["id"], "198.18.41.0/24")
    port = await net.port(network["id"])
    await assert_neutron_fault(await net.delete(f"/networks/{network['id']}"), 409, "NetworkInUse",
                               f"Unable to complete operation on network {network['id']}. There are one or more "
                               f"ports still in use on the network.")
    assert network["id"] in hostnet.networks
    await net.ok("DELETE", f"/ports/{port['id']}", 204)
    await net.ok("DELETE", f"/networks/{network['id']}", 204)  # the DHCP port goes with it
    assert (await net.ok("GET", "/ports"))["ports"] == [] and (await net.ok("GET", "/subnets"))["subnets"] == []
    assert network["id"] not in hostnet.networks


async def test_a_host_failure_on_create_leaves_no_network(net, api, hostnet):
    hostnet.fail("ensure_network")
    await assert_neutron_fault(await net.post("/networks", json={"network": {"name": "x"}}), 500,
                               "HTTPInternalServerError",
                               "Request Failed: internal server error while processing your request.")
    assert (await net.ok("GET", "/networks"))["networks"] == []
    assert api.client.server.app[store_key].read(networks_db.list_networks) == []


async def test_a_host_failure_on_delete_keeps_the_network(net, hostnet):
    network = await net.network()
    hostnet.fail("delete_network")
    await assert_neutron_fault(await net.delete(f"/networks/{network['id']}"), 500, "HTTPInternalServerError")
    assert (await net.ok("GET", f"/networks/{network['id']}"))["network"]["id"] == network["id"]
    await net.ok("DELETE", f"/networks/{network['id']}", 204)


async def test_the_v2_root_needs_its_slash_and_unknown_paths_a_token(api, net):
    await assert_neutron_fault(await net.get(""), 404, "HTTPNotFound")  # /networking/v2.0, as Neutron
    await assert_keystone_error(await api.client.get("/networking/v2.0/nothing"), 401)


async def test_an_admin_only_attribute_on_a_network_the_caller_cannot_see_is_a_404(member, other):
    """Found by the tenant-isolation matrix: the admin-only attribute's 403 came before the lookup, so a member of
    another project learnt that the network exists. Neutron pretends it does not (404); to the network's own
    project the policy's 403 stays."""
    private = await member.network("private")
    from_other = await other.put(f"/networks/{private['id']}", json={"network": {"shared": True}})
    await assert_neutron_fault(from_other, 404, "NetworkNotFound")
    from_owner = await member.put(f"/networks/{private['id']}", json={"network": {"shared": True}})
    await assert_neutron_fault(from_owner, 403, "PolicyNotAuthorized")
