"""os-keypairs (#901-#904) at microversion 2.1: list 200, create 200, show 200, delete 202.

Keypairs belong to the token's user. `?user_id=` (admin access to other users' keys) exists only from 2.10 in
Nova, so at 2.1 it is ignored.
"""
from __future__ import annotations

import copy

from aiohttp import web

from nodecompute.api import validation
from nodecompute.api.auth import context, require_writer
from nodecompute.api.dialect import Versioned
from nodecompute.api.keys import keypairs_key
from nodecompute.api.respond import parse_body, respond
from nodecompute.domain.models import Keypair, isotime

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
# Legacy /v2: the name may carry leading/trailing spaces (Nova's create_v20); unknown properties are dropped by the
# dialect's legacy validation.
CREATE_SCHEMA_V20 = copy.deepcopy(CREATE_SCHEMA)
CREATE_SCHEMA_V20["properties"]["keypair"]["properties"]["name"] = {
    "type": "string", "minLength": 1, "maxLength": 255, "pattern": r"^[^\x00-\x1f\x7f]*$"}



def _summary(keypair: Keypair) -> dict:
    return {"name": keypair.name, "public_key": keypair.public_key, "fingerprint": keypair.fingerprint}


def _detail(keypair: Keypair) -> dict:
    return {
        **_summary(keypair), "id": keypair.serial, "user_id": keypair.user_id,
        "created_at": isotime(keypair.created_at), "updated_at": None, "deleted": False, "deleted_at": None,
    }


async def list_keypairs(request: web.Request) -> web.StreamResponse:
    return respond(request, request.config_dict[keypairs_key].list(context(request).user_id))


async def create_keypair(request: web.Request) -> web.StreamResponse:
    ctx = require_writer(request, "os_compute_api:os-keypairs:create")
    params = (await parse_body(request))["keypair"]
    keypair = await request.config_dict[keypairs_key].create(ctx.project_id, ctx.user_id, params["name"],
                                                             params.get("public_key"))
    return respond(request, keypair)


async def show_keypair(request: web.Request) -> web.StreamResponse:
    ctx = context(request)
    return respond(request, request.config_dict[keypairs_key].get(ctx.user_id, request.match_info["keypair_name"]))


async def delete_keypair(request: web.Request) -> web.StreamResponse:
    ctx = require_writer(request, "os_compute_api:os-keypairs:delete")
    await request.config_dict[keypairs_key].delete(ctx.user_id, request.match_info["keypair_name"])
    return respond(request)


def _created(out, keypair: Keypair) -> dict:
    view = {**_summary(keypair), "user_id": keypair.user_id}
    if keypair.private_key is not None:
        view["private_key"] = keypair.private_key
    return {"keypair": view}


VIEWS = {
    "#901": lambda out, keypairs: {"keypairs": [{"keypair": _summary(k)} for k in keypairs]},
    "#902": _created,
    "#903": lambda out, keypair: {"keypair": _detail(keypair)},
}
STATUSES = {"#904": 202}
BODIES = {"#902": Versioned(CREATE_SCHEMA_V20, ((2, 1), CREATE_SCHEMA))}
