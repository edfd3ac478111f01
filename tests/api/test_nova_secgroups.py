"""Nova's security-group proxies (#1501-#1507) and os-security-group-default-rules (#1511-#1514) over the same rows
as the network face: what one face makes the other shows; Nova's shapes (ingress rules only, ports -1 or 1-65535
where Neutron has none), statuses (200, 202 on delete; 204 for a default rule) and faults (Neutron's 409s as 403 on
create and 400 elsewhere, Nova's own 400s for rule bodies); the default rules admin-only and copied into each new
default group. The 404 from 2.36 is the route oracle's (test_oracle_routes.py)."""
from __future__ import annotations

import pytest

from tests.api.helpers import Net, assert_fault


@pytest.fixture
async def member_token(make_user) -> str:
    return await make_user("alpha", "member")


async def _ok(api, method: str, path: str, token: str, status: int = 200, **kw):
    resp = await api.request(method, path, token, **kw)
    assert resp.status == status, (method, path, resp.status, await resp.text())
    return await resp.json() if resp.content_type == "application/json" else None


async def _group(api, token: str, name: str = "web") -> dict:
    body = {"security_group": {"name": name, "description": f"{name} servers"}}
    return (await _ok(api, "POST", "/os-security-groups", token, json=body))["security_group"]


async def test_groups_through_nova_are_neutrons_groups(api, member_token):
    listed = (await _ok(api, "GET", "/os-security-groups", member_token))["security_groups"]
    assert [g["name"] for g in listed] == ["default"]  # made on first use, as Neutron does
    default = listed[0]
    assert [(r["ip_protocol"], r["from_port"], r["to_port"], r["group"]["name"]) for r in default["rules"]] == [
        (None, None, None, "default")] * 2  # Neutron's IPv4 and IPv6 ingress from members; egress is not shown
    web = await _group(api, member_token)
    assert (web["name"], web["description"], web["rules"]) == ("web", "web servers", [])
    net = Net(api.client, member_token)
    shown = (await net.ok("GET", f"/security-groups/{web['id']}"))["security_group"]
    assert {r["direction"] for r in shown["security_group_rules"]} == {"egress"}
    body = {"security_group": {"name": "www", "description": "renamed"}}
    assert (await _ok(api, "PUT", f"/os-security-groups/{web['id']}", member_token, json=body))[
        "security_group"]["name"] == "www"
    assert (await _ok(api, "GET", f"/os-security-groups/{web['id']}", member_token))["security_group"][
        "description"] == "renamed"
    await _ok(api, "DELETE", f"/os-security-groups/{web['id']}", member_token, 202)
    await net.ok("GET", "/security-groups/" + web["id"], 404)


async def test_nova_refusals(api, member_token):
    default = (await _ok(api, "GET", "/os-security-groups", member_token))["security_groups"][0]
    await assert_fault(await api.get("/os-security-groups/not-a-uuid", member_token), 400, "badRequest",
                       "Security group id should be uuid")
    body = {"security_group": {"name": "default", "description": "x"}}
    await assert_fault(await api.post("/os-security-groups", member_token, json=body), 403, "forbidden",
                       "Default security group already exists.")
    body = {"security_group": {"name": "other", "description": "x"}}
    await assert_fault(await api.put(f"/os-security-groups/{default['id']}", member_token, json=body), 400,
                       "badRequest", "Updating default security group not allowed.")
    await assert_fault(await api.delete(f"/os-security-groups/{default['id']}", member_token), 400, "badRequest",
                       "Insufficient rights for removing default security group.")
    for name in range(9):  # the default group and nine more: Neutron's quota of 10
        await _group(api, member_token, f"g{name}")
    await assert_fault(await api.post("/os-security-groups", member_token, json={"security_group": {
        "name": "g10", "description": ""}}), 403, "forbidden", "Quota exceeded for resources: ['security_group'].")


