"""os-keypairs (#901-#904) at every microversion.

- 2.1: list 200, create 200, show 200, delete 202; keypairs belong to the token's user.
- 2.2: a `type` (ssh, the default, or x509) in the create body and in every view; create answers 201, delete 204.
- 2.10: `?user_id=` on list, show and delete and `keypair.user_id` at create reach another user's keypairs (admin
  only: anyone else gets 403); below 2.10 the parameter is ignored and the body key refused, as in Nova.
- 2.35: the list pages by name with `limit` (at most 1000, also the default) and `marker`, and links the next page
  in `keypairs_links` when the page is full.
- 2.92: `public_key` is required (no more generated keypairs, so no `private_key`); names may contain `@` and `.`.
"""
from __future__ import annotations

import copy
from typing import Any

from aiohttp import web

from nodecompute.api import validation
from nodecompute.api.auth import context, require_writer
from nodecompute.api.dialect import Versioned
from nodecompute.api.keys import keypairs_key
from nodecompute.api.respond import Out, QuerySchema, parse_body, parse_query, query_names, respond, rules
from nodecompute.compute.keypairs import SAFE_NAME_CHARS, SAFE_NAME_CHARS_V292
from nodecompute.domain.errors import PolicyNotAuthorized
from nodecompute.domain.models import Keypair, isotime

MAX_LIMIT = 1000  # Nova's [api] max_limit
POLICY = "os_compute_api:os-keypairs:%s"
KEY_TYPES = ["ssh", "x509"]
PAGE_LIMIT = {"type": ["integer", "string"], "pattern": "^[0-9]*$", "minimum": 0, "minLength": 1}  # Nova's

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
CREATE_SCHEMA_V22 = copy.deepcopy(CREATE_SCHEMA)
CREATE_SCHEMA_V22["properties"]["keypair"]["properties"]["type"] = {"type": "string", "enum": KEY_TYPES}
CREATE_SCHEMA_V210 = copy.deepcopy(CREATE_SCHEMA_V22)
CREATE_SCHEMA_V210["properties"]["keypair"]["properties"]["user_id"] = {"type": "string"}
# 2.92: no more generated keypairs (`public_key` required); names may also hold `@` and `.`
CREATE_SCHEMA_V292 = copy.deepcopy(CREATE_SCHEMA_V210)
CREATE_SCHEMA_V292["properties"]["keypair"]["properties"]["name"] = {"allOf": [
    validation.name, {"type": "string", "pattern": r"^[_\-\@\. a-zA-Z0-9]+$", "minLength": 1, "maxLength": 255}]}
CREATE_SCHEMA_V292["properties"]["keypair"]["required"] = ["name", "public_key"]

_ANY_QUERY = {"type": "object", "properties": {}, "additionalProperties": True}
_USER_QUERY = {"type": "object", "properties": {"user_id": {"type": "string"}}, "additionalProperties": True}
_PAGE_QUERY = {"type": "object", "additionalProperties": True, "properties": {
    "user_id": {"type": "string"}, "limit": PAGE_LIMIT, "marker": {"type": "string"}}}
_STRICT_USER_QUERY = {**_USER_QUERY, "additionalProperties": False}  # 2.75: unknown parameters are 400
_STRICT_PAGE_QUERY = {**_PAGE_QUERY, "additionalProperties": False}
QUERY = Versioned(QuerySchema(_ANY_QUERY), ((2, 10), QuerySchema(_USER_QUERY)),
                  ((2, 75), QuerySchema(_STRICT_USER_QUERY)))
LIST_QUERY = Versioned(QuerySchema(_ANY_QUERY), ((2, 10), QuerySchema(_USER_QUERY)),
                       ((2, 35), QuerySchema(_PAGE_QUERY, {"limit": PAGE_LIMIT})),
                       ((2, 75), QuerySchema(_STRICT_PAGE_QUERY, {"limit": PAGE_LIMIT})))


def _owner(request: web.Request, action: str, asked: str | None) -> str:
    """The user whose keypairs the request is about: the one asked for (2.10) or the caller; another user's only
    for an admin (Nova's rule: admin or the keypair's own user)."""
    ctx = context(request)
    user_id = asked or ctx.user_id
    if user_id != ctx.user_id and not ctx.is_admin:
        raise PolicyNotAuthorized(action=POLICY % action)
    return user_id


