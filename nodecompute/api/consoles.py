"""Console URLs (Nova's remote_consoles controller): the actions os-getVNCConsole (#1601) and os-getSerialConsole
(#1608) up to 2.5 (os-getSPICEConsole and os-getRDPConsole, with no checklist row, stay with the catalog's answer;
remote-consoles answers SPICE as Nova without SPICE does), and POST /servers/{server_id}/remote-consoles (#1607)
from 2.6. Each parses its body and asks the console service (compute/consoles.py) for a URL; the listeners that
answer the URLs are api/console_proxy.py, started by the app (docs/consoles.md)."""
from __future__ import annotations

import copy

from aiohttp import web

from nodecompute.api import auth, validation
from nodecompute.api.actions import Action
from nodecompute.api.dialect import Versioned
from nodecompute.api.keys import consoles_key
from nodecompute.api.respond import check_body, respond

POLICY = "os_compute_api:os-remote-consoles"
# action key -> (protocol, the op id)
_ACTION_PROTOCOL = {"os-getVNCConsole": "vnc", "os-getSerialConsole": "serial"}


async def console_url(request: web.Request, protocol: str, console_type: str) -> str:
    return await request.config_dict[consoles_key].get_console(
        auth.context(request), request.match_info["server_id"], protocol, console_type)


def _action(key: str):
    async def handler(request: web.Request, body: dict) -> web.StreamResponse:
        console_type = body[key]["type"]
        return respond(request, (console_type, await console_url(request, _ACTION_PROTOCOL[key], console_type)))

    return handler


async def create_remote_console(request: web.Request) -> web.StreamResponse:
    """#1607: {"remote_console": {"protocol", "type"}} -> {"remote_console": {"protocol", "type", "url"}}."""
    auth.require_writer(request, POLICY)
    body = check_body(request, await validation.json_body(request))
    protocol, console_type = body["remote_console"]["protocol"], body["remote_console"]["type"]
    return respond(request, (protocol, console_type, await console_url(request, protocol, console_type)))


ACTIONS = {
    "os-getVNCConsole": Action("#1601", _action("os-getVNCConsole"), POLICY, until=(2, 5)),
    "os-getSerialConsole": Action("#1608", _action("os-getSerialConsole"), POLICY, until=(2, 5)),
}


def _type_action(key: str, types: list[str]) -> dict:
    inner = {"type": "object", "properties": {"type": {"type": "string", "enum": types}}, "required": ["type"],
             "additionalProperties": False}
    return {"type": "object", "properties": {key: inner}, "required": [key], "additionalProperties": False}


remote_console_v26 = {
    "type": "object",
    "properties": {"remote_console": {
        "type": "object",
        "properties": {"protocol": {"type": "string", "enum": ["vnc", "spice", "serial", "rdp"]},
                       "type": {"type": "string",
                                "enum": ["novnc", "xvpvnc", "spice-html5", "serial", "rdp-html5"]}},
        "required": ["protocol", "type"], "additionalProperties": False}},
    "required": ["remote_console"], "additionalProperties": False,
}
remote_console_v28 = copy.deepcopy(remote_console_v26)
remote_console_v28["properties"]["remote_console"]["properties"]["protocol"]["enum"].append("mks")
remote_console_v28["properties"]["remote_console"]["properties"]["type"]["enum"].append("webmks")
remote_console_v299 = copy.deepcopy(remote_console_v28)
remote_console_v299["properties"]["remote_console"]["properties"]["type"]["enum"].append("spice-direct")

BODIES = {
    "#1601": _type_action("os-getVNCConsole", ["novnc", "xvpvnc"]),
    "#1608": _type_action("os-getSerialConsole", ["serial"]),
    "#1607": Versioned(remote_console_v26, ((2, 8), remote_console_v28), ((2, 99), remote_console_v299)),
}


def _console_view(out, result) -> dict:
    console_type, url = result
    return {"console": {"type": console_type, "url": url}}


VIEWS = {
    "#1601": _console_view, "#1608": _console_view,
    "#1607": lambda out, result: {"remote_console": {"protocol": result[0], "type": result[1], "url": result[2]}},
}
STATUSES = {"#1601": 200, "#1608": 200, "#1607": 200}
