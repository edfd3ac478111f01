"""Security groups (#2809-#2810) and security-group rules (#2811-#2812) of the Neutron subset: Neutron's attribute
maps (its converters and messages), bodies, filters, `fields` and paging. Rules have no update (405), as the rows
name them: GET and DELETE only."""
from __future__ import annotations

from typing import Any

from aiohttp import web

from nodecompute.api.auth import context
from nodecompute.api.neutron import (Shown, collection_view, listed, member_view, register_attributes, services,
                                     values, writer)
from nodecompute.api.neutron_attrs import DESCRIPTION, PROJECT, Attr, Reason, schema, string_check
from nodecompute.api.neutron_views import zulu
from nodecompute.api.respond import respond
from nodecompute.compute.secgroup_rules import convert_ethertype, convert_port, convert_prefix, convert_protocol
from nodecompute.domain.network_errors import SecurityGroupDefaultAlreadyExists, SecurityGroupNotFound
from nodecompute.domain.network_models import DEFAULT_GROUP, RuleRequest, SecurityGroup, SecurityGroupRule

DIRECTIONS = ["ingress", "egress"]


def _name_not_default(value: Any) -> str:
    """Neutron's `name_not_default` validator: a string, and not "default" in any case (409)."""
    value = string_check()(value)
    if value.lower() == DEFAULT_GROUP:
        raise SecurityGroupDefaultAlreadyExists()
    return value


def _direction(value: Any) -> str:
    if value not in DIRECTIONS:
        raise Reason(f"{value} is not in valid_values")
    return value


def _group_reference(value: Any) -> str | None:
    """remote_group_id: no validator in Neutron; anything that is no group's id is a group that does not exist."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise SecurityGroupNotFound(id=value)
    return value


_PORT = {"type": ["integer", "string", "null"]}
SECURITY_GROUP: dict[str, Attr] = {
    "name": Attr(_name_not_default, {"type": "string", "maxLength": 255}), "description": DESCRIPTION,
    "project_id": PROJECT, "tenant_id": PROJECT,
}
SECURITY_GROUP_RULE: dict[str, Attr] = {
    "security_group_id": Attr(string_check(36), {"type": "string", "maxLength": 36}, put=False, required=True),
    "remote_group_id": Attr(_group_reference, {"type": ["string", "null"]}, put=False),
    "direction": Attr(_direction, {"type": "string", "enum": DIRECTIONS}, put=False, required=True),
    "protocol": Attr(convert_protocol, {"type": ["string", "integer", "null"]}, put=False),
    "port_range_min": Attr(convert_port, _PORT, put=False), "port_range_max": Attr(convert_port, _PORT, put=False),
    "ethertype": Attr(convert_ethertype, {"type": "string"}, put=False),
    "remote_ip_prefix": Attr(convert_prefix, {"type": ["string", "null"]}, put=False),
    "description": Attr(string_check(), {"type": "string", "maxLength": 255}, put=False),
    "project_id": PROJECT, "tenant_id": PROJECT,
}


# views (what an ML2 Neutron with the security-group extension shows) --------------------------------------------

def rule_view(r: SecurityGroupRule) -> dict[str, Any]:
    return {
        "id": r.id, "project_id": r.project_id, "tenant_id": r.project_id, "security_group_id": r.security_group_id,
        "ethertype": r.ethertype, "direction": r.direction, "protocol": r.protocol,
        "port_range_min": r.port_range_min, "port_range_max": r.port_range_max,
        "remote_ip_prefix": r.remote_ip_prefix, "remote_group_id": r.remote_group_id, "description": r.description,
        "created_at": zulu(r.created_at), "updated_at": zulu(r.updated_at), "revision_number": r.revision_number,
    }


def group_view(g: SecurityGroup) -> dict[str, Any]:
    return {
        "id": g.id, "name": g.name, "tenant_id": g.project_id, "project_id": g.project_id,
        "description": g.description, "security_group_rules": [rule_view(r) for r in g.rules],
        "created_at": zulu(g.created_at), "updated_at": zulu(g.updated_at), "revision_number": g.revision_number,
    }


register_attributes("security_groups", group_view(SecurityGroup(id="", project_id="", name="")))
register_attributes("security_group_rules", rule_view(SecurityGroupRule(id="", security_group_id="", project_id="",
                                                                        direction="")))
NONE_HIDDEN: frozenset[str] = frozenset()


def _project_filter(request: web.Request) -> str | None:
    """The project a list names (`project_id`, else `tenant_id`): its default group is made first, as Neutron's."""
    return request.query.get("project_id") or request.query.get("tenant_id") or None