def _asked_user(request: web.Request, query: dict[str, Any] | None = None) -> str | None:
    """`?user_id=` where the request's version knows it (the first value, as Nova reads it)."""
    query = parse_query(request, known_only=True) if query is None else query
    return request.query.getall("user_id")[0] if "user_id" in query else None


async def list_keypairs(request: web.Request) -> web.StreamResponse:
    query = parse_query(request, known_only=True)
    user_id = _owner(request, "index", _asked_user(request, query))
    limit = marker = None
    if "limit" in query_names(request):  # paging from 2.35
        limit, marker = min(int(query.get("limit", MAX_LIMIT)), MAX_LIMIT), query.get("marker")
    return respond(request, (limit, request.config_dict[keypairs_key].list(user_id, limit, marker)))


async def create_keypair(request: web.Request) -> web.StreamResponse:
    ctx = require_writer(request, POLICY % "create")
    params = (await parse_body(request))["keypair"]
    user_id = _owner(request, "create", params.get("user_id"))
    keypair = await request.config_dict[keypairs_key].create(ctx.project_id, user_id, params["name"],
                                                             params.get("public_key"), params.get("type", "ssh"),
                                                             rules(request))
    return respond(request, keypair)


async def show_keypair(request: web.Request) -> web.StreamResponse:
    user_id = _owner(request, "show", _asked_user(request))
    return respond(request, request.config_dict[keypairs_key].get(user_id, request.match_info["keypair_name"]))


async def delete_keypair(request: web.Request) -> web.StreamResponse:
    require_writer(request, POLICY % "delete")
    user_id = _owner(request, "delete", _asked_user(request))
    await request.config_dict[keypairs_key].delete(user_id, request.match_info["keypair_name"])
    return respond(request)


# ----- views (Nova's views/keypairs.py) ------------------------------------------------------------------------------

def _summary(keypair: Keypair, typed: bool) -> dict[str, Any]:
    view = {"name": keypair.name, "public_key": keypair.public_key, "fingerprint": keypair.fingerprint}
    return {**view, "type": keypair.type} if typed else view


def _detail(keypair: Keypair, typed: bool) -> dict[str, Any]:
    return {
        **_summary(keypair, typed), "id": keypair.serial, "user_id": keypair.user_id,
        "created_at": isotime(keypair.created_at), "updated_at": None, "deleted": False, "deleted_at": None,
    }


def _lister(typed: bool, paged: bool):
    def render(out: Out, result: tuple[int | None, list[Keypair]]) -> dict[str, Any]:
        limit, keypairs = result
        body: dict[str, Any] = {"keypairs": [{"keypair": _summary(keypair, typed)} for keypair in keypairs]}
        if paged and limit and len(keypairs) == limit:
            body["keypairs_links"] = out.links.next_page("os-keypairs", keypairs[-1].name)
        return body
    return render


def _creator(typed: bool):
    def render(out: Out, keypair: Keypair) -> dict[str, Any]:
        view = {**_summary(keypair, typed), "user_id": keypair.user_id}
        if keypair.private_key is not None:
            view["private_key"] = keypair.private_key
        return {"keypair": view}
    return render


VIEWS = {
    "#901": Versioned(_lister(False, False), ((2, 2), _lister(True, False)), ((2, 35), _lister(True, True))),
    "#902": Versioned(_creator(False), ((2, 2), _creator(True))),
    "#903": Versioned(lambda out, keypair: {"keypair": _detail(keypair, False)},
                      ((2, 2), lambda out, keypair: {"keypair": _detail(keypair, True)})),
}
STATUSES = {"#902": Versioned(200, ((2, 2), 201)), "#904": Versioned(202, ((2, 2), 204))}
BODIES = {"#902": Versioned(CREATE_SCHEMA_V20, ((2, 1), CREATE_SCHEMA), ((2, 2), CREATE_SCHEMA_V22),
                            ((2, 10), CREATE_SCHEMA_V210), ((2, 92), CREATE_SCHEMA_V292))}
RULES = {"#902": Versioned(SAFE_NAME_CHARS, ((2, 92), SAFE_NAME_CHARS_V292))}  # the characters a new name may use
QUERIES = {"#901": LIST_QUERY, "#903": QUERY, "#904": QUERY}
