"""Server metadata (#401-#406): list, replace (PUT), merge (POST), and one item show/set/delete."""
from __future__ import annotations

from aiohttp import web

from nodecompute.api import auth
from nodecompute.api import server_schemas as schemas
from nodecompute.api.faults import json_response
from nodecompute.api.keys import servers_key
from nodecompute.api.validation import json_body
from nodecompute.compute.errors import BadRequest, NotFound

ITEM_NOT_FOUND = "Metadata item was not found"



def _ids(request: web.Request) -> tuple[str, str]:
    return request.match_info["server_id"], request.match_info.get("key", "")


async def list_metadata(request: web.Request) -> web.Response:
    server = request.config_dict[servers_key].get(auth.context(request), request.match_info["server_id"])
    return json_response({"metadata": dict(server.metadata)})


async def _set_all(request: web.Request, rule: str, replace: bool) -> web.Response:
    ctx = auth.require_writer(request, rule)
    body = await json_body(request, schemas.for_request(request, schemas.metadata_set))
    result = await request.config_dict[servers_key].set_metadata(ctx, request.match_info["server_id"], body["metadata"],
                                                  replace=replace)
    return json_response({"metadata": dict(result)})


async def replace_metadata(request: web.Request) -> web.Response:
    return await _set_all(request, "os_compute_api:server-metadata:update_all", replace=True)


async def merge_metadata(request: web.Request) -> web.Response:
    return await _set_all(request, "os_compute_api:server-metadata:create", replace=False)


async def show_metadata_item(request: web.Request) -> web.Response:
    server_id, key = _ids(request)
    server = request.config_dict[servers_key].get(auth.context(request), server_id)
    if key not in server.metadata:
        raise NotFound(ITEM_NOT_FOUND)
    return json_response({"meta": {key: server.metadata[key]}})


async def set_metadata_item(request: web.Request) -> web.Response:
    ctx = auth.require_writer(request, "os_compute_api:server-metadata:update")
    server_id, key = _ids(request)
    body = await json_body(request, schemas.for_request(request, schemas.metadata_item))
    if key not in body["meta"]:
        raise BadRequest("Request body and URI mismatch")
    value = body["meta"][key]
    await request.config_dict[servers_key].set_metadata(ctx, server_id, {key: value}, replace=False)
    return json_response({"meta": {key: value}})


async def delete_metadata_item(request: web.Request) -> web.Response:
    ctx = auth.require_writer(request, "os_compute_api:server-metadata:delete")
    server_id, key = _ids(request)
    await request.config_dict[servers_key].delete_metadata_item(ctx, server_id, key)
    return web.Response(status=204)


ROUTES = [
    ("GET", "/servers/{server_id}/metadata", list_metadata),
    ("PUT", "/servers/{server_id}/metadata", replace_metadata),
    ("POST", "/servers/{server_id}/metadata", merge_metadata),
    ("GET", "/servers/{server_id}/metadata/{key}", show_metadata_item),
    ("PUT", "/servers/{server_id}/metadata/{key}", set_metadata_item),
    ("DELETE", "/servers/{server_id}/metadata/{key}", delete_metadata_item),
]
