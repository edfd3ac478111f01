"""The Glance v2 subset (#801-#808) under /image: versions, images list/create/show/patch/delete, data upload and
download. Errors leave in Glance's webob shape (the image face's dialect renders them so).

Entities are un-enveloped, `status` lowercase, custom properties at the top level, times `…Z` (clients.md pitfall 4).
"""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import jsonschema
from aiohttp import web

from nodecompute.domain.models import zulu
from nodecompute.api import glance_query
from nodecompute.api.auth import context, require_writer
from nodecompute.api.keys import bound_key, images_key
from nodecompute.api.respond import Out, RawBody, Reply, respond
from nodecompute.api.urls import base_url
from nodecompute.api.validation import json_body, parse_json
from nodecompute.domain import errors
from nodecompute.domain.image_models import CONTAINER_FORMATS, DISK_FORMATS, VISIBILITIES, Image, ImageQuery
from nodecompute.compute.image_patch import OPS, READ_ONLY, RESERVED, PatchOp, ReadOnlyAttribute, ReservedAttribute
from nodecompute.compute.images import ImagePropertyLimit

PATCH_TYPE = "application/openstack-images-v2.1-json-patch"  # JSON patch as RFC 6902 (draft 10)
PATCH_TYPE_V20 = "application/openstack-images-v2.0-json-patch"  # the older draft 4 form, which Glance still reads
PATCH_DRAFTS = {PATCH_TYPE: 10, PATCH_TYPE_V20: 4}
VERSIONS = [f"v2.{n}" for n in range(7, -1, -1)]  # v2.7 (os_hash_*, os_hidden) is the newest we answer like
DOWNLOAD_CHUNK = 1 << 20
MAX_INT = 0x7FFFFFFF  # min_disk and min_ram are 32-bit integer columns in Glance's database
UUID_PATTERN = "^([0-9a-fA-F]){8}-([0-9a-fA-F]){4}-([0-9a-fA-F]){4}-([0-9a-fA-F]){4}-([0-9a-fA-F]){12}$"

ATTRIBUTES: dict[str, dict[str, Any]] = {
    "id": {"type": "string", "pattern": UUID_PATTERN},
    "name": {"type": ["string", "null"], "maxLength": 255},
    "visibility": {"type": "string", "enum": list(VISIBILITIES)},
    "protected": {"type": "boolean"},
    "min_disk": {"type": "integer", "minimum": 0, "maximum": MAX_INT},
    "min_ram": {"type": "integer", "minimum": 0, "maximum": MAX_INT},
    "disk_format": {"type": ["string", "null"], "enum": [*DISK_FORMATS, None]},
    "container_format": {"type": ["string", "null"], "enum": [*CONTAINER_FORMATS, None]},
    "owner": {"type": ["string", "null"], "maxLength": 255},
    "tags": {"type": "array", "items": {"type": "string", "maxLength": 255}},
}
PROPERTY_VALUE = {"type": "string", "maxLength": 65535}
PROPERTY_NAME_MAX = 255
# The create body (#803): the attributes above, any other name a custom property. Checked one property at a time
# (`_check_attribute`), in Glance's words.
IMAGE_BODY = {"type": "object", "properties": ATTRIBUTES, "additionalProperties": PROPERTY_VALUE}
_VALIDATORS = {name: jsonschema.Draft202012Validator(schema)
               for name, schema in [*IMAGE_BODY["properties"].items(), ("", IMAGE_BODY["additionalProperties"])]}
# The update body (#805): a JSON patch, as `parse_patch` reads it (with Glance's messages); values as IMAGE_BODY.
PATCH_BODY = {"type": "array", "items": {
    "type": "object", "required": ["op", "path"],
    "properties": {"op": {"enum": ["add", "replace", "remove"]}, "path": {"type": "string", "pattern": "^/[^/]+$"},
                   "value": {}},
    "if": {"properties": {"op": {"enum": ["add", "replace"]}}}, "then": {"required": ["value"]},
}}
DATA_BODY = RawBody("application/octet-stream")  # #807



def image_entity(image: Image) -> dict[str, Any]:
    body: dict[str, Any] = dict(image.properties)
    body.update(
        id=image.id, name=image.name, status=image.status, visibility=image.visibility, protected=image.protected,
        os_hidden=False, checksum=image.checksum, os_hash_algo=image.os_hash_algo, os_hash_value=image.os_hash_value,
        size=image.size, virtual_size=image.virtual_size, min_disk=image.min_disk, min_ram=image.min_ram,
        disk_format=image.disk_format, container_format=image.container_format, owner=image.owner,
        tags=list(image.tags), created_at=zulu(image.created_at), updated_at=zulu(image.updated_at),
        self=f"/v2/images/{image.id}", file=f"/v2/images/{image.id}/file", schema="/v2/schemas/image",
    )
    return body


