"""Security groups and anti-spoofing as nftables tables: a pure builder, `FirewallModel` in, `nft.Ruleset` out.

The kernel here has no connection tracking in the bridge family, so the work is split over two tables per daemon
(names from the daemon prefix, see `table_names`):

`bridge <prefix>_antispoof` (stateless, per tap; hook prerouting and forward, priority filter)
- A frame from a port with port security goes to `from_<tap>`: it must carry the port's MAC; ARP must be Ethernet/
  IPv4 ARP whose sender MAC is the port's and whose sender IP is one of its fixed IPs or 0.0.0.0 (an RFC 5227
  probe); IPv4 must come from one of its fixed IPs, or be a DHCP request 0.0.0.0:68 -> 255.255.255.255:67; UDP
  from source port 67 (a DHCP server reply) is dropped whatever the address; anything else (IPv6, VLAN tags, other
  ethertypes) is dropped. What passes gets `meta mark` = the port's mark (bits 0-15).
- A frame the bridge forwards to a port with port security passes `to_<tap>`, which ORs the port's mark shifted
  into bits 16-31. The bridge forward hook runs once per output port, also for flooded frames, so the inet table
  knows the exact receiving port without looking at addresses.

`inet <prefix>_secgroups` (stateful, through br_netfilter)
- `conntrack_zones` (prerouting, priority raw) gives each network's bridge its own conntrack zone, so two networks
  with overlapping addresses never share a connection entry.
- Base chains `egress` (forward, priority filter) and `ingress` (priority filter + 1) act only on packets whose
  `iifname` (the bridge, under br_netfilter) is one of our bridges; both accept established and related packets.
  `egress` dispatches on the sender's mark to `egress_<tap>`, `ingress` on the receiver's mark to `ingress_<tap>`.
  Two base chains because a verdict ends a base chain only: an accepted egress still meets the receiver's ingress.
- `egress_<tap>`: ct invalid dropped; always allowed (behaviour.md section 14): DHCP requests (UDP 68 -> 67) and
  the metadata service (TCP to 169.254.169.254:80); then a jump to `sg_<group>_egress` of each of the port's groups;
  anything left is dropped. `ingress_<tap>`: ct invalid and IPv6 dropped; always allowed: DHCP replies (UDP 67 ->
  68) from the network's DHCP server addresses; then the firewallProfile hook `fwprofile_<tap>` (issue 23; only
  when the port has a profile other than DISABLED), then `sg_<group>_ingress` of each group; the rest is dropped.
- `sg_<group>_<direction>` holds the group's rules, each ending in accept; a group's rule change touches only its
  two chains. A rule's remote group is the named set `members_<group>` (fixed IPs of the ports with port security
  in that group), so a membership change is one set element. Like Neutron's ipsets, membership is by address:
  with overlapping addresses on two networks a member's address also matches its twin on the other network.
- `fwprofile_<tap>`: the profile's allowed inbound rules return to `ingress_<tap>` (so the security groups still
  apply), anything else new is dropped. Defaults: ENABLED allows ICMP echo, PROTECTED also TCP 22.

Semantics
- A port with port security disabled is in neither table: no anti-spoofing, no mark, its traffic in both
  directions unfiltered by its own rules (the receiver's ingress still applies when the receiver has port security),
  and its addresses are in no member set. Router and DHCP ports are not in the model and are treated the same way.
- A port with port security and no groups passes only the always-allowed traffic (Neutron's behaviour).
- Only IPv4 rules apply (ethertype IPv6 rules are skipped: ports carry only IPv4, anti-spoofing drops IPv6).
- A port must be in the model (and the tables applied) before its tap carries traffic: a tap unknown to the
  tables is unfiltered.
- Marks are 1-65535 and unique per daemon; zones 1-65535, one per bridge.
"""
from __future__ import annotations

import functools
import ipaddress
import re
from dataclasses import dataclass
from typing import Iterable, Mapping

from nodecompute.hostnet import nft
from nodecompute.hostnet.nft import ACCEPT, DROP, RETURN, Chain, Hook, NamedSet, Ruleset, eq, meta, ne, payload

