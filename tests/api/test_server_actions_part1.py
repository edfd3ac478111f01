"""Issue 17 on libvirt's test driver, through the whole app at the microversions that change it: pause/unpause,
suspend/resume, lock/unlock (who may act on a locked server, 2.73 reason), trigger_crash_dump (2.17), the
topology (2.78), soft delete with restore/forceDelete and the reclaim, the soft-reboot fallback and Nova's 409s
(changing nothing). The instance action record: test_instance_actions.py (this module's `cloud` fixture)."""
from __future__ import annotations

import asyncio
import dataclasses

import pytest

from nodecompute import app as app_module
from nodecompute.api.keys import reconciler_key, servers_key
from nodecompute.app import create_app, store_key
from nodecompute.config import Config
from nodecompute.db import identity as identity_db
from nodecompute.db import servers as servers_db
from nodecompute.domain import states
from nodecompute.domain.models import utcnow
from nodecompute.identity import accounts
from tests.api.conftest import ladder_dialect
from tests.api.helpers import Api, upload_raw_image
from tests.api.scripted_hypervisor import ScriptedHypervisor
from tests.api.test_clock import START, MovableClock

TOP = (2, 90)
RECLAIM = 3600


def _dialect():
    v21, *others = ladder_dialect().roots
    mv = dataclasses.replace(v21.microversions, max=TOP)
    return dataclasses.replace(ladder_dialect(), roots=(dataclasses.replace(v21, microversions=mv), *others))


class Cloud:
    def __init__(self, api: Api, clock: MovableClock, cfg: Config) -> None:
        self.api, self.clock, self.cfg = api, clock, cfg
        self.admin = self.member = self.other = self.image = ""

    @property
    def app(self):
        return self.api.client.server.app

    def row(self, server_id: str):
        return self.app[store_key].read(servers_db.find_server, server_id)

    async def idle(self) -> None:
        await self.app[servers_key].wait_idle()

    async def call(self, method: str, path: str, token: str, body=None, version: str = "2.90"):
        return await self.api.request(method, path, token, json=body,
                                      headers={"X-OpenStack-Nova-API-Version": version})

    async def act(self, server_id: str, body: dict, token: str | None = None, version: str = "2.90",
                  status: int = 202):
        resp = await self.call("POST", f"/servers/{server_id}/action", token or self.member, body, version)
        assert resp.status == status, (body, resp.status, await resp.text())
        await self.idle()
        return resp

    async def server(self) -> str:
        body = {"server": {"name": "vm", "imageRef": self.image, "flavorRef": "42", "networks": "none"}}
        resp = await self.call("POST", "/servers", self.member, body)
        assert resp.status == 202, await resp.text()
        await self.idle()
        return (await resp.json())["server"]["id"]

    async def relogin(self) -> None:
        """New tokens after the clock moved past their lifetime."""
        self.admin = await self.api.token("admin", "admin-secret", "admin")
        self.member = await self.api.token("alice", "pw-alice", "demo")

    async def user(self, project: str, role: str, name: str) -> str:
        def create(db):
            if identity_db.find_project(db, project) is None:
                identity_db.create_project(db, project, now=utcnow())
            return accounts.create_user(db, self.cfg, name, project, role, "pw-" + name, now=utcnow())

        await self.app[store_key].write(create)
        return await self.api.token(name, "pw-" + name, project)


@pytest.fixture
async def cloud(aiohttp_client, cfg: Config, monkeypatch):
    cfg = dataclasses.replace(cfg, compute=dataclasses.replace(cfg.compute, reclaim_instance_interval=RECLAIM,
                                                               wait_soft_reboot_seconds=1))
    monkeypatch.setattr(app_module, "OPENSTACK", _dialect())
    clock = MovableClock(START)
    client = await aiohttp_client(create_app(cfg, clock=clock, hypervisor_factory=ScriptedHypervisor.for_config))
    made = Cloud(Api(client), clock, cfg)
    made.admin = await made.api.token("admin", "admin-secret", "admin")
    made.member = await made.user("demo", "member", "alice")
    made.other = await made.user("demo", "member", "bob")
    made.image = await upload_raw_image(client.server.app, made.member)
    yield made
    service = client.server.app[servers_key]
    await service.wait_idle()
    for server in service.store.read(servers_db.list_all_live):  # test:///default is shared by the process
        await service.guests.destroy(server.uuid, server.instance_name)


