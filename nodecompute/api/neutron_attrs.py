"""Neutron's resource attribute maps (the subset served) and its request-body checks, with its messages.

Each attribute says whether a create (POST) or an update (PUT) may set it, whether only an admin may, its default,
and how its value is checked and converted (neutron-lib's validators and converters). `parse()` does what Neutron's
`prepare_request_body` does: the envelope, unknown and read-only attributes, required ones, then each value; the
JSON schema each operation declares in the dialect (`schema()`) is generated from the same maps.
"""
from __future__ import annotations

import ipaddress
import re
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from nodecompute.domain.network_errors import BadRequest, HTTPBadRequest, InvalidInput
from nodecompute.domain.network_models import AllocationPool, HostRoute

NAME_MAX = 255
MAC = re.compile(r"^([0-9a-fA-F]{2}[:-]){5}[0-9a-fA-F]{2}$")
Check = Callable[[Any], Any]  # returns the converted value or a reason (str) wrapped in Reason


class Reason(Exception):
    """A value failed its check: `Invalid input for <attr>. Reason: <reason>.`"""


def _string(max_len: int = NAME_MAX) -> Check:
    def check(value: Any) -> str:
        if not isinstance(value, str):
            raise Reason(f"'{value}' is not a valid string")
        if len(value) > max_len:
            raise Reason(f"'{value}' exceeds maximum length of {max_len}")
        return value
    return check


string_check = _string  # for the other resource modules' maps


