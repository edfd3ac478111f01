"""Cyclades' `console` action (#1602, #1606; dialects.md D41): `{"console": {"type": "vnc"}}` answers 200
`{"console": {"type", "host", "port", "password"}}`, a one-shot authenticating listener of api/vnc_auth_proxy.py
for the guest's display socket: a fresh 8-character password per call, one connection within
`[console] vncauth_window` seconds, on a port of `[console] vncauth_port_min..max`, bound on `[console]
listen_host`. `host` is the public host of `[server] public_url` (never 127.0.0.1 unless that is the public URL).

The proxy is made on the first console call and closed with the face (`on_mount` gives the face a cleanup
context); a server's stop or delete closes its Cyclades consoles too, through the console service's
`close_sessions` hook, chained after the listeners' own.
"""
from __future__ import annotations

from collections.abc import AsyncIterator
from urllib.parse import urlsplit

from aiohttp import web

from nodecompute.api import auth
from nodecompute.api.keys import config_key, consoles_key, servers_key
from nodecompute.api.respond import respond
from nodecompute.api.vnc_auth_proxy import ConsoleUnavailable, VncAuthProxy, VncConsole
from nodecompute.domain import states
from nodecompute.domain.errors import BadRequest, Conflict, ComputeError
from nodecompute.domain.models import AuthContext

proxy_key = web.AppKey("cyclades_vnc_proxy", dict)  # {"proxy": VncAuthProxy} once made


class NoConsolePort(ComputeError):
    code = 503
    msg_fmt = "No console port is free"


def on_mount(root: web.Application, sub: web.Application) -> None:
    holder: dict[str, VncAuthProxy] = {}
    sub[proxy_key] = holder

    async def close_proxy(app: web.Application) -> AsyncIterator[None]:
        yield
        proxy = holder.pop("proxy", None)
        if proxy is not None:
            await proxy.close()

    sub.cleanup_ctx.append(close_proxy)


def _proxy(request: web.Request) -> VncAuthProxy:
    holder = request.app[proxy_key]
    if "proxy" not in holder:
        cfg = request.config_dict[config_key]
        proxy = VncAuthProxy(host=cfg.console.listen_host, port_min=cfg.console.vncauth_port_min,
                             port_max=cfg.console.vncauth_port_max, window=float(cfg.console.vncauth_window),
                             public_host=urlsplit(cfg.public_url).hostname or cfg.console.listen_host)
        consoles = request.config_dict.get(consoles_key)
        if consoles is not None:
            earlier = consoles.close_sessions

            async def close_sessions(server_id: str) -> int:
                closed = await earlier(server_id) if earlier is not None else 0
                return closed + await proxy.sessions.close_server(server_id)

            consoles.close_sessions = close_sessions
        holder["proxy"] = proxy
    return holder["proxy"]


async def console(request: web.Request, body: dict) -> web.StreamResponse:
    ctx: AuthContext = auth.context(request)
    if body["console"].get("type") != "vnc":
        raise BadRequest("Type can only be 'vnc'")
    server = request.config_dict[servers_key].get(ctx, request.match_info["server_id"])
    if server.vm_state != states.ACTIVE or server.power_state != states.RUNNING:
        raise Conflict("Server not in ACTIVE state")
    socket_path = request.config_dict[consoles_key].guests.display_socket(server.uuid)
    try:
        opened = await _proxy(request).open(server.uuid, str(socket_path))
    except ConsoleUnavailable:
        raise NoConsolePort() from None
    return respond(request, opened)


def _view(out, opened: VncConsole) -> dict:
    return {"console": {"type": "vnc", "host": opened.host, "port": opened.port, "password": opened.password}}


BODIES = {"#1602": {"type": "object", "required": ["console"], "properties": {"console": {
    "type": "object", "required": ["type"], "properties": {"type": {"type": "string"}}}}}}
VIEWS = {"#1602": _view}
STATUSES = {"#1602": 200}
