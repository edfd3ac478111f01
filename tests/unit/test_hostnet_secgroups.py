"""nodecompute.hostnet.secgroups and the pure half of hostnet.nft: golden transactions for whole models, the
translation of one rule, validation, and the diff between two states. Regenerate the goldens after an intended
change with NODECOMPUTE_REGEN_GOLDEN=1 (and read the diff: tests/integration/test_hostnet_nft.py loads them)."""
from __future__ import annotations

import dataclasses
import json
import os

import pytest

from nodecompute.hostnet import nft
from nodecompute.hostnet.nft import ACCEPT, DROP, diff_transaction, full_transaction
from nodecompute.hostnet.secgroups import (
    DEFAULT_PROFILES, FirewallModel, Network, Port, SecurityGroup, SecurityGroupRule as Rule, build_ruleset,
    our_tables, protocol_number, rule_matches, table_names)
from tests.conftest import REPO

DATA = REPO / "tests" / "data" / "hostnet"
L4 = {"meta": {"key": "l4proto"}}
DPORT = {"payload": {"protocol": "th", "field": "dport"}}
SADDR = {"payload": {"protocol": "ip", "field": "saddr"}}
DADDR = {"payload": {"protocol": "ip", "field": "daddr"}}


def eq(left, right):
    return {"match": {"op": "==", "left": left, "right": right}}


def two_network_model(tag: str = "") -> FirewallModel:
    """Two networks; a port in two groups with a profile and two IPs, a port with no group, a port without port
    security (in a group nonetheless), a user group with most rule shapes. TAG prefixes the interface names."""
    default = SecurityGroup("sg-default", (Rule("egress"), Rule("egress", ethertype="IPv6"),
                                           Rule("ingress", remote_group_id="sg-default")))
    web = SecurityGroup("sg-web", (
        Rule("ingress", "tcp", 80, 80), Rule("ingress", "tcp", 8000, 8080, "198.18.0.0/15"),
        Rule("ingress", "icmp", 8, 0), Rule("ingress", "gre"), Rule("egress", "udp", 53, None, "198.18.5.2/32"),
        Rule("ingress", "6", 22, 22, remote_group_id="sg-admin"),
    ))
    return FirewallModel(
        networks=(Network(f"{tag}brqaaaa", 11, ("198.18.5.2",)), Network(f"{tag}brqbbbb", 12)),
        ports=(
            Port(f"{tag}tapa1", "fa:16:3e:00:00:01", ("198.18.5.10", "198.18.5.11"), 1, f"{tag}brqaaaa",
                 ("sg-default", "sg-web"), firewall_profile="PROTECTED"),
            Port(f"{tag}tapa2", "fa:16:3e:00:00:02", ("198.18.5.12",), 2, f"{tag}brqaaaa"),
            Port(f"{tag}tapb1", "fa:16:3e:00:00:03", ("198.18.6.10",), 3, f"{tag}brqbbbb", ("sg-default",),
                 port_security_enabled=False),
        ),
        groups=(default, web),
    )


def render(commands: list) -> str:
    return "[\n" + ",\n".join(json.dumps(command) for command in commands) + "\n]\n"


def assert_golden(name: str, commands: list) -> None:
    path = DATA / name
    if os.environ.get("NODECOMPUTE_REGEN_GOLDEN") == "1":
        path.parent.mkdir(exist_ok=True)
        path.write_text(render(commands))
    assert render(commands) == path.read_text()


# -- whole models ------------------------------------------------------------------------------------------------

def test_two_network_model_matches_golden():
    assert_golden("secgroups_two_networks.json", full_transaction(build_ruleset("nc1", two_network_model())))


def test_empty_model_matches_golden():
    assert_golden("secgroups_empty.json", full_transaction(build_ruleset("nc1", FirewallModel())))


def test_tables_are_named_by_the_daemon_prefix():
    assert table_names("nc7") == ("nc7_antispoof", "nc7_secgroups")
    assert our_tables("nc7") == [("bridge", "nc7_antispoof"), ("inet", "nc7_secgroups")]
    for bad in ("", "7nc", "nc-7", "a" * 49):
        with pytest.raises(ValueError):
            table_names(bad)


