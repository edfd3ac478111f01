"""A router's nftables table as nft JSON (pure): one batch that replaces the whole table."""
from __future__ import annotations

import dataclasses

from nodecompute.hostnet import FloatingIp, Router, RouterLeg
from nodecompute.hostnet.router_nat import nat_ruleset

LEG_ONE = RouterLeg("11111111-aaaa-4000-8000-000000000000", "net-one-0000", "fa:16:3e:00:01:01", ("198.18.5.1/24",))
LEG_TWO = RouterLeg("22222222-aaaa-4000-8000-000000000000", "net-two-0000", "fa:16:3e:00:01:02", ("198.18.6.1/24",))
GATEWAY = RouterLeg("33333333-aaaa-4000-8000-000000000000", "net-ext-0000", "fa:16:3e:00:01:03", ("198.19.0.2/24",))
ROUTER = Router("r0000000-0000-4000-8000-000000000000", interfaces=(LEG_TWO, LEG_ONE), gateway=GATEWAY)
TABLE = {"family": "ip", "name": "nc1-router"}


def rules(batch: dict, chain: str) -> list[list[dict]]:
    return [c["add"]["rule"]["expr"] for c in batch["nftables"]
            if "rule" in c.get("add", {}) and c["add"]["rule"]["chain"] == chain]


def match(left: dict, right, op: str = "==") -> dict:
    return {"match": {"op": op, "left": left, "right": right}}


def ip(field: str) -> dict:
    return {"payload": {"protocol": "ip", "field": field}}


OIF_GATEWAY = match({"meta": {"key": "oifname"}}, "qg-33333333-aa")


def test_the_batch_replaces_the_whole_table_in_one_transaction():
    batch = nat_ruleset("nc1-router", ROUTER)["nftables"]
    assert batch[:3] == [{"add": {"table": TABLE}}, {"delete": {"table": TABLE}}, {"add": {"table": TABLE}}]
    chains = [c["add"]["chain"] for c in batch if "chain" in c.get("add", {})]
    assert [(c["name"], c["type"], c["hook"], c["prio"]) for c in chains] == [
        ("prerouting", "nat", "prerouting", -100), ("postrouting", "nat", "postrouting", 100),
        ("input", "filter", "input", 0)]


def test_outbound_traffic_is_snatted_to_the_gateway_address():
    batch = nat_ruleset("nc1-router", ROUTER)
    assert rules(batch, "postrouting") == [[OIF_GATEWAY, {"snat": {"addr": "198.19.0.2"}}]]
    assert rules(batch, "prerouting") == [] and rules(batch, "input") == []
    assert rules(nat_ruleset("t", dataclasses.replace(ROUTER, snat=False)), "postrouting") == []


def test_floating_ips_get_a_dnat_and_snat_pair_before_the_router_snat():
    router = dataclasses.replace(ROUTER, floating_ips=(FloatingIp("198.19.0.60", "198.18.6.10"),
                                                       FloatingIp("198.19.0.50", "198.18.5.10")))
    batch = nat_ruleset("nc1-router", router)
    assert rules(batch, "prerouting") == [
        [match(ip("daddr"), "198.19.0.50"), {"dnat": {"addr": "198.18.5.10"}}],
        [match(ip("daddr"), "198.19.0.60"), {"dnat": {"addr": "198.18.6.10"}}],
    ]
    assert rules(batch, "postrouting") == [
        [OIF_GATEWAY, match(ip("saddr"), "198.18.5.10"), {"snat": {"addr": "198.19.0.50"}}],
        [OIF_GATEWAY, match(ip("saddr"), "198.18.6.10"), {"snat": {"addr": "198.19.0.60"}}],
        [OIF_GATEWAY, {"snat": {"addr": "198.19.0.2"}}],
    ]


def test_metadata_is_redirected_from_subnet_legs_and_its_port_takes_nothing_else():
    batch = nat_ruleset("nc1-router", dataclasses.replace(ROUTER, gateway=None, metadata_port=9697))
    tcp_dport = {"payload": {"protocol": "tcp", "field": "dport"}}
    assert rules(batch, "prerouting") == [[
        match({"meta": {"key": "iifname"}}, {"set": ["qr-11111111-aa", "qr-22222222-aa"]}),
        match(ip("daddr"), "169.254.169.254"), match(tcp_dport, 80), {"redirect": {"port": 9697}},
    ]]
    assert rules(batch, "input") == [[
        match(tcp_dport, 9697),
        match({"ct": {"key": "daddr", "family": "ip", "dir": "original"}}, "169.254.169.254", "!="),
        {"drop": None},
    ]]
    assert rules(batch, "postrouting") == []  # no gateway: nothing to NAT to