async def _status(cloud: Cloud, server_id: str, token: str | None = None) -> str:
    resp = await cloud.call("GET", f"/servers/{server_id}", token or cloud.member)
    return (await resp.json())["server"]["status"]


async def test_pause_suspend_and_back_with_their_states(cloud):
    server_id = await cloud.server()
    hv = cloud.app[servers_key].guests.hv
    for body, status, rule in [({"pause": None}, "PAUSED", "pause"), ({"unpause": None}, "ACTIVE", "unpause"),
                               ({"suspend": None}, "SUSPENDED", "suspend"), ({"resume": None}, "ACTIVE", "resume")]:
        await cloud.act(server_id, body)
        row = cloud.row(server_id)
        assert (row.vm_state, row.power_state, row.task_state) == (*states.ACTIONS[rule].done, None), body
        assert await _status(cloud, server_id) == status
        assert await hv.power_state(row.instance_name) == row.power_state, body


async def test_a_hard_reboot_of_a_suspended_server_boots_afresh(cloud):
    server_id = await cloud.server()
    await cloud.act(server_id, {"suspend": None})
    hv = cloud.app[servers_key].guests.hv
    await cloud.act(server_id, {"reboot": {"type": "HARD"}})
    assert "managed save remove" in hv.calls
    assert (cloud.row(server_id).vm_state, await _status(cloud, server_id)) == (states.ACTIVE, "ACTIVE")


def _conflict(action: str, server_id: str, attr: str, state) -> dict:
    return {"conflictingRequest": {"code": 409, "message":
            f"Cannot '{action}' instance {server_id} while it is in {attr} {state}"}}


async def _refused(cloud: Cloud, server_id: str, body: dict, message: dict, token: str | None = None,
                   busy: bool = False) -> None:
    before = cloud.row(server_id)
    actions = len(await _actions(cloud, server_id))
    resp = await cloud.call("POST", f"/servers/{server_id}/action", token or cloud.member, body)
    assert (resp.status, await resp.json()) == (409, message), body
    if not busy:  # a held action would never let the server go idle
        await cloud.idle()
    after = cloud.row(server_id)
    assert (after.vm_state, after.task_state, after.power_state, after.updated_at) == (
        before.vm_state, before.task_state, before.power_state, before.updated_at), body
    assert len(await _actions(cloud, server_id)) == actions, body


async def test_each_action_in_a_state_nova_refuses_is_409_and_changes_nothing(cloud):
    server_id = await cloud.server()
    for body, action in [({"unpause": None}, "unpause"), ({"resume": None}, "resume"),
                         ({"restore": None}, "restore"), ({"os-start": None}, "start")]:
        await _refused(cloud, server_id, body, _conflict(action, server_id, "vm_state", "active"))
    await cloud.act(server_id, {"pause": None})
    for body, action in [({"pause": None}, "pause"), ({"suspend": None}, "suspend"), ({"resume": None}, "resume"),
                         ({"os-stop": None}, "stop"), ({"reboot": {"type": "SOFT"}}, "reboot")]:
        await _refused(cloud, server_id, body, _conflict(action, server_id, "vm_state", "paused"))
    await cloud.act(server_id, {"unpause": None})
    await cloud.act(server_id, {"suspend": None})
    for body, action in [({"os-start": None}, "start"), ({"pause": None}, "pause"), ({"unpause": None}, "unpause"),
                         ({"trigger_crash_dump": None}, "trigger_crash_dump"), ({"suspend": None}, "suspend")]:
        await _refused(cloud, server_id, body, _conflict(action, server_id, "vm_state", "suspended"))
    await cloud.act(server_id, {"resume": None})
    await cloud.act(server_id, {"os-stop": None})
    await _refused(cloud, server_id, {"trigger_crash_dump": None},
                   _conflict("trigger_crash_dump", server_id, "vm_state", "stopped"))


