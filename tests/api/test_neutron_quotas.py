"""Neutron's quota API (#2818) and the quotas enforced on create (409 OverQuota)."""
from __future__ import annotations

import pytest

from tests.api.helpers import Net, assert_neutron_fault

DEFAULTS = {"network": 100, "subnet": 100, "port": 500, "router": 10, "floatingip": 50, "security_group": 10,
            "security_group_rule": 100}


@pytest.fixture
def net(api, admin_token) -> Net:
    return Net(api.client, admin_token)


@pytest.fixture
async def member(api, make_user) -> Net:
    return Net(api.client, await make_user("alpha", "member"))


async def _project(net: Net) -> str:
    resp = await net.client.get("/identity/v3/auth/tokens", headers={"X-Auth-Token": net.token,
                                                                      "X-Subject-Token": net.token})
    return (await resp.json())["token"]["project"]["id"]


async def test_show_own_quota_details_and_defaults(member):
    project = await _project(member)
    assert (await member.ok("GET", f"/quotas/{project}"))["quota"] == {**DEFAULTS, "project_id": project,
                                                                       "tenant_id": project}
    assert (await member.ok("GET", f"/quotas/{project}/default"))["quota"] == {**DEFAULTS, "project_id": project,
                                                                               "tenant_id": project}
    network = await member.network()
    await member.subnet(network["id"], "198.18.60.0/24")
    await member.port(network["id"])
    details = (await member.ok("GET", f"/quotas/{project}/details"))["quota"]
    assert details == {name: {"limit": limit, "used": {"network": 1, "subnet": 1, "port": 2,  # + the DHCP port
                                                       "security_group": 1,  # the default group and its 4 rules
                                                       "security_group_rule": 4}.get(name, 0), "reserved": 0}
                       for name, limit in DEFAULTS.items()}


async def test_other_projects_quotas_are_the_admins(net, member):
    admin_project = await _project(net)
    await assert_neutron_fault(await member.get(f"/quotas/{admin_project}"), 403, "PolicyNotAuthorized",
                               "rule:get_quota is disallowed by policy")
    await assert_neutron_fault(await member.get(f"/quotas/{admin_project}/details"), 403, "PolicyNotAuthorized")
    await assert_neutron_fault(await member.get("/quotas"), 403, "PolicyNotAuthorized")
    project = await _project(member)
    await assert_neutron_fault(await member.put(f"/quotas/{project}", json={"quota": {"network": 1}}), 403,
                               "PolicyNotAuthorized", "rule:update_quota is disallowed by policy")
    await assert_neutron_fault(await member.delete(f"/quotas/{project}"), 403, "PolicyNotAuthorized")
    assert (await net.ok("GET", f"/quotas/{project}"))["quota"]["network"] == 100


async def test_admin_sets_lists_and_resets(net, member):
    project = await _project(member)
    assert (await net.ok("GET", "/quotas"))["quotas"] == []
    updated = await net.ok("PUT", f"/quotas/{project}", json={"quota": {"network": 3, "port": "-1"}})
    assert updated["quota"] == {**DEFAULTS, "network": 3, "port": -1, "project_id": project, "tenant_id": project}
    assert (await net.ok("GET", "/quotas"))["quotas"] == [updated["quota"]]
    assert (await member.ok("GET", f"/quotas/{project}"))["quota"]["network"] == 3
    resp = await net.delete(f"/quotas/{project}")
    assert resp.status == 204
    assert (await member.ok("GET", f"/quotas/{project}"))["quota"]["network"] == 100
    assert (await net.ok("GET", "/quotas"))["quotas"] == []


@pytest.mark.parametrize("quota, message", [
    ({"networks": 1}, "Unrecognized attribute(s) 'networks'"),
    ({"network": "many"}, "Invalid input for network. Reason: 'many' is not an integer."),
    ({"network": -2}, "Invalid input for network. Reason: '-2' is not in range -1 through 2147483647."),
    ({"network": 2**31}, None),
])
async def test_bad_quota_updates(net, member, quota, message):
    project = await _project(member)
    await assert_neutron_fault(await net.put(f"/quotas/{project}", json={"quota": quota}), 400, "HTTPBadRequest",
                               message)


async def test_a_limit_below_usage_needs_force(net, member):
    project = await _project(member)
    await member.network("a")
    await member.network("b")
    await assert_neutron_fault(await net.put(f"/quotas/{project}", json={"quota": {"network": 1}}), 400,
                               "HTTPBadRequest",
                               "Quota limit 1 for network must be greater than or equal to already used 2")
    forced = await net.ok("PUT", f"/quotas/{project}", json={"quota": {"network": 1, "force": True}})
    assert forced["quota"]["network"] == 1


async def test_creates_past_the_quota_are_refused(net, member):
    project = await _project(member)
    await net.ok("PUT", f"/quotas/{project}", json={"quota": {"network": 1, "subnet": 1, "port": 2}})
    network = await member.network("only")
    await assert_neutron_fault(await member.post("/networks", json={"network": {"name": "more"}}), 409, "OverQuota",
                               "Quota exceeded for resources: ['network'].")
    await member.subnet(network["id"], "198.18.61.0/24")  # its DHCP port counts as a port, made all the same
    await assert_neutron_fault(await member.post("/subnets", json={"subnet": {
        "network_id": network["id"], "cidr": "198.18.62.0/24", "ip_version": 4}}), 409, "OverQuota",
        "Quota exceeded for resources: ['subnet'].")
    await member.port(network["id"])
    await assert_neutron_fault(await member.post("/ports", json={"port": {"network_id": network["id"]}}), 409,
                               "OverQuota", "Quota exceeded for resources: ['port'].")
    assert len((await member.ok("GET", "/networks"))["networks"]) == 1
    assert len((await member.ok("GET", "/ports"))["ports"]) == 2  # the DHCP port and the one that fitted
