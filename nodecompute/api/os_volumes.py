"""Nova's block storage proxies (#1201-#1210): os-volumes and os-snapshots under /compute, up to microversion
2.35 (404 from 2.36, the route table's `until`), on the same block storage service the /volume face uses.

Nova's proxy calls Cinder through cinderclient and translates what comes back (nova/volume/cinder.py): a Cinder
400 becomes Nova's "Invalid input received: <Cinder's message> (HTTP 400) (Request-ID: ...)", a quota error 403
with Cinder's message (a snapshot's: "Quota exceeded for resources: snapshots"), a missing volume or snapshot
Nova's own 404. Lists are Cinder's detail list of the caller's project cut by `offset` and `limit`. Bodies are
camelCase; times as Cinder gives them. Policies are Nova's (os_compute_api:os-volumes:*), checked first.
"""
from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from aiohttp import web

from nodecompute.api import validation
from nodecompute.api.auth import context, require_writer
from nodecompute.api.keys import request_id_key
from nodecompute.api.respond import Out, QuerySchema, Reply, parse_body, parse_query, respond
from nodecompute.api.volume_schemas import METADATA, to_bool
from nodecompute.api.volumes import block
from nodecompute.domain.errors import BadRequest, ComputeError, Forbidden, NotFound
from nodecompute.domain.models import isotime
from nodecompute.domain.volume_errors import VolumeQuotaError
from nodecompute.domain.volume_models import ListQuery, Snapshot, Volume, VolumeCreate

POLICY = "os_compute_api:os-volumes:%s"
MAX_LIMIT = 1000  # Nova's [api] max_limit
_count = {"type": ["integer", "string"], "pattern": "^[0-9]*$", "minimum": 0, "minLength": 1}
LIST_QUERY = QuerySchema({"type": "object", "properties": {"limit": _count, "offset": _count},
                          "additionalProperties": True})
SHOW_QUERY = QuerySchema({"type": "object", "properties": {}, "additionalProperties": True})
VOLUME_CREATE = {"type": "object", "properties": {"volume": {
    "type": "object", "properties": {
        "volume_type": {"type": "string"}, "metadata": {"type": "object", "properties": {},
                                                        "additionalProperties": True},
        "snapshot_id": {"type": "string"}, "size": {"type": ["integer", "string"], "pattern": "^[0-9]+$",
                                                    "minimum": 1},
        "availability_zone": {"type": "string"}, "display_name": {"type": "string"},
        "display_description": {"type": "string"}},
    "required": ["size"], "additionalProperties": False}}, "required": ["volume"], "additionalProperties": False}
SNAPSHOT_CREATE = {"type": "object", "properties": {"snapshot": {
    "type": "object", "properties": {"volume_id": {"type": "string"}, "force": validation.boolean,
                                     "display_name": {"type": "string"}, "display_description": {"type": "string"}},
    "required": ["volume_id"], "additionalProperties": False}}, "required": ["snapshot"],
    "additionalProperties": False}


@contextlib.contextmanager
def _as_nova(request: web.Request, quota_message: str | None = None) -> Iterator[None]:
    """Cinder's answers as Nova's proxy turns them (translate_*_exception in nova/volume/cinder.py)."""
    try:
        yield
    except VolumeQuotaError as exc:
        raise Forbidden(quota_message or exc.message) from None
    except ComputeError as exc:
        if exc.code != 400:
            raise
        rid = request.get(request_id_key, "")
        raise BadRequest(f"Invalid input received: {exc.message} (HTTP 400) (Request-ID: {rid})") from None


def _page(request: web.Request, items: list) -> list:
    query = parse_query(request)
    offset = int(query.get("offset") or 0)
    limit = min(MAX_LIMIT, int(query.get("limit") or 0) or MAX_LIMIT)
    return items[offset:offset + limit]


# os-volumes ---------------------------------------------------------------------------------------------------------

async def list_volumes(request: web.Request) -> web.StreamResponse:
    volumes = block(request).volumes.list(context(request), ListQuery())
    return respond(request, _page(request, volumes))


async def create_volume(request: web.Request) -> web.StreamResponse:
    ctx = require_writer(request, POLICY % "create")
    volume = (await parse_body(request))["volume"]
    metadata = volume.get("metadata")
    with _as_nova(request):
        if metadata is not None:
            validation.validate(METADATA, metadata)
        req = VolumeCreate(size=volume["size"], name=volume.get("display_name"),
                           description=volume.get("display_description"), volume_type=volume.get("volume_type"),
                           availability_zone=volume.get("availability_zone"),
                           snapshot_id=volume.get("snapshot_id"), metadata=metadata)
        created = await block(request).volumes.create(ctx, req)
    return respond(request, created)


