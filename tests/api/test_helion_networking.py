"""Helion's floating IPs and security groups (issue 24 slice 4; dialects.md D54, D55): integer ids in and out,
no `pool`, allocation ignoring its body, group and rule create 202, rule ports as strings (seed 002 lines 6571,
6744, 5572)."""
from __future__ import annotations

import pytest

from nodecompute.api.keys import identity_key
from tests.api.helpers import assert_fault
from tests.api.l3_env import with_external


@pytest.fixture
def cfg(cfg):
    return with_external(cfg)


@pytest.fixture
async def helion(api, make_user):
    token = await make_user("helion-net", "member")
    project = api.client.server.app[identity_key].validate(token).project_id

    async def call(method: str, path: str, status: int, **kw):
        resp = await api.client.request(method, f"/helion/v2/{project}{path}", headers={"X-Auth-Token": token}, **kw)
        assert resp.status == status, (method, path, resp.status, await resp.text())
        return await resp.json() if resp.content_length and resp.content_type == "application/json" else None
    call.api, call.token = api, token
    return call


async def test_security_groups_by_integer_id(helion):
    made = await helion("POST", "/os-security-groups", 202,
                        json={"security_group": {"name": "web", "description": "web servers"}})
    group = made["security_group"]
    assert isinstance(group["id"], int) and group["rules"] == [] and group["name"] == "web"
    body = {"security_group_rule": {"parent_group_id": group["id"], "ip_protocol": "tcp", "from_port": "80",
                                    "to_port": "80", "cidr": "198.18.0.0/16"}}
    rule = (await helion("POST", "/os-security-group-rules", 202, json=body))["security_group_rule"]
    assert isinstance(rule["id"], int) and rule["parent_group_id"] == group["id"]
    assert (rule["from_port"], rule["to_port"], rule["ip_protocol"]) == (80, 80, "tcp")
    shown = (await helion("GET", f"/os-security-groups/{group['id']}", 200))["security_group"]
    assert shown["id"] == group["id"] and [r["id"] for r in shown["rules"]] == [rule["id"]]
    listed = (await helion("GET", "/os-security-groups", 200))["security_groups"]
    assert all(isinstance(g["id"], int) for g in listed) and group["id"] in [g["id"] for g in listed]
    openstack = await helion.api.get("/os-security-groups", helion.token)
    assert all(isinstance(g["id"], str) for g in (await openstack.json())["security_groups"])
    await helion("DELETE", f"/os-security-group-rules/{rule['id']}", 202)
    await helion("DELETE", f"/os-security-groups/{group['id']}", 202)
    project = helion.api.client.server.app[identity_key].validate(helion.token).project_id
    resp = await helion.api.client.get(f"/helion/v2/{project}/os-security-groups/{group['id']}",
                                       headers={"X-Auth-Token": helion.token})
    await assert_fault(resp, 404)


async def test_floating_ips_by_integer_id_without_pool(helion):
    """Seed 002 line 5572 (allocate: any body ignored) and 5624 (show: id, ip, fixed_ip, instance_id; no pool)."""
    made = (await helion("POST", "/os-floating-ips", 200, json={"pool": "no-such-pool"}))["floating_ip"]
    assert set(made) == {"id", "ip", "fixed_ip", "instance_id"} and isinstance(made["id"], int)
    assert (made["ip"], made["fixed_ip"], made["instance_id"]) == ("203.0.113.10", None, None)
    assert (await helion("GET", f"/os-floating-ips/{made['id']}", 200))["floating_ip"] == made
    assert (await helion("GET", "/os-floating-ips", 200))["floating_ips"] == [made]
    again = (await helion("POST", "/os-floating-ips", 200))["floating_ip"]
    # a later serial of the one sequence every kind shares (the floating IP's own port takes one between them)
    assert isinstance(again["id"], int) and again["id"] > made["id"]
    assert (await helion("GET", f"/os-floating-ips/{again['id']}", 200))["floating_ip"] == again
    await helion("DELETE", f"/os-floating-ips/{made['id']}", 202)
    assert [f["id"] for f in (await helion("GET", "/os-floating-ips", 200))["floating_ips"]] == [again["id"]]