def to_boolean(value: Any) -> bool:
    """neutron-lib's convert_to_boolean (its failure is InvalidInput, not a Reason)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.lower() in ("true", "1", "false", "0"):
        return value.lower() in ("true", "1")
    raise InvalidInput(error_message=f"'{value}' cannot be converted to boolean")


def _integer(low: int, high: int) -> Check:
    def check(value: Any) -> int:
        try:
            number = int(value) if not isinstance(value, (bool, float)) else None
        except (TypeError, ValueError):
            number = None
        if number is None:
            raise InvalidInput(error_message=f"'{value}' is not an integer")
        if number < low:
            raise Reason(f"'{number}' is too small - must be at least '{low}'")
        if number > high:
            raise Reason(f"'{number}' is too large - must be no larger than '{high}'")
        return number
    return check


def _uuid(value: Any) -> str:
    if not isinstance(value, str):
        raise Reason(f"'{value}' is not a valid UUID")
    try:
        uuid.UUID(value)
    except ValueError:
        raise Reason(f"'{value}' is not a valid UUID") from None
    return value


def _ip(value: Any) -> str:
    if isinstance(value, str):
        try:
            return str(ipaddress.IPv4Address(value))
        except ValueError:
            pass
        try:
            ipaddress.IPv6Address(value)
        except ValueError:
            pass
        else:
            raise Reason(f"'{value}' is an IPv6 address: IPv6 is not supported by nodecompute")
    raise Reason(f"'{value}' is not a valid IP address")


def _ip_or_none(value: Any) -> str | None:
    return None if value is None else _ip(value)


def _mac(value: Any) -> str:
    if not isinstance(value, str) or not MAC.match(value) or int(value[:2], 16) & 1:
        raise Reason(f"'{value}' is not a valid MAC address")
    return value.lower().replace("-", ":")


def _list(value: Any) -> list:
    if not isinstance(value, list):
        raise Reason(f"'{value}' is not a list")
    return value


def _pools(value: Any) -> list[AllocationPool] | None:
    if value is None:
        return None
    pools = []
    for item in _list(value):
        if not isinstance(item, dict) or set(item) != {"start", "end"}:
            raise Reason(f"Invalid data format for IP pool: '{item}'")
        pools.append(AllocationPool(_ip(item["start"]), _ip(item["end"])))
    return pools


def _nameservers(value: Any) -> list[str]:
    found: list[str] = []
    for item in _list(value or []):
        try:
            host = _ip(item)
        except Reason as reason:
            raise Reason(f"'{item}' is not a valid nameserver. {reason}") from None
        if host in found:
            raise Reason(f"Duplicate nameserver '{host}'")
        found.append(host)
    return found


def _cidr(value: Any) -> str | None:
    if value is None:
        return None  # no cidr: Neutron would take one from a subnet pool
    if not isinstance(value, str):
        raise Reason(f"'{value}' is not a valid IP subnet")
    try:
        ipaddress.ip_network(value, strict=False)
    except ValueError:
        raise Reason(f"'{value}' is not a valid IP subnet") from None
    return value


def _host_routes(value: Any) -> list[HostRoute]:
    routes: list[HostRoute] = []
    for item in _list(value or []):
        if not isinstance(item, dict) or set(item) != {"destination", "nexthop"}:
            raise Reason(f"Invalid data format for hostroute: '{item}'")
        if not isinstance(item["destination"], str):
            raise Reason(f"'{item['destination']}' is not a valid IP subnet")
        route = HostRoute(str(ipaddress.ip_network(_cidr(item["destination"]), strict=False)), _ip(item["nexthop"]))
        if route in routes:
            raise Reason(f"Duplicate hostroute '{item}'")
        routes.append(route)
    return routes


def _fixed_ips(value: Any) -> list[dict]:
    items, seen = [], set()
    for item in _list(value):
        if not isinstance(item, dict) or not item or set(item) - {"subnet_id", "ip_address"}:
            raise Reason(f"Invalid data format for fixed IP: '{item}'")
        fixed = {}
        if "ip_address" in item:
            fixed["ip_address"] = _ip(item["ip_address"])
            if fixed["ip_address"] in seen:
                raise Reason(f"Duplicate IP address '{fixed['ip_address']}'")
            seen.add(fixed["ip_address"])
        if "subnet_id" in item:
            fixed["subnet_id"] = _uuid(item["subnet_id"])
        items.append(fixed)
    return items


def _uuid_list(value: Any) -> list[str]:
    return [_uuid(item) for item in _list(value or [])]


def _only(*allowed: Any) -> Check:
    def check(value: Any) -> Any:
        if value not in allowed:
            raise Reason(f"'{value}' is not supported by nodecompute (only {', '.join(map(repr, allowed))})")
        return value
    return check


@dataclass(frozen=True)
class Attr:
    check: Check
    schema: Mapping[str, Any]
    post: bool = True
    put: bool = True
    required: bool = False
    admin: bool = False  # setting it needs the admin role (Neutron's policy)


_STR = {"type": "string", "maxLength": NAME_MAX}
_BOOL = {"type": ["boolean", "string", "integer"]}
_UUID = {"type": "string", "format": "uuid"}
_IP = {"type": ["string", "null"]}
_LIST = {"type": ["array", "null"]}
NAME = Attr(_string(), _STR)
DESCRIPTION = Attr(_string(), _STR)
PROJECT = Attr(_string(), _STR, put=False)

NETWORK: dict[str, Attr] = {
    "name": NAME, "description": DESCRIPTION, "admin_state_up": Attr(to_boolean, _BOOL),
    "shared": Attr(to_boolean, _BOOL, admin=True), "router:external": Attr(to_boolean, _BOOL, admin=True),
    "mtu": Attr(_integer(68, 9000), {"type": ["integer", "string"]}),
    "port_security_enabled": Attr(to_boolean, _BOOL), "project_id": PROJECT, "tenant_id": PROJECT,
}
SUBNET: dict[str, Attr] = {
    "name": NAME, "description": DESCRIPTION, "network_id": Attr(_uuid, _UUID, put=False, required=True),
    "ip_version": Attr(_integer(4, 6), {"type": ["integer", "string"]}, put=False, required=True),
    "cidr": Attr(_cidr, {"type": "string"}, put=False), "gateway_ip": Attr(_ip_or_none, _IP),
    "allocation_pools": Attr(_pools, _LIST), "dns_nameservers": Attr(_nameservers, _LIST),
    "host_routes": Attr(_host_routes, _LIST), "enable_dhcp": Attr(to_boolean, _BOOL),
    "ipv6_ra_mode": Attr(_only(None), {"type": "null"}, put=False),
    "ipv6_address_mode": Attr(_only(None), {"type": "null"}, put=False),
    "subnetpool_id": Attr(_only(None), {"type": "null"}, put=False),
    "use_default_subnetpool": Attr(_only(False), {"type": "boolean"}, put=False),
    "project_id": PROJECT, "tenant_id": PROJECT,
}
PORT: dict[str, Attr] = {
    "name": NAME, "description": DESCRIPTION, "network_id": Attr(_uuid, _UUID, put=False, required=True),
    "admin_state_up": Attr(to_boolean, _BOOL), "mac_address": Attr(_mac, {"type": "string"}),
    "fixed_ips": Attr(_fixed_ips, {"type": "array"}), "device_id": Attr(_string(255), _STR),
    "device_owner": Attr(_string(255), _STR), "security_groups": Attr(_uuid_list, _LIST),
    "port_security_enabled": Attr(to_boolean, _BOOL), "binding:host_id": Attr(_string(255), _STR, admin=True),
    "binding:vnic_type": Attr(_only("normal"), {"type": "string"}),
    "binding:profile": Attr(_only({}, None), {"type": ["object", "null"]}, admin=True),
    "project_id": PROJECT, "tenant_id": PROJECT,
}
# Attributes every resource shows that no request may set.
READ_ONLY = frozenset({"id", "status", "subnets", "created_at", "updated_at", "revision_number", "l2_adjacency",
                       "binding:vif_type", "binding:vif_details", "is_default", "router_id", "port_details"})


def schema(resource: str, attrs: Mapping[str, Attr], create: bool) -> dict[str, Any]:
    """The body's JSON schema (documentation and the route table's contract; parse() gives Neutron's messages)."""
    props = {name: dict(a.schema) for name, a in attrs.items() if (a.post if create else a.put)}
    inner: dict[str, Any] = {"type": "object", "properties": props, "additionalProperties": False}
    if create:
        inner["required"] = [name for name, a in attrs.items() if a.required]
    return {"type": "object", "properties": {resource: inner}, "required": [resource], "additionalProperties": False}