METADATA_IP = "169.254.169.254"
SRC_MASK = 0x0000FFFF
DST_MASK = 0xFFFF0000
DST_SHIFT = 16
MAX_MARK = 0xFFFF
PRIO_RAW = -300
PRIO_FILTER = 0
PROTOCOL_NUMBERS = {"ah": 51, "dccp": 33, "egp": 8, "esp": 50, "gre": 47, "icmp": 1, "igmp": 2, "ipip": 4,
                    "ospf": 89, "pgm": 113, "rsvp": 46, "sctp": 132, "tcp": 6, "udp": 17, "udplite": 136,
                    "vrrp": 112}
PORT_PROTOCOLS = frozenset({6, 17, 33, 132, 136})
ICMP = 1
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")
PREFIX = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,47}$")
MAC = re.compile(r"^[0-9a-f]{2}(:[0-9a-f]{2}){5}$")


def _name(value: str, what: str) -> str:
    if not NAME.match(value):
        raise ValueError(f"{what} {value!r} cannot name an nftables object")
    return value


@dataclass(frozen=True)
class SecurityGroupRule:
    direction: str                       # "ingress" | "egress"
    protocol: str | int | None = None    # None/"any", a name of PROTOCOL_NUMBERS, or 0-255
    port_range_min: int | None = None    # ICMP: the type
    port_range_max: int | None = None    # ICMP: the code
    remote_ip_prefix: str | None = None
    remote_group_id: str | None = None
    ethertype: str = "IPv4"

    def __post_init__(self) -> None:
        if self.direction not in ("ingress", "egress"):
            raise ValueError(f"direction {self.direction!r} is neither ingress nor egress")
        if self.ethertype not in ("IPv4", "IPv6"):
            raise ValueError(f"ethertype {self.ethertype!r} is neither IPv4 nor IPv6")
        if self.remote_ip_prefix is not None and self.remote_group_id is not None:
            raise ValueError("a rule has a remote IP prefix or a remote group, not both")


@dataclass(frozen=True)
class SecurityGroup:
    id: str
    rules: tuple[SecurityGroupRule, ...] = ()


@dataclass(frozen=True)
class Network:
    bridge: str
    zone: int                            # conntrack zone, 1-65535, unique per daemon
    dhcp_servers: tuple[str, ...] = ()   # addresses the DHCP replies come from


@dataclass(frozen=True)
class Port:
    tap: str
    mac: str
    fixed_ips: tuple[str, ...]
    mark: int                            # 1-65535, unique per daemon
    bridge: str
    security_groups: tuple[str, ...] = ()
    port_security_enabled: bool = True
    firewall_profile: str | None = None  # None/"DISABLED", or a key of the profiles (ENABLED, PROTECTED)


@dataclass(frozen=True)
class FirewallModel:
    networks: tuple[Network, ...] = ()
    ports: tuple[Port, ...] = ()
    groups: tuple[SecurityGroup, ...] = ()


DEFAULT_PROFILES: Mapping[str, tuple[SecurityGroupRule, ...]] = {
    "ENABLED": (SecurityGroupRule("ingress", "icmp", 8),),
    "PROTECTED": (SecurityGroupRule("ingress", "icmp", 8), SecurityGroupRule("ingress", "tcp", 22, 22)),
}


def table_names(prefix: str) -> tuple[str, str]:
    """(bridge table, inet table) of the daemon with PREFIX."""
    if not PREFIX.match(prefix):
        raise ValueError(f"prefix {prefix!r} is not a short identifier")
    return f"{prefix}_antispoof", f"{prefix}_secgroups"


def our_tables(prefix: str) -> list[tuple[str, str]]:
    bridge_table, inet_table = table_names(prefix)
    return [("bridge", bridge_table), ("inet", inet_table)]


def build_ruleset(prefix: str, model: FirewallModel,
                  profiles: Mapping[str, tuple[SecurityGroupRule, ...]] = DEFAULT_PROFILES) -> Ruleset:
    """The whole desired state of this daemon's two tables for MODEL."""
    _validate(model, profiles)
    bridge_table, inet_table = table_names(prefix)
    ruleset = Ruleset(tables=our_tables(prefix))
    secured = [port for port in model.ports if port.port_security_enabled]
    _antispoof_table(ruleset, bridge_table, secured)
    _secgroups_table(ruleset, inet_table, model, secured, profiles)
    return ruleset


