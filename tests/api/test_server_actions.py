"""Server actions run from their rows in domain/states.py ACTIONS (compute/server_actions.py): the states they end
in, a libvirt failure in the middle (the scripted hypervisor), and the replay of an action a stop interrupted
(reconcile.py at start). On libvirt's test driver, through the whole app."""
from __future__ import annotations

import asyncio
import logging

import pytest

from nodecompute.domain.models import utcnow
from nodecompute.api.keys import reconciler_key, servers_key
from nodecompute.app import create_app, store_key
from nodecompute.db import servers as servers_db
from nodecompute.domain import states
from tests.api.helpers import Api, upload_raw_image
from tests.api.scripted_hypervisor import ScriptedHypervisor


@pytest.fixture
async def scripted(aiohttp_client, cfg):
    """(api, admin token, scripted hypervisor, one ACTIVE server's id)."""
    client = await aiohttp_client(create_app(cfg, hypervisor_factory=ScriptedHypervisor.for_config))
    api = Api(client)
    admin = await api.token("admin", "admin-secret", "admin")
    image = await upload_raw_image(client.server.app, admin)
    service = client.server.app[servers_key]
    resp = await api.post("/servers", admin, json={"server": {"name": "vm", "imageRef": image, "flavorRef": "42"}})
    assert resp.status == 202, await resp.text()
    server_id = (await resp.json())["server"]["id"]
    await service.wait_idle()
    yield api, admin, service.guests.hv, server_id
    await service.wait_idle()
    for server in service.store.read(servers_db.list_all_live):  # test:///default is shared by the process
        await service.guests.destroy(server.uuid, server.instance_name)


def _row(api: Api, server_id: str):
    return api.client.server.app[store_key].read(servers_db.get_server, server_id)


async def _act(api: Api, token: str, server_id: str, body: dict) -> None:
    resp = await api.post(f"/servers/{server_id}/action", token, json=body)
    assert resp.status == 202, await resp.text()
    await api.client.server.app[servers_key].wait_idle()


async def test_each_action_ends_in_its_done_states(scripted):
    api, admin, hv, server_id = scripted
    for body, action in [({"os-stop": None}, "stop"), ({"os-start": None}, "start"),
                         ({"reboot": {"type": "SOFT"}}, "reboot"), ({"reboot": {"type": "HARD"}}, "reboot_hard")]:
        await _act(api, admin, server_id, body)
        row = _row(api, server_id)
        assert (row.vm_state, row.power_state, row.task_state) == (*states.ACTIONS[action].done, None), body
        assert await hv.power_state(row.instance_name) == row.power_state


async def test_a_libvirt_failure_mid_action_is_the_server_fault(scripted):
    api, admin, hv, server_id = scripted
    failure = hv.fail("shutdown", "Requested operation is not valid: scripted")
    await _act(api, admin, server_id, {"os-stop": None})
    assert failure.raised.is_set()
    row = _row(api, server_id)
    assert (row.vm_state, row.task_state) == (states.ERROR, None)
    assert row.fault.code == 500 and row.fault.message.startswith("stop failed: shutdown ")
    assert "Requested operation is not valid: scripted" in row.fault.message


async def test_hard_reboot_records_its_started_task_state(scripted):
    """The work moves the task_state to the rule's `started` before touching the guest (held destroy call)."""
    api, admin, hv, server_id = scripted
    held = hv.hold("destroy")
    resp = await api.post(f"/servers/{server_id}/action", admin, json={"reboot": {"type": "HARD"}})
    assert resp.status == 202
    try:
        await held.wait_reached()
        assert _row(api, server_id).task_state == states.REBOOT_STARTED_HARD
        show = await (await api.get(f"/servers/{server_id}", admin)).json()
        assert show["server"]["status"] == "HARD_REBOOT"
    finally:
        held.release()
    await api.client.server.app[servers_key].wait_idle()
    assert _row(api, server_id).task_state is None


