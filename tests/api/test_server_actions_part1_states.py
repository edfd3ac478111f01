"""Issue 17's state rules as a matrix, on the test driver: every action of domain/states.py ACTIONS asked in every
vm_state its rule refuses answers Nova's 409 and changes nothing; and the new actions cut short by a stop are
replayed at start-up to their done states, also when the first run had already reached the guest."""
from __future__ import annotations

import pytest

from nodecompute.api.keys import reconciler_key, servers_key
from nodecompute.app import store_key
from nodecompute.db import servers as servers_db
from nodecompute.domain import states
from nodecompute.domain.models import utcnow
from tests.api.test_server_actions import scripted  # noqa: F401 (the fixture)
from tests.api.test_server_actions_part1 import _dialect

# action -> the body that asks it (the API's key for each ACTIONS row; soft_delete is a DELETE)
BODIES = {
    "reboot": {"reboot": {"type": "SOFT"}}, "reboot_hard": {"reboot": {"type": "HARD"}}, "start": {"os-start": None},
    "stop": {"os-stop": None}, "pause": {"pause": None}, "unpause": {"unpause": None},
    "suspend": {"suspend": None}, "resume": {"resume": None}, "trigger_crash_dump": {"trigger_crash_dump": None},
    "restore": {"restore": None}, "snapshot": {"createImage": {"name": "s"}},
    "backup": {"createBackup": {"name": "b", "backup_type": "daily", "rotation": 1}},
    "change_password": {"changePassword": {"adminPass": "pw"}}, "resize": {"resize": {"flavorRef": "1"}},
    "confirm_resize": {"confirmResize": None}, "revert_resize": {"revertResize": None}, "shelve": {"shelve": None},
    "shelve_offload": {"shelveOffload": None}, "unshelve": {"unshelve": None},
    "rebuild": {"rebuild": {"imageRef": "00000000-0000-4000-8000-000000000000"}}, "rescue": {"rescue": None},
    "unrescue": {"unrescue": None},
}
REFUSED = [(name, vm_state) for name in BODIES for vm_state in states.LIVE_VM_STATES
           if vm_state not in states.ACTIONS[name].allowed]


@pytest.fixture(autouse=True)
def high_ladder(monkeypatch):
    from nodecompute import app as app_module
    monkeypatch.setattr(app_module, "OPENSTACK", _dialect())


def _row(api, server_id):
    return api.client.server.app[store_key].read(servers_db.get_server, server_id)


async def test_every_action_in_every_refused_vm_state_is_409_and_changes_nothing(scripted):  # noqa: F811
    api, admin, hv, server_id = scripted
    store = api.client.server.app[store_key]
    assert len(REFUSED) > 60
    for name, vm_state in REFUSED:
        await store.write(servers_db.update_server, server_id, {"vm_state": vm_state}, now=utcnow())
        before = _row(api, server_id)
        hv.calls.clear()
        resp = await api.post(f"/servers/{server_id}/action", admin, json=BODIES[name],
                              headers={"X-OpenStack-Nova-API-Version": "2.17"})
        body = await resp.json()
        message = f"Cannot '{states.ACTIONS[name].message_name}' instance {server_id} while it is in vm_state " \
                  f"{vm_state}"
        assert (resp.status, body) == (409, {"conflictingRequest": {"code": 409, "message": message}}), name
        await api.client.server.app[servers_key].wait_idle()
        assert _row(api, server_id) == before, (name, vm_state)
        assert not {"define", "destroy", "start", "pause", "suspend", "inject NMI"} & set(hv.calls), (name, vm_state)


@pytest.mark.parametrize("vm_state, task_state, replayed, reached", [
    (states.ACTIVE, states.PAUSING, "pause", False), (states.ACTIVE, states.PAUSING, "pause", True),
    (states.PAUSED_VM, states.UNPAUSING, "unpause", False), (states.PAUSED_VM, states.UNPAUSING, "unpause", True),
    (states.ACTIVE, states.SUSPENDING, "suspend", False), (states.ACTIVE, states.SUSPENDING, "suspend", True),
    (states.SUSPENDED_VM, states.RESUMING, "resume", True),
    (states.ACTIVE, states.SOFT_DELETING, "soft_delete", False),
    (states.SOFT_DELETED, states.RESTORING, "restore", False),
])
async def test_an_interrupted_new_action_is_replayed_at_start(scripted, vm_state, task_state, replayed,  # noqa: F811
                                                              reached):
    """`reached`: the first run had already brought the guest where the action leads before the stop."""
    api, admin, hv, server_id = scripted
    app = api.client.server.app
    name = _row(api, server_id).instance_name
    guests = app[servers_key].guests
    server = _row(api, server_id)
    if vm_state == states.PAUSED_VM or (replayed == "pause" and reached):
        await guests.pause(server)
    if replayed == "unpause" and reached:
        await guests.unpause(server)
    if vm_state == states.SUSPENDED_VM or (replayed == "suspend" and reached):
        await guests.suspend(server)
    if vm_state == states.SOFT_DELETED:
        await hv.destroy(name)
    await app[store_key].write(servers_db.update_server, server_id, {"vm_state": vm_state, "task_state": task_state},
                               now=utcnow())
    await app[reconciler_key].at_start()
    await app[servers_key].wait_idle()
    row = _row(api, server_id)
    assert (row.vm_state, row.power_state, row.task_state, row.fault) == (*states.ACTIONS[replayed].done, None, None)
    assert await hv.power_state(name) == row.power_state
