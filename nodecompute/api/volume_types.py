"""Volume types at /volume/v3 (and /volume/v2): #1214, #1215, and Cinder's types-manage and extra-specs APIs.
The rules are compute/volume_types.py's."""
from __future__ import annotations

from aiohttp import web

from nodecompute.api import volume_schemas as schemas
from nodecompute.api.auth import context
from nodecompute.api.respond import Out, parse_body, respond
from nodecompute.api.volume_views import managed_type_body, type_body
from nodecompute.api.volumes import block
from nodecompute.domain.errors import BadRequest


def _is_public(request: web.Request) -> bool | None:
    """Cinder's _parse_is_public: absent -> public only, "none" -> every type, else a strict boolean."""
    if "is_public" not in request.query:
        return True
    value = request.query.getall("is_public")[-1]
    if value.strip().lower() == "none":
        return None
    try:
        return schemas.strict_bool(value, "is_public")
    except BadRequest:
        raise BadRequest(f"Invalid is_public filter [{value}]") from None


async def list_types(request: web.Request) -> web.StreamResponse:
    ctx = context(request)
    return respond(request, block(request).types.list(ctx, _is_public(request) if ctx.is_admin else True))


async def show_type(request: web.Request) -> web.StreamResponse:
    return respond(request, block(request).types.get(context(request), request.match_info["type_id"]))


async def create_type(request: web.Request) -> web.StreamResponse:
    body = (await parse_body(request))["volume_type"]
    name = body["name"].strip()
    if not name:
        raise BadRequest("The 'name' can not be empty.")
    is_public = schemas.to_bool(body.get("os-volume-type-access:is_public", True))
    created = await block(request).types.create(context(request), name, body.get("description"),
                                                body.get("extra_specs") or {}, is_public)
    return respond(request, created)


async def update_type(request: web.Request) -> web.StreamResponse:
    body = (await parse_body(request))["volume_type"]
    is_public = schemas.to_bool(body["is_public"]) if body.get("is_public") is not None else None
    updated = await block(request).types.update(context(request), request.match_info["type_id"], body.get("name"),
                                                body.get("description"), is_public)
    return respond(request, updated)


async def delete_type(request: web.Request) -> web.StreamResponse:
    await block(request).types.delete(context(request), request.match_info["type_id"])
    return respond(request)


async def list_extra_specs(request: web.Request) -> web.StreamResponse:
    return respond(request, block(request).types.extra_specs(context(request), request.match_info["type_id"]))


async def set_extra_specs(request: web.Request) -> web.StreamResponse:
    specs = (await parse_body(request))["extra_specs"]
    await block(request).types.set_extra_specs(context(request), request.match_info["type_id"], specs)
    return respond(request, specs)


async def show_extra_spec(request: web.Request) -> web.StreamResponse:
    return respond(request, block(request).types.extra_spec(context(request), request.match_info["type_id"],
                                                             request.match_info["key"]))


async def update_extra_spec(request: web.Request) -> web.StreamResponse:
    body = await parse_body(request)
    if request.match_info["key"] not in body:
        raise BadRequest("Request body and URI mismatch")
    await block(request).types.set_extra_specs(context(request), request.match_info["type_id"], body)
    return respond(request, body)


async def delete_extra_spec(request: web.Request) -> web.StreamResponse:
    await block(request).types.delete_extra_spec(context(request), request.match_info["type_id"],
                                                 request.match_info["key"])
    return respond(request)


def _types(out: Out, types) -> dict:
    return {"volume_types": [type_body(out, found) for found in types]}


VIEWS = {
    "#1214": _types, "#1215": lambda out, found: {"volume_type": type_body(out, found)},
    "volume:type-create": lambda out, found: {"volume_type": managed_type_body(out, found, created=True)},
    "volume:type-update": lambda out, found: {"volume_type": managed_type_body(out, found, created=False)},
    "volume:extra-specs": lambda out, specs: {"extra_specs": specs},
    "volume:extra-specs-set": lambda out, specs: {"extra_specs": specs},
    "volume:extra-spec": lambda out, item: item,
    "volume:extra-spec-set": lambda out, item: item,
}
STATUSES = {"volume:type-delete": 202, "volume:extra-spec-delete": 202}
BODIES = {"volume:type-create": schemas.TYPE_CREATE, "volume:type-update": schemas.TYPE_UPDATE,
          "volume:extra-specs-set": schemas.EXTRA_SPECS_CREATE, "volume:extra-spec-set": schemas.EXTRA_SPEC_UPDATE}
