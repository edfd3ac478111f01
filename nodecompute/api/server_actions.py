"""POST /servers/{server_id}/action: dispatch on the body's single key (#301, #302, #309, #310, #1603).

ACTIONS maps an action key to its handler `(request, ctx, server_id, body) -> response`; the dispatcher parses the
body, refuses anything but exactly one key, and answers an unknown key with Nova's "There is no such action".
"""
from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web

from nodecompute.api import auth
from nodecompute.api import server_schemas as schemas
from nodecompute.api.faults import json_response
from nodecompute.api.keys import servers_key
from nodecompute.api.validation import json_body, validate
from nodecompute.compute.errors import BadRequest, MalformedBody
from nodecompute.compute.models import AuthContext

ActionHandler = Callable[[web.Request, AuthContext, str, dict], Awaitable[web.Response]]



def _accepted() -> web.Response:
    return web.Response(status=202)


async def action_reboot(request: web.Request, ctx: AuthContext, server_id: str, body: dict) -> web.Response:
    validate(schemas.for_request(request, schemas.reboot), body)
    await request.config_dict[servers_key].reboot(ctx, server_id, hard=body["reboot"]["type"].upper() == "HARD")
    return _accepted()


async def action_start(request: web.Request, ctx: AuthContext, server_id: str, body: dict) -> web.Response:
    await request.config_dict[servers_key].start_server(ctx, server_id)
    return _accepted()


async def action_stop(request: web.Request, ctx: AuthContext, server_id: str, body: dict) -> web.Response:
    await request.config_dict[servers_key].stop_server(ctx, server_id)
    return _accepted()


async def action_console_output(request: web.Request, ctx: AuthContext, server_id: str, body: dict) -> web.Response:
    validate(schemas.for_request(request, schemas.console_output), body)
    length = body["os-getConsoleOutput"].get("length")
    lines = None if length is None or int(length) == -1 else int(length)
    output = request.config_dict[servers_key].console_output(ctx, server_id, lines)
    return json_response({"output": output})


# action key -> (policy rule, handler)
ACTIONS: dict[str, tuple[str, ActionHandler]] = {
    "reboot": ("os_compute_api:servers:reboot", action_reboot),
    "os-start": ("os_compute_api:servers:start", action_start),
    "os-stop": ("os_compute_api:servers:stop", action_stop),
    "os-getConsoleOutput": ("os_compute_api:os-console-output", action_console_output),
}


def action_key(body: dict) -> str:
    """The single action key of a parsed body (Nova's action_peek)."""
    if len(body) != 1:
        raise MalformedBody("Malformed message body: too many body keys")
    return next(iter(body))


async def server_action(request: web.Request) -> web.Response:
    body = await json_body(request)
    key = action_key(body)
    if key not in ACTIONS:
        raise BadRequest(f"There is no such action: {key}")
    rule, handler = ACTIONS[key]
    ctx = auth.require_writer(request, rule)
    return await handler(request, ctx, request.match_info["server_id"], body)


ROUTES = [
    ("POST", "/servers/{server_id}/action", server_action),
]
