"""A libvirt failure at a step of the build (the scripted hypervisor fails the call in its worker thread, as libvirt
would): the server goes to ERROR with a fault naming the failure, and nothing the build made is left (instance
directory, domain, display socket). On libvirt's test driver, through the whole app."""
from __future__ import annotations

import pytest

from nodecompute.api.keys import servers_key
from nodecompute.app import create_app, store_key
from nodecompute.db import servers as servers_db
from nodecompute.domain import states
from tests.api.helpers import Api, upload_raw_image
from tests.api.scripted_hypervisor import ScriptedHypervisor


@pytest.fixture
async def scripted(aiohttp_client, cfg):
    client = await aiohttp_client(create_app(cfg, hypervisor_factory=ScriptedHypervisor.for_config))
    api = Api(client)
    admin = await api.token("admin", "admin-secret", "admin")
    image = await upload_raw_image(client.server.app, admin)
    service = client.server.app[servers_key]
    yield api, admin, image, service
    await service.wait_idle()
    for server in service.store.read(servers_db.list_all_live):  # test:///default is shared by the process
        await service.guests.destroy(server.uuid, server.instance_name)


@pytest.mark.parametrize("action, message", [
    ("define", "XML error: scripted refusal"),
    ("start", "internal error: qemu unexpectedly closed the monitor"),
])
async def test_a_libvirt_failure_during_the_build_leaves_only_the_error_row(scripted, cfg, action, message):
    api, admin, image, service = scripted
    hv = service.guests.hv
    failure = hv.fail(action, message)
    resp = await api.post("/servers", admin, json={"server": {"name": "vm", "imageRef": image, "flavorRef": "42"}})
    assert resp.status == 202, await resp.text()
    server_id = (await resp.json())["server"]["id"]
    await service.wait_idle()
    assert failure.raised.is_set()
    row = api.client.server.app[store_key].read(servers_db.get_server, server_id)
    assert (row.vm_state, row.task_state) == (states.ERROR, None)
    assert row.fault.message.startswith(f"Build of instance {server_id} failed: {action} ")
    assert message in row.fault.message and "Traceback" in row.fault.details
    assert row.instance_name not in await hv.list_ours()
    assert not (cfg.instances_dir / server_id).exists()
    assert not service.guests.display_socket(server_id).exists()
    shown = (await (await api.get(f"/servers/{server_id}", admin)).json())["server"]
    assert (shown["status"], shown["fault"]["code"]) == ("ERROR", 500)


async def test_the_next_build_after_a_failure_succeeds(scripted):
    """A scripted failure applies to one call only: the next build defines and starts as usual."""
    api, admin, image, service = scripted
    service.guests.hv.fail("define", "scripted once")
    for name in ("first", "second"):
        resp = await api.post("/servers", admin, json={"server": {"name": name, "imageRef": image, "flavorRef": "42"}})
        assert resp.status == 202
        await service.wait_idle()
    listed = (await (await api.get("/servers/detail", admin)).json())["servers"]
    assert sorted((s["name"], s["status"]) for s in listed) == [("first", "ERROR"), ("second", "ACTIVE")]
