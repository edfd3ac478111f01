"""Deleting a server while a step of its build is in flight (ServerService._build / delete): the libvirt call in its
worker thread is not abandoned; the cancellation takes effect once it returns, and the build's undo then removes
what it made. Runs on libvirt's test driver through the scripted hypervisor (tests/api/scripted_hypervisor.py)."""
from __future__ import annotations

import asyncio

from nodecompute.api.keys import identity_key, images_key, servers_key
from nodecompute.app import create_app
from nodecompute.db import servers as servers_db
from tests.api.helpers import Api, assert_fault
from tests.api.scripted_hypervisor import ScriptedHypervisor


async def _raw_image(api: Api, token: str) -> str:
    app = api.client.server.app
    ctx = app[identity_key].validate(token)
    images = app[images_key]
    image = await images.create(ctx, {"name": "tiny", "disk_format": "raw", "container_format": "bare"}, {}, [])

    async def chunks():
        yield b"\0" * (1 << 20)

    await images.upload(ctx, image.id, chunks())
    return image.id


async def _until(condition, timeout: float = 10.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        assert loop.time() < deadline, "condition not met in time"
        await asyncio.sleep(0.01)


async def test_delete_while_define_runs_leaves_no_definition(aiohttp_client, cfg):
    client = await aiohttp_client(create_app(cfg, hypervisor_factory=ScriptedHypervisor.for_config))
    api = Api(client)
    admin = await api.token("admin", "admin-secret", "admin")
    image = await _raw_image(api, admin)
    service = client.server.app[servers_key]
    hv = service.guests.hv
    define = hv.hold("define")
    resp = await api.post("/servers", admin, json={"server": {"name": "vm", "imageRef": image, "flavorRef": "42"}})
    assert resp.status == 202, await resp.text()
    server_id = (await resp.json())["server"]["id"]
    name = service.store.read(servers_db.get_server, server_id).instance_name
    try:
        await define.wait_reached()  # defineXML is about to run in its thread
        build = service.tasks.running(server_id)
        delete = asyncio.create_task(api.delete(f"/servers/{server_id}", admin))
        await _until(lambda: delete.done() or build.cancelling() > 0)  # the delete has cancelled the build
        define.release()
        resp = await delete
        assert resp.status == 204, await resp.text()
        await define.wait_finished()
        await service.wait_idle()
        assert name not in await hv.list_ours()
        assert await hv.power_state(name) == 0
        assert not (cfg.instances_dir / server_id).exists()
        await assert_fault(await api.get(f"/servers/{server_id}", admin), 404, "itemNotFound")
    finally:
        define.release()
        await hv.destroy(name)  # test:///default is shared by the process: leave no domain behind
        await hv.undefine(name)
