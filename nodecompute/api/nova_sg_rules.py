"""What Nova's security-group proxies share: how Nova reads a rule from its body (nova-network's
`_new_ingress_rule`, kept by Nova's Neutron driver, with its messages), and how it shows Neutron's groups and rules
(`_convert_to_nova_security_group_format`: ingress rules only, ports 1-65535 or -1 where Neutron has none)."""
from __future__ import annotations

import ipaddress
import urllib.parse
import uuid
from collections.abc import Mapping
from typing import Any

from nodecompute.domain.errors import BadRequest
from nodecompute.domain.network_models import SecurityGroup, SecurityGroupRule

ANY_CIDR = "0.0.0.0/0"
PROTOCOLS = ("TCP", "UDP", "ICMP")


def validate_uuid(value: str) -> str:
    """Nova's security_group_api.validate_id (ids of groups and rules alike)."""
    try:
        uuid.UUID(value)
    except ValueError:
        raise BadRequest("Security group id should be uuid") from None
    return value


def parse_cidr(cidr: Any) -> str:
    """A cidr as Nova takes it: URL-unquoted, with a prefix length; none means 0.0.0.0/0."""
    if not cidr:
        return ANY_CIDR
    try:
        text = urllib.parse.unquote(cidr)
        if "/" not in text or text.split("/")[1] == "":
            raise ValueError(text)
        ipaddress.ip_network(text, strict=False)
    except (TypeError, ValueError, AttributeError):
        raise BadRequest(f"{cidr} is not a valid IP network.") from None
    return text


def ingress_rule(ip_protocol: Any, from_port: Any, to_port: Any, cidr: str | None = None,
                 group_id: str | None = None) -> dict[str, Any] | None:
    """The rule's values (protocol, from_port, to_port, and cidr or group_id) or None when a cidr rule lacks its
    protocol or ports ("Not enough parameters"); 400 with Nova's messages for bad ones."""
    values: dict[str, Any] = {}
    if group_id:
        values["group_id"] = group_id
        upper = str(ip_protocol).upper() if ip_protocol else ""
        if from_port is None and to_port is None and upper == "ICMP":
            from_port = to_port = -1
        elif from_port is None and to_port is None and upper in ("TCP", "UDP"):
            from_port, to_port = 1, 65535
    elif cidr:
        values["cidr"] = cidr
    if not (ip_protocol and from_port is not None and to_port is not None):
        return None if cidr and not group_id else values
    protocol = str(ip_protocol)
    upper = protocol.upper()
    try:
        low, high = int(from_port), int(to_port)
    except (TypeError, ValueError):
        reason = ("Type and Code must be integers for ICMP protocol type" if upper == "ICMP"
                  else "To and From ports must be integers")
        raise BadRequest(f"Invalid input received: {reason}") from None
    if upper not in PROTOCOLS:
        raise BadRequest(f"Invalid IP protocol {protocol}.")
    if upper in ("TCP", "UDP") and low > high:
        raise BadRequest(f"Invalid port range {low}:{high}. Former value cannot be greater than the later")
    if upper in ("TCP", "UDP") and (low < 1 or high > 65535):
        raise BadRequest(f"Invalid port range {low}:{high}. Valid {upper} ports should be between 1-65535")
    if upper == "ICMP" and not (-1 <= low <= 255 and -1 <= high <= 255):
        raise BadRequest(f"Invalid port range {low}:{high}. For ICMP, the type:code must be valid")
    return {**values, "protocol": protocol, "from_port": low, "to_port": high}


def check_prefix(cidr: str) -> None:
    """Nova refuses a zero-length prefix on anything but the any-address."""
    address, _, length = cidr.partition("/")
    if address not in ("0.0.0.0", "::") and length == "0":
        raise BadRequest(f"Bad prefix for network in cidr {cidr}")


# views ---------------------------------------------------------------------------------------------------------

def ports_of(rule: SecurityGroupRule) -> tuple[int | None, int | None]:
    if rule.protocol and rule.port_range_min is None and rule.port_range_max is None:
        return (1, 65535) if rule.protocol.upper() in ("TCP", "UDP") else (-1, -1)
    return rule.port_range_min, rule.port_range_max


def rule_view(rule: SecurityGroupRule, visible: Mapping[str, SecurityGroup]) -> dict[str, Any] | None:
    """The rule as Nova shows it; None when its remote group is one the caller cannot see (Nova skips it)."""
    low, high = ports_of(rule)
    view: dict[str, Any] = {"id": rule.id, "parent_group_id": rule.security_group_id, "ip_protocol": rule.protocol,
                            "from_port": low, "to_port": high, "group": {}, "ip_range": {}}
    if rule.remote_group_id:
        source = visible.get(rule.remote_group_id)
        if source is None:
            return None
        view["group"] = {"name": source.name, "tenant_id": source.project_id}
    else:
        view["ip_range"] = {"cidr": rule.remote_ip_prefix or ANY_CIDR}
    return view


def group_view(group: SecurityGroup, visible: Mapping[str, SecurityGroup]) -> dict[str, Any]:
    rules = [rule_view(rule, visible) for rule in group.rules if rule.direction == "ingress"]
    return {"id": group.id, "description": group.description, "name": group.name, "tenant_id": group.project_id,
            "rules": [rule for rule in rules if rule is not None]}
