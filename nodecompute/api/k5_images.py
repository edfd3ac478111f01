"""K5's compute image proxy: `OS-EXT-IMG-SIZE:size` a string, and the list filter `type` (BASE: images not made
from a server, SERVER: server snapshots and backups, ALL, the default) instead of Nova's image_type property filter
(D52); metadata changes on an image without a checksum refused with 409 (D46)."""
from __future__ import annotations

import dataclasses
from typing import Any

from aiohttp import web

from nodecompute.api import images
from nodecompute.api.auth import context, require_writer
from nodecompute.api.keys import images_key
from nodecompute.api.respond import respond
from nodecompute.api.routing import Handler
from nodecompute.domain import errors
from nodecompute.domain.image_models import Image

SERVER_IMAGE_TYPES = ("snapshot", "backup")  # the image_type property of an image made from a server
TYPES = ("BASE", "SERVER", "ALL")


def _kind(image: Image) -> str:
    return "SERVER" if image.properties.get("image_type") in SERVER_IMAGE_TYPES else "BASE"


async def list_images(request: web.Request) -> web.StreamResponse:
    """#701/#702 in K5: Nova's filters but `type`, then K5's `type`, page by page until the page is full."""
    asked = request.query.get("type", "ALL").upper()
    if asked not in TYPES:
        raise errors.BadRequest(f"Invalid type value: {request.query['type']}. Give one of BASE, SERVER, ALL")
    query = images.list_query(request)
    query = dataclasses.replace(query, properties=tuple(p for p in query.properties if p[0] != "image_type"))
    service = request.config_dict[images_key]
    found: list[Image] = []
    marker = query.marker
    while True:
        page = service.list(context(request), dataclasses.replace(query, marker=marker))
        found += [image for image in page if asked == "ALL" or _kind(image) == asked]
        if len(page) < query.limit or len(found) >= query.limit:
            break
        marker = page[-1].id
    return respond(request, (query.limit, found[:query.limit]))


NO_CHECKSUM = "Image %s has no checksum: change its metadata through the image service (PATCH /v2/images)"
METADATA_WRITES = {"#706": "image:update_metadata", "#707": "image:update_metadata",
                   "#709": "image:update_metadata", "#710": "image:delete_metadata"}


def needs_checksum(op: str, handler: Handler) -> Handler:
    """D46: K5 changes no metadata of an image without a checksum (409), after the role check (D14's 500)."""
    async def k5_handler(request: web.Request) -> web.StreamResponse:
        require_writer(request, METADATA_WRITES[op])
        image_id = request.match_info["image_id"]
        with images.nova_errors():
            image = request.config_dict[images_key].get(context(request), image_id)
        if image.checksum is None:
            raise errors.Conflict(NO_CHECKSUM % image_id)
        return await handler(request)
    return k5_handler


def _size_as_string(view: dict[str, Any]) -> dict[str, Any]:
    size = view.get("OS-EXT-IMG-SIZE:size")
    if size is not None:
        view["OS-EXT-IMG-SIZE:size"] = str(size)
    return view


def image_detail(request: web.Request, image: Image) -> dict[str, Any]:
    return _size_as_string(images.image_detail(request, image))


VIEWS = {
    "#702": images.image_page(image_detail, "images/detail"),
    "#703": lambda out, image: {"image": image_detail(out.request, image)},
}
HANDLERS = {"#701": list_images, "#702": list_images}
