"""K5's compute volume extension and attachments (D56, D57, D58, D63): `os-volumes` create refuses more than
16 TB, its volumes show the keys of K5's examples (`volumeType` the type's id); `os-snapshots` detail and show name the zone; an attachment's show names
the zone; an attach takes `device` "auto" as null."""
from __future__ import annotations

from typing import Any

from aiohttp import web

from nodecompute.api import os_volumes, volume_attachments
from nodecompute.api.k5_faces import zone
from nodecompute.api.auth import require_writer
from nodecompute.api.keys import volume_attachments_key
from nodecompute.api.respond import Out, Reply, check_body, respond
from nodecompute.api.routing import Handler
from nodecompute.api.validation import json_body
from nodecompute.domain.errors import BadRequest
from nodecompute.domain.volume_models import AttachRequest, Volume

AUTO_DEVICE = "auto"
MAX_SIZE_GB = 16 * 1024  # "Upper limit for volume size: 16 TB" (§2.1.6.9)


def volume_view(volume: Volume) -> dict[str, Any]:
    """K5's os-volumes volume (§2.1.6.9, §2.1.6.10 examples, inventory 2.7): the type's id, no `status`, and
    `attachments` empty when there is none (Nova shows `[{}]`)."""
    view = {**os_volumes.volume_view(volume), "volumeType": volume.volume_type_id}
    del view["status"]
    if view["attachments"] == [{}]:
        view["attachments"] = []
    return view


def size_limited(handler: Handler) -> Handler:
    async def k5_handler(request: web.Request) -> web.StreamResponse:
        body = await json_body(request)
        size = body.get("volume", {}).get("size") if isinstance(body, dict) and isinstance(
            body.get("volume"), dict) else None
        if isinstance(size, (int, str)) and str(size).isdigit() and int(size) > MAX_SIZE_GB:
            raise BadRequest(f"Invalid input received: size {size} GB is above K5's limit of {MAX_SIZE_GB} GB (16 TB)")
        return await handler(request)
    return k5_handler


async def attach(request: web.Request) -> web.StreamResponse:
    """#1102 in K5 (v2.0): `device` null or "auto" both let the host choose the next free name (section 6)."""
    ctx = require_writer(request, volume_attachments.POLICY % "create")
    raw = await json_body(request)
    wanted = raw.get("volumeAttachment") if isinstance(raw, dict) else None
    if isinstance(wanted, dict) and wanted.get("device") == AUTO_DEVICE:
        wanted["device"] = None
    body = check_body(request, raw)["volumeAttachment"]
    req = AttachRequest(volume_id=body["volumeId"], device=body.get("device"))
    attachments = request.config_dict[volume_attachments_key]
    return respond(request, await attachments.attach(ctx, request.match_info["server_id"], req, shelved_ok=False,
                                                     multiattach_ok=False))


def _zoned_snapshot(out: Out, snapshot) -> dict[str, Any]:
    return {**os_volumes.snapshot_view(snapshot), "availability_zone": zone(out.request)}


def _attachment_show(view):
    def k5_view(out: Out, attachment) -> dict[str, Any]:
        body = view(out, attachment)
        body["volumeAttachment"]["availability_zone"] = zone(out.request)
        return body
    return k5_view


VIEWS = {
    "#1201": lambda out, volumes: {"volumes": [volume_view(volume) for volume in volumes]},
    "#1202": lambda out, volumes: {"volumes": [volume_view(volume) for volume in volumes]},
    "#1203": lambda out, volume: Reply({"volume": volume_view(volume)},
                                       headers={"Location": f"{out.request.url}/{volume.id}"}),
    "#1204": lambda out, volume: {"volume": volume_view(volume)},
    "#1207": lambda out, snapshots: {"snapshots": [_zoned_snapshot(out, snapshot) for snapshot in snapshots]},
    "#1209": lambda out, snapshot: {"snapshot": _zoned_snapshot(out, snapshot)},
    "#1103": volume_attachments.VIEWS["#1103"].map(_attachment_show),
}
HANDLERS = {"#1203": size_limited, "#1102": lambda core: attach}