async def test_a_busy_server_refuses_by_task_state(cloud):
    server_id = await cloud.server()
    hv = cloud.app[servers_key].guests.hv
    held = hv.hold("pause")
    resp = await cloud.call("POST", f"/servers/{server_id}/action", cloud.member, {"pause": None})
    assert resp.status == 202
    try:
        await held.wait_reached()
        assert await _status(cloud, server_id) == "ACTIVE"  # pausing shows as ACTIVE (Nova's status map)
        await _refused(cloud, server_id, {"pause": None}, _conflict("pause", server_id, "task_state", "pausing"),
                       busy=True)
        await _refused(cloud, server_id, {"trigger_crash_dump": None},
                       _conflict("trigger_crash_dump", server_id, "task_state", "pausing"), busy=True)
    finally:
        held.release()
    await cloud.idle()
    assert cloud.row(server_id).vm_state == states.PAUSED_VM


async def test_a_locked_server_refuses_members_and_lets_admins_act(cloud):
    server_id = await cloud.server()
    locked = {"conflictingRequest": {"code": 409, "message": f"Instance {server_id} is locked"}}
    await cloud.act(server_id, {"lock": None})
    row = cloud.row(server_id)
    assert (row.locked, row.locked_by, row.locked_reason) == (True, "owner", None)
    for body in ({"pause": None}, {"os-stop": None}, {"reboot": {"type": "HARD"}}, {"forceDelete": None}):
        await _refused(cloud, server_id, body, locked, token=cloud.other)
    resp = await cloud.call("DELETE", f"/servers/{server_id}", cloud.member)
    assert (resp.status, await resp.json()) == (409, locked)
    await cloud.act(server_id, {"pause": None}, token=cloud.admin)  # an admin passes any lock
    await cloud.act(server_id, {"unpause": None}, token=cloud.admin)
    await cloud.act(server_id, {"unlock": None}, token=cloud.other)  # the owner's lock: any member may lift it
    await cloud.act(server_id, {"pause": None})


async def test_an_admins_lock_needs_an_admin_to_lift_it_and_keeps_its_reason(cloud):
    server_id = await cloud.server()
    await cloud.act(server_id, {"lock": {"locked_reason": "maintenance"}}, token=cloud.admin, version="2.73")
    row = cloud.row(server_id)
    assert (row.locked, row.locked_by, row.locked_reason) == (True, "admin", "maintenance")
    resp = await cloud.call("POST", f"/servers/{server_id}/action", cloud.member, {"unlock": None})
    assert (resp.status, await resp.json()) == (403, {"forbidden": {"code": 403, "message": "Policy doesn't allow "
                                                      "os_compute_api:os-lock-server:unlock:unlock_override to be "
                                                      "performed."}})
    await cloud.act(server_id, {"unlock": None}, token=cloud.admin)
    row = cloud.row(server_id)
    assert (row.locked, row.locked_by, row.locked_reason) == (False, None, None)


async def test_the_lock_reason_counts_from_2_73(cloud):
    server_id = await cloud.server()
    await cloud.act(server_id, {"lock": {"locked_reason": "ignored"}}, version="2.72")
    assert cloud.row(server_id).locked_reason is None
    await cloud.act(server_id, {"unlock": None})
    for bad in ({"locked_reason": ""}, {"locked_reason": "x" * 256}, {"reason": "x"}, "text"):
        resp = await cloud.call("POST", f"/servers/{server_id}/action", cloud.member, {"lock": bad}, "2.73")
        assert resp.status == 400, bad
    assert cloud.row(server_id).locked is False
    await cloud.act(server_id, {"lock": {"locked_reason": "why"}}, version="2.73")
    assert cloud.row(server_id).locked_reason == "why"