def test_full_transaction_recreates_each_table_first():
    commands = full_transaction(build_ruleset("nc1", FirewallModel()))
    table = {"family": "bridge", "name": "nc1_antispoof"}
    assert commands[:3] == [{"add": {"table": table}}, {"delete": {"table": table}}, {"add": {"table": table}}]


def test_the_creation_transaction_is_the_full_one_with_create_for_its_table_steps():
    ruleset = build_ruleset("nc1", two_network_model())
    full, creation = full_transaction(ruleset), nft.creation_transaction(ruleset)
    tables = [{"family": family, "name": name} for family, name in ruleset.tables]
    assert creation[:len(tables)] == [{"create": {"table": table}} for table in tables]
    assert creation[len(tables):] == full[3 * len(tables):]
    assert not [c for c in creation if "delete" in c or "flush" in c]  # no grace period waited for


class _RecordingNft:
    """nft.apply and nft.delete_tables recorded, failing the commands the test names."""

    def __init__(self, monkeypatch, failing: str | None = None) -> None:
        self.applied: list[str] = []
        self.failing = failing
        monkeypatch.setattr(nft, "apply", self.apply)
        monkeypatch.setattr(nft, "delete_tables", self.delete_tables)

    async def apply(self, commands, *, netns=None):
        verb = next(iter(commands[0]))
        kind = {"create": "creation", "add": "full"}.get(verb, "diff")
        if kind == "full" and commands[1] != {"delete": {"table": commands[0]["add"]["table"]}}:
            kind = "diff"
        if kind == self.failing:
            raise nft.NftError("refused (as the test asked)")
        self.applied.append(kind)

    async def delete_tables(self, tables, *, netns=None):
        self.applied.append("remove " + ",".join(name for _family, name in tables))


async def test_the_applier_creates_the_tables_it_removed_and_rebuilds_in_any_other_case(monkeypatch, caplog):
    recorded = _RecordingNft(monkeypatch)
    first, second = build_ruleset("nc1", two_network_model()), build_ruleset("nc1", FirewallModel())
    applier = nft.RulesetApplier()
    await applier.converge(first)                       # at start the kernel's tables are unknown: rebuilt
    await applier.converge(second)                      # then diffs
    await applier.remove(our_tables("nc1"))
    await applier.converge(first)                       # what it removed itself is absent: created
    await applier.converge(second)
    await applier.remove([("bridge", "nc1_antispoof")])
    await applier.converge(first)                       # a table it did not remove may be there: rebuilt
    assert recorded.applied == ["full", "diff", "remove nc1_antispoof,nc1_secgroups", "creation", "diff",
                                "remove nc1_antispoof", "full"]
    assert applier.applied is first

    recorded.failing, recorded.applied = "creation", []
    await applier.remove(our_tables("nc1"))
    await applier.converge(first)                       # made behind its back meanwhile: rebuilt
    assert recorded.applied == ["remove nc1_antispoof,nc1_secgroups", "full"] and applier.applied is first
    assert "creating the tables failed, rebuilding them" in caplog.text


def test_port_without_port_security_is_in_neither_table():
    ruleset = build_ruleset("nc1", two_network_model())
    assert not [name for (_, _, name) in ruleset.chains if "tapb1" in name]
    assert "tapb1" not in ruleset.sets[("bridge", "nc1_antispoof", "from_ports")].elements
    assert 3 not in ruleset.sets[("inet", "nc1_secgroups", "egress_ports")].elements
    assert "198.18.6.10" not in ruleset.sets[("inet", "nc1_secgroups", "members_sg-default")].elements
    assert set(ruleset.sets[("inet", "nc1_secgroups", "members_sg-default")].elements) == {
        "198.18.5.10", "198.18.5.11"}


