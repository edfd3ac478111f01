"""The Cyclades console action's one-shot VNC authenticating proxy (#1602), in the manner of Synnefo's vncauthproxy.

Each console opens a TCP listener on a free port of the configured range, with a fresh random 8-character password
(VNC authentication uses 8 characters). The listener takes ONE connection within the window (default 30 s) and then
stops listening, so a second connection, or one after the window, is refused by the kernel; a client that fails
authentication has used its one chance. The proxy performs RFB VNC authentication itself (3.3, 3.7 and 3.8
clients), opens the guest's private display socket, answers the display's own handshake with security type None,
and splices the two. The display stays a UNIX socket only the daemon can open. Details in docs/consoles.md.
"""
from __future__ import annotations

import asyncio
import contextlib
import errno
import hmac
import logging
import random
import re
import secrets
import string
import struct
import time
from dataclasses import dataclass

from nodecompute.api.console_sessions import ConsoleSessions

log = logging.getLogger(__name__)

PASSWORD_ALPHABET = string.ascii_letters + string.digits
PASSWORD_LENGTH = 8
HANDSHAKE_TIMEOUT = 10.0
CHUNK = 64 * 1024
SECURITY_NONE, SECURITY_VNC = 1, 2
AUTH_FAILED = b"Authentication failed"
_VERSION = re.compile(rb"RFB (\d{3})\.(\d{3})\n")
# VNC puts the password's bits into the DES key in reverse order, byte by byte.
_REVERSED_BITS = bytes(int(f"{value:08b}"[::-1], 2) for value in range(256))


class ConsoleUnavailable(Exception):
    """No free port in the range, or the guest's display could not be opened."""


class RfbError(Exception):
    """The peer did not speak RFB as expected."""


def vnc_auth_response(password: str, challenge: bytes) -> bytes:
    """The client's answer to a VNC authentication challenge: DES-ECB of the 16 bytes under the bit-reversed password.

    Single DES is Triple DES with the key three times (EDE with K, K, K); cryptography keeps it under `decrepit`.
    """
    from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES  # loaded on first use: ~10 MB idle
    from cryptography.hazmat.primitives.ciphers import Cipher, modes
    key = password.encode("latin-1")[:8].ljust(8, b"\0").translate(_REVERSED_BITS)
    encryptor = Cipher(TripleDES(key * 3), modes.ECB()).encryptor()
    return encryptor.update(challenge) + encryptor.finalize()


def new_password() -> str:
    return "".join(secrets.choice(PASSWORD_ALPHABET) for _ in range(PASSWORD_LENGTH))


@dataclass(frozen=True)
class VncConsole:
    """What the console action answers: where to connect, with which password, until when (epoch seconds)."""

    host: str
    port: int
    password: str
    expires_at: float


class VncAuthProxy:
    """Opens one-shot authenticating listeners for guests' display sockets.

    Each listener, while it waits and then while its connection lasts, is registered in `sessions` under its
    server, so `sessions.close_server(server_id)` (stop, delete) also ends the Cyclades consoles.
    """

    def __init__(self, *, host: str, port_min: int, port_max: int, window: float = 30.0,
                 sessions: ConsoleSessions | None = None, handshake_timeout: float = HANDSHAKE_TIMEOUT,
                 public_host: str | None = None) -> None:
        """host: the address listeners bind; public_host: the host the answer names (default: host)."""
        self.host, self.port_min, self.port_max, self.window = host, port_min, port_max, window
        self.public_host = public_host or host
        self.sessions = sessions or ConsoleSessions()
        self.handshake_timeout = handshake_timeout
        self._alive: set[_OneShot] = set()

    async def open(self, server_id: str, socket_path: str) -> VncConsole:
        """A new listener for the guest's display; ConsoleUnavailable when every port of the range is taken."""
        one_shot = _OneShot(self, server_id, socket_path, new_password())
        port = await one_shot.listen()
        return VncConsole(self.public_host, port, one_shot.password, time.time() + self.window)

    async def close(self) -> None:
        """Stops this proxy's listeners and connections (daemon shutdown)."""
        await asyncio.gather(*(one_shot.shutdown() for one_shot in list(self._alive)))

    def listening(self, server_id: str | None = None) -> int:
        """How many listeners still wait for their connection (of one server, or all)."""
        return sum(1 for one_shot in self._alive
                   if one_shot.server is not None and not one_shot.used and server_id in (None, one_shot.server_id))

    def _ports(self) -> list[int]:
        start = random.randint(self.port_min, self.port_max)  # noqa: S311 - spreads the listeners, not a secret
        return [*range(start, self.port_max + 1), *range(self.port_min, start)]


