"""POST /servers/{server_id}/action (#301): reboot (#302), os-start (#309), os-stop (#310), os-getConsoleOutput
(#1603).

ACTIONS is the dispatcher's table (api/actions.py): action key -> operation, handler, policy. The policy (a writer
of the server's project) is checked before the body; the body is checked against the dialect's schema of the
action's operation; the dialect's view and status answer.
"""
from __future__ import annotations

from aiohttp import web

from nodecompute.api import auth
from nodecompute.api.actions import Action, dispatch
from nodecompute.api.keys import servers_key
from nodecompute.api.respond import respond


def _target(request: web.Request):
    return request.config_dict[servers_key], auth.context(request), request.match_info["server_id"]


async def action_reboot(request: web.Request, body: dict) -> web.StreamResponse:
    service, ctx, server_id = _target(request)
    await service.reboot(ctx, server_id, hard=body["reboot"]["type"].upper() == "HARD")
    return respond(request)


async def action_start(request: web.Request, body: dict) -> web.StreamResponse:
    service, ctx, server_id = _target(request)
    await service.start_server(ctx, server_id)
    return respond(request)


async def action_stop(request: web.Request, body: dict) -> web.StreamResponse:
    service, ctx, server_id = _target(request)
    await service.stop_server(ctx, server_id)
    return respond(request)


async def action_console_output(request: web.Request, body: dict) -> web.StreamResponse:
    service, ctx, server_id = _target(request)
    length = body["os-getConsoleOutput"].get("length")
    lines = None if length is None or int(length) == -1 else int(length)
    return respond(request, service.console_output(ctx, server_id, lines))


ACTIONS = {
    "reboot": Action("#302", action_reboot, "os_compute_api:servers:reboot"),
    "os-start": Action("#309", action_start, "os_compute_api:servers:start"),
    "os-stop": Action("#310", action_stop, "os_compute_api:servers:stop"),
    "os-getConsoleOutput": Action("#1603", action_console_output, "os_compute_api:os-console-output"),
}


async def server_action(request: web.Request) -> web.StreamResponse:
    return await dispatch(request, ACTIONS, "Malformed message body: too many body keys")


VIEWS = {"#1603": lambda out, output: {"output": output}}
STATUSES = {"#302": 202, "#309": 202, "#310": 202}
