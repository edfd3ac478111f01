"""POST /servers/{server_id}/action (#301): reboot (#302), os-start (#309), os-stop (#310), os-getConsoleOutput
(#1603).

ACTIONS is the dispatcher's table (api/actions.py): action key -> operation, handler, policy. The policy (a writer
of the server's project) is checked before the body; the body is checked against the dialect's schema of the
action's operation, then parsed by a pure `parse_*` function into its request object; the dialect's view and
status answer. An action that changes the server's states is `state_action(parse)`: the service runs it from its
row in domain/states.py ACTIONS (compute/server_actions.py). Adding pause here is `parse_pause` and a row below.
"""
from __future__ import annotations

from collections.abc import Callable

from aiohttp import web

from nodecompute.api import auth, consoles
from nodecompute.api.actions import Action, ActionHandler, dispatch
from nodecompute.api.keys import servers_key
from nodecompute.api.respond import respond
from nodecompute.domain.server_models import ActionRequest, ConsoleOutputRequest


def parse_reboot(body: dict) -> ActionRequest:
    """{"reboot": {"type": "SOFT"|"HARD"}} (any case, the schema checked it)."""
    return ActionRequest("reboot_hard" if body["reboot"]["type"].upper() == "HARD" else "reboot")


def parse_start(body: dict) -> ActionRequest:
    return ActionRequest("start")


def parse_stop(body: dict) -> ActionRequest:
    return ActionRequest("stop")


def parse_console_output(body: dict) -> ConsoleOutputRequest:
    """`length` may be a number or a numeric string; absent, null and -1 mean every line."""
    length = (body["os-getConsoleOutput"] or {}).get("length")
    return ConsoleOutputRequest(None if length is None or int(length) == -1 else int(length))


def state_action(parse: Callable[[dict], ActionRequest]) -> ActionHandler:
    """The handler of an action the server service runs from its states table: parse, act, 202."""

    async def handler(request: web.Request, body: dict) -> web.StreamResponse:
        service = request.config_dict[servers_key]
        await service.act(auth.context(request), request.match_info["server_id"], parse(body))
        return respond(request)

    return handler


async def action_console_output(request: web.Request, body: dict) -> web.StreamResponse:
    service = request.config_dict[servers_key]
    req = parse_console_output(body)
    return respond(request, service.console_output(auth.context(request), request.match_info["server_id"],
                                                   req.length))


ACTIONS = {
    "reboot": Action("#302", state_action(parse_reboot), "os_compute_api:servers:reboot"),
    "os-start": Action("#309", state_action(parse_start), "os_compute_api:servers:start"),
    "os-stop": Action("#310", state_action(parse_stop), "os_compute_api:servers:stop"),
    "os-getConsoleOutput": Action("#1603", action_console_output, "os_compute_api:os-console-output"),
    **consoles.ACTIONS,
}


async def server_action(request: web.Request) -> web.StreamResponse:
    return await dispatch(request, ACTIONS, "Malformed message body: too many body keys")


VIEWS = {"#1603": lambda out, output: {"output": output}}
STATUSES = {"#302": 202, "#309": 202, "#310": 202}