class _OneShot:
    def __init__(self, proxy: VncAuthProxy, server_id: str, socket_path: str, password: str) -> None:
        self.proxy, self.server_id, self.socket_path, self.password = proxy, server_id, socket_path, password
        self.used = False
        self.server: asyncio.AbstractServer | None = None
        self.timer: asyncio.TimerHandle | None = None
        self.registration: int | None = None
        self.writers: list[asyncio.StreamWriter] = []

    async def listen(self) -> int:
        for port in self.proxy._ports():
            try:
                self.server = await asyncio.start_server(self._accept, self.proxy.host, port, backlog=1)
            except OSError as exc:
                if exc.errno in (errno.EADDRINUSE, errno.EACCES):
                    continue
                raise ConsoleUnavailable(f"cannot listen on {self.proxy.host}: {exc}") from exc
            self.timer = asyncio.get_running_loop().call_later(self.proxy.window, self._window_over)
            self.registration = self.proxy.sessions.add(self.server_id, self.shutdown)
            self.proxy._alive.add(self)
            return port
        raise ConsoleUnavailable(f"no free port in {self.proxy.port_min}-{self.proxy.port_max}")

    def _stop_listening(self) -> None:
        if self.timer:
            self.timer.cancel()
        if self.server:
            self.server.close()

    def _window_over(self) -> None:
        if not self.used:
            log.info("VNC console of server %s: nobody connected within %ss", self.server_id, self.proxy.window)
            self._finished()

    def _finished(self) -> None:
        self.used = True
        self._stop_listening()
        for writer in self.writers:
            writer.close()
        if self.registration is not None:
            self.proxy.sessions.discard(self.server_id, self.registration)
            self.registration = None
        self.proxy._alive.discard(self)

    async def shutdown(self) -> None:
        """Revocation: stops listening and closes the connection, if there is one."""
        self._finished()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.used:  # a second connection that raced into the backlog before the listener closed
            writer.close()
            return
        self.used = True
        self._stop_listening()
        self.writers.append(writer)
        peer = writer.get_extra_info("peername")
        try:
            display = await asyncio.wait_for(self._handshake(reader, writer), self.proxy.handshake_timeout)
        except (RfbError, ConsoleUnavailable, asyncio.TimeoutError, ConnectionError, EOFError) as exc:
            log.info("VNC console of server %s: connection from %s refused: %s", self.server_id, peer,
                     exc or type(exc).__name__)
            self._finished()
            return
        log.info("VNC console of server %s: %s authenticated", self.server_id, peer)
        writer.transport.set_write_buffer_limits(high=CHUNK)
        await self._splice(reader, writer, *display)

    async def _handshake(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        minor = await _client_version(reader, writer)
        challenge = secrets.token_bytes(16)
        if minor >= 7:
            writer.write(bytes([1, SECURITY_VNC]))
            await writer.drain()
            if (await reader.readexactly(1))[0] != SECURITY_VNC:
                await _security_result(writer, minor, ok=False)
                raise RfbError("client chose another security type")
        else:
            writer.write(struct.pack(">I", SECURITY_VNC))
        writer.write(challenge)
        await writer.drain()
        answer = await reader.readexactly(16)
        if not hmac.compare_digest(answer, vnc_auth_response(self.password, challenge)):
            await _security_result(writer, minor, ok=False)
            raise RfbError("wrong password")
        try:
            display = await _open_display(self.socket_path)
        except (OSError, RfbError, EOFError) as exc:
            await _security_result(writer, minor, ok=False, reason=b"Console unavailable")
            raise ConsoleUnavailable(f"display {self.socket_path}: {exc}") from exc
        self.writers.append(display[1])
        await _security_result(writer, minor, ok=True)
        return display

    async def _splice(self, reader, writer, display_reader, display_writer) -> None:
        if self.registration is None:  # revoked during the handshake
            self._finished()
            return
        directions = [asyncio.create_task(_copy(reader, display_writer)),
                      asyncio.create_task(_copy(display_reader, writer))]
        try:
            await asyncio.wait(directions, return_when=asyncio.FIRST_COMPLETED)
        finally:
            self._finished()  # closing both sockets ends the other direction
            _, stuck = await asyncio.wait(directions, timeout=5)
            for task in stuck:
                task.cancel()
            await asyncio.gather(*directions, return_exceptions=True)
        log.info("VNC console of server %s closed", self.server_id)


async def _client_version(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> int:
    """Offers 3.8 and returns the minor version the client answered (3, 7 or 8, as RFC 6143 section 7.1.1 maps)."""
    writer.write(b"RFB 003.008\n")
    await writer.drain()
    match = _VERSION.fullmatch(await reader.readexactly(12))
    if not match or int(match.group(1)) != 3 or int(match.group(2)) < 3:
        raise RfbError("not an RFB 3.x client")
    minor = int(match.group(2))
    return 8 if minor >= 8 else 7 if minor == 7 else 3


async def _security_result(writer: asyncio.StreamWriter, minor: int, *, ok: bool,
                           reason: bytes = AUTH_FAILED) -> None:
    writer.write(struct.pack(">I", 0 if ok else 1))
    if not ok and minor >= 8:
        writer.write(struct.pack(">I", len(reason)) + reason)
    await writer.drain()


async def _open_display(socket_path: str) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """Connects to the guest's display and completes its handshake with security type None."""
    reader, writer = await asyncio.open_unix_connection(socket_path, limit=CHUNK)
    try:
        match = _VERSION.fullmatch(await reader.readexactly(12))
        if not match or int(match.group(1)) != 3:
            raise RfbError("the display does not speak RFB 3.x")
        minor = min(8, int(match.group(2)))
        minor = 3 if minor < 7 else minor
        writer.write(b"RFB 003.%03d\n" % minor)
        if minor >= 7:
            count = (await reader.readexactly(1))[0]
            types = await reader.readexactly(count)
            if SECURITY_NONE not in types:
                raise RfbError(f"the display does not offer security type None (offers {list(types)})")
            writer.write(bytes([SECURITY_NONE]))
            if minor == 8 and struct.unpack(">I", await reader.readexactly(4))[0] != 0:
                raise RfbError("the display refused security type None")
        elif struct.unpack(">I", await reader.readexactly(4))[0] != SECURITY_NONE:
            raise RfbError("the display wants authentication")
        writer.transport.set_write_buffer_limits(high=CHUNK)
        return reader, writer
    except BaseException:
        writer.close()
        raise


async def _copy(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(ConnectionError):
        while data := await reader.read(CHUNK):
            writer.write(data)
            await writer.drain()