@contextmanager
def _glance_errors() -> Iterator[None]:
    """The one service error whose Glance form differs from Nova's: too many properties is 413 here."""
    try:
        yield
    except ImagePropertyLimit as exc:
        raise errors.TooLarge(f"The limit has been exceeded on the number of allowed image properties. "
                              f"Attempted: {exc.attempted}, Maximum: {exc.maximum}") from None


def _check_attribute(name: str, value: Any) -> None:
    """400 in Glance's words when `value` does not fit the schema of attribute or custom property `name`."""
    if not name or len(name) > PROPERTY_NAME_MAX:
        raise errors.BadRequest(f"Provided object does not match schema 'image': property name '{name[:40]}' "
                                f"must be 1 to {PROPERTY_NAME_MAX} characters")
    validator = _VALIDATORS.get(name) or _VALIDATORS[""]
    error = jsonschema.exceptions.best_match(validator.iter_errors(value))
    if error is not None:
        raise errors.BadRequest(f"Provided object does not match schema 'image': {error.message} "
                                f"(failed validating '{name}')")


# Versions (#801): no token.

def _versions_body(request: web.Request) -> dict:
    href = f"{base_url(request)}/image/v2/"
    return {"versions": [{"id": v, "status": "CURRENT" if i == 0 else "SUPPORTED",
                          "links": [{"rel": "self", "href": href}]} for i, v in enumerate(VERSIONS)]}


async def show_versions(request: web.Request) -> web.StreamResponse:
    """#801 (300) and GET /versions (200): the operation of the route picks the status."""
    return respond(request)


# Images.

MEMBER_LISTING_RULE = "image:member_listing"  # a dialect rule: the member statuses that list a shared image
# A dialect rule: the visibility of an image created without one. Glance's since image API 2.5 is `shared` (an image
# its owner may share, seen by nobody else until then); older Glance (K5's document) made it `private`.
DEFAULT_VISIBILITY_RULE = "image:default_visibility"


async def list_images(request: web.Request) -> web.StreamResponse:
    """#802; a member lists a shared image while its status is the face's default (Glance: accepted)."""
    own = request[bound_key].dialect.rules.get(MEMBER_LISTING_RULE)
    query = glance_query.parse(request.query, own.first if own is not None else ("accepted",))
    return respond(request, (query, request.config_dict[images_key].list(context(request), query)))


def _list_view(out: Out, result: tuple[ImageQuery, list[Image]]) -> dict[str, Any]:
    query, images = result
    body: dict[str, Any] = {"images": [image_entity(i) for i in images], "schema": "/v2/schemas/images"}
    body.update(glance_query.page_links(out.request.query, images, query.limit))
    return body


def _create_parts(body: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str], list[str]]:
    for name in body:
        if name in RESERVED:
            raise ReservedAttribute(name=name)
        if name in READ_ONLY and name not in ("id", "owner"):
            raise ReadOnlyAttribute(name=name)
    for name, value in body.items():
        _check_attribute(name, value)
    fields = {k: v for k, v in body.items() if k in ATTRIBUTES and k != "tags"}
    properties = {k: v for k, v in body.items() if k not in ATTRIBUTES}
    return fields, properties, list(body.get("tags", []))


async def create_image(request: web.Request) -> web.StreamResponse:
    ctx = require_writer(request, "add_image")
    fields, properties, tags = _create_parts(await json_body(request))
    fields.setdefault("visibility", request[bound_key].dialect.rules[DEFAULT_VISIBILITY_RULE].first)
    with _glance_errors():
        image = await request.config_dict[images_key].create(ctx, fields, properties, tags)
    return respond(request, image)


async def show_image(request: web.Request) -> web.StreamResponse:
    image = request.config_dict[images_key].get(context(request), request.match_info["image_id"])
    return respond(request, image)


def _pointer_name(path: Any) -> str:
    if not isinstance(path, str) or not path.startswith("/"):
        raise errors.BadRequest(f"Pointer `{path}` does not start with \"/\".")
    segments = path[1:].split("/")
    if len(segments) != 1 or not segments[0]:
        raise errors.BadRequest("Nested paths are not allowed")
    return segments[0].replace("~1", "/").replace("~0", "~")