async def test_trigger_crash_dump_is_2_17_and_changes_no_state(cloud):
    server_id = await cloud.server()
    resp = await cloud.call("POST", f"/servers/{server_id}/action", cloud.member, {"trigger_crash_dump": None}, "2.16")
    assert (resp.status, await resp.json()) == (404, {"itemNotFound": {"code": 404, "message":
                                                                       "The resource could not be found."}})
    resp = await cloud.call("POST", f"/servers/{server_id}/action", cloud.member, {"trigger_crash_dump": {}}, "2.17")
    assert resp.status == 400  # Nova's schema: null only
    hv = cloud.app[servers_key].guests.hv
    hv.fail("inject NMI", "this function is not supported by the connection driver: virDomainInjectNMI")
    await cloud.act(server_id, {"trigger_crash_dump": None}, version="2.17")
    row = cloud.row(server_id)
    assert (row.vm_state, row.task_state, row.fault) == (states.ACTIVE, None, None)  # Nova: no fault, no ERROR
    action = await _show(cloud, server_id, (await _actions(cloud, server_id))[0]["request_id"], cloud.admin, "2.84")
    assert action["action"] == "trigger_crash_dump" and action["message"] == "Error"
    assert [(e["event"], e["result"]) for e in action["events"]] == [("compute_trigger_crash_dump", "Error")]
    assert "virDomainInjectNMI" in action["events"][0]["details"]
    assert "Traceback" in action["events"][0]["traceback"]


async def test_topology_is_2_78_and_empty_without_numa(cloud):
    server_id = await cloud.server()
    resp = await cloud.call("GET", f"/servers/{server_id}/topology", cloud.member, version="2.77")
    assert resp.status == 404
    resp = await cloud.call("GET", f"/servers/{server_id}/topology", cloud.member, version="2.78")
    assert (resp.status, await resp.json()) == (200, {"nodes": [], "pagesize_kb": None})
    resp = await cloud.call("GET", "/servers/00000000-0000-0000-0000-000000000000/topology", cloud.member,
                            version="2.78")
    assert resp.status == 404


async def test_a_soft_reboot_the_guest_ignores_becomes_hard(cloud, monkeypatch):
    server_id = await cloud.server()
    hv = cloud.app[servers_key].guests.hv

    async def ignore_acpi(name: str) -> None:
        hv.calls.append("shutdown ignored")

    monkeypatch.setattr(hv, "shutdown", ignore_acpi)
    before = await hv.domain_id(cloud.row(server_id).instance_name)
    await cloud.act(server_id, {"reboot": {"type": "SOFT"}})
    row = cloud.row(server_id)
    assert "shutdown ignored" in hv.calls and hv.calls.count("destroy") >= 1
    assert (row.vm_state, row.task_state) == (states.ACTIVE, None)
    assert await hv.domain_id(row.instance_name) not in (None, before)


# ----- soft delete ---------------------------------------------------------------------------------------------


async def test_delete_with_a_reclaim_interval_is_soft_and_restore_brings_it_back(cloud):
    server_id = await cloud.server()
    hv = cloud.app[servers_key].guests.hv
    resp = await cloud.call("DELETE", f"/servers/{server_id}", cloud.member)
    assert resp.status == 204
    await cloud.idle()
    row = cloud.row(server_id)
    assert (row.vm_state, row.power_state, row.deleted, row.deleted_at) == (
        states.SOFT_DELETED, states.SHUTDOWN, False, START)
    assert await _status(cloud, server_id) == "SOFT_DELETED"
    assert await hv.power_state(row.instance_name) == states.SHUTDOWN
    await cloud.act(server_id, {"restore": None})
    row = cloud.row(server_id)
    assert (row.vm_state, row.power_state, row.deleted_at) == (states.ACTIVE, states.RUNNING, None)
    assert await hv.power_state(row.instance_name) == states.RUNNING


