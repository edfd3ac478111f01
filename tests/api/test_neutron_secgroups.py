"""Security groups and rules on the network face (#2809-#2812): the `default` group made on first use with Neutron's
four rules, new groups with their two egress rules, Neutron's bodies and faults (409 in use, default protected, rule
exists; the converters' and checks' 400s with Neutron's messages), quotas, isolation, filters and paging."""
from __future__ import annotations

import pytest

from tests.api.helpers import Net, assert_neutron_fault

GROUP_KEYS = {"id", "name", "tenant_id", "project_id", "description", "security_group_rules", "created_at",
              "updated_at", "revision_number"}
RULE_KEYS = {"id", "project_id", "tenant_id", "security_group_id", "ethertype", "direction", "protocol",
             "port_range_min", "port_range_max", "remote_ip_prefix", "remote_group_id", "description", "created_at",
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


async def group(client: Net, name: str = "web", **attrs) -> dict:
    body = {"security_group": {"name": name, **attrs}}
    return (await client.ok("POST", "/security-groups", 201, json=body))["security_group"]


async def rule(client: Net, group_id: str, **attrs) -> dict:
    body = {"security_group_rule": {"security_group_id": group_id, "direction": "ingress", **attrs}}
    return (await client.ok("POST", "/security-group-rules", 201, json=body))["security_group_rule"]


def _shape(rules: list[dict]) -> set[tuple]:
    return {(r["direction"], r["ethertype"], r["protocol"], r["port_range_min"], r["port_range_max"],
             r["remote_ip_prefix"], r["remote_group_id"]) for r in rules}


async def test_the_default_group_is_made_on_first_list_with_neutrons_rules(member, net):
    (default,) = (await member.ok("GET", "/security-groups"))["security_groups"]
    assert set(default) == GROUP_KEYS and default["name"] == "default"
    assert default["description"] == "Default security group"
    assert _shape(default["security_group_rules"]) == {
        ("egress", "IPv4", None, None, None, None, None), ("egress", "IPv6", None, None, None, None, None),
        ("ingress", "IPv4", None, None, None, None, default["id"]),
        ("ingress", "IPv6", None, None, None, None, default["id"])}
    assert all(set(r) == RULE_KEYS for r in default["security_group_rules"])
    again = (await member.ok("GET", "/security-groups"))["security_groups"]
    assert [g["id"] for g in again] == [default["id"]]  # made once
    rules = (await member.ok("GET", "/security-group-rules"))["security_group_rules"]
    assert {r["id"] for r in rules} == {r["id"] for r in default["security_group_rules"]}
    aliases = {e["alias"] for e in (await net.ok("GET", "/extensions"))["extensions"]}
    assert "security-group" in aliases
    assert (await net.ok("GET", "/extensions/security-group"))["extension"]["name"] == "security-group"


async def test_create_show_update_and_delete_a_group(member):
    made = await group(member, "web", description="front")
    assert set(made) == GROUP_KEYS and made["description"] == "front" and made["revision_number"] == 1
    assert _shape(made["security_group_rules"]) == {("egress", "IPv4", None, None, None, None, None),
                                                    ("egress", "IPv6", None, None, None, None, None)}
    shown = (await member.ok("GET", f"/security-groups/{made['id']}"))["security_group"]
    assert shown == made
    updated = await member.ok("PUT", f"/security-groups/{made['id']}",
                              json={"security_group": {"name": "www", "description": "renamed"}})
    assert (updated["security_group"]["name"], updated["security_group"]["description"]) == ("www", "renamed")
    assert updated["security_group"]["revision_number"] == 2
    assert await member.ok("DELETE", f"/security-groups/{made['id']}", 204) is None
    await assert_neutron_fault(await member.get(f"/security-groups/{made['id']}"), 404, "SecurityGroupNotFound",
                               f"Security group {made['id']} does not exist")
    names = [g["name"] for g in (await member.ok("GET", "/security-groups"))["security_groups"]]
    assert names == ["default"]


async def test_the_default_group_is_protected(member, net):
    (default,) = (await member.ok("GET", "/security-groups"))["security_groups"]
    for name in ("default", "DEFAULT"):
        await assert_neutron_fault(await member.post("/security-groups", json={"security_group": {"name": name}}),
                                   409, "SecurityGroupDefaultAlreadyExists", "Default security group already exists.")
    await assert_neutron_fault(
        await member.put(f"/security-groups/{default['id']}", json={"security_group": {"name": "mine"}}), 409,
        "SecurityGroupCannotUpdateDefault", "Updating default security group not allowed.")
    described = await member.ok("PUT", f"/security-groups/{default['id']}",
                                json={"security_group": {"description": "ours"}})
    assert described["security_group"]["description"] == "ours"
    await assert_neutron_fault(await member.delete(f"/security-groups/{default['id']}"), 409,
                               "SecurityGroupCannotRemoveDefault",
                               "Insufficient rights for removing default security group.")
    await net.ok("DELETE", f"/security-groups/{default['id']}", 204)  # an admin may; it comes back on next use
    (again,) = (await member.ok("GET", "/security-groups"))["security_groups"]
    assert again["name"] == "default" and again["id"] != default["id"]


async def test_a_group_in_use_by_a_port_is_not_deleted(member):
    network = await member.network("sgnet")
    web = await group(member)
    port = await member.port(network["id"], security_groups=[web["id"]])
    await assert_neutron_fault(await member.delete(f"/security-groups/{web['id']}"), 409, "SecurityGroupInUse",
                               f"Security Group {web['id']} in use.")
    await member.ok("PUT", f"/ports/{port['id']}", json={"port": {"security_groups": []}})
    await member.ok("DELETE", f"/security-groups/{web['id']}", 204)


async def test_projects_see_only_their_groups_and_rules(member, other, net):
    web = await group(member)
    await assert_neutron_fault(await other.get(f"/security-groups/{web['id']}"), 404, "SecurityGroupNotFound")
    await assert_neutron_fault(await other.delete(f"/security-groups/{web['id']}"), 404, "SecurityGroupNotFound")
    ssh = await rule(member, web["id"], protocol="tcp", port_range_min=22, port_range_max=22)
    await assert_neutron_fault(await other.get(f"/security-group-rules/{ssh['id']}"), 404,
                               "SecurityGroupRuleNotFound", f"Security group rule {ssh['id']} does not exist")
    await assert_neutron_fault(await other.post("/security-group-rules", json={"security_group_rule": {
        "security_group_id": web["id"], "direction": "ingress"}}), 404, "SecurityGroupNotFound")
    theirs = await group(other, "theirs")
    await assert_neutron_fault(await member.post("/security-group-rules", json={"security_group_rule": {
        "security_group_id": web["id"], "direction": "ingress", "remote_group_id": theirs["id"]}}), 404,
        "SecurityGroupNotFound", f"Security group {theirs['id']} does not exist")
    assert web["id"] not in {g["id"] for g in (await other.ok("GET", "/security-groups"))["security_groups"]}
    assert ssh["id"] not in {r["id"] for r in (await other.ok("GET", "/security-group-rules"))["security_group_rules"]}
    everything = {g["id"] for g in (await net.ok("GET", "/security-groups"))["security_groups"]}
    assert {web["id"], theirs["id"]} <= everything


async def test_rules_are_created_shown_and_deleted(member):
    web = await group(member)
    ssh = await rule(member, web["id"], protocol="TCP", port_range_min="22", port_range_max=22,
                     remote_ip_prefix="198.18.0.0/16", description="ssh")
    assert set(ssh) == RULE_KEYS
    assert (ssh["protocol"], ssh["port_range_min"], ssh["port_range_max"], ssh["remote_ip_prefix"],
            ssh["ethertype"], ssh["description"]) == ("tcp", 22, 22, "198.18.0.0/16", "IPv4", "ssh")
    assert (await member.ok("GET", f"/security-group-rules/{ssh['id']}"))["security_group_rule"] == ssh
    grown = (await member.ok("GET", f"/security-groups/{web['id']}"))["security_group"]
    assert ssh in grown["security_group_rules"] and grown["revision_number"] == 2
    host = await rule(member, web["id"], protocol="udp", port_range_min=1, port_range_max=65535,
                      remote_ip_prefix="198.18.0.5")
    assert (host["port_range_min"], host["port_range_max"], host["remote_ip_prefix"]) == (None, None,
                                                                                          "198.18.0.5/32")
    number = await rule(member, web["id"], protocol=132, ethertype="ipv4")
    assert (number["protocol"], number["ethertype"]) == ("132", "IPv4")
    icmp6 = await rule(member, web["id"], protocol="icmp", ethertype="IPv6", port_range_min=128)
    assert (icmp6["protocol"], icmp6["port_range_min"], icmp6["port_range_max"]) == ("ipv6-icmp", 128, None)
    await member.ok("DELETE", f"/security-group-rules/{ssh['id']}", 204)
    await assert_neutron_fault(await member.delete(f"/security-group-rules/{ssh['id']}"), 404,
                               "SecurityGroupRuleNotFound")
    await assert_neutron_fault(await member.put(f"/security-group-rules/{host['id']}", json={}), 405,
                               "HTTPMethodNotAllowed")


async def test_a_rule_twice_is_409_with_the_first_rules_id(member):
    web = await group(member)
    first = await rule(member, web["id"], protocol="tcp", port_range_min=80, port_range_max=80)
    for twin in ({"protocol": "6"}, {"protocol": "tcp", "remote_ip_prefix": "0.0.0.0/0"}):
        body = {"security_group_rule": {"security_group_id": web["id"], "direction": "ingress", "port_range_min": 80,
                                        "port_range_max": 80, **twin}}
        await assert_neutron_fault(await member.post("/security-group-rules", json=body), 409,
                                   "SecurityGroupRuleExists",
                                   f"Security group rule already exists. Rule id is {first['id']}.")
    (egress,) = [r for r in web["security_group_rules"] if r["ethertype"] == "IPv4"]
    body = {"security_group_rule": {"security_group_id": web["id"], "direction": "egress"}}
    await assert_neutron_fault(await member.post("/security-group-rules", json=body), 409, "SecurityGroupRuleExists",
                               f"Security group rule already exists. Rule id is {egress['id']}.")


BAD_RULES = [
    ({"protocol": "tcpx"}, "SecurityGroupRuleInvalidProtocol",
     "Security group rule protocol tcpx not supported. Only protocol values (None, 'any', 'ah', 'dccp', 'egp', 'esp', "
     "'gre', 'hopopt', 'icmp', 'igmp', 'ip', 'ipip', 'ipv6-encap', 'ipv6-frag', 'ipv6-icmp', 'icmpv6', 'ipv6-nonxt', "
     "'ipv6-opts', 'ipv6-route', 'ospf', 'pgm', 'rsvp', 'sctp', 'tcp', 'udp', 'udplite', 'vrrp') and integer "
     "representations [0 to 255] are supported."),
    ({"protocol": 256}, "SecurityGroupRuleInvalidProtocol", None),
    ({"protocol": "tcp", "port_range_min": 90, "port_range_max": 80}, "SecurityGroupInvalidPortRange",
     "For TCP/UDP protocols, port_range_min must be <= port_range_max"),
    ({"protocol": "tcp", "port_range_min": 80}, "SecurityGroupInvalidPortRange", None),
    ({"protocol": "tcp", "port_range_min": 0, "port_range_max": 80}, "SecurityGroupInvalidPortValue",
     "Invalid value for port 0"),
    ({"protocol": "tcp", "port_range_min": 70000, "port_range_max": 70000}, "SecurityGroupInvalidPortValue",
     "Invalid value for port 70000"),
    ({"protocol": "tcp", "port_range_min": "x", "port_range_max": 80}, "SecurityGroupInvalidPortValue",
     "Invalid value for port x"),
    ({"port_range_min": 80, "port_range_max": 80}, "SecurityGroupProtocolRequiredWithPorts",
     "Must also specify protocol if port range is given."),
    ({"protocol": "gre", "port_range_min": 80, "port_range_max": 80}, "SecurityGroupInvalidProtocolForPort",
     "Ports cannot be specified for protocol 47. Ports are only supported for DCCP, SCTP, TCP, UDP, UDPLITE."),
    ({"protocol": "icmp", "port_range_min": 300}, "SecurityGroupInvalidIcmpValue",
     "Invalid value for ICMP type (port_range_min) 300. It must be 0 to 255."),
    ({"protocol": "icmp", "port_range_max": 3}, "SecurityGroupMissingIcmpType",
     "ICMP code (port-range-max) 3 is provided but ICMP type (port-range-min) is missing."),
    ({"remote_ip_prefix": "bad"}, "InvalidCIDR", "Invalid CIDR bad given as IP prefix."),
    ({"remote_ip_prefix": "2001:db8::/64"}, "SecurityGroupRuleParameterConflict",
     "Conflicting value ethertype IPv4 for CIDR 2001:db8::/64"),
    ({"protocol": "ipv6-icmp"}, "SecurityGroupEthertypeConflictWithProtocol",
     "Invalid ethertype IPv4 for protocol ipv6-icmp."),
    ({"ethertype": "IPv5"}, "SecurityGroupRuleInvalidEtherType",
     "Security group rule for ethertype 'IPv5' not supported. Allowed values are ['IPv4', 'IPv6']."),
    ({"direction": "up"}, "HTTPBadRequest", "Invalid input for direction. Reason: up is not in valid_values."),
    ({"direction": None}, "HTTPBadRequest", None),
    ({"remote_ip_prefix": "198.18.0.0/16", "remote_group_id": "SELF"}, "SecurityGroupMultipleRemoteEntites",
     "Only one of remote_ip_prefix or remote_group_id or remote_address_group_id may be provided."),
    ({"bogus": 1}, "HTTPBadRequest", "Unrecognized attribute(s) 'bogus'"),
]


@pytest.mark.parametrize("attrs, type_, message", BAD_RULES)
async def test_refused_rules_with_neutrons_messages(member, attrs, type_, message):
    web = await group(member)
    attrs = {k: web["id"] if v == "SELF" else v for k, v in attrs.items()}
    body = {"security_group_rule": {"security_group_id": web["id"], "direction": "ingress", **attrs}}
    await assert_neutron_fault(await member.post("/security-group-rules", json=body), 400, type_, message)
    after = (await member.ok("GET", f"/security-groups/{web['id']}"))["security_group"]
    assert after["security_group_rules"] == web["security_group_rules"]  # nothing changed


async def test_a_rule_needs_its_group_and_direction(member):
    body = {"security_group_rule": {"direction": "ingress"}}
    await assert_neutron_fault(await member.post("/security-group-rules", json=body), 400, "HTTPBadRequest",
                               "Failed to parse request. Required attribute 'security_group_id' not specified")
    missing = "00000000-0000-0000-0000-000000000000"
    body = {"security_group_rule": {"direction": "ingress", "security_group_id": missing}}
    await assert_neutron_fault(await member.post("/security-group-rules", json=body), 404, "SecurityGroupNotFound",
                               f"Security group {missing} does not exist")


async def test_quotas_count_groups_and_rules(member, net):
    project = (await group(member))["project_id"]  # the default group and "web": 2 groups, 4 + 2 rules
    await net.ok("PUT", f"/quotas/{project}", json={"quota": {"security_group": 2, "security_group_rule": 7}})
    await assert_neutron_fault(await member.post("/security-groups", json={"security_group": {"name": "db"}}), 409,
                               "OverQuota", "Quota exceeded for resources: ['security_group'].")
    await net.ok("PUT", f"/quotas/{project}", json={"quota": {"security_group": 3}})
    await assert_neutron_fault(await member.post("/security-groups", json={"security_group": {"name": "db"}}), 409,
                               "OverQuota", "Quota exceeded for resources: ['security_group_rule'].")
    web = next(g for g in (await member.ok("GET", "/security-groups"))["security_groups"] if g["name"] == "web")
    await rule(member, web["id"], protocol="tcp", port_range_min=22, port_range_max=22)
    body = {"security_group_rule": {"security_group_id": web["id"], "direction": "ingress", "protocol": "icmp"}}
    await assert_neutron_fault(await member.post("/security-group-rules", json=body), 409, "OverQuota",
                               "Quota exceeded for resources: ['security_group_rule'].")
    used = (await member.ok("GET", f"/quotas/{project}/details"))["quota"]
    assert (used["security_group"]["used"], used["security_group_rule"]["used"]) == (2, 7)


async def test_filters_fields_and_paging(member):
    for name in ("a", "b", "c"):
        await group(member, name)
    names = [g["name"] for g in (await member.ok("GET", "/security-groups?sort_key=name&sort_dir=asc"))[
        "security_groups"]]
    assert names == ["a", "b", "c", "default"]
    assert [g["name"] for g in (await member.ok("GET", "/security-groups?name=b"))["security_groups"]] == ["b"]
    only = (await member.ok("GET", "/security-groups?fields=id&fields=name&name=a"))["security_groups"]
    assert list(only[0]) == ["id", "name"]
    page = await member.ok("GET", "/security-groups?limit=2&sort_key=name&sort_dir=asc")
    assert [g["name"] for g in page["security_groups"]] == ["a", "b"]
    assert [link["rel"] for link in page["security_groups_links"]] == ["next", "previous"]
    ingress = (await member.ok("GET", "/security-group-rules?direction=ingress&ethertype=IPv4"))["security_group_rules"]
    assert len(ingress) == 1 and ingress[0]["remote_group_id"] is not None  # the default group's
    await assert_neutron_fault(await member.get("/security-groups?security_group_rules=x"), 400, "HTTPBadRequest",
                               "['security_group_rules'] is invalid attribute for filtering")


@pytest.mark.parametrize("body, type_, message", [
    ({"security_group": {"name": 5}}, "HTTPBadRequest", "Invalid input for name. Reason: '5' is not a valid string."),
    ({"security_group": {"name": "x" * 256}}, "HTTPBadRequest", None),
    ({"security_group": {"stateful": False}}, "HTTPBadRequest", "Unrecognized attribute(s) 'stateful'"),
    ({"security_groups": [{"name": "x"}]}, "HTTPBadRequest", "Bulk operation not supported"),
    ({}, "HTTPBadRequest", "Resource body required"),
])
async def test_malformed_group_bodies(member, body, type_, message):
    await assert_neutron_fault(await member.post("/security-groups", json=body), 400, type_, message)
