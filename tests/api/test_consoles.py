"""Console URLs (#1601, #1607, #1608) and the listeners they lead to, on libvirt's test driver: the guest's display and
serial sockets are stand-ins made where QEMU makes them (the real-guest proof is tests/integration/test_consoles.py).
"""
from __future__ import annotations

import asyncio
import dataclasses
import re
from datetime import datetime
from urllib.parse import parse_qs, urlsplit

import aiohttp
import pytest

from nodecompute.api.keys import consoles_key, servers_key
from nodecompute import app as app_module
from nodecompute.app import create_app, store_key
from nodecompute.db import identity as identity_db
from nodecompute.db import servers as servers_db
from nodecompute.identity import accounts
from tests import oracle
from tests.console_refusal import assert_dropped
from tests.api.conftest import ladder_dialect
from tests.api.helpers import Api, assert_fault, upload_raw_image
from tests.api.test_clock import MovableClock

V = "X-OpenStack-Nova-API-Version"
URL = re.compile(r"^http://cloud\.example:(\d+)/vnc_lite\.html\?path=%3Ftoken%3D([0-9a-f-]{36})$")
START = datetime(2031, 2, 3, 4, 5, 6)
SERIAL_URL = re.compile(r"^ws://cloud\.example:(\d+)/\?token=([0-9a-f-]{36})$")


@pytest.fixture
async def world(aiohttp_client, cfg, monkeypatch):
    monkeypatch.setattr(app_module, "OPENSTACK", ladder_dialect())  # microversions up to LADDER_TOP
    clock = MovableClock(START)
    cfg = dataclasses.replace(cfg, server=dataclasses.replace(cfg.server, public_url="http://cloud.example:8774"))
    client = await aiohttp_client(create_app(cfg, clock=clock))
    api = Api(client)
    admin = await api.token("admin", "admin-secret", "admin")
    image = await upload_raw_image(client.server.app, admin)
    ids = []
    for name in ("a", "b"):
        resp = await api.post("/servers", admin, json={"server": {"name": name, "imageRef": image, "flavorRef": "42"}})
        ids.append((await resp.json())["server"]["id"])
    service = client.server.app[servers_key]
    await service.wait_idle()
    consoles = {sid: await _fake_consoles(service.guests, sid) for sid in ids}
    yield api, admin, ids, clock, consoles
    for servers in consoles.values():
        for server in servers:
            server.close()
    await service.wait_idle()
    for server in service.store.read(servers_db.list_all_live):  # test:///default is shared by the process
        await service.guests.destroy(server.uuid, server.instance_name)


async def _fake_consoles(guests, server_id: str) -> list[asyncio.AbstractServer]:
    """A display that greets like QEMU's VNC and names its server; a serial port that echoes with its server's id."""
    async def display(reader, writer):
        writer.write(f"RFB 003.008\n{server_id}".encode())
        await writer.drain()
        await reader.read(1)
        writer.close()

    async def serial(reader, writer):
        while data := await reader.read(100):
            writer.write(server_id.encode() + b":" + data)
            await writer.drain()
        writer.close()

    return [await asyncio.start_unix_server(display, str(guests.display_socket(server_id))),
            await asyncio.start_unix_server(serial, str(guests.serial_socket(server_id)))]


async def _vnc(api, token, server_id, version="2.1", **body):
    return await api.post(f"/servers/{server_id}/action", token, json={"os-getVNCConsole": body or {"type": "novnc"}},
                          headers={V: version})


async def _remote(api, token, server_id, protocol, type_, version="2.6"):
    return await api.post(f"/servers/{server_id}/remote-consoles", token, headers={V: version},
                          json={"remote_console": {"protocol": protocol, "type": type_}})


