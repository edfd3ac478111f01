"""Kernel probe, run once at daemon start: can this host enforce security groups the way secgroups.py builds them?

Each feature is tried in its own transaction on scratch tables named `<prefix>_probe` (bridge and inet family), which
are removed afterwards whatever happened (and before, in case a crashed probe left them). Rules in the scratch
tables match an interface name that does not exist, so no packet is touched while they are loaded. The result is
the list of missing features, each with a message for the operator; the daemon refuses to enable security groups
with `refusal_message(missing)`.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from nodecompute.hostnet import nft, secgroups
from nodecompute.hostnet.nft import ACCEPT, eq, meta

BR_NETFILTER = Path("/proc/sys/net/bridge/bridge-nf-call-iptables")
NO_SUCH_PORT = "ncprobe-none"


@dataclass(frozen=True)
class MissingFeature:
    name: str
    message: str


def _table(family: str, name: str) -> nft.Command:
    return {"add": {"table": {"family": family, "name": name}}}


def _base_chain(family: str, table: str, hook: str, prio: int) -> nft.Command:
    return {"add": {"chain": {"family": family, "table": table, "name": hook, "type": "filter", "hook": hook,
                              "prio": prio, "policy": "accept"}}}


def _rule(family: str, table: str, chain: str, *expr: nft.Expr) -> nft.Command:
    return {"add": {"rule": {"family": family, "table": table, "chain": chain, "expr": list(expr)}}}


def _bridge_marks(table: str) -> list[nft.Command]:
    return [_table("bridge", table), _base_chain("bridge", table, "prerouting", -200),
            _rule("bridge", table, "prerouting", eq(meta("iifname"), NO_SUCH_PORT),
                  eq(nft.payload("ether", "type"), "ip"), nft.mangle(meta("mark"), 1))]


def _inet_ct_state(table: str) -> list[nft.Command]:
    return [_table("inet", table), _base_chain("inet", table, "forward", 0),
            _rule("inet", table, "forward", eq(meta("iifname"), NO_SUCH_PORT),
                  nft.match(nft.ct("state"), ["established", "related"], "in"), ACCEPT)]


def _ct_zone(table: str) -> list[nft.Command]:
    return [_table("inet", table), _base_chain("inet", table, "prerouting", secgroups.PRIO_RAW),
            _rule("inet", table, "prerouting", eq(meta("iifname"), NO_SUCH_PORT), nft.mangle(nft.ct("zone"), 1))]


def _sample_ruleset(prefix: str) -> list[nft.Command]:
    """The builder's own output for a one-port model, so every construct it uses is tried."""
    rule = secgroups.SecurityGroupRule
    model = secgroups.FirewallModel(
        networks=(secgroups.Network(NO_SUCH_PORT, 1, ("198.18.0.2",)),),
        ports=(secgroups.Port("ncprobe-tap", "02:00:00:00:00:01", ("198.18.0.3",), 1, NO_SUCH_PORT, ("g",),
                              firewall_profile="PROTECTED"),),
        groups=(secgroups.SecurityGroup("g", (rule("egress"), rule("ingress", "tcp", 22, 23, remote_group_id="g"),
                                              rule("ingress", "icmp", 8, 0, "198.18.0.0/15"))),))
    return nft.full_transaction(secgroups.build_ruleset(prefix, model))


FEATURES = (
    ("bridge_port_marks", "nftables' bridge family cannot match a bridge port and set meta mark", _bridge_marks),
    ("inet_forward_ct_state", "nftables' inet forward chain cannot match ct state (no connection tracking)",
     _inet_ct_state),
    ("ct_zone", "nftables cannot give a bridge its own conntrack zone (ct zone set at prerouting, priority raw)",
     _ct_zone),
)


def _br_netfilter() -> MissingFeature | None:
    try:
        value = BR_NETFILTER.read_text().strip()
    except OSError:
        value = "absent"
    if value == "1":
        return None
    return MissingFeature("br_netfilter", f"br_netfilter is not active ({BR_NETFILTER} is {value}): bridged IPv4 "
                                          "would bypass the inet forward chain; load br_netfilter and set "
                                          "net.bridge.bridge-nf-call-iptables=1")


async def probe(prefix: str) -> list[MissingFeature]:
    """Every feature security groups need that this host lacks; an empty list means they can be enabled."""
    missing = [feature for feature in [_br_netfilter()] if feature]
    scratch = f"{prefix}_probe"
    scratch_tables = [("bridge", scratch), ("inet", scratch), *secgroups.our_tables(scratch)]
    try:
        await nft.delete_tables(scratch_tables)
    except nft.NftError as exc:
        return missing + [MissingFeature("nft", f"the nft command does not work (install Debian's nftables): {exc}")]
    try:
        failed = []
        for name, what, commands in FEATURES:
            try:
                await nft.apply(commands(scratch))
            except nft.NftError as exc:
                failed.append(MissingFeature(name, f"{what}: {exc.stderr or exc}"))
        missing += failed
        if not failed:
            try:
                await nft.apply(_sample_ruleset(scratch))
            except nft.NftError as exc:
                missing.append(MissingFeature("ruleset", f"the security-group tables do not load: "
                                                         f"{exc.stderr or exc}"))
    finally:
        await nft.delete_tables(scratch_tables)
    return missing


def refusal_message(missing: list[MissingFeature]) -> str:
    return "security groups cannot be enforced on this host: " + "; ".join(f.message for f in missing)
