"""Nova's image proxy and image metadata (#701-#710), relative to the compute version root.

Nova talks to Glance and translates its answers; here the same ImageService serves both, and this module turns
its errors into Nova's texts ("Image not found.", "You are not allowed to delete the image.").
"""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from aiohttp import web

from nodecompute.domain.models import id_from_ref, zulu
from nodecompute.api import validation
from nodecompute.api.auth import context, require_writer
from nodecompute.api.keys import images_key
from nodecompute.api.respond import Out, QuerySchema, parse_body, parse_query, respond
from nodecompute.api.urls import Links, base_url
from nodecompute.domain import disk_config, errors
from nodecompute.domain.image_models import Image, ImageQuery
from nodecompute.compute.images import ImageNotAuthorized, ImageNotFound, ImageProtected

STATUS = {"active": "ACTIVE", "queued": "SAVING", "saving": "SAVING", "deleted": "DELETED",
          "pending_delete": "DELETED", "killed": "ERROR"}
PROGRESS = {"queued": 25, "saving": 50, "active": 100}
# Nova's SUPPORTED_FILTERS that map onto image properties.
PROPERTY_FILTERS = {"server": "instance_uuid", "type": "image_type"}

LIST_QUERY = {
    "type": "object",
    "properties": {
        "limit": validation.query_limit,
        "minDisk": {"type": "string", "pattern": "^[0-9]+$"},
        "minRam": {"type": "string", "pattern": "^[0-9]+$"},
    },
}
METADATA_BODY = {
    "type": "object", "properties": {"metadata": validation.metadata},
    "required": ["metadata"], "additionalProperties": False,
}
META_BODY = {
    "type": "object", "properties": {"meta": {**validation.metadata, "minProperties": 1, "maxProperties": 1}},
    "required": ["meta"], "additionalProperties": False,
}



@contextmanager
def _nova_errors(forbidden: str | None = None) -> Iterator[None]:
    try:
        yield
    except ImageNotFound:
        raise errors.NotFound("Image not found.") from None
    except (ImageNotAuthorized, ImageProtected) as exc:
        raise errors.Forbidden(forbidden or exc.message) from None


def list_query(request: web.Request) -> ImageQuery:
    query = request.query
    parse_query(request)
    limit = int(query.get("limit", 0))
    if limit < 0:
        raise errors.BadRequest(f"Invalid input for query parameters limit. Value: {limit}. "
                                f"limit must be a non-negative integer")
    properties = [(name, id_from_ref(query[key]) if key == "server" else query[key])
                  for key, name in PROPERTY_FILTERS.items() if key in query]
    properties += [(k[len("property-"):], v) for k, v in query.items() if k.startswith("property-")]
    since = query.get("changes-since")
    return ImageQuery(
        names=(query["name"],) if "name" in query else (),
        statuses=(query["status"].lower(),) if "status" in query else (),
        properties=tuple(properties),
        min_disk=validation.int_filter(query["minDisk"]) if "minDisk" in query else None,
        min_ram=validation.int_filter(query["minRam"]) if "minRam" in query else None,
        changes_since=(validation.parse_changes_since(since, f"Invalid changes-since value: {since}")
                       if since is not None else None),
        limit=validation.page_size(limit), marker=query.get("marker"),
    )


def _links(request: web.Request, image: Image) -> list[dict[str, str]]:
    alternate = f"{base_url(request)}/image/{context(request).project_id}/images/{image.id}"
    return Links(request).pair("images", image.id) + [
        {"rel": "alternate", "type": "application/vnd.openstack.image", "href": alternate}]


def image_summary(request: web.Request, image: Image) -> dict[str, Any]:
    return {"id": image.id, "name": image.name, "links": _links(request, image)}


