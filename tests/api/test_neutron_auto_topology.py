"""Neutron's auto-allocated topology (what Nova's `networks: "auto"` boots on): GET makes the project's network,
/26 subnet and router on the default external network once, later calls answer the same network; `fields=dry-run`
only checks; DELETE removes it all; NetworkServices.ensure_auto_topology is the same call for the server side."""
from __future__ import annotations

import dataclasses
import datetime

import pytest

from nodecompute.api.keys import network_key
from nodecompute.domain.models import AuthContext
from tests.api.helpers import assert_neutron_fault
from tests.api.l3_env import L3, with_external

EPOCH = datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc)


@pytest.fixture
def cfg(cfg):
    return with_external(cfg)


@pytest.fixture
async def member(api, make_user) -> L3:
    return L3(api.client, await make_user("alpha", "member"))


@pytest.fixture
def admin(api, admin_token) -> L3:
    return L3(api.client, admin_token)


async def _project(net: L3) -> str:
    resp = await net.client.get("/identity/v3/auth/tokens", headers={"X-Auth-Token": net.token,
                                                                      "X-Subject-Token": net.token})
    return (await resp.json())["token"]["project"]["id"]


async def test_made_once_answered_again_and_deleted(member, hostnet):
    project = await _project(member)
    body = await member.ok("GET", f"/auto-allocated-topology/{project}")
    network_id = body["auto_allocated_topology"]["id"]
    assert body == {"auto_allocated_topology": {"id": network_id, "tenant_id": project, "project_id": project}}
    network = (await member.ok("GET", f"/networks/{network_id}"))["network"]
    assert (network["name"], network["admin_state_up"], network["project_id"]) == \
        ("auto_allocated_network", True, project)
    (subnet,) = (await member.ok("GET", f"/subnets?network_id={network_id}"))["subnets"]
    assert (subnet["name"], subnet["cidr"]) == ("auto_allocated_subnet_v4", "198.18.0.0/26")
    (router,) = (await member.ok("GET", "/routers"))["routers"]
    external = await member.external()
    assert (router["name"], router["external_gateway_info"]["network_id"]) == ("auto_allocated_router",
                                                                              external["id"])
    assert router["id"] in hostnet.routers
    again = await member.ok("GET", "/auto-allocated-topology/None")  # Neutron's literal None: the caller's
    assert again["auto_allocated_topology"]["id"] == network_id
    assert len((await member.ok("GET", "/networks?router:external=false"))["networks"]) == 1

    await member.ok("DELETE", f"/auto-allocated-topology/{project}", 204)
    assert (await member.ok("GET", "/routers"))["routers"] == []
    assert (await member.ok("GET", "/networks?router:external=false"))["networks"] == []
    assert router["id"] not in hostnet.routers
    await member.ok("DELETE", f"/auto-allocated-topology/{project}", 204)  # nothing left: still 204


async def test_dry_run_and_refusals(member, admin, make_user, api):
    project = await _project(member)
    assert await member.ok("GET", f"/auto-allocated-topology/{project}?fields=dry-run") == {
        "auto_allocated_topology": {"id": "dry-run=pass", "tenant_id": project, "project_id": project}}
    assert (await member.ok("GET", "/networks?router:external=false"))["networks"] == []  # a dry run makes nothing
    await assert_neutron_fault(await member.get(f"/auto-allocated-topology/{project}?fields=name"), 400,
                               "BadRequest", "Bad auto_allocate request: Unrecognized field.")
    other = await _project(admin)
    await assert_neutron_fault(await member.get(f"/auto-allocated-topology/{other}"), 403, "NotAuthorized")
    reader = L3(api.client, await make_user("alpha", "reader"))
    await assert_neutron_fault(await reader.get(f"/auto-allocated-topology/{project}"), 403, "PolicyNotAuthorized",
                               "rule:get_auto_allocated_topology is disallowed by policy")
    made = await admin.ok("GET", f"/auto-allocated-topology/{project}")  # an admin, for another project
    network = (await member.ok("GET", f"/networks/{made['auto_allocated_topology']['id']}"))["network"]
    assert network["project_id"] == project


async def test_ensure_auto_topology_for_the_server_side(member, api):
    project = await _project(member)
    services = api.client.server.app[network_key]
    ctx = AuthContext.system("test", EPOCH, project)
    network_id = await services.ensure_auto_topology(ctx, project)
    assert await services.ensure_auto_topology(ctx, project) == network_id
    body = await member.ok("GET", f"/auto-allocated-topology/{project}")
    assert body["auto_allocated_topology"]["id"] == network_id


@pytest.fixture
def no_default_cfg(cfg):
    return dataclasses.replace(cfg, network=dataclasses.replace(cfg.network, external_default=False))


async def test_no_default_external_network(aiohttp_client, no_default_cfg):
    from nodecompute.app import create_app
    from tests.api.helpers import Api

    api = Api(await aiohttp_client(create_app(no_default_cfg, with_servers=False)))
    admin = L3(api.client, await api.token("admin", "admin-secret", "admin"))
    project = await _project(admin)
    for query in ("", "?fields=dry-run"):
        await assert_neutron_fault(await admin.get(f"/auto-allocated-topology/{project}{query}"), 409,
                                   "AutoAllocationFailure", "Deployment error: No default router:external network.")
    assert (await admin.ok("GET", "/networks?router:external=false"))["networks"] == []


async def test_a_failure_half_way_leaves_nothing(member, admin, hostnet):
    project = await _project(member)
    await admin.ok("PUT", f"/quotas/{project}", json={"quota": {"router": 0}})
    resp = await member.get(f"/auto-allocated-topology/{project}")
    await assert_neutron_fault(resp, 409, "OverQuota")
    assert (await member.ok("GET", "/networks?router:external=false"))["networks"] == []
    assert (await member.ok("GET", f"/subnets?project_id={project}"))["subnets"] == [] and hostnet.routers == {}
    await admin.ok("PUT", f"/quotas/{project}", json={"quota": {"router": 1}})
    made = await member.ok("GET", f"/auto-allocated-topology/{project}")  # and a later call succeeds
    assert (await member.ok("GET", "/networks?router:external=false"))["networks"][0]["id"] == \
        made["auto_allocated_topology"]["id"]
