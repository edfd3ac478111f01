"""Neutron's security-group rule semantics, pure: the attribute converters (protocol, ethertype, ports, remote
prefix), the checks and canonical forms a new rule goes through (neutron/db/securitygroups_db.py, in its order),
the key that finds a duplicate rule, and the rules a new group starts with.

Rules of ethertype IPv6 are stored and shown as Neutron does, but enforce nothing: subnets here are IPv4 only.
"""
from __future__ import annotations

import ipaddress
import uuid
from dataclasses import replace
from datetime import datetime
from typing import Any

from nodecompute.domain.network_errors import (InvalidCIDR, SecurityGroupEthertypeConflictWithProtocol,
                                               SecurityGroupInvalidIcmpValue, SecurityGroupInvalidPortRange,
                                               SecurityGroupInvalidPortValue, SecurityGroupInvalidProtocolForPort,
                                               SecurityGroupMissingIcmpType, SecurityGroupMultipleRemoteEntites,
                                               SecurityGroupProtocolRequiredWithPorts,
                                               SecurityGroupRuleInvalidEtherType, SecurityGroupRuleInvalidProtocol,
                                               SecurityGroupRuleParameterConflict)
from nodecompute.domain.network_models import RuleRequest, SecurityGroupRule

# neutron_lib.constants.IP_PROTOCOL_MAP, in its order (the order Neutron's messages list them in)
PROTOCOL_NUMBERS: dict[str, int] = {
    "ah": 51, "dccp": 33, "egp": 8, "esp": 50, "gre": 47, "hopopt": 0, "icmp": 1, "igmp": 2, "ip": 0, "ipip": 4,
    "ipv6-encap": 41, "ipv6-frag": 44, "ipv6-icmp": 58, "icmpv6": 58, "ipv6-nonxt": 59, "ipv6-opts": 60,
    "ipv6-route": 43, "ospf": 89, "pgm": 113, "rsvp": 46, "sctp": 132, "tcp": 6, "udp": 17, "udplite": 136,
    "vrrp": 112,
}
NUMBER_NAMES = {str(number): name for name, number in PROTOCOL_NUMBERS.items() if name != "icmpv6"}
SUPPORTED_PROTOCOLS = (None, "any", *PROTOCOL_NUMBERS)
ETHERTYPES = ["IPv4", "IPv6"]
PORT_PROTOCOLS = (33, 132, 6, 17, 136)  # DCCP, SCTP, TCP, UDP, UDPLITE
PORT_PROTOCOL_NAMES = "DCCP, SCTP, TCP, UDP, UDPLITE"
ICMP_PROTOCOLS = (1, 58)
IPV6_ONLY = ("ipv6-encap", "ipv6-frag", "ipv6-icmp", "icmpv6", "ipv6-nonxt", "ipv6-opts", "ipv6-route", "41", "44",
             "58", "59", "60", "43")
ANY_PREFIXES = ("0.0.0.0/0", "::/0", None)


# ---------------------------------------------------------------- converters (400 with their own type)

def convert_protocol(value: Any) -> str | None:
    """A name (lower-cased) or a number 0-255 kept as the string given; None and "any" mean any."""
    if value is None or value == "any":
        return None
    if isinstance(value, (bool, float)):
        raise SecurityGroupRuleInvalidProtocol(protocol=value, values=SUPPORTED_PROTOCOLS)
    try:
        number = int(value)
    except (ValueError, TypeError):
        if isinstance(value, str) and value.lower() in SUPPORTED_PROTOCOLS:
            return value.lower()
        raise SecurityGroupRuleInvalidProtocol(protocol=value, values=SUPPORTED_PROTOCOLS) from None
    if 0 <= number <= 255:
        return str(value)
    raise SecurityGroupRuleInvalidProtocol(protocol=value, values=SUPPORTED_PROTOCOLS)


def convert_ethertype(value: Any) -> str:
    if isinstance(value, str):
        for ethertype in ETHERTYPES:
            if ethertype.lower() == value.lower():
                return ethertype
    raise SecurityGroupRuleInvalidEtherType(ethertype=value, values=ETHERTYPES)


def convert_port(value: Any) -> int | None:
    if value is None:
        return None
    try:
        number = int(value)
    except (ValueError, TypeError):
        number = -1
    if 0 <= number <= 65535:
        return number
    raise SecurityGroupInvalidPortValue(port=value)


def convert_prefix(value: Any) -> str | None:
    """An address or network as Neutron writes it: with its length, host bits kept ("10.0.0.5" -> 10.0.0.5/32)."""
    if not value:
        return None
    if isinstance(value, str):
        try:
            return str(ipaddress.ip_interface(value.strip()))
        except ValueError:
            pass
    raise InvalidCIDR(input=value)


# ---------------------------------------------------------------- checks, in Neutron's order

def protocol_number(protocol: str | None) -> int | None:
    """The IP protocol number of a stored protocol (None: any)."""
    if protocol is None:
        return None
    return PROTOCOL_NUMBERS[protocol] if protocol in PROTOCOL_NUMBERS else int(protocol)