# ---------------------------------------------------------------- validation

def _validate(model: FirewallModel, profiles: Mapping[str, tuple[SecurityGroupRule, ...]]) -> None:
    bridges = {net.bridge for net in model.networks}
    groups = {_name(group.id, "security group id") for group in model.groups}
    _unique([net.bridge for net in model.networks], "bridge")
    _unique([net.zone for net in model.networks], "conntrack zone")
    _unique([port.tap for port in model.ports], "tap")
    _unique([port.mark for port in model.ports if port.port_security_enabled], "mark")
    for net in model.networks:
        _name(net.bridge, "bridge")
        if not 1 <= net.zone <= MAX_MARK:
            raise ValueError(f"zone {net.zone} of {net.bridge} is outside 1-{MAX_MARK}")
        _ipv4s(net.dhcp_servers)
    for port in model.ports:
        _name(port.tap, "tap")
        _ipv4s(port.fixed_ips)
        if port.bridge not in bridges:
            raise ValueError(f"port {port.tap} is on bridge {port.bridge}, which is not in the model")
        if not MAC.match(port.mac):
            raise ValueError(f"port {port.tap} has MAC {port.mac!r}; expected lower-case aa:bb:cc:dd:ee:ff")
        if port.port_security_enabled and not 1 <= port.mark <= MAX_MARK:
            raise ValueError(f"port {port.tap} has mark {port.mark}, outside 1-{MAX_MARK}")
        if missing := [g for g in port.security_groups if g not in groups]:
            raise ValueError(f"port {port.tap} is in security groups not in the model: {missing}")
        if port.firewall_profile not in (None, "DISABLED", *profiles):
            raise ValueError(f"port {port.tap} has an unknown firewall profile {port.firewall_profile!r}")


def _unique(values: list, what: str) -> None:
    if len(values) != len(set(values)):
        raise ValueError(f"the same {what} appears twice in the model")


def _ipv4s(addresses: Iterable[str]) -> None:
    for address in addresses:
        ipaddress.IPv4Address(address)


# ---------------------------------------------------------------- bridge family: anti-spoofing and marks

def _antispoof_table(ruleset: Ruleset, table: str, ports: list[Port]) -> None:
    def chain(name: str, hook: Hook | None = None, rules: list | None = None) -> Chain:
        return ruleset.add_chain(Chain("bridge", table, name, hook, rules or []))

    from_ports = ruleset.add_set(NamedSet("bridge", table, "from_ports", "ifname", "verdict"))
    to_ports = ruleset.add_set(NamedSet("bridge", table, "to_ports", "ifname", "verdict"))
    chain("prerouting", Hook("prerouting", -200), [[nft.vmap(meta("iifname"), "from_ports")]])
    chain("forward", Hook("forward", -200), [[nft.vmap(meta("oifname"), "to_ports")]])
    for port in ports:
        chain(f"from_{port.tap}", rules=antispoof_rules(port))
        chain(f"to_{port.tap}", rules=[[nft.mangle(meta("mark"), nft.bitwise_or(meta("mark"),
                                                                               port.mark << DST_SHIFT))]])
        from_ports.elements[port.tap] = nft.jump(f"from_{port.tap}")
        to_ports.elements[port.tap] = nft.jump(f"to_{port.tap}")


# Rule lists are memoised on the frozen model objects (a change rebuilds only what changed, see bench/hostnet_nft.py);
# they are shared between Rulesets, so nothing may mutate them.
memoised = functools.lru_cache(maxsize=16384)