@pytest.mark.parametrize("vm_state, power_state, task_state, replayed", [
    (states.ACTIVE, states.RUNNING, states.POWERING_OFF, "stop"),
    (states.STOPPED, states.SHUTDOWN, states.POWERING_ON, "start"),
    (states.ACTIVE, states.RUNNING, states.REBOOTING, "reboot"),  # Nova retries a pending soft reboot soft
    (states.ACTIVE, states.RUNNING, states.REBOOT_PENDING, "reboot"),
    (states.ACTIVE, states.SHUTDOWN, states.REBOOTING, "reboot_hard"),  # ... and HARD when the guest is down
    (states.ACTIVE, states.SHUTDOWN, states.REBOOT_STARTED, "reboot_hard"),
    (states.ACTIVE, states.RUNNING, states.REBOOT_STARTED, "reboot_hard"),  # it had gone hard: redone hard
    (states.ACTIVE, states.RUNNING, states.REBOOT_PENDING_HARD, "reboot_hard"),
])
async def test_an_interrupted_action_is_replayed_at_start(scripted, vm_state, power_state, task_state, replayed):
    api, admin, hv, server_id = scripted
    app = api.client.server.app
    name = _row(api, server_id).instance_name
    if power_state == states.SHUTDOWN:
        await hv.destroy(name)
    await app[store_key].write(servers_db.update_server, server_id, {
        "vm_state": vm_state, "power_state": power_state, "task_state": task_state}, now=utcnow())
    hv.calls.clear()
    await app[reconciler_key].at_start()
    await app[servers_key].wait_idle()
    row = _row(api, server_id)
    assert (row.vm_state, row.power_state, row.task_state) == (*states.ACTIONS[replayed].done, None)
    assert await hv.power_state(name) == row.power_state
    if replayed == "reboot_hard":  # a hard reboot destroys and defines the domain again
        assert {"destroy", "define", "start"} <= set(hv.calls)
    if replayed == "reboot":  # a soft one asks the guest to shut down and starts it again, defining nothing
        assert "shutdown" in hv.calls and "define" not in hv.calls, hv.calls


async def test_an_idle_server_is_not_replayed_at_start(scripted):
    api, admin, hv, server_id = scripted
    hv.calls.clear()
    await api.client.server.app[reconciler_key].at_start()
    await api.client.server.app[servers_key].wait_idle()
    assert "define" not in hv.calls and "destroy" not in hv.calls
    row = _row(api, server_id)
    assert (row.vm_state, row.power_state, row.task_state) == (states.ACTIVE, states.RUNNING, None)


async def test_a_slow_recovery_does_not_hold_the_start_back(scripted, caplog):
    """libvirt may keep a domain busy for its 30 s job wait at start (a predecessor killed mid-start): at_start
    returns after its wait, the server keeps its task state (its actions answer 409) until the chain, going on in
    the background, replays the interrupted start."""
    api, admin, hv, server_id = scripted
    app = api.client.server.app
    reconciler = app[reconciler_key]
    name = _row(api, server_id).instance_name
    await hv.destroy(name)
    await app[store_key].write(servers_db.update_server, server_id, {
        "vm_state": states.STOPPED, "power_state": states.SHUTDOWN, "task_state": states.POWERING_ON}, now=utcnow())
    libvirt_answers = asyncio.Event()
    settle = reconciler._settle

    async def busy_settle(server):
        await libvirt_answers.wait()
        await settle(server)

    reconciler._settle = busy_settle
    with caplog.at_level(logging.WARNING, logger="nodecompute.compute.reconcile"):
        await asyncio.wait_for(reconciler.at_start(wait=0.2), timeout=10)
    assert "still running after 0 s" in caplog.text
    assert _row(api, server_id).task_state == states.POWERING_ON
    resp = await api.post(f"/servers/{server_id}/action", admin, json={"os-stop": None})
    assert resp.status == 409, await resp.text()

    libvirt_answers.set()
    await asyncio.wait_for(reconciler._recovery, timeout=10)
    await app[servers_key].wait_idle()
    row = _row(api, server_id)
    assert (row.vm_state, row.power_state, row.task_state) == (states.ACTIVE, states.RUNNING, None)
    assert await hv.power_state(name) == states.RUNNING
