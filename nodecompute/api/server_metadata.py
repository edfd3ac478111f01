"""Server metadata (#401-#406): list, replace (PUT), merge (POST), and one item show/set/delete."""
from __future__ import annotations

from aiohttp import web

from nodecompute.api import auth
from nodecompute.api.keys import servers_key
from nodecompute.api.respond import parse_body, respond
from nodecompute.domain.errors import BadRequest, MetadataItemNotFound



def _ids(request: web.Request) -> tuple[str, str]:
    return request.match_info["server_id"], request.match_info.get("key", "")


async def list_metadata(request: web.Request) -> web.StreamResponse:
    server = request.config_dict[servers_key].get(auth.context(request), request.match_info["server_id"])
    return respond(request, server.metadata)


async def _set_all(request: web.Request, rule: str, replace: bool) -> web.StreamResponse:
    ctx = auth.require_writer(request, rule)
    body = await parse_body(request)
    result = await request.config_dict[servers_key].set_metadata(ctx, request.match_info["server_id"],
                                                                 body["metadata"], replace=replace)
    return respond(request, result)


async def replace_metadata(request: web.Request) -> web.StreamResponse:
    return await _set_all(request, "os_compute_api:server-metadata:update_all", replace=True)


async def merge_metadata(request: web.Request) -> web.StreamResponse:
    return await _set_all(request, "os_compute_api:server-metadata:create", replace=False)


async def show_metadata_item(request: web.Request) -> web.StreamResponse:
    server_id, key = _ids(request)
    server = request.config_dict[servers_key].get(auth.context(request), server_id)
    if key not in server.metadata:
        raise MetadataItemNotFound()
    return respond(request, (key, server.metadata[key]))


async def set_metadata_item(request: web.Request) -> web.StreamResponse:
    ctx = auth.require_writer(request, "os_compute_api:server-metadata:update")
    server_id, key = _ids(request)
    body = await parse_body(request)
    if key not in body["meta"]:
        raise BadRequest("Request body and URI mismatch")
    value = body["meta"][key]
    await request.config_dict[servers_key].set_metadata(ctx, server_id, {key: value}, replace=False)
    return respond(request, (key, value))


async def delete_metadata_item(request: web.Request) -> web.StreamResponse:
    ctx = auth.require_writer(request, "os_compute_api:server-metadata:delete")
    server_id, key = _ids(request)
    await request.config_dict[servers_key].delete_metadata_item(ctx, server_id, key)
    return respond(request)


def _metadata(out, metadata) -> dict:
    return {"metadata": dict(metadata)}


def _meta(out, item: tuple[str, str]) -> dict:
    key, value = item
    return {"meta": {key: value}}


VIEWS = {"#401": _metadata, "#402": _metadata, "#403": _metadata, "#404": _meta, "#405": _meta}
STATUSES = {"#406": 204}