async def test_rules_through_nova(api, member_token):
    web = await _group(api, member_token)
    body = {"security_group_rule": {"parent_group_id": web["id"], "ip_protocol": "tcp", "from_port": 22,
                                    "to_port": 22, "cidr": "198.18.0.0/24"}}
    rule = (await _ok(api, "POST", "/os-security-group-rules", member_token, json=body))["security_group_rule"]
    assert (rule["ip_protocol"], rule["from_port"], rule["to_port"], rule["ip_range"], rule["group"]) == (
        "tcp", 22, 22, {"cidr": "198.18.0.0/24"}, {})
    await assert_fault(await api.post("/os-security-group-rules", member_token, json=body), 400, "badRequest",
                       f"This rule already exists in group {web['id']}")
    neutron = (await Net(api.client, member_token).ok("GET", f"/security-group-rules/{rule['id']}"))[
        "security_group_rule"]
    assert (neutron["direction"], neutron["ethertype"], neutron["port_range_min"]) == ("ingress", "IPv4", 22)
    by_group = {"security_group_rule": {"parent_group_id": web["id"], "ip_protocol": "icmp",
                                        "group_id": web["id"]}}
    icmp = (await _ok(api, "POST", "/os-security-group-rules", member_token, json=by_group))["security_group_rule"]
    assert (icmp["from_port"], icmp["to_port"], icmp["group"]["name"]) == (-1, -1, "web")
    for wrong, message in (({"ip_protocol": "tcp", "cidr": "198.18.0.0/24"}, "Not enough parameters"),
                           ({"ip_protocol": "tcp", "from_port": 30, "to_port": 20}, "Invalid port range 30:20"),
                           ({"ip_protocol": "gre", "from_port": 1, "to_port": 2}, "Invalid IP protocol gre."),
                           ({"ip_protocol": "tcp", "from_port": 1, "to_port": 2, "cidr": "nonsense"},
                            "nonsense is not a valid IP network.")):
        resp = await api.post("/os-security-group-rules", member_token, json={"security_group_rule": {
            "parent_group_id": web["id"], **wrong}})
        assert message in (await assert_fault(resp, 400, "badRequest"))["message"]
    await _ok(api, "DELETE", f"/os-security-group-rules/{rule['id']}", member_token, 202)
    shown = (await _ok(api, "GET", f"/os-security-groups/{web['id']}", member_token))["security_group"]
    assert [r["id"] for r in shown["rules"]] == [icmp["id"]]


async def test_default_rules_are_admins_and_seed_new_default_groups(api, admin_token, member_token):
    body = {"security_group_default_rule": {"ip_protocol": "tcp", "from_port": 22, "to_port": 22,
                                            "cidr": "198.18.0.0/16"}}
    await assert_fault(await api.post("/os-security-group-default-rules", member_token, json=body), 403)
    made = (await _ok(api, "POST", "/os-security-group-default-rules", admin_token, json=body))[
        "security_group_default_rule"]
    assert made == {"id": made["id"], "ip_protocol": "tcp", "from_port": 22, "to_port": 22,
                    "ip_range": {"cidr": "198.18.0.0/16"}}
    await assert_fault(await api.post("/os-security-group-default-rules", admin_token, json=body), 409)
    assert (await _ok(api, "GET", f"/os-security-group-default-rules/{made['id']}", admin_token))[
        "security_group_default_rule"] == made
    default = (await _ok(api, "GET", "/os-security-groups", member_token))["security_groups"][0]  # made now
    assert ("tcp", 22, 22, {"cidr": "198.18.0.0/16"}) in [
        (r["ip_protocol"], r["from_port"], r["to_port"], r["ip_range"]) for r in default["rules"]]
    await _ok(api, "DELETE", f"/os-security-group-default-rules/{made['id']}", admin_token, 204)
    assert (await _ok(api, "GET", "/os-security-group-default-rules", admin_token))[
        "security_group_default_rules"] == []
    await assert_fault(await api.get(f"/os-security-group-default-rules/{made['id']}", admin_token), 404)
    await assert_fault(await api.get("/os-security-group-default-rules/x", admin_token), 400, "badRequest",
                       "Security group id should be integer")