async def show_volume(request: web.Request) -> web.StreamResponse:
    parse_query(request)
    return respond(request, block(request).volumes.get(context(request), request.match_info["volume_id"]))


async def delete_volume(request: web.Request) -> web.StreamResponse:
    ctx = require_writer(request, POLICY % "delete")
    with _as_nova(request):
        await block(request).volumes.delete(ctx, request.match_info["volume_id"])
    return respond(request)


# os-snapshots -------------------------------------------------------------------------------------------------------

async def list_snapshots(request: web.Request) -> web.StreamResponse:
    snapshots = block(request).snapshots.list(context(request), ListQuery())
    return respond(request, _page(request, snapshots))


async def create_snapshot(request: web.Request) -> web.StreamResponse:
    ctx = require_writer(request, POLICY % "snapshots:create")
    snapshot = (await parse_body(request))["snapshot"]
    force = to_bool(snapshot.get("force", False))
    with _as_nova(request, "Quota exceeded for resources: snapshots"):
        try:
            created = await block(request).snapshots.create(ctx, snapshot["volume_id"], snapshot.get("display_name"),
                                                            snapshot.get("display_description"), force)
        except NotFound:
            raise NotFound(f"Volume {snapshot['volume_id']} could not be found.") from None
    return respond(request, created)


async def show_snapshot(request: web.Request) -> web.StreamResponse:
    parse_query(request)
    return respond(request, block(request).snapshots.get(context(request), request.match_info["snapshot_id"]))


async def delete_snapshot(request: web.Request) -> web.StreamResponse:
    ctx = require_writer(request, POLICY % "snapshots:delete")
    with _as_nova(request):
        await block(request).snapshots.delete(ctx, request.match_info["snapshot_id"])
    return respond(request)


# views --------------------------------------------------------------------------------------------------------------

def volume_view(volume: Volume) -> dict[str, Any]:
    attachments: list[dict[str, Any]] = [{}]
    if volume.attachments:
        first = volume.attachments[0]
        attachments = [{"id": volume.id, "volumeId": volume.id, "serverId": first.server_id}]
        if first.device:
            attachments[0]["device"] = first.device
    return {"id": volume.id, "status": volume.status, "size": volume.size,
            "availabilityZone": volume.availability_zone, "createdAt": isotime(volume.created_at),
            "attachments": attachments, "displayName": volume.name, "displayDescription": volume.description,
            "volumeType": volume.volume_type_name, "snapshotId": volume.snapshot_id,
            "metadata": dict(volume.metadata)}


def snapshot_view(snapshot: Snapshot) -> dict[str, Any]:
    return {"id": snapshot.id, "volumeId": snapshot.volume_id, "status": snapshot.status, "size": snapshot.size,
            "createdAt": isotime(snapshot.created_at), "displayName": snapshot.name,
            "displayDescription": snapshot.description}


def _created(out: Out, volume: Volume) -> Reply:
    return Reply({"volume": volume_view(volume)}, headers={"Location": f"{out.request.url}/{volume.id}"})


def _volumes(out: Out, volumes: list[Volume]) -> dict[str, Any]:
    return {"volumes": [volume_view(volume) for volume in volumes]}


def _snapshots(out: Out, snapshots: list[Snapshot]) -> dict[str, Any]:
    return {"snapshots": [snapshot_view(snapshot) for snapshot in snapshots]}


VIEWS = {
    "#1201": _volumes, "#1202": _volumes, "#1203": _created,
    "#1204": lambda out, volume: {"volume": volume_view(volume)},
    "#1206": _snapshots, "#1207": _snapshots,
    "#1208": lambda out, snapshot: {"snapshot": snapshot_view(snapshot)},
    "#1209": lambda out, snapshot: {"snapshot": snapshot_view(snapshot)},
}
STATUSES = {"#1205": 202, "#1210": 202}
BODIES = {"#1203": VOLUME_CREATE, "#1208": SNAPSHOT_CREATE}
QUERIES = {"#1201": LIST_QUERY, "#1202": LIST_QUERY, "#1204": SHOW_QUERY, "#1206": LIST_QUERY,
           "#1207": LIST_QUERY, "#1209": SHOW_QUERY}
