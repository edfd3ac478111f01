"""The console listener: token-checked websocket spliced to a console UNIX socket, Origin as Nova checks it,
revocation, backpressure; noVNC's files with their types, caching and CSP.

A fake console (a UNIX socket server that greets, echoes and records) stands in for a guest's display or serial
port; the listener runs on a real loopback port through aiohttp's test client.
"""
from __future__ import annotations

import asyncio
import base64
import hashlib
import logging
import shutil
import tempfile
from pathlib import Path

import aiohttp
import pytest

from nodecompute.api.console_proxy import create_console_app
from nodecompute.api.console_sessions import ConsoleSessions
from nodecompute.domain.console_tokens import ConsoleTarget, ConsoleTokenInvalid
from tests.console_refusal import assert_dropped

GREETING = b"RFB 003.008\n"
SERVER_A = "aaaaaaaa-0000-4000-8000-000000000001"
SERVER_B = "bbbbbbbb-0000-4000-8000-000000000002"


class FakeConsole:
    """A UNIX socket server: greets each client, echoes what it gets, and records when a client goes away."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.received = bytearray()
        self.clients_gone = 0
        self.flood_bytes = 0  # when set, sends this much instead of echoing
        self.flooded = 0
        self.server: asyncio.AbstractServer | None = None

    async def start(self) -> FakeConsole:
        self.server = await asyncio.start_unix_server(self._client, str(self.path))
        return self

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(GREETING)
        try:
            if self.flood_bytes:
                block = b"x" * 65536
                while self.flooded < self.flood_bytes:
                    writer.write(block)
                    await writer.drain()
                    self.flooded += len(block)
            while data := await reader.read(65536):
                self.received += data
                writer.write(data)
                await writer.drain()
        except ConnectionError:
            pass
        finally:
            self.clients_gone += 1
            writer.close()

    async def stop(self) -> None:
        self.server.close()
        await self.server.wait_closed()


@pytest.fixture
def short_dir():
    path = Path(tempfile.mkdtemp(prefix="nccon-"))  # UNIX socket paths stay far below 107 bytes
    yield path
    shutil.rmtree(path)


@pytest.fixture
async def consoles(short_dir):
    vnc = await FakeConsole(short_dir / "a-vnc.sock").start()
    serial = await FakeConsole(short_dir / "a-serial.sock").start()
    other = await FakeConsole(short_dir / "b-vnc.sock").start()
    yield {"vnc": vnc, "serial": serial, "other": other}
    for console in (vnc, serial, other):
        await console.stop()


@pytest.fixture
def targets(consoles, short_dir):
    return {
        "tok-vnc-a": ConsoleTarget("novnc", str(consoles["vnc"].path), SERVER_A),
        "tok-serial-a": ConsoleTarget("serial", str(consoles["serial"].path), SERVER_A),
        "tok-vnc-b": ConsoleTarget("novnc", str(consoles["other"].path), SERVER_B),
        "tok-gone": ConsoleTarget("novnc", str(short_dir / "missing.sock"), SERVER_A),
    }


@pytest.fixture
def sessions():
    return ConsoleSessions()


@pytest.fixture
def make_listener(aiohttp_client, targets, sessions):
    async def resolve(token: str) -> ConsoleTarget:
        if token not in targets:
            raise ConsoleTokenInvalid()
        return targets[token]

    async def make(kinds=("novnc",), **options) -> aiohttp.ClientSession:
        return await aiohttp_client(create_console_app(resolve=resolve, sessions=sessions, kinds=kinds, **options))

    return make


async def receive_exactly(ws, size: int) -> bytes:
    data = bytearray()
    while len(data) < size:
        message = await asyncio.wait_for(ws.receive(), 5)
        assert message.type is aiohttp.WSMsgType.BINARY, message
        data += message.data
    return bytes(data)


async def refused(client, url: str, caplog, headers: dict[str, str] | None = None) -> str:
    """The listener takes the handshake and drops the connection with nothing sent (Nova's refusal); returns what it
    logged for it (the reason is never sent)."""
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="nodecompute.api.console_proxy"):
        await assert_dropped(str(client.make_url(url)), headers)
    return caplog.text


TOKEN_LOG = "console websocket refused: The token '***' is invalid or has expired"


async def test_a_valid_token_reaches_its_console_both_ways(make_listener, consoles):
    client = await make_listener()
    ws = await client.ws_connect("/?token=tok-vnc-a", protocols=("binary",))
    assert ws.protocol == "binary"
    assert await receive_exactly(ws, len(GREETING)) == GREETING
    await ws.send_bytes(b"RFB 003.008\n\x01")
    assert await receive_exactly(ws, 13) == b"RFB 003.008\n\x01"
    await ws.close()
    await asyncio.sleep(0.1)
    assert bytes(consoles["vnc"].received) == b"RFB 003.008\n\x01"
    assert consoles["other"].received == b""  # server B's display was never touched
    assert consoles["vnc"].clients_gone == 1  # the browser's close closed the console socket


async def test_websockify_path_cookie_token_and_no_subprotocol(make_listener):
    client = await make_listener()
    ws = await client.ws_connect("/websockify", headers={"Cookie": "other=1; token=tok-vnc-a"})
    assert ws.protocol is None
    assert await receive_exactly(ws, len(GREETING)) == GREETING
    await ws.close()


async def test_the_query_token_wins_over_the_cookie(make_listener):
    client = await make_listener()
    ws = await client.ws_connect("/?token=tok-vnc-b", headers={"Cookie": "token=tok-vnc-a"})
    await receive_exactly(ws, len(GREETING))
    await ws.send_bytes(b"to-b")
    assert await receive_exactly(ws, 4) == b"to-b"
    await ws.close()


@pytest.mark.parametrize("url", ["/?token=nope", "/", "/?token=", "/?token=tok-serial-a", "/websockify?x=tok-vnc-a"])
async def test_bad_missing_or_foreign_kind_tokens_are_refused(make_listener, url, consoles, caplog):
    client = await make_listener()
    assert TOKEN_LOG in await refused(client, url, caplog)
    assert consoles["vnc"].clients_gone == 0 and consoles["serial"].clients_gone == 0


async def test_the_serial_listener_takes_serial_tokens_and_text_frames(make_listener, consoles, caplog):
    client = await make_listener(kinds=("serial",), public_scheme="ws")
    assert TOKEN_LOG in await refused(client, "/?token=tok-vnc-a", caplog)
    ws = await client.ws_connect("/?token=tok-serial-a")
    await receive_exactly(ws, len(GREETING))
    await ws.send_str("uname -a\r")
    assert await receive_exactly(ws, 9) == b"uname -a\r"
    await ws.close()
    assert (await client.get("/vnc_lite.html")).status == 404  # no noVNC files on the serial listener


@pytest.mark.parametrize("headers, scheme", [
    ({}, "http"),  # no Origin: a non-browser client
    ({"Origin": "http://127.0.0.1:9999"}, "http"),  # the port does not matter, the host name does
    ({"Origin": "http://dashboard.example.org"}, "http"),  # allowed_origins
    ({"Origin": "HTTP://Dashboard.Example.ORG"}, "http"),
    ({"Origin": "http://127.0.0.1"}, "ws"),  # a ws:// console URL accepts an http page
    ({"Origin": "https://127.0.0.1"}, "wss"),
    ({"Origin": "http://127.0.0.1", "X-Forwarded-Proto": "https"}, "https"),  # TLS ended by a proxy
])
async def test_acceptable_origins(make_listener, headers, scheme):
    client = await make_listener(public_scheme=scheme, allowed_origins=("dashboard.example.org",))
    ws = await client.ws_connect("/?token=tok-vnc-a", headers=headers)
    assert await receive_exactly(ws, len(GREETING)) == GREETING
    await ws.close()


@pytest.mark.parametrize("headers, scheme, reason", [
    ({"Origin": "http://evil.example.com"}, "http", "Origin header does not match this host."),
    ({"Origin": "http://127.0.0.1.evil.example.com"}, "http", "Origin header does not match this host."),
    ({"Origin": "null"}, "http", "Origin header not valid."),
    ({"Origin": "127.0.0.1"}, "http", "Origin header not valid."),
    ({"Origin": "http://[::1"}, "http", "Origin header not valid."),
    ({"Origin": "http://127.0.0.1", "Host": "[::1"}, "http", "Origin header does not match this host."),
    ({"Origin": "https://127.0.0.1"}, "http", "Origin header protocol does not match this host."),
    ({"Origin": "http://127.0.0.1"}, "https", "Origin header protocol does not match this host."),
    ({"Origin": "https://127.0.0.1", "X-Forwarded-Proto": "http"}, "https",
     "Origin header protocol does not match this host."),
])
async def test_refused_origins(make_listener, headers, scheme, reason, consoles, caplog):
    client = await make_listener(public_scheme=scheme)
    assert f"refused: {reason} (Origin" in await refused(client, "/?token=tok-vnc-a", caplog, headers)
    assert consoles["vnc"].clients_gone == 0  # the console socket was never opened


async def test_a_missing_console_socket_drops_the_websocket_and_a_plain_get_is_400(make_listener, caplog):
    client = await make_listener()
    assert "unreachable at" in await refused(client, "/?token=tok-gone", caplog)
    resp = await client.get("/?token=tok-vnc-a")
    assert resp.status == 400


async def test_revocation_closes_the_servers_open_sessions_only(make_listener, sessions, consoles):
    client = await make_listener()
    first = await client.ws_connect("/?token=tok-vnc-a")
    second = await client.ws_connect("/websockify?token=tok-vnc-a")
    other = await client.ws_connect("/?token=tok-vnc-b")
    for ws in (first, second, other):
        await receive_exactly(ws, len(GREETING))
    assert sessions.count(SERVER_A) == 2 and sessions.count(SERVER_B) == 1
    assert await sessions.close_server(SERVER_A) == 2
    for ws in (first, second):
        message = await asyncio.wait_for(ws.receive(), 5)
        assert message.type is aiohttp.WSMsgType.CLOSE and message.data == aiohttp.WSCloseCode.GOING_AWAY
    await asyncio.sleep(0.1)
    assert consoles["vnc"].clients_gone == 2 and sessions.count(SERVER_A) == 0
    await other.send_bytes(b"still here")
    assert await receive_exactly(other, 10) == b"still here"
    await other.close()
    await asyncio.sleep(0.1)
    assert sessions.count() == 0


async def test_the_console_going_away_closes_the_websocket(make_listener, consoles):
    client = await make_listener()
    ws = await client.ws_connect("/?token=tok-vnc-a")
    await receive_exactly(ws, len(GREETING))
    await consoles["vnc"].stop()  # the guest's QEMU dies: close the accepted connection too
    for task in asyncio.all_tasks():
        if task.get_coro().__qualname__ == "FakeConsole._client":
            task.cancel()
    message = await asyncio.wait_for(ws.receive(), 5)
    assert message.type is aiohttp.WSMsgType.CLOSE and message.data == aiohttp.WSCloseCode.OK


async def test_a_slow_browser_holds_the_console_back(make_listener, consoles):
    """Backpressure: while the browser reads nothing, the proxy stops reading the console (bounded buffers)."""
    total = 96 * 1024 * 1024
    consoles["vnc"].flood_bytes = total
    client = await make_listener()
    ws = await client.ws_connect("/?token=tok-vnc-a", max_msg_size=0)
    stalled_at, deadline = -1, asyncio.get_running_loop().time() + 20
    while consoles["vnc"].flooded != stalled_at:  # until the console side stops making progress
        assert asyncio.get_running_loop().time() < deadline, "the console side never stalled"
        stalled_at = consoles["vnc"].flooded
        await asyncio.sleep(0.5)
    print(f"console bytes read by the proxy while the browser read nothing: {stalled_at}")
    assert stalled_at < total / 4, "the proxy kept reading a console nobody read"
    received = 0
    while received < total + len(GREETING):
        message = await asyncio.wait_for(ws.receive(), 10)
        received += len(message.data)
    assert received == total + len(GREETING)
    await ws.close()


# --- noVNC's files ---------------------------------------------------------------------------------------------

LITE_SCRIPT = b"\n        import RFB from './core/rfb.js';\n        const path = 'websockify';\n    "
LITE_PAGE = (b"<!DOCTYPE html><html><head><style>body{margin:0}</style>"
             b"<script type=\"module\" crossorigin=\"anonymous\">" + LITE_SCRIPT + b"</script>"
             b"<script src=\"app/error-handler.js\"></script></head><body></body></html>")


@pytest.fixture
def novnc_dir(tmp_path):
    root = tmp_path / "novnc"
    (root / "core").mkdir(parents=True)
    (root / "vnc_lite.html").write_bytes(LITE_PAGE)
    (root / "core" / "rfb.js").write_text("export default class RFB {}\n")
    (root / "app" / "images").mkdir(parents=True)
    (root / "app" / "images" / "x.svg").write_text("<svg/>")
    (root / ".deb-version").write_text("1:1.3.0-1\n")
    (root / "utils").mkdir()
    (root / "utils" / "novnc_proxy").write_text("#!/bin/sh\n")
    (tmp_path / "secret.html").write_text("outside")
    (root / "escape.html").symlink_to(tmp_path / "secret.html")
    return root


async def test_pages_are_not_cached_and_carry_a_csp_with_their_inline_script_hash(make_listener, novnc_dir):
    client = await make_listener(novnc_dir=novnc_dir)
    resp = await client.get("/vnc_lite.html?path=%3Ftoken%3Dtok-vnc-a")
    assert resp.status == 200 and await resp.read() == LITE_PAGE
    assert resp.headers["Content-Type"] == "text/html; charset=utf-8"
    assert resp.headers["Cache-Control"] == "no-store"
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert resp.headers["Referrer-Policy"] == "no-referrer"
    csp = dict(part.strip().split(" ", 1) for part in resp.headers["Content-Security-Policy"].split(";"))
    digest = base64.b64encode(hashlib.sha256(LITE_SCRIPT).digest()).decode()
    assert csp["script-src"] == f"'self' 'sha256-{digest}'"  # only this page's own inline script
    assert csp["connect-src"] == "'self'" and csp["default-src"] == "'none'" and csp["object-src"] == "'none'"


@pytest.mark.parametrize("path, content_type", [
    ("/core/rfb.js", "text/javascript; charset=utf-8"),
    ("/app/images/x.svg", "image/svg+xml"),
])
async def test_files_have_proper_types(make_listener, novnc_dir, path, content_type):
    client = await make_listener(novnc_dir=novnc_dir)
    resp = await client.get(path)
    assert resp.status == 200 and resp.headers["Content-Type"] == content_type
    assert resp.headers["Cache-Control"] == "no-cache" and "Content-Security-Policy" not in resp.headers


@pytest.mark.parametrize("path", ["/.deb-version", "/utils/novnc_proxy", "/escape.html", "/core/../../secret.html",
                                  "/core/%2e%2e/%2e%2e/secret.html", "/nothing.js", "/core/"])
async def test_nothing_else_is_served(make_listener, novnc_dir, path):
    client = await make_listener(novnc_dir=novnc_dir)
    resp = await client.get(path)
    assert resp.status == 404, path


async def test_vnc_auto_hands_the_token_to_the_websocket_path(make_listener, novnc_dir):
    client = await make_listener(novnc_dir=novnc_dir)
    resp = await client.get("/vnc_auto.html?token=tok-vnc-a&title=vm1(0b9c)", allow_redirects=False)
    assert resp.status == 302 and resp.headers["Cache-Control"] == "no-store"
    assert resp.headers["Location"] == "vnc_lite.html?path=%3Ftoken%3Dtok-vnc-a"
    resp = await client.get("/vnc_auto.html?token=a%26b%3Dc%23d", allow_redirects=False)
    assert resp.headers["Location"] == "vnc_lite.html?path=%3Ftoken%3Da%26b%3Dc%23d"
    resp = await client.get("/vnc_auto.html?path=%3Ftoken%3Dtok-vnc-a", allow_redirects=False)  # Nova's form
    assert resp.headers["Location"] == "vnc_lite.html?path=%3Ftoken%3Dtok-vnc-a"
    for query in ("title=x", "path=%2Fetc", "token=" + "x" * 256):
        assert (await client.get("/vnc_auto.html?" + query, allow_redirects=False)).status == 400, query


def test_a_directory_without_novnc_is_refused_at_start(tmp_path, sessions):
    with pytest.raises(FileNotFoundError, match="scripts/setup.sh"):
        create_console_app(resolve=None, sessions=sessions, kinds=("novnc",), novnc_dir=tmp_path)