def test_port_without_groups_passes_only_the_always_allowed():
    ruleset = build_ruleset("nc1", two_network_model())
    egress = ruleset.chains[("inet", "nc1_secgroups", "egress_tapa2")].rules
    ingress = ruleset.chains[("inet", "nc1_secgroups", "ingress_tapa2")].rules
    assert egress[-1] == [DROP] and ingress[-1] == [DROP]
    assert not [rule for rule in egress + ingress if "jump" in rule[0]]
    assert [eq(DADDR, "169.254.169.254"), eq(L4, 6), eq(DPORT, 80), ACCEPT] in egress
    assert [eq(SADDR, {"set": ["198.18.5.2"]}), eq(L4, 17), eq({"payload": {"protocol": "th", "field": "sport"}}, 67),
            eq(DPORT, 68), ACCEPT] in ingress


def test_profile_chain_comes_before_the_groups_and_returns_to_them():
    ruleset = build_ruleset("nc1", two_network_model())
    ingress = ruleset.chains[("inet", "nc1_secgroups", "ingress_tapa1")].rules
    jumps = [rule[0]["jump"]["target"] for rule in ingress if "jump" in rule[0]]
    assert jumps == ["fwprofile_tapa1", "sg_sg-default_ingress", "sg_sg-web_ingress"]
    profile = ruleset.chains[("inet", "nc1_secgroups", "fwprofile_tapa1")].rules
    assert profile == [[eq(L4, 1), eq({"payload": {"protocol": "icmp", "field": "type"}}, 8), nft.RETURN],
                       [eq(L4, 6), eq(DPORT, 22), nft.RETURN], [DROP]]
    disabled = dataclasses.replace(two_network_model().ports[0], firewall_profile="DISABLED")
    model = dataclasses.replace(two_network_model(), ports=(disabled,))
    assert ("inet", "nc1_secgroups", "fwprofile_tapa1") not in build_ruleset("nc1", model).chains
    assert set(DEFAULT_PROFILES) == {"ENABLED", "PROTECTED"}


# -- one rule ----------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("rule, expected", [
    (Rule("ingress"), []),
    (Rule("ingress", "any"), []),
    (Rule("ingress", 0), []),
    (Rule("ingress", "tcp", 22, 22), [eq(L4, 6), eq(DPORT, 22)]),
    (Rule("ingress", "tcp", 22, None), [eq(L4, 6), eq(DPORT, 22)]),
    (Rule("egress", "udp", 1000, 2000), [eq(L4, 17), eq(DPORT, {"range": [1000, 2000]})]),
    (Rule("ingress", "6", 0, 65535), [eq(L4, 6), eq(DPORT, {"range": [0, 65535]})]),
    (Rule("ingress", "132", 9, 9), [eq(L4, 132), eq(DPORT, 9)]),
    (Rule("ingress", "TCP"), [eq(L4, 6)]),
    (Rule("ingress", "gre"), [eq(L4, 47)]),
    (Rule("ingress", 112), [eq(L4, 112)]),
    (Rule("ingress", "icmp"), [eq(L4, 1)]),
    (Rule("ingress", "icmp", 8), [eq(L4, 1), eq({"payload": {"protocol": "icmp", "field": "type"}}, 8)]),
    (Rule("ingress", "1", 3, 4), [eq(L4, 1), eq({"payload": {"protocol": "icmp", "field": "type"}}, 3),
                                  eq({"payload": {"protocol": "icmp", "field": "code"}}, 4)]),
    (Rule("ingress", remote_ip_prefix="0.0.0.0/0"), []),
    (Rule("ingress", remote_ip_prefix="198.18.5.7/32"), [eq(SADDR, "198.18.5.7")]),
    (Rule("egress", remote_ip_prefix="198.18.5.7/24"), [eq(DADDR, {"prefix": {"addr": "198.18.5.0", "len": 24}})]),
    (Rule("ingress", "tcp", 80, 80, remote_group_id="g1"), [eq(L4, 6), eq(DPORT, 80), eq(SADDR, "@members_g1")]),
    (Rule("egress", remote_group_id="g1"), [eq(DADDR, "@members_g1")]),
])
def test_rule_translation(rule, expected):
    assert rule_matches(rule) == expected


def test_ipv6_rules_are_skipped():
    assert rule_matches(Rule("ingress", "tcp", 22, 22, ethertype="IPv6")) is None
    model = FirewallModel(groups=(SecurityGroup("g", (Rule("ingress", ethertype="IPv6", remote_group_id="h"),)),))
    ruleset = build_ruleset("nc1", model)
    assert ruleset.chains[("inet", "nc1_secgroups", "sg_g_ingress")].rules == []
    assert ("inet", "nc1_secgroups", "members_h") not in ruleset.sets


