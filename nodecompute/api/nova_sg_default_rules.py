"""os-security-group-default-rules (#1511-#1514), admin only, up to 2.35 (404 from 2.36). Nova answers 410 since
it dropped nova-network; nodecompute keeps their last working shape (Kilo's, dialects.md rule 6) because it owns
its security groups as nova-network did: integer ids, ingress rules with a cidr that every `default` group made
from then on starts with (compute/default_group.py). List, create and show answer 200, delete 204."""
from __future__ import annotations

from typing import Any

from aiohttp import web

from nodecompute.api.auth import require_admin
from nodecompute.api.neutron import services
from nodecompute.api.nova_sg_rules import ingress_rule, parse_cidr
from nodecompute.api.respond import QuerySchema, parse_body, parse_query, respond
from nodecompute.api.validation import INT64_MAX, INT64_MIN, to_int
from nodecompute.domain.errors import BadRequest, NotFound
from nodecompute.domain.network_models import DefaultRule

POLICY = "os_compute_api:os-security-group-default-rules"
BODY_SCHEMA = {"type": "object"}  # Kilo read the body by hand (`_from_body`), with the messages below
ANY_QUERY = QuerySchema({"type": "object", "properties": {}, "additionalProperties": True})
KEY = "security_group_default_rule"


def _rule_id(request: web.Request) -> int:
    """nova-network's validate_id: an integer (one beyond SQLite's range is no rule's)."""
    try:
        rule_id = to_int(request.match_info["security_group_default_rule_id"])
    except (TypeError, ValueError):
        raise BadRequest("Security group id should be integer") from None
    if not INT64_MIN <= rule_id <= INT64_MAX:
        raise NotFound(f"Security group default rule ({rule_id}) not found.")
    return rule_id


async def list_default_rules(request: web.Request) -> web.StreamResponse:
    require_admin(request, POLICY)
    parse_query(request)
    return respond(request, services(request).security_groups.list_default_rules())


async def create_default_rule(request: web.Request) -> web.StreamResponse:
    require_admin(request, POLICY)
    body = await parse_body(request)
    if not body:
        raise BadRequest("The request body can't be empty")
    asked = body.get(KEY)
    if asked is None:
        raise BadRequest(f"Missing parameter {KEY}")
    if not isinstance(asked, dict):
        raise BadRequest("Missing parameter dict")
    values = ingress_rule(asked.get("ip_protocol"), asked.get("from_port"), asked.get("to_port"),
                          cidr=parse_cidr(asked.get("cidr")))
    if values is None:
        raise BadRequest("Not enough parameters to build a valid rule.")
    rule = await services(request).security_groups.create_default_rule(
        values["protocol"], values["from_port"], values["to_port"], values["cidr"])
    return respond(request, rule)


async def show_default_rule(request: web.Request) -> web.StreamResponse:
    require_admin(request, POLICY)
    parse_query(request)
    return respond(request, services(request).security_groups.get_default_rule(_rule_id(request)))


async def delete_default_rule(request: web.Request) -> web.StreamResponse:
    require_admin(request, POLICY)
    await services(request).security_groups.delete_default_rule(_rule_id(request))
    return respond(request)


def _view(rule: DefaultRule) -> dict[str, Any]:
    return {"id": rule.id, "ip_protocol": rule.protocol, "from_port": rule.from_port, "to_port": rule.to_port,
            "ip_range": {"cidr": rule.cidr}}


VIEWS = {
    "#1511": lambda out, rules: {"security_group_default_rules": [_view(rule) for rule in rules]},
    "#1512": lambda out, rule: {KEY: _view(rule)},
    "#1513": lambda out, rule: {KEY: _view(rule)},
}
STATUSES = {"#1514": 204}
BODIES = {"#1512": BODY_SCHEMA}
QUERIES = {"#1511": ANY_QUERY, "#1513": ANY_QUERY}