@memoised
def antispoof_rules(port: Port) -> list[list[nft.Expr]]:
    """What a port may send (see the module docstring), and its mark."""
    ether_type = payload("ether", "type")
    ipv4 = eq(ether_type, "ip")
    udp = eq(payload("ip", "protocol"), 17)
    rules = [
        [ne(payload("ether", "saddr"), port.mac), DROP],
        [nft.mangle(meta("mark"), port.mark)],
        [eq(ether_type, "arp"), eq(payload("arp", "htype"), 1), eq(payload("arp", "ptype"), "ip"),
         eq(payload("arp", "hlen"), 6), eq(payload("arp", "plen"), 4),
         eq(payload("arp", "saddr ether"), port.mac),
         eq(payload("arp", "saddr ip"), nft.anonymous_set(["0.0.0.0", *port.fixed_ips])), ACCEPT],
        [ipv4, udp, eq(payload("udp", "sport"), 67), DROP],
    ]
    if port.fixed_ips:
        rules.append([ipv4, eq(payload("ip", "saddr"), nft.anonymous_set(port.fixed_ips)), ACCEPT])
    rules += [
        [ipv4, eq(payload("ip", "saddr"), "0.0.0.0"), eq(payload("ip", "daddr"), "255.255.255.255"), udp,
         eq(payload("udp", "sport"), 68), eq(payload("udp", "dport"), 67), ACCEPT],
        [DROP],
    ]
    return rules


# ---------------------------------------------------------------- inet family: stateful security groups

def _secgroups_table(ruleset: Ruleset, table: str, model: FirewallModel, ports: list[Port],
                     profiles: Mapping[str, tuple[SecurityGroupRule, ...]]) -> None:
    def chain(name: str, hook: Hook | None = None, rules: list | None = None) -> Chain:
        return ruleset.add_chain(Chain("inet", table, name, hook, rules or []))

    networks = {net.bridge: net for net in model.networks}
    bridges = ruleset.add_set(NamedSet("inet", table, "bridges", "ifname"))
    egress_ports = ruleset.add_set(NamedSet("inet", table, "egress_ports", "mark", "verdict"))
    ingress_ports = ruleset.add_set(NamedSet("inet", table, "ingress_ports", "mark", "verdict"))
    bridges.elements.update(dict.fromkeys(networks))
    chain("conntrack_zones", Hook("prerouting", PRIO_RAW),
          [[eq(meta("iifname"), net.bridge), nft.mangle(nft.ct("zone"), net.zone)]
           for net in sorted(model.networks, key=lambda net: net.bridge)])
    chain("egress", Hook("forward", PRIO_FILTER), _dispatch(SRC_MASK, "egress_ports"))
    chain("ingress", Hook("forward", PRIO_FILTER + 1), _dispatch(DST_MASK, "ingress_ports"))
    for group in model.groups:
        for direction in ("egress", "ingress"):
            chain(f"sg_{group.id}_{direction}", rules=_group_rules(group, direction))
    for group_id in sorted(_remote_groups(model.groups)):
        members = ruleset.add_set(NamedSet("inet", table, f"members_{_name(group_id, 'remote group id')}",
                                           "ipv4_addr"))
        members.elements.update(dict.fromkeys(
            ip for port in ports if group_id in port.security_groups for ip in port.fixed_ips))
    for port in ports:
        chain(f"egress_{port.tap}", rules=_port_egress(port))
        chain(f"ingress_{port.tap}", rules=_port_ingress(port, networks[port.bridge]))
        if port.firewall_profile not in (None, "DISABLED"):
            chain(f"fwprofile_{port.tap}", rules=_profile_rules(tuple(profiles[port.firewall_profile])))
        egress_ports.elements[port.mark] = nft.jump(f"egress_{port.tap}")
        ingress_ports.elements[port.mark << DST_SHIFT] = nft.jump(f"ingress_{port.tap}")


def _dispatch(mask: int, port_map: str) -> list[list[nft.Expr]]:
    return [
        [ne(meta("iifname"), nft.set_ref("bridges")), ACCEPT],
        [nft.match(nft.ct("state"), ["established", "related"], "in"), ACCEPT],
        [nft.vmap(nft.bitwise_and(meta("mark"), mask), port_map)],
    ]


def _invalid() -> list[nft.Expr]:
    return [nft.match(nft.ct("state"), "invalid", "in"), DROP]


@memoised
def _group_rules(group: SecurityGroup, direction: str) -> list[list[nft.Expr]]:
    return [exprs + [ACCEPT] for rule in group.rules
            if rule.direction == direction and (exprs := rule_matches(rule)) is not None]


