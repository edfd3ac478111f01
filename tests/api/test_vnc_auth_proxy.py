"""The Cyclades one-shot VNC authenticating proxy against a fake guest display on a UNIX socket.

The test's RFB client (tests/rfb_client.py) computes the VNC authentication answer itself (its own bit reversal,
DES through cryptography), checked here against the DES standard's known answer; tests/integration/test_console_novnc.py
checks the same client against QEMU's own VNC authentication.
"""
from __future__ import annotations

import asyncio
import random
import shutil
import socket
import struct
import tempfile
from pathlib import Path

import pytest

from nodecompute.api.console_sessions import ConsoleSessions
from nodecompute.api.vnc_auth_proxy import ConsoleUnavailable, VncAuthProxy, vnc_auth_response
from tests.rfb_client import Viewer, client_answer, des_encrypt

SERVER = "cccccccc-0000-4000-8000-000000000003"
SERVER_INIT = struct.pack(">HH", 720, 400) + bytes(16) + struct.pack(">I", 4) + b"QEMU"


def test_the_test_clients_des_is_des():
    # FIPS 46 / the classic worked example: key 133457799BBCDFF1, plaintext 0123456789ABCDEF.
    assert des_encrypt(bytes.fromhex("133457799BBCDFF1"), bytes.fromhex("0123456789ABCDEF")).hex() == \
        "85e813540f0ab405"


def test_the_proxy_and_the_test_client_agree_on_the_answer():
    challenge = bytes(range(16))
    assert vnc_auth_response("Pa55word", challenge) == client_answer(b"Pa55word", challenge)
    assert vnc_auth_response("short", challenge) == client_answer(b"short", challenge)
    assert vnc_auth_response("Pa55word", challenge) != vnc_auth_response("Pa55wore", challenge)


class FakeDisplay:
    """A guest display: RFB 3.8 with security type None only, ServerInit, then an echo."""

    def __init__(self, path: Path) -> None:
        self.path, self.connections, self.received, self.closed = path, 0, bytearray(), 0

    async def start(self) -> FakeDisplay:
        self.server = await asyncio.start_unix_server(self._client, str(self.path))
        return self

    async def _client(self, reader, writer) -> None:
        self.connections += 1
        try:
            writer.write(b"RFB 003.008\n")
            assert await reader.readexactly(12) == b"RFB 003.008\n"
            writer.write(bytes([1, 1]))
            assert await reader.readexactly(1) == b"\x01"
            writer.write(struct.pack(">I", 0))
            await reader.readexactly(1)  # ClientInit
            writer.write(SERVER_INIT)
            while data := await reader.read(4096):
                self.received += data
                writer.write(data)
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            self.closed += 1
            writer.close()


@pytest.fixture
async def display():
    directory = Path(tempfile.mkdtemp(prefix="ncvnc-"))
    fake = await FakeDisplay(directory / "vnc.sock").start()
    yield fake
    fake.server.close()
    shutil.rmtree(directory)


@pytest.fixture
async def proxy():
    # A range of its own, well away from the default one; busy ports are skipped by the proxy.
    made = VncAuthProxy(host="127.0.0.1", port_min=43100, port_max=43199, window=1.0, sessions=ConsoleSessions())
    yield made
    await made.close()


async def refused(port: int) -> bool:
    try:
        _, writer = await asyncio.open_connection("127.0.0.1", port)
    except ConnectionRefusedError:
        return True
    writer.close()
    return False


async def test_the_right_password_reaches_the_display(proxy, display):
    console = await proxy.open(SERVER, str(display.path))
    assert console.host == "127.0.0.1" and 43100 <= console.port <= 43199
    assert len(console.password) == 8 and console.password.isalnum()
    viewer = await Viewer.connect(console.port)
    assert await viewer.authenticate(console.password.encode()) == (0, b"")
    assert await viewer.init() == (720, 400, b"QEMU")  # the display's own ServerInit, after None on the inside
    viewer.writer.write(b"\x04\x01\x00\x00\x00\x00\xff\x0d")  # a KeyEvent travels through
    assert await viewer.reader.readexactly(8) == b"\x04\x01\x00\x00\x00\x00\xff\x0d"
    assert display.received == b"\x04\x01\x00\x00\x00\x00\xff\x0d"
    assert await refused(console.port), "a second connection must be refused"
    viewer.close()
    await asyncio.sleep(0.1)
    assert display.closed == 1


