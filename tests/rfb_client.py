"""A minimal RFB (VNC) viewer for tests: version, VNC authentication computed here, ClientInit/ServerInit.

The authentication answer is computed independently of nodecompute's proxy: each password byte mirrored (bit 0 <->
bit 7), then DES-ECB over the two 8-byte halves of the challenge (single DES as Triple DES with K, K, K).
"""
from __future__ import annotations

import asyncio
import struct

from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES
from cryptography.hazmat.primitives.ciphers import Cipher, modes


def des_encrypt(key: bytes, block: bytes) -> bytes:
    encryptor = Cipher(TripleDES(key * 3), modes.ECB()).encryptor()
    return encryptor.update(block) + encryptor.finalize()


def client_answer(password: bytes, challenge: bytes) -> bytes:
    key = bytes(sum(((byte >> bit) & 1) << (7 - bit) for bit in range(8)) for byte in password[:8].ljust(8, b"\0"))
    return des_encrypt(key, challenge[:8]) + des_encrypt(key, challenge[8:])


class Viewer:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def connect(cls, port: int, host: str = "127.0.0.1") -> Viewer:
        return cls(*await asyncio.open_connection(host, port))

    @classmethod
    async def connect_unix(cls, path: str) -> Viewer:
        return cls(*await asyncio.open_unix_connection(path))

    async def authenticate(self, password: bytes, version: bytes = b"RFB 003.008\n") -> tuple[int, bytes]:
        """VNC authentication (the only type the server may offer); returns (SecurityResult, failure reason)."""
        assert await self.reader.readexactly(12) == b"RFB 003.008\n"
        self.writer.write(version)
        if version == b"RFB 003.003\n":
            assert struct.unpack(">I", await self.reader.readexactly(4))[0] == 2
        else:
            count = (await self.reader.readexactly(1))[0]
            assert await self.reader.readexactly(count) == b"\x02"  # only VNC authentication is offered
            self.writer.write(b"\x02")
        challenge = await self.reader.readexactly(16)
        self.writer.write(client_answer(password, challenge))
        result = struct.unpack(">I", await self.reader.readexactly(4))[0]
        reason = b""
        if result and version == b"RFB 003.008\n":
            reason = await self.reader.readexactly(struct.unpack(">I", await self.reader.readexactly(4))[0])
        return result, reason

    async def init(self) -> tuple[int, int, bytes]:
        """ClientInit (shared) -> the ServerInit's width, height and desktop name."""
        self.writer.write(b"\x01")
        width, height = struct.unpack(">HH", await self.reader.readexactly(4))
        await self.reader.readexactly(16)  # pixel format
        name = await self.reader.readexactly(struct.unpack(">I", await self.reader.readexactly(4))[0])
        return width, height, name

    async def closed(self) -> bool:
        try:
            return await asyncio.wait_for(self.reader.read(1), 5) == b""
        except ConnectionError:
            return True

    def close(self) -> None:
        self.writer.close()


async def first_update(viewer: Viewer, width: int, height: int) -> tuple[int, int]:
    """A FramebufferUpdateRequest (non-incremental, the whole screen) -> the answer's message type (0 for a
    FramebufferUpdate) and its number of rectangles."""
    viewer.writer.write(struct.pack(">BBHHHH", 3, 0, 0, 0, width, height))
    kind, _padding, rectangles = struct.unpack(">BBH", await asyncio.wait_for(viewer.reader.readexactly(4), 30))
    return kind, rectangles