async def test_vnc_url_is_novas_form_on_the_public_host_and_leads_to_its_display(world):
    api, admin, (a, b), _, _ = world
    resp = await _vnc(api, admin, a)
    assert resp.status == 200, await resp.text()
    body = await resp.json()
    assert body["console"]["type"] == "novnc"
    port, token = URL.match(body["console"]["url"]).groups()
    assert api.client.server.app[consoles_key].bases.novnc == f"http://cloud.example:{port}/vnc_lite.html"
    stored = api.client.server.app[store_key].read(lambda db: db.execute("SELECT * FROM console_tokens").fetchall())
    assert len(stored) == 1 and token not in repr([tuple(row) for row in stored])  # only the digest is kept
    async with aiohttp.ClientSession() as session:
        async with session.ws_connect(f"ws://127.0.0.1:{port}/?token={token}", protocols=("binary",)) as ws:
            assert ws.protocol == "binary"
            greeting = await ws.receive_bytes(timeout=5)
            assert greeting == f"RFB 003.008\n{a}".encode()  # server a's display, never b's
        page = parse_qs(urlsplit(body["console"]["url"]).query)["path"][0]
        async with session.get(f"http://127.0.0.1:{port}/vnc_lite.html", params={"path": page}) as resp:
            assert resp.status == 200 and "noVNC" in await resp.text()
            assert resp.headers["Cache-Control"] == "no-store"


async def test_serial_url_through_both_apis_reaches_the_serial_port(world):
    api, admin, (a, b), _, _ = world
    resp = await api.post(f"/servers/{b}/action", admin, json={"os-getSerialConsole": {"type": "serial"}})
    assert resp.status == 200, await resp.text()
    assert (await resp.json())["console"]["type"] == "serial"
    resp = await _remote(api, admin, b, "serial", "serial")
    assert resp.status == 200, await resp.text()
    remote = (await resp.json())["remote_console"]
    assert (remote["protocol"], remote["type"]) == ("serial", "serial")
    port, token = SERIAL_URL.match(remote["url"]).groups()
    async with aiohttp.ClientSession() as session:
        async with session.ws_connect(f"ws://127.0.0.1:{port}/?token={token}") as ws:
            await ws.send_str("echo hi\n")
            assert await ws.receive_bytes(timeout=5) == f"{b}:echo hi\n".encode()
        vnc_port = URL.match((await (await _remote(api, admin, b, "vnc", "novnc")).json())
                             ["remote_console"]["url"]).group(1)
        await assert_dropped(f"http://127.0.0.1:{vnc_port}/?token={token}")  # a serial token: nothing on VNC


async def test_nova_answers_for_types_protocols_and_versions(world):
    api, admin, (a, _), _, _ = world
    await assert_fault(await _vnc(api, admin, a, type="xvpvnc"), 400, "badRequest", "Invalid console type xvpvnc")
    await assert_fault(await _vnc(api, admin, a, type="spice-html5"), 400, "badRequest")  # the schema's enum
    await assert_fault(await _remote(api, admin, a, "spice", "spice-html5"), 400, "badRequest",
                       "Unavailable console type spice-html5.")
    await assert_fault(await _remote(api, admin, a, "rdp", "rdp-html5"), 400, "badRequest",
                       "Unavailable console type rdp.")
    await assert_fault(await _remote(api, admin, a, "mks", "webmks"), 400, "badRequest")  # mks from 2.8
    await assert_fault(await _remote(api, admin, a, "mks", "webmks", "2.8"), 400, "badRequest",
                       "Unavailable console type webmks.")
    await assert_fault(await _remote(api, admin, a, "vnc", "serial"), 400, "badRequest", "Invalid console type serial")
    assert (await _vnc(api, admin, a, version="2.6")).status == 404  # the actions end at 2.5
    assert (await _remote(api, admin, a, "vnc", "novnc", "2.5")).status == 404  # remote-consoles from 2.6
    resp = await _remote(api, admin, a, "vnc", "novnc", "2.52")
    assert resp.status == 200 and URL.match((await resp.json())["remote_console"]["url"])
    # 2.99: the spice-direct type (its console auth token half is not served): SPICE is off, as in Nova without it
    await assert_fault(await _remote(api, admin, a, "spice", "spice-direct", "2.98"), 400, "badRequest",
                       "Invalid input for field/attribute type")
    await assert_fault(await _remote(api, admin, a, "spice", "spice-direct", "2.99"), 400, "badRequest",
                       "Unavailable console type spice-direct.")
    resp = await _remote(api, admin, a, "vnc", "novnc", "2.99")
    body = await resp.json()
    oracle.validate_with_tempest("POST", "/servers/{server_id}/remote-consoles", None, "2.99", resp.status, body)
    oracle.assert_keys_like_nova(body, "POST", "/servers/{server_id}/remote-consoles", None, "2.99")