async def test_a_power_sync_that_read_the_server_before_its_soft_delete_changes_nothing(cloud, monkeypatch):
    """The sync a libvirt event starts reads the row, then asks libvirt: a soft delete that ran meanwhile (the
    guest shut down by it) must stay SOFT_DELETED, not become SHUTOFF (seen once in a whole run)."""
    server_id = await cloud.server()
    hv = cloud.app[servers_key].guests.hv
    real, asked, answer = hv.power_state, asyncio.Event(), asyncio.Event()

    async def held(name: str) -> str:
        asked.set()
        await answer.wait()
        return await real(name)
    monkeypatch.setattr(hv, "power_state", held)
    sync = asyncio.create_task(cloud.app[reconciler_key].sync_power_state(server_id))
    await asked.wait()  # the sync has read the server ACTIVE
    monkeypatch.setattr(hv, "power_state", real)
    assert (await cloud.call("DELETE", f"/servers/{server_id}", cloud.member)).status == 204
    await cloud.idle()
    answer.set()
    await sync
    row = cloud.row(server_id)
    assert (row.vm_state, row.power_state, row.task_state) == (states.SOFT_DELETED, states.SHUTDOWN, None)
    assert await _status(cloud, server_id) == "SOFT_DELETED"


async def test_the_reclaim_deletes_soft_deleted_servers_past_the_interval(cloud):
    kept, reclaimed = await cloud.server(), await cloud.server()
    service = cloud.app[servers_key]
    await cloud.call("DELETE", f"/servers/{reclaimed}", cloud.member)
    await cloud.idle()
    cloud.clock.move(seconds=RECLAIM - 1)
    await cloud.relogin()
    await cloud.call("DELETE", f"/servers/{kept}", cloud.member)
    await cloud.idle()
    assert await service.reclaim() == 0
    cloud.clock.move(seconds=2)
    assert await service.reclaim() == 1
    await cloud.relogin()
    assert cloud.row(reclaimed).deleted and not cloud.row(kept).deleted
    assert (await cloud.call("GET", f"/servers/{reclaimed}", cloud.member)).status == 404
    assert cloud.row(reclaimed).instance_name not in await service.guests.hv.list_ours()
    events = (await _show(cloud, reclaimed, (await _actions(cloud, reclaimed, "2.21"))[0]["request_id"],
                          cloud.admin))["events"]
    assert {e["event"] for e in events} == {"compute_soft_delete_instance", "compute_terminate_instance"}


async def test_force_delete_deletes_at_once_in_any_state(cloud):
    soft, active = await cloud.server(), await cloud.server()
    await cloud.call("DELETE", f"/servers/{soft}", cloud.member)
    await cloud.idle()
    await cloud.act(soft, {"forceDelete": None})
    await cloud.act(active, {"forceDelete": None})
    assert cloud.row(soft).deleted and cloud.row(active).deleted


async def _actions(cloud: Cloud, server_id: str, version: str = "2.90", token: str | None = None,
                   query: str = "") -> list[dict]:
    resp = await cloud.call("GET", f"/servers/{server_id}/os-instance-actions{query}", token or cloud.member,
                            version=version)
    assert resp.status == 200, await resp.text()
    return (await resp.json())["instanceActions"]


async def _show(cloud: Cloud, server_id: str, request_id: str, token: str, version: str = "2.90") -> dict:
    resp = await cloud.call("GET", f"/servers/{server_id}/os-instance-actions/{request_id}", token, version=version)
    assert resp.status == 200, await resp.text()
    return (await resp.json())["instanceAction"]
