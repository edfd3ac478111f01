"""os-keypairs (#901-#904) at microversion 2.1: list 200, create 200, show 200, delete 202.

Keypairs belong to the token's user. `?user_id=` (admin access to other users' keys) exists only from 2.10 in
Nova, so at 2.1 it is ignored.
"""
from __future__ import annotations

import copy

from aiohttp import web

from nodecompute.api import validation
from nodecompute.api.auth import context, require_writer
from nodecompute.api.faults import json_response
from nodecompute.api.keys import api_version_key, keypairs_key
from nodecompute.compute.models import Keypair, isotime

CREATE_SCHEMA = {
    "type": "object",
    "properties": {
        "keypair": {
            "type": "object",
            "properties": {"name": validation.name, "public_key": {"type": "string"}},
            "required": ["name"],
            "additionalProperties": False,
        },
    },
    "required": ["keypair"],
    "additionalProperties": False,
}
# Legacy /v2: unknown properties are ignored and the name may carry leading/trailing spaces (Nova's create_v20).
CREATE_SCHEMA_V20 = copy.deepcopy(CREATE_SCHEMA)
CREATE_SCHEMA_V20["additionalProperties"] = True
CREATE_SCHEMA_V20["properties"]["keypair"]["additionalProperties"] = True
CREATE_SCHEMA_V20["properties"]["keypair"]["properties"]["name"] = {
    "type": "string", "minLength": 1, "maxLength": 255, "pattern": r"^[^\x00-\x1f\x7f]*$"}



def _summary(keypair: Keypair) -> dict:
    return {"name": keypair.name, "public_key": keypair.public_key, "fingerprint": keypair.fingerprint}


def _detail(keypair: Keypair) -> dict:
    return {
        **_summary(keypair), "id": keypair.serial, "user_id": keypair.user_id,
        "created_at": isotime(keypair.created_at), "updated_at": None, "deleted": False, "deleted_at": None,
    }


async def list_keypairs(request: web.Request) -> web.Response:
    ctx = context(request)
    keypairs = request.config_dict[keypairs_key].list(ctx.user_id)
    return json_response({"keypairs": [{"keypair": _summary(k)} for k in keypairs]})


async def create_keypair(request: web.Request) -> web.Response:
    ctx = require_writer(request, "os_compute_api:os-keypairs:create")
    legacy = request.get(api_version_key) == (2, 0)
    body = await validation.json_body(request, CREATE_SCHEMA_V20 if legacy else CREATE_SCHEMA)
    params = body["keypair"]
    keypairs = request.config_dict[keypairs_key]
    keypair = await keypairs.create(ctx.project_id, ctx.user_id, params["name"], params.get("public_key"))
    view = {**_summary(keypair), "user_id": keypair.user_id}
    if keypair.private_key is not None:
        view["private_key"] = keypair.private_key
    return json_response({"keypair": view})


async def show_keypair(request: web.Request) -> web.Response:
    ctx = context(request)
    keypair = request.config_dict[keypairs_key].get(ctx.user_id, request.match_info["keypair_name"])
    return json_response({"keypair": _detail(keypair)})


async def delete_keypair(request: web.Request) -> web.Response:
    ctx = require_writer(request, "os_compute_api:os-keypairs:delete")
    await request.config_dict[keypairs_key].delete(ctx.user_id, request.match_info["keypair_name"])
    return web.Response(status=202)


ROUTES = [
    ("GET", "/os-keypairs", list_keypairs),
    ("POST", "/os-keypairs", create_keypair),
    ("GET", "/os-keypairs/{keypair_name}", show_keypair),
    ("DELETE", "/os-keypairs/{keypair_name}", delete_keypair),
]