@pytest.mark.parametrize("rule", [
    Rule("ingress", "tcp", None, 80),
    Rule("ingress", "tcp", 90, 80),
    Rule("ingress", "udp", 1, 65536),
    Rule("ingress", "gre", 1, 2),
    Rule("ingress", None, 22, 22),
    Rule("ingress", "icmp", None, 0),
    Rule("ingress", "icmp", 256),
    Rule("ingress", "ipv6-nonsense"),
    Rule("ingress", 300),
    Rule("ingress", remote_ip_prefix="fe80::/64"),
])
def test_rules_that_cannot_be_translated_are_refused(rule):
    with pytest.raises(ValueError):
        rule_matches(rule)


def test_rule_fields_are_checked_when_made():
    for kwargs in ({"direction": "inbound"}, {"direction": "ingress", "ethertype": "IPX"},
                   {"direction": "ingress", "remote_ip_prefix": "10.0.0.0/8", "remote_group_id": "g"}):
        with pytest.raises(ValueError):
            Rule(**kwargs)
    assert protocol_number("any") is None and protocol_number("17") == 17 and protocol_number("vrrp") == 112


# -- validation --------------------------------------------------------------------------------------------------

def _with_port(**changes) -> FirewallModel:
    model = two_network_model()
    return dataclasses.replace(model, ports=(dataclasses.replace(model.ports[0], **changes), *model.ports[1:]))


@pytest.mark.parametrize("model", [
    _with_port(mark=2),                                    # two ports with one mark
    _with_port(mark=0),
    _with_port(mark=65536),
    _with_port(tap="tapa2"),
    _with_port(bridge="brqcccc"),
    _with_port(mac="FA:16:3E:00:00:01"),
    _with_port(fixed_ips=("198.18.5.300",)),
    _with_port(security_groups=("sg-missing",)),
    _with_port(firewall_profile="PARANOID"),
    _with_port(tap="tap with space"),
    FirewallModel(networks=(Network("brqaaaa", 1), Network("brqbbbb", 1))),
    FirewallModel(networks=(Network("brqaaaa", 0),)),
    FirewallModel(networks=(Network("brqaaaa", 1), Network("brqaaaa", 2))),
])
def test_inconsistent_models_are_refused(model):
    with pytest.raises(ValueError):
        build_ruleset("nc1", model)


def test_ports_without_port_security_need_no_mark():
    model = _with_port(port_security_enabled=False, mark=2)
    assert ("inet", "nc1_secgroups", "egress_tapa1") not in build_ruleset("nc1", model).chains


# -- diffs -------------------------------------------------------------------------------------------------------

def _diff(before: FirewallModel, after: FirewallModel) -> list:
    return diff_transaction(build_ruleset("nc1", before), build_ruleset("nc1", after))


def test_no_change_is_no_command():
    assert _diff(two_network_model(), two_network_model()) == []


def test_adding_a_port_adds_only_its_chains_and_elements():
    before = two_network_model()
    new = Port("tapa3", "fa:16:3e:00:00:04", ("198.18.5.13",), 4, "brqaaaa", ("sg-default",))
    commands = _diff(before, dataclasses.replace(before, ports=before.ports + (new,)))
    text = json.dumps(commands)
    assert {verb for command in commands for verb in command} == {"add"}
    chains = sorted(c["add"]["chain"]["name"] for c in commands if "chain" in c["add"])
    assert chains == ["egress_tapa3", "from_tapa3", "ingress_tapa3", "to_tapa3"]
    elements = [c["add"]["element"] for c in commands if "element" in c["add"]]
    assert {(e["name"], json.dumps(e["elem"])) for e in elements} == {
        ("from_ports", json.dumps([["tapa3", {"jump": {"target": "from_tapa3"}}]])),
        ("to_ports", json.dumps([["tapa3", {"jump": {"target": "to_tapa3"}}]])),
        ("egress_ports", json.dumps([[4, {"jump": {"target": "egress_tapa3"}}]])),
        ("ingress_ports", json.dumps([[4 << 16, {"jump": {"target": "ingress_tapa3"}}]])),
        ("members_sg-default", json.dumps(["198.18.5.13"])),
    }
    assert "tapa1" not in text and "tapa2" not in text