def image_detail(request: web.Request, image: Image) -> dict[str, Any]:
    view: dict[str, Any] = {
        "id": image.id, "name": image.name, "minRam": image.min_ram, "minDisk": image.min_disk,
        "metadata": {k: str(v) for k, v in image.properties.items()},
        "created": zulu(image.created_at), "updated": zulu(image.updated_at),
        "status": STATUS.get(image.status, "UNKNOWN"), "progress": PROGRESS.get(image.status, 0),
        "OS-EXT-IMG-SIZE:size": image.size, "links": _links(request, image),
    }
    server = image.properties.get("instance_uuid")
    if server is not None:
        view["server"] = {"id": server, "links": Links(request).pair("servers", server)}
    if image.properties.get("auto_disk_config") is not None:
        view["OS-DCF:diskConfig"] = disk_config.image_default(image.properties)
    return view


async def list_images(request: web.Request) -> web.StreamResponse:
    """#701 and #702 (the route's operation picks the summary or the detail view)."""
    query = list_query(request)
    return respond(request, (query.limit, request.config_dict[images_key].list(context(request), query)))


def _get(request: web.Request) -> Image:
    with _nova_errors():
        return request.config_dict[images_key].get(context(request), request.match_info["image_id"])


async def show_image(request: web.Request) -> web.StreamResponse:
    return respond(request, _get(request))


async def delete_image(request: web.Request) -> web.StreamResponse:
    ctx = require_writer(request, "image:delete")
    with _nova_errors(forbidden="You are not allowed to delete the image."):
        await request.config_dict[images_key].delete(ctx, request.match_info["image_id"])
    return respond(request)


# Image metadata (#705-#710): the image's custom properties.

async def list_metadata(request: web.Request) -> web.StreamResponse:
    return respond(request, _get(request).properties)


async def _set(request: web.Request, properties: dict[str, str], replace: bool) -> Image:
    ctx = require_writer(request, "image:update_metadata")
    with _nova_errors():
        return await request.config_dict[images_key].set_properties(ctx, request.match_info["image_id"],
                                                                    properties, replace=replace)


async def merge_metadata(request: web.Request) -> web.StreamResponse:
    body = await parse_body(request)
    return respond(request, (await _set(request, body["metadata"], replace=False)).properties)


async def replace_metadata(request: web.Request) -> web.StreamResponse:
    body = await parse_body(request)
    return respond(request, (await _set(request, body["metadata"], replace=True)).properties)


async def show_metadata_item(request: web.Request) -> web.StreamResponse:
    key = request.match_info["key"]
    properties = _get(request).properties
    if key not in properties:
        raise errors.NotFound()
    return respond(request, {key: properties[key]})


async def set_metadata_item(request: web.Request) -> web.StreamResponse:
    body = await parse_body(request)
    key = request.match_info["key"]
    if key not in body["meta"]:
        raise errors.BadRequest("Request body and URI mismatch")
    await _set(request, body["meta"], replace=False)
    return respond(request, body["meta"])


async def delete_metadata_item(request: web.Request) -> web.StreamResponse:
    ctx = require_writer(request, "image:delete_metadata")
    with _nova_errors():
        await request.config_dict[images_key].delete_property(ctx, request.match_info["image_id"],
                                                              request.match_info["key"])
    return respond(request)


def _page(view, path_tail: str):
    def render(out: Out, result: tuple[int, list[Image]]) -> dict[str, Any]:
        limit, images = result
        body: dict[str, Any] = {"images": [view(out.request, image) for image in images]}
        if images and len(images) == limit:
            body["images_links"] = out.links.next_page(path_tail, images[-1].id)
        return body
    return render


def _metadata(out: Out, properties: dict[str, str]) -> dict:
    return {"metadata": properties}


def _meta(out: Out, item: dict[str, str]) -> dict:
    return {"meta": item}


image_page, nova_errors = _page, _nova_errors  # for the vendor dialects (api/k5_images.py)
VIEWS = {
    "#701": _page(image_summary, "images"), "#702": _page(image_detail, "images/detail"),
    "#703": lambda out, image: {"image": image_detail(out.request, image)},
    "#705": _metadata, "#706": _metadata, "#707": _metadata, "#708": _meta, "#709": _meta,
}
STATUSES = {"#704": 204, "#710": 204}
BODIES = {"#706": METADATA_BODY, "#707": METADATA_BODY, "#709": META_BODY}
QUERIES = {"#701": QuerySchema(LIST_QUERY), "#702": QuerySchema(LIST_QUERY)}
