"""Cyclades' compute images (dialects.md D46, D52, D66, D67): only `changes-since` filters the lists, and it must
lie in [now - 3600 s, now] (400 otherwise); deleted images show as DELETED to it, and nothing changed is 304. The
views have no minDisk/minRam, always a `progress`, times to the second with +00:00, self and bookmark the same
link and an `alternate` link to /cyclades/image/v1.0. Metadata: POST and item PUT 201, the item wrapped in
`metadata`."""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from aiohttp import web

from nodecompute.api import validation
from nodecompute.api.auth import context, require_writer
from nodecompute.api.cyclades_views import CycladesLinks
from nodecompute.api.images import PROGRESS, STATUS
from nodecompute.api.keys import clock_key, images_key
from nodecompute.api.respond import parse_body, respond
from nodecompute.domain import errors
from nodecompute.domain.image_models import Image, ImageQuery

POLL_LIMIT = 3600  # seconds (seed 000 line 2140: the changes-since window)
OUT_OF_WINDOW = "changes-since value set too far in the past or in the future"


def _time(dt: datetime) -> str:
    return dt.replace(tzinfo=None, microsecond=0).isoformat() + "+00:00"


def _changes_since(request: web.Request) -> datetime | None:
    text = request.query.get("changes-since")
    if text is None:
        return None
    since = validation.parse_changes_since(text, f"Invalid changes-since value: {text}")
    now = request.config_dict[clock_key]()
    if not now - timedelta(seconds=POLL_LIMIT) <= since <= now:
        raise errors.BadRequest(OUT_OF_WINDOW)
    return since


async def list_images(request: web.Request) -> web.StreamResponse:
    since = _changes_since(request)
    query = ImageQuery(changes_since=since, limit=validation.MAX_LIMIT)
    found = request.config_dict[images_key].list(context(request), query)
    if since is not None and not found:
        return web.Response(status=304)
    return respond(request, found)


async def set_metadata_item(request: web.Request) -> web.StreamResponse:
    body = await parse_body(request)
    key = request.match_info["key"]
    if key not in body["metadata"]:
        raise errors.BadRequest("Request body and URI mismatch")
    ctx = require_writer(request, "image:update_metadata")
    await request.config_dict[images_key].set_properties(ctx, request.match_info["image_id"], body["metadata"],
                                                         replace=False)
    return respond(request, body["metadata"])


def summary(links: CycladesLinks, image: Image) -> dict[str, Any]:
    return {"id": image.id, "name": image.name, "links": links.image_links(image.id)}


def detail(links: CycladesLinks, image: Image) -> dict[str, Any]:
    return {**summary(links, image), "status": "DELETED" if image.deleted else STATUS.get(image.status, "UNKNOWN"),
            "progress": PROGRESS.get(image.status, 0), "created": _time(image.created_at),
            "updated": _time(image.updated_at), "metadata": {k: str(v) for k, v in image.properties.items()}}


def _page(view):
    return lambda out, images: {"images": [view(CycladesLinks(out), image) for image in images]}


HANDLERS = {"#701": list_images, "#702": list_images, "#709": set_metadata_item}
VIEWS = {"#701": _page(summary), "#702": _page(detail),
         "#703": lambda out, image: {"image": detail(CycladesLinks(out), image)},
         "#708": lambda out, item: {"metadata": item}, "#709": lambda out, item: {"metadata": item}}
STATUSES = {"#706": 201, "#709": 201}
BODIES = {"#709": {"type": "object", "required": ["metadata"], "properties": {"metadata": {
    "type": "object", "minProperties": 1, "maxProperties": 1,
    "additionalProperties": {"type": "string", "maxLength": 255}}}}}
