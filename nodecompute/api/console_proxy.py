"""The console listener: noVNC's files and a token-checked websocket spliced to a guest's console UNIX socket.

One application per listener, each on its own port like nova-novncproxy (6080: the noVNC pages plus the VNC
websocket) and nova-serialproxy (6083: the serial websocket only); the daemon starts each on its own TCPSite.

The websocket (path `/` or `/websockify`) takes its token from the query (`?token=`) or else from a `token`
cookie, as Nova's proxy does, and asks the injected `resolve(token)` where it leads. Then it checks `Origin` by
Nova's rules (nova/console/websocketproxy.py): no Origin (a non-browser client) is fine; otherwise the Origin needs
a scheme and a host name, the host name must be the Host header's or one of `allowed_origins`, and the scheme
must match the console URL's (http for http, https for https; for a ws:// or wss:// URL also http or https),
`X-Forwarded-Proto` taking the place of the Origin's scheme when a proxy sent it. A refused websocket (bad token,
bad Origin, the console socket not there) is answered as Nova's proxy (websockify) answers it: the handshake
completes (101), then the connection is closed with no frame and no data (a browser reports code 1006; Tempest's
test_novnc_bad_token expects exactly that); the reason goes to the log. A request that is no websocket upgrade at
all gets 400.

While open, a session is registered in the shared ConsoleSessions, so stopping or deleting the server closes it.
Data flows both ways with backpressure: a direction waits for its destination to drain before it reads more, and
every buffer on the way is bounded.
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Collection
from http import cookies
from pathlib import Path
from urllib.parse import urlsplit

from aiohttp import WSCloseCode, WSMsgType, web

from nodecompute.api.console_sessions import ConsoleSessions
from nodecompute.api.console_static import add_novnc_routes
from nodecompute.domain.console_tokens import ConsoleTarget, ConsoleTokenInvalid

log = logging.getLogger(__name__)

Resolver = Callable[[str], Awaitable[ConsoleTarget]]
CHUNK = 64 * 1024  # one read from the console socket, and the socket's write buffer high-water mark
MAX_MESSAGE = 1024 * 1024  # largest websocket message accepted from a browser
HEARTBEAT = 30.0


class ProxySettings:
    def __init__(self, *, resolve: Resolver, sessions: ConsoleSessions, kinds: Collection[str],
                 allowed_origins: Collection[str], public_scheme: str) -> None:
        self.resolve = resolve
        self.sessions = sessions
        self.kinds = frozenset(kinds)
        self.allowed_origins = frozenset(host.lower() for host in allowed_origins)
        self.expected_schemes = expected_origin_schemes(public_scheme)


proxy_settings_key = web.AppKey("console_proxy_settings", ProxySettings)


def create_console_app(*, resolve: Resolver, sessions: ConsoleSessions, kinds: Collection[str],
                       novnc_dir: Path | None = None, allowed_origins: Collection[str] = (),
                       public_scheme: str = "http") -> web.Application:
    """A console listener's application.

    resolve: token -> ConsoleTarget, raising ConsoleTokenInvalid; kinds: the console kinds this listener serves
    ("novnc" or "serial"); novnc_dir: serve noVNC's files from there (the VNC listener) or nothing (the serial one);
    public_scheme: the scheme of the console URLs handed out (http, https, ws or wss), for the Origin check.
    """
    app = web.Application()
    app[proxy_settings_key] = ProxySettings(resolve=resolve, sessions=sessions, kinds=kinds,
                                            allowed_origins=allowed_origins, public_scheme=public_scheme)
    app.router.add_get("/", console_websocket)
    app.router.add_get("/websockify", console_websocket)
    if novnc_dir is not None:
        add_novnc_routes(app, novnc_dir)
    return app


def expected_origin_schemes(public_scheme: str) -> frozenset[str]:
    schemes = {public_scheme}
    if public_scheme == "ws":
        schemes.add("http")
    if public_scheme == "wss":
        schemes.add("https")
    return frozenset(schemes)


def request_token(request: web.Request) -> str:
    """The last `token` query value, else the last `token` cookie (Nova's order); "" when there is none."""
    values = request.query.getall("token", [])
    if values and values[-1]:
        return values[-1]
    token = ""
    for part in request.headers.get("Cookie", "").split(";"):
        jar: cookies.SimpleCookie = cookies.SimpleCookie()
        try:
            jar.load(part.lstrip())
        except cookies.CookieError:
            log.warning("console request with a malformed cookie")
            continue
        if "token" in jar:
            token = jar["token"].value
    return token


def host_name(host_header: str | None) -> str:
    """The host part of a Host header: 'example.org:6080' -> 'example.org', '[::1]:6080' -> '::1'."""
    try:
        return (urlsplit("//" + host_header).hostname or "").lower() if host_header else ""
    except ValueError:  # "[::1" and the like
        return ""


def origin_refusal(request: web.Request, settings: ProxySettings) -> str | None:
    """Why the request's Origin is refused (Nova's messages), or None when it is acceptable."""
    origin = request.headers.get("Origin")
    if origin is None:
        return None
    try:
        parts = urlsplit(origin)
        hostname = parts.hostname
    except ValueError:
        return "Origin header not valid."
    scheme = request.headers.get("X-Forwarded-Proto", parts.scheme)
    if not hostname or not scheme:
        return "Origin header not valid."
    if hostname not in settings.allowed_origins | {host_name(request.headers.get("Host"))}:
        return "Origin header does not match this host."
    if scheme not in settings.expected_schemes:
        return "Origin header protocol does not match this host."
    return None


async def _dropped(request: web.Request) -> web.WebSocketResponse:
    """Nova's refusal: the websocket handshake, then the connection closed without a close frame or any data."""
    ws = web.WebSocketResponse(protocols=("binary",))
    await ws.prepare(request)
    if request.transport is not None:  # None: the client has gone already
        request.transport.close()  # the 101 already written goes out first
    return ws


async def console_websocket(request: web.Request) -> web.StreamResponse:
    settings = request.config_dict[proxy_settings_key]
    if request.headers.get("Upgrade", "").lower() != "websocket":
        raise web.HTTPBadRequest(text="This is a console websocket: connect with a websocket client.",
                                 headers={"Cache-Control": "no-store"})
    try:
        target = await settings.resolve(request_token(request))
        if target.kind not in settings.kinds:
            raise ConsoleTokenInvalid()
    except ConsoleTokenInvalid:
        log.info("console websocket refused: The token '***' is invalid or has expired")  # Nova's log line
        return await _dropped(request)
    refusal = origin_refusal(request, settings)
    if refusal:
        log.warning("console websocket for server %s refused: %s (Origin %r, Host %r)", target.server_id,
                    refusal, request.headers.get("Origin"), request.headers.get("Host"))
        return await _dropped(request)
    try:
        reader, writer = await asyncio.open_unix_connection(target.socket_path, limit=CHUNK)
    except OSError as exc:
        log.warning("console of server %s unreachable at %s: %s", target.server_id, target.socket_path, exc)
        return await _dropped(request)
    writer.transport.set_write_buffer_limits(high=CHUNK)
    ws = web.WebSocketResponse(protocols=("binary",), max_msg_size=MAX_MESSAGE, heartbeat=HEARTBEAT)
    try:
        await ws.prepare(request)
    except BaseException:
        writer.close()
        raise

    async def close() -> None:
        await ws.close(code=WSCloseCode.GOING_AWAY, message=b"console closed")
        writer.close()

    log.info("console %s of server %s opened", target.kind, target.server_id)
    with settings.sessions.track(target.server_id, close):
        await splice(ws, reader, writer)
    log.info("console %s of server %s closed", target.kind, target.server_id)
    return ws


async def splice(ws: web.WebSocketResponse, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Copies both ways until either side ends, then closes both."""
    directions = {asyncio.create_task(_browser_to_console(ws, writer)),
                  asyncio.create_task(_console_to_browser(reader, ws))}
    try:
        await asyncio.wait(directions, return_when=asyncio.FIRST_COMPLETED)
    finally:
        # Closing each end finishes the direction reading from it: the socket's reader sees EOF, and close()
        # breaks the websocket's receive loop.
        writer.close()
        if not ws.closed:
            await ws.close()
        _, stuck = await asyncio.wait(directions, timeout=5)
        for task in stuck:
            task.cancel()
        for result in await asyncio.gather(*directions, return_exceptions=True):
            if isinstance(result, Exception) and not isinstance(result, ConnectionError):
                log.warning("console splice ended with %r", result)
        with contextlib.suppress(OSError):
            await writer.wait_closed()


async def _browser_to_console(ws: web.WebSocketResponse, writer: asyncio.StreamWriter) -> None:
    async for message in ws:
        if message.type is WSMsgType.BINARY:
            writer.write(message.data)
        elif message.type is WSMsgType.TEXT:  # serial clients may send keystrokes as text
            writer.write(message.data.encode("utf-8"))
        else:
            break
        await writer.drain()


async def _console_to_browser(reader: asyncio.StreamReader, ws: web.WebSocketResponse) -> None:
    while data := await reader.read(CHUNK):
        await ws.send_bytes(data)