def test_removing_a_port_deletes_elements_first_then_flushes_then_deletes_chains():
    before = two_network_model()
    commands = _diff(before, dataclasses.replace(before, ports=before.ports[1:]))
    verbs = [(verb, kind) for command in commands for verb, body in command.items() for kind in body]
    assert verbs == [("delete", "element")] * 5 + [("flush", "chain")] * 5 + [("delete", "chain")] * 5
    deleted = sorted(c["delete"]["chain"]["name"] for c in commands if "chain" in c.get("delete", {}))
    assert deleted == ["egress_tapa1", "from_tapa1", "fwprofile_tapa1", "ingress_tapa1", "to_tapa1"]
    members = [c["delete"]["element"] for c in commands if "element" in c.get("delete", {})
               and c["delete"]["element"]["name"] == "members_sg-default"]
    assert members[0]["elem"] == ["198.18.5.10", "198.18.5.11"]


def test_changing_a_groups_rules_touches_only_its_chains():
    before = two_network_model()
    web = dataclasses.replace(before.groups[1], rules=(Rule("ingress", "tcp", 443, 443),))
    commands = _diff(before, dataclasses.replace(before, groups=(before.groups[0], web)))
    table = {"family": "inet", "table": "nc1_secgroups"}
    assert commands == [
        {"flush": {"chain": {**table, "name": "sg_sg-web_egress"}}},
        {"flush": {"chain": {**table, "name": "sg_sg-web_ingress"}}},
        {"delete": {"set": {**table, "name": "members_sg-admin"}}},     # no rule refers to it any more
        {"add": {"rule": {**table, "chain": "sg_sg-web_ingress", "expr": [eq(L4, 6), eq(DPORT, 443), ACCEPT]}}},
    ]


def test_a_membership_change_is_one_element():
    before = two_network_model()
    tapa2 = dataclasses.replace(before.ports[1], security_groups=("sg-default",))
    after = dataclasses.replace(before, ports=(before.ports[0], tapa2, before.ports[2]))
    commands = _diff(before, after)
    assert commands[-1] == {"add": {"element": {"family": "inet", "table": "nc1_secgroups",
                                                "name": "members_sg-default", "elem": ["198.18.5.12"]}}}
    # the port's own two chains are refilled with a jump to the group; nothing else changes
    assert {c["flush"]["chain"]["name"] for c in commands[:2]} == {"egress_tapa2", "ingress_tapa2"}
    rules = [c["add"]["rule"] for c in commands[2:-1]]
    assert {rule["chain"] for rule in rules} == {"egress_tapa2", "ingress_tapa2"}
    assert [rule["expr"] for rule in rules if "jump" in rule["expr"][0]] == [
        [nft.jump("sg_sg-default_egress")], [nft.jump("sg_sg-default_ingress")]]
    assert len(commands) == 2 + 10 + 1


def test_a_changed_map_element_is_deleted_then_added():
    old = nft.Ruleset([("inet", "t")])
    old.add_set(nft.NamedSet("inet", "t", "m", "mark", "verdict", {1: nft.jump("a"), 2: nft.jump("b")}))
    new = nft.Ruleset([("inet", "t")])
    new.add_set(nft.NamedSet("inet", "t", "m", "mark", "verdict", {1: nft.jump("c"), 2: nft.jump("b")}))
    ref = {"family": "inet", "table": "t", "name": "m"}
    assert diff_transaction(old, new) == [{"delete": {"element": {**ref, "elem": [1]}}},
                                          {"add": {"element": {**ref, "elem": [[1, nft.jump("c")]]}}}]


def test_other_tables_mean_a_full_transaction():
    assert diff_transaction(nft.Ruleset([("inet", "a")]), build_ruleset("nc1", FirewallModel())) == \
        full_transaction(build_ruleset("nc1", FirewallModel()))