def _op_and_path(item: Any, draft: int) -> tuple[str, Any]:
    """One operation object's op and JSON pointer: draft 10 `{"op": "add", "path": "/x"}`, draft 4 (Glance's
    v2.0 media type) `{"add": "/x"}`; Glance's messages."""
    if draft == 10:
        if not isinstance(item, dict) or "op" not in item or "path" not in item:
            raise errors.BadRequest("Operation objects must contain \"op\" and \"path\" members.")
        if item["op"] not in OPS:
            raise errors.BadRequest(f"Invalid operation: `{item['op']}`. It must be one of the following: "
                                    f"add, remove, replace.")
        return item["op"], item["path"]
    if not isinstance(item, dict):
        raise errors.BadRequest("Operations must be JSON objects.")
    named = [op for op in OPS if op in item]
    if len(named) != 1:
        raise errors.BadRequest(f"Operation objects must contain {'exactly' if not named else 'only'} one member "
                                f"named \"add\", \"remove\", or \"replace\".")
    return named[0], item[named[0]]


def parse_patch(raw: bytes, draft: int = 10) -> list[PatchOp]:
    """A JSON-patch document (draft 10: Glance's v2.1 media type; draft 4: its v2.0 one) -> ops; values checked
    against the schema. Under draft 4 an `add` of a member the image has is refused (PatchOp.add_replaces)."""
    try:
        doc = parse_json(raw) if raw else None
    except ValueError:
        raise errors.BadRequest("Malformed JSON in request body.") from None
    if not isinstance(doc, list):
        raise errors.BadRequest("Request body must be a JSON array of operation objects.")
    ops = []
    for item in doc:
        op, path = _op_and_path(item, draft)
        name = _pointer_name(path)
        if op != "remove":
            if "value" not in item:
                raise errors.BadRequest(f"Operation \"{op}\" requires a member named \"value\".")
            if name not in READ_ONLY and name not in RESERVED:
                _check_attribute(name, item["value"])
        ops.append(PatchOp(op, name, item.get("value"), add_replaces=draft == 10))
    return ops


async def update_image(request: web.Request) -> web.StreamResponse:
    ctx = require_writer(request, "modify_image")
    draft = PATCH_DRAFTS.get(request.content_type)
    if draft is None:
        refused = errors.UnsupportedMediaType(f"Unsupported Content-Type; use {PATCH_TYPE}")
        refused.headers = {"Accept-Patch": ", ".join(sorted(PATCH_DRAFTS))}  # Glance's
        raise refused
    ops = parse_patch(await request.read(), draft)
    with _glance_errors():
        image = await request.config_dict[images_key].update(ctx, request.match_info["image_id"], ops)
    return respond(request, image)


async def delete_image(request: web.Request) -> web.StreamResponse:
    ctx = require_writer(request, "delete_image")
    await request.config_dict[images_key].delete(ctx, request.match_info["image_id"])
    return respond(request)


async def list_image_tasks(request: web.Request) -> web.StreamResponse:
    """Glance's GET /v2/images/{image_id}/tasks (image API 2.12): the import tasks that worked on a visible image.
    This service has no image import (data arrives by upload, snapshot or volume upload, none of them a Glance
    task), so no image has any: 200 with an empty list, 404 for an image the caller cannot see. Tempest waits on it
    after each server snapshot."""
    request.config_dict[images_key].get(context(request), request.match_info["image_id"])
    return respond(request)


# Image data (#807-#808): streamed both ways, never held in memory.

async def upload_image_data(request: web.Request) -> web.StreamResponse:
    ctx = require_writer(request, "upload_image")
    if request.content_type != DATA_BODY.media_type:
        raise errors.UnsupportedMediaType(f"Unsupported Content-Type; image data must be {DATA_BODY.media_type}")
    chunks = request.content.iter_chunked(DOWNLOAD_CHUNK)
    await request.config_dict[images_key].upload(ctx, request.match_info["image_id"], chunks, request.content_length)
    return respond(request)


async def download_image_data(request: web.Request) -> web.StreamResponse:
    found = request.config_dict[images_key].data_path(context(request), request.match_info["image_id"])
    return respond(request, found)


def _data_view(out: Out, result: tuple[Image, Path | None]) -> Reply:
    """The image's bytes streamed from its file; 204 while it has none."""
    image, path = result
    if path is None:
        return Reply(status=204)
    headers = {"Content-Type": "application/octet-stream", "Content-MD5": image.checksum or ""}
    return Reply(headers=headers, file=path)


def _created_view(out: Out, image: Image) -> Reply:
    return Reply(image_entity(image), headers={"Location": f"/v2/images/{image.id}"})


# The image face's views and statuses (api/dialects/image.py).
VIEWS = {
    "#801": lambda out, _: _versions_body(out.request), "image:versions": lambda out, _: _versions_body(out.request),
    "#802": _list_view, "#803": _created_view, "#804": lambda out, image: image_entity(image),
    "#805": lambda out, image: image_entity(image), "#808": _data_view, "image:tasks": lambda out, _: {"tasks": []},
}
STATUSES = {"#801": 300, "#803": 201, "#806": 204, "#807": 204}
BODIES = {"#803": IMAGE_BODY, "#805": PATCH_BODY, "#807": DATA_BODY}
