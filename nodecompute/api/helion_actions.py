"""Helion's server actions (dialects.md D9, D36, D39): the openstack dispatcher's table with three rows changed.

- `reboot`: every reboot is hard; the status follows the requested type (SOFT shows REBOOT, HARD shows
  HARD_REBOOT): a SOFT request is the core's soft reboot running the hard reboot's work.
- `resize`: 403 `resizeNotAllowed` (confirmResize and revertResize stay as openstack: 409 unless VERIFY_RESIZE).
- `unrescue`: 200 instead of 202 (the dialect's status table).
"""
from __future__ import annotations

from aiohttp import web

from nodecompute.api import auth, server_actions
from nodecompute.api.respond import respond
from nodecompute.api.actions import Action, dispatch
from nodecompute.api.keys import servers_key
from nodecompute.domain.errors import Forbidden
from nodecompute.domain.server_models import ActionRequest


class ResizeNotAllowed(Forbidden):
    """Helion serves no resize (D9)."""

    msg_fmt = "Resize is not allowed."


async def reboot(request: web.Request, body: dict) -> web.StreamResponse:
    hard = body["reboot"]["type"].upper() == "HARD"
    service = request.config_dict[servers_key]
    await service.act(auth.context(request), request.match_info["server_id"],
                      ActionRequest("reboot_hard") if hard else ActionRequest("reboot", work="reboot_hard"))
    return respond(request)


async def resize(request: web.Request, body: dict) -> web.StreamResponse:
    raise ResizeNotAllowed()


ACTIONS = {
    **server_actions.ACTIONS,
    "reboot": server_actions.ACTIONS["reboot"]._replace(handler=reboot),
    "resize": Action("#304", resize, "os_compute_api:servers:resize"),
}


async def server_action(request: web.Request) -> web.StreamResponse:
    return await dispatch(request, ACTIONS, "Malformed message body: too many body keys")


STATUSES = {"#320": 200}
