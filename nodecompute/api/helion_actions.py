"""Helion's server actions (dialects.md D9, D36, D39): the openstack dispatcher's table with three rows changed.

- `reboot`: every reboot is hard; the status follows the requested type (SOFT shows REBOOT, HARD shows
  HARD_REBOOT): a SOFT request is the core's soft reboot running the hard reboot's work.
- `resize`: 403 `resizeNotAllowed` (confirmResize and revertResize stay as openstack: 409 unless VERIFY_RESIZE).
- `unrescue`: 200 instead of 202 (the dialect's status table).
- `os-getVNCConsole`: the URL is `<console base>/vnc_auto.html?token=<token>&title=<name>(<uuid>)` (D41; the
  console listener's vnc_auto.html hands the token on to vnc_lite.html).
"""
from __future__ import annotations

from urllib.parse import parse_qs, quote, urlsplit

from aiohttp import web

from nodecompute.api import auth, consoles, server_actions
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


def helion_console_url(nova_url: str, name: str, uuid: str) -> str:
    """Nova's `<base>?path=%3Ftoken%3D<token>` as Helion's `<base dir>/vnc_auto.html?token=<token>&title=...`."""
    parts = urlsplit(nova_url)
    path = parse_qs(parts.query).get("path", [""])[0]
    token = parse_qs(urlsplit(path).query).get("token", [""])[0]
    base = f"{parts.scheme}://{parts.netloc}{parts.path.rsplit('/', 1)[0]}"
    return f"{base}/vnc_auto.html?token={quote(token, safe='')}&title={quote(f'{name}({uuid})', safe='()')}"


async def vnc_console(request: web.Request, body: dict) -> web.StreamResponse:
    console_type = body["os-getVNCConsole"]["type"]
    ctx = auth.context(request)
    server = request.config_dict[servers_key].get(ctx, request.match_info["server_id"])
    url = await consoles.console_url(request, "vnc", console_type)
    return respond(request, (console_type, helion_console_url(url, server.name, server.uuid)))


ACTIONS = {
    **server_actions.ACTIONS,
    "reboot": server_actions.ACTIONS["reboot"]._replace(handler=reboot),
    "resize": Action("#304", resize, "os_compute_api:servers:resize"),
    "os-getVNCConsole": server_actions.ACTIONS["os-getVNCConsole"]._replace(handler=vnc_console),
}


async def server_action(request: web.Request) -> web.StreamResponse:
    return await dispatch(request, ACTIONS, "Malformed message body: too many body keys")


STATUSES = {"#320": 200}
