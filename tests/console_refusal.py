"""How a refused console websocket looks on the wire, checked the way Tempest's test_novnc_bad_token reads it.

Nova's proxy (websockify) completes the websocket handshake and then closes the connection without sending
anything: no close frame, no data. The check speaks HTTP on a plain socket (aiohttp's client would hide whether a
close frame came) and reads to the end: a 101 header block and nothing after it, the server closing first.
"""
from __future__ import annotations

import asyncio
from urllib.parse import urlsplit

KEY = "x3JJHMbDL1EzLkh9GBhXDw=="  # any valid Sec-WebSocket-Key (Tempest's)


async def assert_dropped(url: str, headers: dict[str, str] | None = None) -> None:
    parts = urlsplit(url)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    fields = {"Host": f"{parts.hostname}:{parts.port}", "Upgrade": "websocket", "Connection": "Upgrade",
              "Sec-WebSocket-Key": KEY, "Sec-WebSocket-Version": "13", "Sec-WebSocket-Protocol": "binary",
              **(headers or {})}
    lines = [f"GET {target} HTTP/1.1", *(f"{name}: {value}" for name, value in fields.items())]
    reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
    try:
        writer.write(("\r\n".join(lines) + "\r\n\r\n").encode())
        received = await asyncio.wait_for(reader.read(), timeout=10)  # returns at the server's close only
    finally:
        writer.close()
    head, end, rest = received.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 101 ") and end, received[:200]
    assert rest == b"", f"the proxy sent {len(rest)} bytes after the handshake: {rest[:40]!r}"