async def test_an_rfb_33_viewer_works_too(proxy, display):
    console = await proxy.open(SERVER, str(display.path))
    viewer = await Viewer.connect(console.port)
    assert await viewer.authenticate(console.password.encode(), b"RFB 003.003\n") == (0, b"")
    assert await viewer.init() == (720, 400, b"QEMU")
    viewer.close()


async def test_a_wrong_password_is_refused_and_uses_up_the_console(proxy, display):
    console = await proxy.open(SERVER, str(display.path))
    viewer = await Viewer.connect(console.port)
    wrong = console.password[:7].encode() + (b"x" if console.password[7] != "x" else b"y")
    assert await viewer.authenticate(wrong) == (1, b"Authentication failed")
    assert await viewer.closed()
    assert display.connections == 0  # the guest's display was never opened
    assert await refused(console.port)
    viewer.close()


async def test_each_console_has_its_own_password(proxy, display):
    first = await proxy.open(SERVER, str(display.path))
    second = await proxy.open(SERVER, str(display.path))
    assert first.port != second.port and first.password != second.password
    viewer = await Viewer.connect(second.port)
    assert (await viewer.authenticate(first.password.encode()))[0] == 1  # the previous password is no key
    assert display.connections == 0
    viewer.close()


async def test_nothing_is_accepted_after_the_window(proxy, display):
    console = await proxy.open(SERVER, str(display.path))
    assert proxy.listening(SERVER) == 1
    await asyncio.sleep(1.3)
    assert await refused(console.port)
    assert proxy.listening() == 0 and proxy.sessions.count() == 0


async def test_a_viewer_that_does_not_authenticate_times_out(display):
    proxy = VncAuthProxy(host="127.0.0.1", port_min=43200, port_max=43299, window=5, handshake_timeout=0.5)
    console = await proxy.open(SERVER, str(display.path))
    viewer = await Viewer.connect(console.port)
    assert await viewer.reader.readexactly(12) == b"RFB 003.008\n"
    assert await viewer.closed()  # said nothing: dropped after the handshake timeout
    assert display.connections == 0
    viewer.close()
    await proxy.close()


async def test_revocation_closes_waiting_listeners_and_open_sessions(proxy, display):
    open_one = await proxy.open(SERVER, str(display.path))
    waiting = await proxy.open(SERVER, str(display.path))
    viewer = await Viewer.connect(open_one.port)
    assert (await viewer.authenticate(open_one.password.encode()))[0] == 0
    await viewer.init()
    assert proxy.sessions.count(SERVER) == 2
    assert await proxy.sessions.close_server(SERVER) == 2
    assert await viewer.closed()
    assert await refused(waiting.port)
    assert proxy.listening() == 0
    viewer.close()


async def test_an_unreachable_display_fails_the_authentication_politely(proxy, display):
    console = await proxy.open(SERVER, str(display.path.with_name("gone.sock")))
    viewer = await Viewer.connect(console.port)
    assert await viewer.authenticate(console.password.encode()) == (1, b"Console unavailable")
    viewer.close()


async def test_the_answer_names_the_public_host(display):
    proxy = VncAuthProxy(host="127.0.0.1", public_host="cloud.example.org", port_min=43310, port_max=43319)
    console = await proxy.open(SERVER, str(display.path))
    assert console.host == "cloud.example.org" and not await refused(console.port)
    await proxy.close()


def free_port_pair() -> int:
    """Two consecutive free ports below the kernel's ephemeral range (32768 and up by default), so no client
    connection of another test or process can be holding one of them between this probe and the test."""
    start = random.randrange(20000, 32000)
    for first in range(start, start + 2000):
        try:
            for port in (first, first + 1):
                with socket.socket() as probe:
                    probe.bind(("127.0.0.1", port))
        except OSError:
            continue
        return first
    raise AssertionError("no two consecutive free ports found")


async def test_an_exhausted_range_is_reported(display):
    low = free_port_pair()
    proxy = VncAuthProxy(host="127.0.0.1", port_min=low, port_max=low + 1, window=5)
    consoles = [await proxy.open(SERVER, str(display.path)) for _ in range(2)]
    assert {c.port for c in consoles} == {low, low + 1}
    with pytest.raises(ConsoleUnavailable, match=f"no free port in {low}-{low + 1}"):
        await proxy.open(SERVER, str(display.path))
    await proxy.close()