async def _user(api, cfg, project: str, role: str, name: str) -> str:
    def create(db):
        if identity_db.find_project(db, project) is None:
            identity_db.create_project(db, project, now=START)
        accounts.create_user(db, cfg, name, project, role, "pw-" + name, now=START)

    await api.client.server.app[store_key].write(create)
    return await api.token(name, "pw-" + name, project)


async def test_other_projects_and_readers_get_no_console(world, cfg):
    api, admin, (a, _), _, _ = world
    other = await _user(api, cfg, "elsewhere", "member", "stranger")
    await assert_fault(await _vnc(api, other, a), 404, "itemNotFound")
    reader = await _user(api, cfg, "admin", "reader", "watcher")
    await assert_fault(await _vnc(api, reader, a), 403, "forbidden")


async def test_stopping_revokes_tokens_and_closes_open_consoles(world):
    api, admin, (a, b), _, _ = world
    url = (await (await _vnc(api, admin, a)).json())["console"]["url"]
    port, token = URL.match(url).groups()
    kept = URL.match((await (await _vnc(api, admin, b)).json())["console"]["url"]).groups()[1]
    async with aiohttp.ClientSession() as session:
        ws = await session.ws_connect(f"ws://127.0.0.1:{port}/?token={token}")
        await ws.receive_bytes(timeout=5)
        resp = await api.post(f"/servers/{a}/action", admin, json={"os-stop": None})
        assert resp.status == 202
        await api.client.server.app[servers_key].wait_idle()
        closed = await ws.receive(timeout=5)
        assert closed.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)
        await ws.close()
        await assert_dropped(f"ws://127.0.0.1:{port}/?token={token}")
        async with session.ws_connect(f"ws://127.0.0.1:{port}/?token={kept}") as ws:  # b's token still works
            assert (await ws.receive_bytes(timeout=5)).endswith(b.encode())
    await assert_fault(await _vnc(api, admin, a), 400, "badRequest", "Unavailable console type vnc.")


async def test_tokens_expire_and_deleting_a_server_revokes_them(world, cfg):
    api, admin, (a, b), clock, _ = world
    port, token_a = URL.match((await (await _vnc(api, admin, a)).json())["console"]["url"]).groups()
    token_b = URL.match((await (await _vnc(api, admin, b)).json())["console"]["url"]).groups()[1]
    clock.move(seconds=cfg.console.token_ttl - 1)
    async with aiohttp.ClientSession() as session:
        async with session.ws_connect(f"ws://127.0.0.1:{port}/?token={token_a}") as ws:  # reusable until expiry
            await ws.receive_bytes(timeout=5)
        assert (await api.delete(f"/servers/{b}", admin)).status == 204
        await api.client.server.app[servers_key].wait_idle()
        altered = token_a[:-1] + ("1" if token_a[-1] == "0" else "0")
        for token in (token_b, "not-a-token", altered):
            await assert_dropped(f"ws://127.0.0.1:{port}/?token={token}")
        clock.move(seconds=2)
        await assert_dropped(f"ws://127.0.0.1:{port}/?token={token_a}")
    assert await api.client.server.app[consoles_key].purge_expired() == 1


async def test_a_domain_without_a_serial_socket_answers_unavailable(world):
    api, admin, (a, _), _, consoles = world
    consoles[a][1].close()
    await consoles[a][1].wait_closed()
    api.client.server.app[servers_key].guests.serial_socket(a).unlink(missing_ok=True)
    resp = await api.post(f"/servers/{a}/action", admin, json={"os-getSerialConsole": {"type": "serial"}})
    await assert_fault(resp, 400, "badRequest", "Unavailable console type serial.")
