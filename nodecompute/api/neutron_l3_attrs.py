"""Neutron's L3 attribute maps (routers with ext-gw-mode, floating IPs), the router interface body and the policy
rule Neutron builds for an external gateway's admin-only keys, with neutron-lib's messages."""
from __future__ import annotations

from typing import Any

from nodecompute.api.neutron_attrs import (DESCRIPTION, NAME, PROJECT, Attr, Reason, _BOOL, _IP, _UUID, _fixed_ips,
                                           _ip_or_none, _uuid, bad_request, to_boolean)
from nodecompute.domain.network_errors import PolicyNotAuthorized

GATEWAY_KEYS = ("network_id", "external_fixed_ips", "enable_snat")  # neutron-lib's order (l3, then ext-gw-mode)
GATEWAY_ADMIN_KEYS = ("external_fixed_ips", "enable_snat")  # Neutron's policy: admin only


def _gateway(value: Any) -> dict[str, Any]:
    """type:dict_or_nodata: None or {} clear the gateway; else network_id is required, nothing unknown."""
    if not value:
        return {}
    if not isinstance(value, dict):
        raise Reason(f"'{value}' is not a dictionary")
    if "network_id" not in value:
        raise Reason(f"Validation of dictionary's keys failed. Expected keys: {{'network_id'}} Provided keys: "
                     f"{set(value)}")
    unexpected = [key for key in value if key not in GATEWAY_KEYS]
    if unexpected:
        raise Reason(f"Unexpected keys supplied: {', '.join(unexpected)}")
    found: dict[str, Any] = {"network_id": _uuid(value["network_id"])}
    if "enable_snat" in value:
        found["enable_snat"] = to_boolean(value["enable_snat"])
    if "external_fixed_ips" in value and value["external_fixed_ips"] is not None:
        found["external_fixed_ips"] = _fixed_ips(value["external_fixed_ips"])
    return found


def _uuid_or_none(value: Any) -> str | None:
    return None if value is None else _uuid(value)


_NULLABLE_UUID = {"type": ["string", "null"]}
ROUTER: dict[str, Attr] = {
    "name": NAME, "description": DESCRIPTION, "admin_state_up": Attr(to_boolean, _BOOL),
    "external_gateway_info": Attr(_gateway, {"type": ["object", "null"]}),
    "project_id": PROJECT, "tenant_id": PROJECT,
}
FLOATINGIP: dict[str, Attr] = {
    "floating_network_id": Attr(_uuid, _UUID, put=False, required=True),
    "floating_ip_address": Attr(_ip_or_none, _IP, put=False, admin=True),
    "subnet_id": Attr(_uuid_or_none, _NULLABLE_UUID, put=False),
    "port_id": Attr(_uuid_or_none, _NULLABLE_UUID),
    "fixed_ip_address": Attr(_ip_or_none, _IP),
    "description": DESCRIPTION, "project_id": PROJECT, "tenant_id": PROJECT,
}
INTERFACE_SCHEMA = {"type": "object", "properties": {"subnet_id": _UUID, "port_id": _UUID}}


def check_gateway_policy(ctx: Any, action: str, gateway: dict[str, Any] | None) -> None:
    """Only an admin sets `enable_snat` or `external_fixed_ips`; Neutron names the whole rule it checked."""
    if ctx.is_admin or not gateway or not any(key in gateway for key in GATEWAY_ADMIN_KEYS):
        return
    sub = " and ".join(f"rule:{action}:external_gateway_info:{key}" for key in GATEWAY_KEYS if key in gateway)
    raise PolicyNotAuthorized(rule=f"(rule:{action} and (rule:{action}:external_gateway_info and ({sub})))")


def interface_info(body: Any, removal: bool) -> tuple[str | None, str | None]:
    """(subnet_id, port_id) of an add/remove_router_interface body (Neutron's _validate_interface_info)."""
    info = body if isinstance(body, dict) else {}
    if "port_id" not in info and "subnet_id" not in info:
        raise bad_request("router", "Either subnet_id or port_id must be specified")
    for key in ("port_id", "subnet_id"):
        if key in info:
            try:
                _uuid(info[key])
            except Reason as reason:
                raise bad_request("router", str(reason)) from None
    if not removal and "port_id" in info and "subnet_id" in info:
        raise bad_request("router", "Cannot specify both subnet-id and port-id")
    return info.get("subnet_id"), info.get("port_id")