@memoised
def _profile_rules(rules: tuple[SecurityGroupRule, ...]) -> list[list[nft.Expr]]:
    return [exprs + [RETURN] for rule in rules if (exprs := rule_matches(rule)) is not None] + [[DROP]]


@memoised
def _port_egress(port: Port) -> list[list[nft.Expr]]:
    return [
        _invalid(),
        [eq(meta("l4proto"), 17), eq(payload("th", "sport"), 68), eq(payload("th", "dport"), 67), ACCEPT],
        [eq(payload("ip", "daddr"), METADATA_IP), eq(meta("l4proto"), 6), eq(payload("th", "dport"), 80), ACCEPT],
        *[[nft.jump(f"sg_{group}_egress")] for group in port.security_groups],
        [DROP],
    ]


@memoised
def _port_ingress(port: Port, network: Network) -> list[list[nft.Expr]]:
    rules = [_invalid(), [eq(meta("nfproto"), "ipv6"), DROP]]
    if network.dhcp_servers:
        rules.append([eq(payload("ip", "saddr"), nft.anonymous_set(network.dhcp_servers)), eq(meta("l4proto"), 17),
                      eq(payload("th", "sport"), 67), eq(payload("th", "dport"), 68), ACCEPT])
    if port.firewall_profile not in (None, "DISABLED"):
        rules.append([nft.jump(f"fwprofile_{port.tap}")])
    rules += [[nft.jump(f"sg_{group}_ingress")] for group in port.security_groups]
    rules.append([DROP])
    return rules


def _remote_groups(groups: Iterable[SecurityGroup]) -> set[str]:
    return {rule.remote_group_id for group in groups for rule in group.rules
            if rule.remote_group_id is not None and rule.ethertype == "IPv4"}


# ---------------------------------------------------------------- one rule

def protocol_number(protocol: str | int | None) -> int | None:
    """Neutron's protocol field as an IP protocol number; None means any."""
    if protocol is None or protocol == "any":
        return None
    if isinstance(protocol, str) and not protocol.isdigit():
        if protocol.lower() not in PROTOCOL_NUMBERS:
            raise ValueError(f"protocol {protocol!r} is not known")
        return PROTOCOL_NUMBERS[protocol.lower()]
    number = int(protocol)
    if not 0 <= number <= 255:
        raise ValueError(f"protocol {number} is outside 0-255")
    return number or None


def rule_matches(rule: SecurityGroupRule) -> list[nft.Expr] | None:
    """The match expressions of RULE (the verdict is the caller's), or None for a rule that does not apply here."""
    if rule.ethertype != "IPv4":
        return None
    number = protocol_number(rule.protocol)
    exprs: list[nft.Expr] = [] if number is None else [eq(meta("l4proto"), number)]
    exprs += _port_or_icmp(number, rule.port_range_min, rule.port_range_max)
    address = payload("ip", "saddr" if rule.direction == "ingress" else "daddr")
    if rule.remote_group_id is not None:
        exprs.append(eq(address, nft.set_ref(f"members_{rule.remote_group_id}")))
    elif rule.remote_ip_prefix is not None:
        network = ipaddress.IPv4Network(rule.remote_ip_prefix, strict=False)
        if network.prefixlen == 32:
            exprs.append(eq(address, str(network.network_address)))
        elif network.prefixlen:
            exprs.append(eq(address, nft.prefix(str(network.network_address), network.prefixlen)))
    return exprs


def _port_or_icmp(number: int | None, low: int | None, high: int | None) -> list[nft.Expr]:
    if low is None and high is None:
        return []
    if low is None:
        raise ValueError("port_range_max without port_range_min")
    if number in PORT_PROTOCOLS:
        high = low if high is None else high
        if not 0 <= low <= high <= 65535:
            raise ValueError(f"port range {low}-{high} is not within 0-65535 in order")
        return [eq(payload("th", "dport"), nft.span(low, high))]
    if number == ICMP:
        if not 0 <= low <= 255 or (high is not None and not 0 <= high <= 255):
            raise ValueError(f"ICMP type {low} or code {high} is outside 0-255")
        exprs = [eq(payload("icmp", "type"), low)]
        return exprs + ([eq(payload("icmp", "code"), high)] if high is not None else [])
    raise ValueError(f"protocol {number} has no ports")
