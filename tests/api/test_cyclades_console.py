"""The Cyclades console action (#1602, dialects.md D41) through the API on libvirt's test driver (which has no
display): the answer's shape, a fresh password per call, the listener's one-shot VNC authentication (a wrong
password refused, then the port closed), and 409 for a stopped server. The real display through a plain VNC client
is the integration test's (a guest)."""
from __future__ import annotations

import asyncio
import struct

import pytest

from nodecompute.api.keys import servers_key
from nodecompute.api.vnc_auth_proxy import vnc_auth_response
from tests.api.cyclades_fixtures import Cyc, api, made, servers_api  # noqa: F401 (fixtures)
from tests.api.helpers import assert_fault


async def _rfb_login(host: str, port: int, password: str) -> int:
    """A VNC 3.8 client's handshake with `password`: the security result (0 ok, 1 failed)."""
    reader, writer = await asyncio.open_connection(host, port)
    try:
        assert await reader.readexactly(12) == b"RFB 003.008\n"
        writer.write(b"RFB 003.008\n")
        assert await reader.readexactly(2) == bytes([1, 2])
        writer.write(bytes([2]))
        challenge = await reader.readexactly(16)
        writer.write(vnc_auth_response(password, challenge))
        await writer.drain()
        return struct.unpack(">I", await reader.readexactly(4))[0]
    finally:
        writer.close()


async def test_console_answer_and_one_shot_listener(api, made):
    # seed 000 line 1781 (Example Get Server Console) and 1803-1810 (Example Action Console Response)
    cyc, serial = made
    first = await cyc.ok("POST", f"/servers/{serial}/action", json={"console": {"type": "vnc"}})
    console = first["console"]
    assert set(console) == {"type", "host", "port", "password"} and console["type"] == "vnc"
    assert isinstance(console["port"], int) and 25000 <= console["port"] <= 30000 and len(console["password"]) == 8
    second = (await cyc.ok("POST", f"/servers/{serial}/action", json={"console": {"type": "vnc"}}))["console"]
    assert second["password"] != console["password"] and second["port"] != console["port"]
    assert await _rfb_login(console["host"], console["port"], "wrong!!!") == 1
    with pytest.raises(OSError):  # the listener took its one connection
        await asyncio.open_connection(console["host"], console["port"])
    await assert_fault(await cyc.post(f"/servers/{serial}/action", json={"console": {"type": "spice"}}), 400)


async def test_console_of_a_stopped_server_is_409(api, made):
    cyc, serial = made
    assert (await cyc.post(f"/servers/{serial}/action", json={"shutdown": {}})).status == 202
    await api.client.server.app[servers_key].wait_idle()
    await assert_fault(await cyc.post(f"/servers/{serial}/action", json={"console": {"type": "vnc"}}), 409)
