"""os-server-groups (#1801-#1804) at every microversion; a project's own groups (an admin reaches every project's).

- 2.1: `policies` (one of affinity, anti-affinity) and an empty `metadata` in the view.
- 2.13: `project_id` and `user_id` in the view.
- 2.15: the soft-affinity and soft-anti-affinity policies.
- 2.64: one `policy` and `rules` (`max_server_per_host`, anti-affinity only) instead of `policies`/`metadata`.
- 2.75: unknown list query parameters give 400.
The policies are enforced when a server names the group in its `group` scheduler hint (compute/server_groups.py).
"""
from __future__ import annotations

import copy
from typing import Any

from aiohttp import web

from nodecompute.api import validation
from nodecompute.api.auth import context, require_writer
from nodecompute.api.dialect import Versioned
from nodecompute.api.keys import server_groups_key
from nodecompute.api.respond import Out, QuerySchema, parse_body, parse_query, respond
from nodecompute.domain.errors import BadRequest
from nodecompute.domain.host_models import AFFINITY, ANTI_AFFINITY, SOFT_AFFINITY, SOFT_ANTI_AFFINITY, ServerGroup

POLICY = "os_compute_api:os-server-groups:%s"
MAX_LIMIT = 1000


def _create_schema(group: dict, required: list[str]) -> dict:
    return {"type": "object", "properties": {"server_group": {
        "type": "object", "properties": group, "required": required, "additionalProperties": False}},
        "required": ["server_group"], "additionalProperties": False}


def _policies(*names: str) -> dict:
    """Nova's one-item array (its draft-4 tuple form `items: [...]`, `additionalItems: false`)."""
    return {"type": "array", "items": {"type": "string", "enum": list(names)}, "uniqueItems": True,
            "minItems": 1, "maxItems": 1}


CREATE = _create_schema({"name": validation.name, "policies": _policies(ANTI_AFFINITY, AFFINITY)},
                        ["name", "policies"])
CREATE_V215 = _create_schema({"name": validation.name, "policies": _policies(
    ANTI_AFFINITY, AFFINITY, SOFT_ANTI_AFFINITY, SOFT_AFFINITY)}, ["name", "policies"])
CREATE_V264 = _create_schema({
    "name": validation.name,
    "policy": {"type": "string", "enum": [ANTI_AFFINITY, AFFINITY, SOFT_ANTI_AFFINITY, SOFT_AFFINITY]},
    "rules": {"type": "object", "properties": {"max_server_per_host": validation.positive_integer},
              "additionalProperties": False}}, ["name", "policy"])
_LIST = {"type": "object", "additionalProperties": True, "properties": {
    "all_projects": {"type": "string"}, "limit": validation.non_negative_integer,
    "offset": validation.non_negative_integer}}
_LIST_V275 = copy.deepcopy(_LIST)
_LIST_V275["additionalProperties"] = False
LIST_QUERY = Versioned(QuerySchema(_LIST), ((2, 75), QuerySchema(_LIST_V275)))


async def list_groups(request: web.Request) -> web.StreamResponse:
    query = parse_query(request)
    ctx = context(request)
    groups = request.config_dict[server_groups_key].list(ctx, "all_projects" in request.query)
    offset = int(query.get("offset", 0))
    limit = min(int(query.get("limit", MAX_LIMIT)), MAX_LIMIT)
    return respond(request, groups[offset:offset + limit])


async def create_group(request: web.Request) -> web.StreamResponse:
    ctx = require_writer(request, POLICY % "create")
    body = (await parse_body(request))["server_group"]
    if "policy" in body:  # 2.64
        policy, rules = body["policy"], body.get("rules", {})
        if policy != ANTI_AFFINITY and rules:
            raise BadRequest("Only anti-affinity policy supports rules.")
        rules = {key: int(value) for key, value in rules.items()}
    else:
        policy, rules = body["policies"][0], {}
    return respond(request, await request.config_dict[server_groups_key].create(ctx, body["name"], policy, rules))


async def show_group(request: web.Request) -> web.StreamResponse:
    return respond(request, request.config_dict[server_groups_key].get(context(request),
                                                                       request.match_info["group_id"]))


async def delete_group(request: web.Request) -> web.StreamResponse:
    ctx = require_writer(request, POLICY % "delete")
    await request.config_dict[server_groups_key].delete(ctx, request.match_info["group_id"])
    return respond(request)


# ----- views (Nova's ServerGroupController._format_server_group) ------------------------------------------------------

def group_view(out: Out, group: ServerGroup) -> dict[str, Any]:
    view: dict[str, Any] = {"id": group.uuid, "name": group.name}
    if out.version >= (2, 64):
        view.update(policy=group.policy, rules=group.rules)
    else:
        view.update(policies=[group.policy], metadata={})
    view["members"] = list(group.members)
    if out.version >= (2, 13):
        view.update(project_id=group.project_id, user_id=group.user_id)
    return view


def _one(out: Out, group: ServerGroup) -> dict[str, Any]:
    return {"server_group": group_view(out, group)}


def _many(out: Out, groups: list[ServerGroup]) -> dict[str, Any]:
    return {"server_groups": [group_view(out, group) for group in groups]}


_STEPS = ((2, 13), (2, 64))
VIEWS = {
    "#1801": Versioned(_many, *((v, _many) for v in _STEPS)),
    "#1802": Versioned(_one, *((v, _one) for v in _STEPS)),
    "#1803": Versioned(_one, *((v, _one) for v in _STEPS)),
}
STATUSES = {"#1804": Versioned(204)}
BODIES = {"#1802": Versioned(CREATE, ((2, 15), CREATE_V215), ((2, 64), CREATE_V264))}
QUERIES = {"#1801": LIST_QUERY}