# security groups ----------------------------------------------------------------------------------------------

async def list_security_groups(request: web.Request) -> web.StreamResponse:
    found = await services(request).security_groups.list(context(request), _project_filter(request))
    return respond_list(request, "security_groups", found, group_view)


async def create_security_group(request: web.Request) -> web.StreamResponse:
    ctx = writer(request, "create_security_group")
    fields = await values(request, ctx, "security_group", SECURITY_GROUP, create=True)
    group = await services(request).security_groups.create(ctx, fields["project_id"], fields.get("name", ""),
                                                           fields.get("description", ""))
    return respond_member(request, "security_group", group_view(group))


async def show_security_group(request: web.Request) -> web.StreamResponse:
    group = services(request).security_groups.get(context(request), request.match_info["security_group_id"])
    return respond_member(request, "security_group", group_view(group))


async def update_security_group(request: web.Request) -> web.StreamResponse:
    ctx = writer(request, "update_security_group")
    changes = await values(request, ctx, "security_group", SECURITY_GROUP, create=False)
    group = await services(request).security_groups.update(ctx, request.match_info["security_group_id"], changes)
    return respond_member(request, "security_group", group_view(group))


async def delete_security_group(request: web.Request) -> web.StreamResponse:
    ctx = writer(request, "delete_security_group")
    await services(request).security_groups.delete(ctx, request.match_info["security_group_id"])
    return respond(request)


# rules ----------------------------------------------------------------------------------------------------------

async def list_rules(request: web.Request) -> web.StreamResponse:
    found = await services(request).security_groups.list_rules(context(request), _project_filter(request))
    return respond_list(request, "security_group_rules", found, rule_view)


async def create_rule(request: web.Request) -> web.StreamResponse:
    ctx = writer(request, "create_security_group_rule")
    fields = await values(request, ctx, "security_group_rule", SECURITY_GROUP_RULE, create=True)
    rule = await services(request).security_groups.create_rule(ctx, RuleRequest(
        security_group_id=fields["security_group_id"], project_id=fields["project_id"], direction=fields["direction"],
        ethertype=fields.get("ethertype", "IPv4"), protocol=fields.get("protocol"),
        port_range_min=fields.get("port_range_min"), port_range_max=fields.get("port_range_max"),
        remote_ip_prefix=fields.get("remote_ip_prefix"), remote_group_id=fields.get("remote_group_id"),
        description=fields.get("description", "")))
    return respond_member(request, "security_group_rule", rule_view(rule))


async def show_rule(request: web.Request) -> web.StreamResponse:
    rule = services(request).security_groups.get_rule(context(request), request.match_info["rule_id"])
    return respond_member(request, "security_group_rule", rule_view(rule))


async def delete_rule(request: web.Request) -> web.StreamResponse:
    ctx = writer(request, "delete_security_group_rule")
    await services(request).security_groups.delete_rule(ctx, request.match_info["rule_id"])
    return respond(request)


def respond_list(request: web.Request, collection: str, records: Any, render: Any) -> web.StreamResponse:
    return respond(request, listed(collection, records, render, NONE_HIDDEN))


def respond_member(request: web.Request, resource: str, item: dict[str, Any]) -> web.StreamResponse:
    return respond(request, Shown(resource, item, NONE_HIDDEN))

VIEWS = {"#2809": collection_view, "#2810": member_view, "#2811": collection_view, "#2812": member_view}
BODIES = {
    "#2809": schema("security_group", SECURITY_GROUP, create=True),
    "#2810": schema("security_group", SECURITY_GROUP, create=False),
    "#2811": schema("security_group_rule", SECURITY_GROUP_RULE, create=True),
}