def checked(rule: RuleRequest) -> RuleRequest:
    """The rule in its canonical form, or the 400 Neutron answers (the group checks are the service's)."""
    rule = _canonical_ipv6_icmp(rule)
    if rule.port_range_min == 1 and rule.port_range_max == 65535:  # the whole range is no range
        rule = replace(rule, port_range_min=None, port_range_max=None)
    _check_ports(rule)
    if rule.remote_ip_prefix and rule.ethertype != f"IPv{ipaddress.ip_interface(rule.remote_ip_prefix).version}":
        raise SecurityGroupRuleParameterConflict(ethertype=rule.ethertype, cidr=rule.remote_ip_prefix)
    if rule.protocol in IPV6_ONLY and rule.ethertype == "IPv4":
        raise SecurityGroupEthertypeConflictWithProtocol(ethertype=rule.ethertype, protocol=rule.protocol)
    if rule.remote_ip_prefix and rule.remote_group_id:
        raise SecurityGroupMultipleRemoteEntites()
    return rule


def _canonical_ipv6_icmp(rule: RuleRequest) -> RuleRequest:
    if rule.ethertype == "IPv6" and rule.protocol in ("icmp", "icmpv6"):
        return replace(rule, protocol="ipv6-icmp")
    if rule.ethertype == "IPv6" and rule.protocol == "1":
        return replace(rule, protocol="58")
    return rule


def _check_ports(rule: RuleRequest) -> None:
    low, high = rule.port_range_min, rule.port_range_max
    if low is None and high is None:
        return
    if not rule.protocol:
        raise SecurityGroupProtocolRequiredWithPorts()
    number = protocol_number(rule.protocol)
    if number in PORT_PROTOCOLS:
        if low == 0 or high == 0:
            raise SecurityGroupInvalidPortValue(port=0)
        if low is None or high is None or low > high:
            raise SecurityGroupInvalidPortRange()
    elif number in ICMP_PROTOCOLS:
        for attr, field, value in (("port_range_min", "type", low), ("port_range_max", "code", high)):
            if value is not None and not 0 <= value <= 255:
                raise SecurityGroupInvalidIcmpValue(field=field, attr=attr, value=value)
        if low is None:
            raise SecurityGroupMissingIcmpType(value=high)
    else:
        raise SecurityGroupInvalidProtocolForPort(protocol=number, valid_port_protocols=PORT_PROTOCOL_NAMES)


def _protocol_key(protocol: str | None, ethertype: str) -> Any:
    if protocol is None:
        return None
    if ethertype == "IPv6":
        protocol = "ipv6-icmp" if protocol in ("icmp", "icmpv6") else "58" if protocol == "1" else protocol
    if protocol in PROTOCOL_NUMBERS:
        return protocol, str(PROTOCOL_NUMBERS[protocol])
    if protocol in NUMBER_NAMES:
        return NUMBER_NAMES[protocol], protocol
    return protocol, protocol


def rule_key(rule: RuleRequest | SecurityGroupRule) -> tuple:
    """What makes two rules the same rule (Neutron's _rule_to_key): an any-address prefix is no prefix, a protocol
    name is its number."""
    return (rule.direction, rule.ethertype, rule.port_range_max, rule.port_range_min,
            _protocol_key(rule.protocol, rule.ethertype), rule.remote_group_id,
            None if rule.remote_ip_prefix in ANY_PREFIXES else rule.remote_ip_prefix, rule.security_group_id)


# ---------------------------------------------------------------- the rules a group starts with

def stored(request: RuleRequest, now: datetime) -> SecurityGroupRule:
    return SecurityGroupRule(id=str(uuid.uuid4()), security_group_id=request.security_group_id,
                             project_id=request.project_id, direction=request.direction,
                             ethertype=request.ethertype, protocol=request.protocol,
                             port_range_min=request.port_range_min, port_range_max=request.port_range_max,
                             remote_ip_prefix=request.remote_ip_prefix, remote_group_id=request.remote_group_id,
                             description=request.description, created_at=now, updated_at=now)


def starting_rules(group_id: str, project_id: str, default: bool, now: datetime) -> tuple[SecurityGroupRule, ...]:
    """Neutron's default templates: every group may send anything (IPv4 and IPv6); the `default` group also
    accepts anything from its own members."""
    wanted = [("egress", "IPv4", None), ("egress", "IPv6", None)]
    if default:
        wanted += [("ingress", "IPv4", group_id), ("ingress", "IPv6", group_id)]
    return tuple(stored(RuleRequest(group_id, project_id, direction, ethertype, remote_group_id=remote), now)
                 for direction, ethertype, remote in wanted)


def from_nova_default(group_id: str, project_id: str, protocol: str, from_port: int, to_port: int,
                      cidr: str) -> RuleRequest:
    """A Nova default rule as the Neutron rule Nova would make of it (ingress; -1 is no port; ethertype by cidr)."""
    network = ipaddress.ip_network(cidr, strict=False)
    return RuleRequest(group_id, project_id, "ingress", f"IPv{network.version}", convert_protocol(protocol),
                       None if from_port == -1 else from_port, None if to_port == -1 else to_port,
                       convert_prefix(cidr))