def parse(body: Any, resource: str, attrs: Mapping[str, Attr], create: bool) -> dict[str, Any]:
    """The resource's attributes from a request body, checked and converted, in Neutron's words."""
    if not body:
        raise HTTPBadRequest("Resource body required")
    if not isinstance(body, dict):
        raise HTTPBadRequest("Body contains invalid data")
    if resource + "s" in body:
        raise HTTPBadRequest("Bulk operation not supported")
    item = body.get(resource)
    if item is None:
        raise HTTPBadRequest(f"Unable to find '{resource}' in request body")
    if not isinstance(item, dict):
        raise HTTPBadRequest(f"Object '{resource}' contains invalid data")
    unknown = [name for name in item if name not in attrs and name not in READ_ONLY]
    if unknown:
        raise HTTPBadRequest(f"Unrecognized attribute(s) '{', '.join(unknown)}'")
    for name in item:
        attr = attrs.get(name)
        if attr is None or not (attr.post if create else attr.put):
            raise HTTPBadRequest(f"Attribute '{name}' not allowed in POST" if create
                                 else f"Cannot update read-only attribute {name}")
    if create:
        missing = [name for name, a in attrs.items() if a.required and name not in item]
        if missing:
            raise HTTPBadRequest(f"Failed to parse request. Required attribute '{missing[0]}' not specified")
    values = {}
    for name, value in item.items():
        try:
            values[name] = attrs[name].check(value)
        except Reason as reason:
            raise HTTPBadRequest(f"Invalid input for {name}. Reason: {reason}.") from None
    return _project(values, create)


def _project(values: dict[str, Any], create: bool) -> dict[str, Any]:
    project, tenant = values.pop("project_id", None), values.pop("tenant_id", None)
    if project is not None and tenant is not None and project != tenant:
        raise HTTPBadRequest("'project_id' and 'tenant_id' do not match")
    if create and (project or tenant):
        values["project_id"] = project or tenant
    return values


def admin_only(values: Mapping[str, Any], attrs: Mapping[str, Attr]) -> list[str]:
    """The attributes set in `values` that only an admin may set."""
    return [name for name in values if name in attrs and attrs[name].admin]


def bad_request(resource: str, message: str) -> BadRequest:
    """neutron-lib's BadRequest: 'Bad <resource> request: <message>.'"""
    return BadRequest(f"Bad {resource} request: {message}.")
