"""Snapshots at /volume/v3 (and /volume/v2): #1224-#1229. The rules are compute/volume_snapshots.py's."""
from __future__ import annotations

from aiohttp import web

from nodecompute.api import volume_schemas as schemas
from nodecompute.api.actions import dispatch
from nodecompute.api.auth import context
from nodecompute.api.respond import Out, parse_body, respond
from nodecompute.api.volume_views import snapshot_body, snapshot_list
from nodecompute.api.volumes import block
from nodecompute.domain.volume_models import ListQuery


def _query(request: web.Request) -> ListQuery:
    marker, limit, offset = schemas.paging(request.query)
    filters = schemas.filters(request.query)
    all_projects = schemas.to_bool(filters.get("all_tenants", "false"))  # Cinder: a loose bool_from_string here
    return ListQuery(filters=filters, sort=schemas.sorting(request.query), marker=marker, limit=limit,
                     offset=offset, all_projects=all_projects)


async def list_snapshots(request: web.Request) -> web.StreamResponse:
    query = _query(request)
    return respond(request, (block(request).snapshots.list(context(request), query), query.limit))


async def create_snapshot(request: web.Request) -> web.StreamResponse:
    snapshot = schemas.check_names((await parse_body(request))["snapshot"])
    force = schemas.to_bool(snapshot["force"]) if snapshot.get("force") is not None else False
    name = snapshot.get("name", snapshot.get("display_name"))
    created = await block(request).snapshots.create(context(request), snapshot["volume_id"], name,
                                                    snapshot.get("description"), force, snapshot.get("metadata"))
    return respond(request, created)


async def show_snapshot(request: web.Request) -> web.StreamResponse:
    return respond(request, block(request).snapshots.get(context(request), request.match_info["snapshot_id"]))


async def update_snapshot(request: web.Request) -> web.StreamResponse:
    values = schemas.name_and_description(schemas.check_names((await parse_body(request))["snapshot"]))
    updated = await block(request).snapshots.update(context(request), request.match_info["snapshot_id"], values)
    return respond(request, updated)


async def delete_snapshot(request: web.Request) -> web.StreamResponse:
    await block(request).snapshots.delete(context(request), request.match_info["snapshot_id"])
    return respond(request)


async def snapshot_action(request: web.Request) -> web.StreamResponse:
    """Cinder's snapshot actions are admin and vendor ones (os-reset_status, K5's fcx-restore #1230): none is
    served here, so every key is Cinder's 400 "There is no such action"."""
    return await dispatch(request, SNAPSHOT_ACTIONS, "Malformed request body")


SNAPSHOT_ACTIONS: dict = {}


def _one(out: Out, snapshot, *, extended: bool) -> dict:
    return {"snapshot": snapshot_body(out, snapshot, extended=extended)}


VIEWS = {
    "#1224": lambda out, result: snapshot_list(out, result, detail=False),
    "#1225": lambda out, result: snapshot_list(out, result, detail=True),
    "#1226": lambda out, snapshot: _one(out, snapshot, extended=True),
    "#1227": lambda out, snapshot: _one(out, snapshot, extended=False),
    "#1228": lambda out, snapshot: _one(out, snapshot, extended=False),
}
STATUSES = {"#1227": 202, "#1229": 202, "volume:snapshot-action": 202}
BODIES = {"#1227": schemas.SNAPSHOT_CREATE, "#1228": schemas.SNAPSHOT_UPDATE,
          "volume:snapshot-action": {"type": "object"}}  # the dispatcher refuses every key first
