"""The resize (#304), confirmResize (#305) and revertResize (#306) server actions: Nova's schemas, one call to the
server service's resizes (compute/resize.py), Nova's statuses (202, confirmResize 204). A resize's OS-DCF:diskConfig
becomes the server's as Nova sets it (AUTO only when asked: domain/disk_config.py); the guest grows its own file
system either way."""
from __future__ import annotations

from aiohttp import web

from nodecompute.api import auth
from nodecompute.api.actions import Action
from nodecompute.api.keys import servers_key
from nodecompute.api.respond import respond
from nodecompute.api.server_schemas import disk_config

_RESIZE = {"type": "object", "properties": {"resize": {
    "type": "object", "properties": {"flavorRef": {"type": ["string", "integer"], "minLength": 1},
                                     "OS-DCF:diskConfig": disk_config},
    "required": ["flavorRef"], "additionalProperties": False}}, "required": ["resize"], "additionalProperties": False}


def _any_value(key: str) -> dict:
    """Nova takes any value under confirmResize and revertResize (`null` by convention) and looks into none."""
    return {"type": "object", "properties": {key: {}}, "required": [key], "additionalProperties": False}


async def resize(request: web.Request, body: dict) -> web.StreamResponse:
    await request.config_dict[servers_key].resizes.resize(auth.context(request), request.match_info["server_id"],
                                                          body["resize"]["flavorRef"],
                                                          body["resize"].get("OS-DCF:diskConfig"))
    return respond(request)


async def confirm_resize(request: web.Request, body: dict) -> web.StreamResponse:
    await request.config_dict[servers_key].resizes.confirm(auth.context(request), request.match_info["server_id"])
    return respond(request)


async def revert_resize(request: web.Request, body: dict) -> web.StreamResponse:
    await request.config_dict[servers_key].resizes.revert(auth.context(request), request.match_info["server_id"])
    return respond(request)


ACTIONS = {
    "resize": Action("#304", resize, "os_compute_api:servers:resize"),
    "confirmResize": Action("#305", confirm_resize, "os_compute_api:servers:confirm_resize"),
    "revertResize": Action("#306", revert_resize, "os_compute_api:servers:revert_resize"),
}
STATUSES = {"#304": 202, "#305": 204, "#306": 202}
BODIES = {"#304": _RESIZE, "#305": _any_value("confirmResize"), "#306": _any_value("revertResize")}
