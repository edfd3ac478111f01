"""The instance action record (#1701 list, #1702 show) and the server topology (#214, 2.78).

Per microversion, as Nova: 2.21 finds the actions of deleted servers too; 2.51 shows non-admins the `events`
(without `traceback`); 2.58 pages (`limit`, `marker` = a request id, `links`), filters on `changes-since` and shows
`updated_at`; 2.62 shows events' `hostId` to everyone and `host` to admins; 2.66 filters on `changes-before`; 2.84
shows admins the events' `details`. Times are Nova's "YYYY-MM-DDTHH:MM:SS.ffffff" (UTC, no zone).
"""
from __future__ import annotations

import hashlib

from aiohttp import web

from nodecompute.api import auth
from nodecompute.api.dialect import Versioned
from nodecompute.api.keys import api_version_key, servers_key
from nodecompute.api.respond import Out, QuerySchema, parse_query, respond
from nodecompute.api.validation import MAX_LIMIT, parse_changes_since
from nodecompute.domain.action_models import ActionEvent, ActionFilters, InstanceAction
from nodecompute.domain.errors import BadRequest
from nodecompute.domain.models import isotime

ACTION_KEYS = ("action", "instance_uuid", "request_id", "user_id", "project_id", "start_time", "message")
SINCE_AFTER_BEFORE = "The value of changes-since must be less than or equal to changes-before."


def _time(value) -> str | None:
    return isotime(value) if value is not None else None


def action_view(action: InstanceAction, version: tuple[int, int]) -> dict:
    body = {"action": action.action, "instance_uuid": action.server_uuid, "request_id": action.request_id,
            "user_id": action.user_id, "project_id": action.project_id, "start_time": _time(action.start_time),
            "message": action.message}
    if version >= (2, 58):
        body["updated_at"] = _time(action.updated_at)
    return body


def event_view(event: ActionEvent, project_id: str, version: tuple[int, int], admin: bool) -> dict:
    body = {"event": event.event, "start_time": _time(event.start_time), "finish_time": _time(event.finish_time),
            "result": event.result}
    if admin:
        body["traceback"] = event.traceback
        if version >= (2, 62):
            body["host"] = event.host
    if version >= (2, 62):
        body["hostId"] = hashlib.sha224((project_id + (event.host or "")).encode()).hexdigest()
    if admin and version >= (2, 84):
        body["details"] = event.details
    return body


def _list_view(out: Out, found: tuple[str, int | None, list[InstanceAction]]) -> dict:
    server_id, limit, actions = found
    body: dict = {"instanceActions": [action_view(a, out.version) for a in actions]}
    if out.version >= (2, 58) and limit and len(actions) == limit:
        body["links"] = out.links.next_page(f"servers/{server_id}/os-instance-actions", actions[-1].request_id)
    return body


def _show_view(out: Out, found: tuple[InstanceAction, str]) -> dict:
    action, server_project = found  # hostId hashes the action's project, else the server's (Nova)
    body = action_view(action, out.version)
    admin = out.ctx.is_admin  # Nova's events policy: admin; from 2.51 everyone sees the events, not the traceback
    if admin or out.version >= (2, 51):
        project = action.project_id or server_project
        body["events"] = [event_view(e, project, out.version, admin) for e in action.events]
    return {"instanceAction": body}


def parse_filters(values: dict, version: tuple[int, int]) -> ActionFilters:
    if version < (2, 58):
        return ActionFilters()
    since, before = values.get("changes-since"), values.get("changes-before")
    since_at = parse_changes_since(since) if since is not None else None
    before_at = parse_changes_since(before, "Invalid filter field: changes-before.") if before is not None else None
    if since_at is not None and before_at is not None and before_at < since_at:
        raise BadRequest(SINCE_AFTER_BEFORE)
    limit = values.get("limit")  # none: the most; 0: nothing (Nova)
    return ActionFilters(limit=min(int(limit), MAX_LIMIT) if limit is not None else MAX_LIMIT,
                         marker=values.get("marker"), changes_since=since_at, changes_before=before_at)


async def list_actions(request: web.Request) -> web.StreamResponse:
    version = request[api_version_key]
    filters = parse_filters(parse_query(request), version)
    server_id = request.match_info["server_id"]
    found = request.config_dict[servers_key].action_log.list(auth.context(request), server_id, filters,
                                                              include_deleted=version >= (2, 21))
    return respond(request, (server_id, filters.limit, found))


async def show_action(request: web.Request) -> web.StreamResponse:
    parse_query(request)
    version = request[api_version_key]
    service = request.config_dict[servers_key]
    ctx = auth.context(request)
    server_id = request.match_info["server_id"]
    found = service.action_log.get(ctx, server_id, request.match_info["request_id"],
                                   include_deleted=version >= (2, 21))
    return respond(request, found)


async def show_topology(request: web.Request) -> web.StreamResponse:
    """No guest here has a NUMA topology: Nova's answer for one without (the server must be visible)."""
    parse_query(request)
    request.config_dict[servers_key].get(auth.context(request), request.match_info["server_id"])
    return respond(request)


_DATE = {"type": "string"}
_INDEX_258 = {"type": "object", "properties": {"limit": {"type": "string", "pattern": "^[0-9]+$"},
                                                "marker": {"type": "string"}, "changes-since": _DATE},
              "additionalProperties": False}
_INDEX_266 = {**_INDEX_258, "properties": {**_INDEX_258["properties"], "changes-before": _DATE}}
_ANY = {"type": "object", "additionalProperties": True}
_STRICT = {"type": "object", "properties": {}, "additionalProperties": False}

QUERIES = {
    "#1701": Versioned(QuerySchema(_ANY), ((2, 58), QuerySchema(_INDEX_258)), ((2, 66), QuerySchema(_INDEX_266))),
    "#1702": Versioned(QuerySchema(_ANY), ((2, 102), QuerySchema(_STRICT))),
    "#214": Versioned(QuerySchema(_ANY), ((2, 102), QuerySchema(_STRICT))),
}
VIEWS = {"#1701": _list_view, "#1702": _show_view, "#214": lambda out, _: {"nodes": [], "pagesize_kb": None}}
