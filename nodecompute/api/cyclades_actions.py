"""Cyclades' server actions (dialects.md D9, D35-D38, D40): the openstack dialect's table less what Cyclades marks
unsupported (changePassword, rebuild, confirmResize, revertResize, createImage: 400 "There is no such action", as
any unknown key), plus `start` (#311, STOPPED -> ACTIVE) and `shutdown` (#312, ACTIVE -> STOPPED), each 202 with
no body and run by the same state machine as os-start and os-stop, and `console` (#1602, api/cyclades_console.py)."""
from __future__ import annotations

from aiohttp import web

from nodecompute.api import cyclades_console, server_actions
from nodecompute.api.actions import Action, dispatch
from nodecompute.api.routing import Route

UNSUPPORTED = frozenset({"changePassword", "rebuild", "confirmResize", "revertResize", "createImage"})
ACTIONS = {
    **{key: action for key, action in server_actions.ACTIONS.items() if key not in UNSUPPORTED},
    "start": Action("#311", server_actions.state_action(server_actions.parse_start), "os_compute_api:servers:start"),
    "shutdown": Action("#312", server_actions.state_action(server_actions.parse_stop),
                       "os_compute_api:servers:stop"),
    "console": Action("#1602", cyclades_console.console, "os_compute_api:os-remote-consoles"),
}


async def server_action(request: web.Request) -> web.StreamResponse:
    return await dispatch(request, ACTIONS, "Malformed message body: too many body keys")


def _empty(key: str) -> dict:
    return {"type": "object", "properties": {key: {}}, "required": [key]}


BODIES = {"#311": _empty("start"), "#312": _empty("shutdown"), **cyclades_console.BODIES}
STATUSES = {"#311": 202, "#312": 202, **cyclades_console.STATUSES}
VIEWS = cyclades_console.VIEWS


def replace_action_route(route: Route) -> Route:
    """The server action row with this module's table."""
    return route._replace(handler=server_action, actions=ACTIONS) if route.op == "#301" else route
