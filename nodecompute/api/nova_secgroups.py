"""Nova's security-group proxies (#1501-#1507, up to 2.35; 404 from 2.36), over the networking service's groups:
what Nova answers when it proxies to Neutron. Ids are Neutron's UUIDs; only ingress rules show; create answers 200,
delete 202. Neutron's refusals become Nova's: a 400 stays a 400, a 409 on create (quota, "default", a rule that
exists) is Nova's 403 SecurityGroupLimitExceeded and on delete its 400, each with Neutron's message. A 409 Nova
lets through as a 500 (renaming the default group) is a 400 here: a 500 means a server fault.

The server's groups (#1508) and addSecurityGroup/removeSecurityGroup (#1509-#1510) come with the server side of
networking; their core is compute/server_security_groups.py (NetworkServices.server_groups), with Nova's faults.
"""
from __future__ import annotations

from collections.abc import Awaitable
from typing import Any, TypeVar

from aiohttp import web

from nodecompute.api.auth import context, require_writer
from nodecompute.api.neutron import services
from nodecompute.api.nova_sg_rules import (check_prefix, group_view, ingress_rule, parse_cidr, rule_view,
                                           validate_uuid)
from nodecompute.api.respond import QuerySchema, parse_body, parse_query, respond
from nodecompute.compute.secgroup_rules import convert_prefix, convert_protocol
from nodecompute.domain.errors import BadRequest, ComputeError, Conflict, Forbidden
from nodecompute.domain.models import AuthContext
from nodecompute.domain.network_models import RuleRequest, SecurityGroup

POLICY = "os_compute_api:os-security-groups:%s"
MAX_LIMIT = 1000
T = TypeVar("T")

_TEXT = {"type": "string", "minLength": 0, "maxLength": 255}
GROUP_SCHEMA = {
    "type": "object",
    "properties": {"security_group": {
        "type": "object", "properties": {"name": _TEXT, "description": _TEXT},
        "required": ["name", "description"], "additionalProperties": True}},
    "required": ["security_group"],
    "additionalProperties": True,
}
RULE_SCHEMA = {
    "type": "object",
    "properties": {"security_group_rule": {
        "type": "object",
        "properties": {"group_id": {"type": ["string", "null"], "format": "uuid"},
                       "parent_group_id": {"type": "string", "format": "uuid"},
                       "to_port": {}, "from_port": {}, "ip_protocol": {}, "cidr": {}},
        "required": ["parent_group_id"], "additionalProperties": True}},
    "required": ["security_group_rule"],
    "additionalProperties": True,
}
_COUNT = {"type": ["integer", "string"], "pattern": "^[0-9]+$", "minimum": 0}
LIST_QUERY = QuerySchema({"type": "object", "additionalProperties": True,
                          "properties": {"limit": _COUNT, "offset": _COUNT, "all_tenants": {"type": "string"}}})
ANY_QUERY = QuerySchema({"type": "object", "properties": {}, "additionalProperties": True})


async def _as_nova(call: Awaitable[T], conflict: type[ComputeError]) -> T:
    """Neutron's 409 as Nova's `conflict` (403 or 400) and its 400 as Nova's 400, with Neutron's message."""
    try:
        return await call
    except Conflict as exc:
        raise conflict(exc.message) from None
    except BadRequest as exc:
        raise BadRequest(exc.message) from None


def _visible(request: web.Request, ctx: AuthContext) -> dict[str, SecurityGroup]:
    """The groups the caller may see, by id (a remote group it may not see is left out of a rule's view)."""
    return {group.id: group for group in services(request).security_groups.visible(ctx)}


# groups ---------------------------------------------------------------------------------------------------------

async def list_groups(request: web.Request) -> web.StreamResponse:
    query = parse_query(request)
    ctx = context(request)
    found = await services(request).security_groups.list(ctx)
    if not (ctx.is_admin and "all_tenants" in request.query):
        found = [g for g in found if g.project_id == ctx.project_id]
    offset = int(query.get("offset", 0))
    limit = min(MAX_LIMIT, int(query.get("limit", 0)) or MAX_LIMIT)
    return respond(request, (found[offset:offset + limit], _visible(request, ctx)))


async def create_group(request: web.Request) -> web.StreamResponse:
    ctx = require_writer(request, POLICY % "create")
    fields = (await parse_body(request))["security_group"]
    group = await _as_nova(services(request).security_groups.create(ctx, ctx.project_id, fields["name"],
                                                                    fields["description"]), Forbidden)
    return respond(request, (group, _visible(request, ctx)))


def _group(request: web.Request, ctx: AuthContext) -> SecurityGroup:
    group_id = validate_uuid(request.match_info["security_group_id"])
    return services(request).security_groups.get(ctx, group_id)


async def show_group(request: web.Request) -> web.StreamResponse:
    parse_query(request)
    ctx = context(request)
    return respond(request, (_group(request, ctx), _visible(request, ctx)))


