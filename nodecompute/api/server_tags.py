"""Server tags from 2.26 (#208-#213): list, replace, delete all; check, add, delete one.

Readers list and check; members (or admins) change. The service is `request.config_dict[server_tags_key]`
(compute/server_tags.py). Below 2.26 these routes answer 404 (their rows' `since`).
"""
from __future__ import annotations

import jsonschema
from aiohttp import web

from nodecompute.api import auth, validation
from nodecompute.api.keys import server_tags_key
from nodecompute.api.respond import Reply, check_body, parse_body, respond
from nodecompute.domain.errors import MalformedBody

# Nova's parameter_types.tag (a tag in a body, a query or a path)
TAG = {"type": "string", "pattern": "^[^,/]*$", "minLength": 1, "maxLength": 60}
MAX_TAGS = 50
replace_body = {
    "type": "object",
    "properties": {"tags": {"type": "array", "items": TAG, "maxItems": MAX_TAGS}},
    "required": ["tags"],
    "additionalProperties": False,
}
_tag_validator = jsonschema.Draft202012Validator(TAG)


def tag_error(tag: str) -> str | None:
    """Nova's 400 message for a malformed tag in the path of PUT /servers/{id}/tags/{tag}, or None."""
    error = jsonschema.exceptions.best_match(_tag_validator.iter_errors(tag))
    if error is None:
        return None
    return (f"Tag '{tag}' is invalid. It must be a non empty string without characters '/' and ','. "
            f"Validation error message: {error.message}")


def _target(request: web.Request) -> tuple[str, str]:
    return request.match_info["server_id"], request.match_info.get("tag", "")


async def _no_body(request: web.Request) -> None:
    """PUT .../tags/{tag} takes no body (Nova's schema: null)."""
    raw = await request.read()
    if not raw.strip():
        return
    try:
        body = validation.parse_json(raw)
    except ValueError:
        raise MalformedBody() from None
    check_body(request, body)


async def list_tags(request: web.Request) -> web.StreamResponse:
    server_id, _ = _target(request)
    return respond(request, request.config_dict[server_tags_key].list(auth.context(request), server_id))


async def replace_tags(request: web.Request) -> web.StreamResponse:
    ctx = auth.require_writer(request, "os_compute_api:os-server-tags:update_all")
    body = await parse_body(request)
    server_id, _ = _target(request)
    return respond(request, await request.config_dict[server_tags_key].replace(ctx, server_id, body["tags"]))


async def delete_tags(request: web.Request) -> web.StreamResponse:
    ctx = auth.require_writer(request, "os_compute_api:os-server-tags:delete_all")
    server_id, _ = _target(request)
    await request.config_dict[server_tags_key].delete_all(ctx, server_id)
    return respond(request)


async def check_tag(request: web.Request) -> web.StreamResponse:
    server_id, tag = _target(request)
    request.config_dict[server_tags_key].has(auth.context(request), server_id, tag)
    return respond(request)


async def add_tag(request: web.Request) -> web.StreamResponse:
    ctx = auth.require_writer(request, "os_compute_api:os-server-tags:update")
    await _no_body(request)
    server_id, tag = _target(request)
    added = await request.config_dict[server_tags_key].add(ctx, server_id, tag, tag_error(tag))
    return respond(request, (server_id, tag, added))


async def delete_tag(request: web.Request) -> web.StreamResponse:
    ctx = auth.require_writer(request, "os_compute_api:os-server-tags:delete")
    server_id, tag = _target(request)
    await request.config_dict[server_tags_key].delete(ctx, server_id, tag)
    return respond(request)


def _tags(out, tags: tuple[str, ...]) -> dict:
    return {"tags": list(tags)}


def _added(out, result: tuple[str, str, bool]) -> Reply:
    """201 with the tag's Location when new, 204 when the server already had it."""
    server_id, tag, added = result
    if not added:
        return Reply(status=204)
    return Reply(headers={"Location": f"{out.links.self_href('servers', server_id)}/tags/{tag}"})


VIEWS = {"#208": _tags, "#209": _tags, "#212": _added}
STATUSES = {"#210": 204, "#211": 204, "#212": 201, "#213": 204}
BODIES = {"#209": replace_body, "#212": {"type": "null"}}
