"""VNC displays are UNIX sockets (nodecompute/virt/displays.py) on libvirt's test driver: where the domain's display
listens, that a delete and the start-up reconciliation leave no socket file behind, and that servers defined before
displays became sockets are named at start until a stop/start gives them a socket (tests/integration boots QEMU)."""
from __future__ import annotations

import dataclasses
import logging
import stat
import uuid
import xml.etree.ElementTree as ET

import pytest

from nodecompute.api.keys import reconciler_key, servers_key
from nodecompute.app import create_app, store_key
from nodecompute.db import servers as servers_db
from tests.api.helpers import Api
from tests.api.test_servers_build_cancel import _raw_image


@pytest.fixture
async def displays_api(aiohttp_client, cfg):
    client = await aiohttp_client(create_app(cfg))
    api = Api(client)
    service = client.server.app[servers_key]
    yield api
    await service.wait_idle()
    for server in service.store.read(servers_db.list_all_live):  # test:///default is shared by the whole process
        await service.guests.destroy(server.uuid, server.instance_name)


async def _boot(api: Api, token: str, image: str, name: str) -> str:
    resp = await api.post("/servers", token, json={"server": {"name": name, "imageRef": image, "flavorRef": "42"}})
    assert resp.status == 202, await resp.text()
    await api.client.server.app[servers_key].wait_idle()
    return (await resp.json())["server"]["id"]


async def _action(api: Api, token: str, server_id: str, body: dict) -> None:
    resp = await api.post(f"/servers/{server_id}/action", token, json=body)
    assert resp.status == 202, await resp.text()
    await api.client.server.app[servers_key].wait_idle()


async def test_display_socket_in_a_private_directory_and_removed_with_the_server(displays_api, cfg):
    api = displays_api
    admin = await api.token("admin", "admin-secret", "admin")
    server_id = await _boot(api, admin, await _raw_image(api, admin), "vm")
    hv = api.client.server.app[servers_key].guests.hv
    name = api.client.server.app[store_key].read(servers_db.get_server, server_id).instance_name
    socket = cfg.data_dir / "vnc" / f"{server_id}.sock"
    assert await hv.vnc_socket(name) == str(socket)
    assert stat.S_IMODE(socket.parent.stat().st_mode) == 0o700
    socket.write_bytes(b"")  # what QEMU would have made (the test driver runs no QEMU)
    assert (await api.delete(f"/servers/{server_id}", admin)).status == 204
    assert not socket.exists()


async def test_start_removes_orphan_sockets_and_names_servers_still_on_tcp(displays_api, caplog):
    api = displays_api
    admin = await api.token("admin", "admin-secret", "admin")
    image = await _raw_image(api, admin)
    app = api.client.server.app
    guests, reconciler, store = app[servers_key].guests, app[reconciler_key], app[store_key]
    old_id, new_id = await _boot(api, admin, image, "old"), await _boot(api, admin, image, "new")
    old = store.read(servers_db.get_server, old_id)
    # As a definition from before displays became sockets: stopped, then redefined with a TCP display.
    await _action(api, admin, old_id, {"os-stop": None})
    dom = ET.fromstring(await guests.hv.live_xml(old.instance_name))
    graphics = dom.find("devices/graphics")
    graphics.clear()
    graphics.attrib.update(type="vnc", autoport="yes", listen="127.0.0.1")
    await guests.hv.define(ET.tostring(dom, encoding="unicode"))
    orphan = guests.display_socket(str(uuid.uuid4()))
    orphan.write_bytes(b"")
    guests.display_socket(new_id).write_bytes(b"")

    caplog.set_level(logging.WARNING, logger="nodecompute.compute.reconcile")
    await reconciler.at_start()
    tcp = [r.getMessage() for r in caplog.records if "still has its VNC display on TCP" in r.getMessage()]
    assert tcp == [f"server {old_id} (domain {old.instance_name}) still has its VNC display on TCP 127.0.0.1, "
                   f"defined before displays became UNIX sockets: it moves to {guests.display_socket(old_id)} at its "
                   "next stop/start or hard reboot"]
    assert not orphan.exists() and guests.display_socket(new_id).exists()

    await _action(api, admin, old_id, {"os-start": None})  # a start defines the domain anew
    assert await guests.hv.vnc_socket(old.instance_name) == str(guests.display_socket(old_id))
    caplog.clear()
    await reconciler.at_start()
    assert not [r for r in caplog.records if "on TCP" in r.getMessage()]


async def test_vnc_listen_is_accepted_but_said_to_be_ignored(aiohttp_client, cfg, caplog):
    compute = dataclasses.replace(cfg.compute, vnc_listen="0.0.0.0")
    caplog.set_level(logging.WARNING, logger="nodecompute.app")
    await aiohttp_client(create_app(dataclasses.replace(cfg, compute=compute)))
    assert "[compute] vnc_listen = '0.0.0.0' is ignored: displays are UNIX sockets" in caplog.text