async def update_group(request: web.Request) -> web.StreamResponse:
    ctx = require_writer(request, POLICY % "update")
    group = _group(request, ctx)
    fields = (await parse_body(request))["security_group"]
    changes = {"name": fields["name"], "description": fields["description"]}
    updated = await _as_nova(services(request).security_groups.update(ctx, group.id, changes), BadRequest)
    return respond(request, (updated, _visible(request, ctx)))


async def delete_group(request: web.Request) -> web.StreamResponse:
    ctx = require_writer(request, POLICY % "delete")
    group = _group(request, ctx)
    await _as_nova(services(request).security_groups.delete(ctx, group.id), BadRequest)
    return respond(request)


# rules ----------------------------------------------------------------------------------------------------------

def _as_neutron_rule(values: dict[str, Any], parent_id: str, project_id: str) -> RuleRequest:
    """Nova's rule as the Neutron rule Nova's driver makes of it: ingress, ethertype by the cidr (IPv4 without)."""
    cidr = values.get("cidr")
    ethertype = "IPv4" if not cidr else f"IPv{6 if ':' in cidr else 4}"
    low, high = values.get("from_port"), values.get("to_port")
    return RuleRequest(
        security_group_id=parent_id, project_id=project_id, direction="ingress", ethertype=ethertype,
        protocol=convert_protocol(values.get("protocol")), port_range_min=None if low in (None, -1) else low,
        port_range_max=None if high in (None, -1) else high, remote_ip_prefix=convert_prefix(cidr),
        remote_group_id=values.get("group_id"))


def _exists(group: SecurityGroup, values: dict[str, Any], visible: dict[str, SecurityGroup]) -> bool:
    """Nova's own duplicate check, on the group's rules as Nova shows them."""
    for rule in group.rules:
        if rule.direction != "ingress":
            continue
        shown = rule_view(rule, visible) or {}
        mine = {"group_id": rule.remote_group_id, "cidr": parse_cidr(rule.remote_ip_prefix),
                "from_port": shown.get("from_port"), "to_port": shown.get("to_port"), "protocol": rule.protocol}
        if all(mine.get(key) == values.get(key) for key in ("group_id", "cidr", "from_port", "to_port", "protocol")):
            return True
    return False


async def create_rule(request: web.Request) -> web.StreamResponse:
    ctx = require_writer(request, POLICY % "rule:create")
    asked = (await parse_body(request))["security_group_rule"]
    groups = services(request).security_groups
    parent = groups.get(ctx, asked["parent_group_id"])
    group_id = asked.get("group_id")
    source = groups.get(ctx, group_id) if group_id is not None else None
    if group_id is not None:
        values = ingress_rule(asked.get("ip_protocol"), asked.get("from_port"), asked.get("to_port"),
                              group_id=group_id)
    else:
        values = ingress_rule(asked.get("ip_protocol"), asked.get("from_port"), asked.get("to_port"),
                              cidr=parse_cidr(asked.get("cidr")))
    if values is None:
        raise BadRequest("Not enough parameters to build a valid rule.")
    if "cidr" in values:
        check_prefix(values["cidr"])
    visible = _visible(request, ctx)
    if _exists(parent, values, visible):
        raise BadRequest(f"This rule already exists in group {parent.id}")
    rule = await _as_nova(groups.create_rule(ctx, _as_neutron_rule(values, parent.id, ctx.project_id)), Forbidden)
    if source is not None:
        visible[source.id] = source
    return respond(request, rule_view(rule, visible))


async def delete_rule(request: web.Request) -> web.StreamResponse:
    ctx = require_writer(request, POLICY % "rule:delete")
    rule_id = validate_uuid(request.match_info["security_group_rule_id"])
    groups = services(request).security_groups
    rule = groups.get_rule(ctx, rule_id)
    groups.get(ctx, rule.security_group_id)
    await _as_nova(groups.delete_rule(ctx, rule_id), BadRequest)
    return respond(request)


def _groups_view(out: Any, result: tuple[list[SecurityGroup], dict]) -> dict[str, Any]:
    found, visible = result
    views = [group_view(group, visible) for group in found]
    return {"security_groups": sorted(views, key=lambda g: (g["tenant_id"], g["name"]))}


def _group_view(out: Any, result: tuple[SecurityGroup, dict]) -> dict[str, Any]:
    return {"security_group": group_view(*result)}


VIEWS = {"#1501": _groups_view, "#1502": _group_view, "#1503": _group_view, "#1504": _group_view,
         "#1506": lambda out, rule: {"security_group_rule": rule}}
STATUSES = {"#1505": 202, "#1507": 202}
BODIES = {"#1502": GROUP_SCHEMA, "#1504": GROUP_SCHEMA, "#1506": RULE_SCHEMA}
QUERIES = {"#1501": LIST_QUERY, "#1503": ANY_QUERY}
