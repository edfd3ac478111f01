"""resize (#304), confirmResize (#305) and revertResize (#306) on libvirt's test driver, through the whole app, with
real qcow2 disks: a resize grows the root disk and keeps the old one until a confirm; a revert puts back the old
flavor and the old disk byte for byte; the migration record goes as Nova's does and os-migrations lists it per
microversion; Nova's refusals change nothing; a disk that would shrink fails after the 202 as Nova's driver fails
it; a failure in the middle and a stop in the middle leave the old flavor and disk, no kept copy; the confirm window
confirms for the owner. The real guest (memory and disk it prints, revert): tests/integration/
test_server_actions2_guest.py."""
from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from nodecompute.api.keys import reconciler_key, servers_key
from nodecompute.db import server_migrations as migrations_db
from nodecompute.db import servers as servers_db
from nodecompute.domain import migration_models as mig
from nodecompute.domain import states
from nodecompute.domain.migration_models import MigrationFilters
from nodecompute.storage import qemu_img, resize_disks
from tests.api.test_server_actions_part1 import Cloud, cloud  # noqa: F401 (the fixture)

GIB = 1 << 30


async def _flavor(cloud: Cloud, flavor_id: str, ram: int, vcpus: int, disk: int, **extra) -> None:
    body = {"flavor": {"name": f"r.{flavor_id}", "ram": ram, "vcpus": vcpus, "disk": disk, "id": flavor_id, **extra}}
    resp = await cloud.call("POST", "/flavors", cloud.admin, body)
    assert resp.status == 200, await resp.text()


@pytest.fixture
async def flavors(cloud):  # noqa: F811
    await _flavor(cloud, "big", 256, 2, 2)
    await _flavor(cloud, "zero", 256, 1, 0)
    await _flavor(cloud, "eph", 256, 1, 2, **{"OS-FLV-EXT-DATA:ephemeral": 1, "swap": 16})
    return cloud


def _disk(cloud: Cloud, server_id: str) -> Path:
    return cloud.app[servers_key].guests.instance_dir(server_id) / "disk"


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _migrations(cloud: Cloud, server_id: str):
    return cloud.app[servers_key].store.read(migrations_db.list_migrations, MigrationFilters(instance_uuid=server_id))


async def _status(cloud: Cloud, server_id: str) -> dict:
    resp = await cloud.call("GET", f"/servers/{server_id}", cloud.member, version="2.47")
    return (await resp.json())["server"]


async def _fault(resp, status: int, message: str) -> None:
    body = await resp.json()
    assert resp.status == status and next(iter(body.values()))["message"] == message, (resp.status, body)


async def test_resize_grows_the_disk_and_revert_puts_back_the_old_flavor_and_disk_exactly(flavors):
    cloud = flavors
    server_id = await cloud.server()
    before = _digest(_disk(cloud, server_id))
    await cloud.act(server_id, {"resize": {"flavorRef": "big"}})
    server = await _status(cloud, server_id)
    assert (server["status"], server["flavor"]["original_name"], server["flavor"]["vcpus"]) == (
        "VERIFY_RESIZE", "r.big", 2)
    row = cloud.row(server_id)
    assert (row.memory_mb, row.root_gb, row.root_disk_bytes, row.power_state) == (256, 2, 2 * GIB, states.RUNNING)
    assert (await qemu_img.info(_disk(cloud, server_id))).virtual_size == 2 * GIB
    assert resize_disks.has_kept(_disk(cloud, server_id).parent)
    [migration] = _migrations(cloud, server_id)
    assert (migration.status, migration.migration_type, migration.old_vm_state) == ("finished", "resize", "active")
    assert migration.source_compute == migration.dest_compute == row.host

    await cloud.act(server_id, {"revertResize": None})
    server = await _status(cloud, server_id)
    assert (server["status"], server["flavor"]["original_name"]) == ("ACTIVE", "m1.nano")
    row = cloud.row(server_id)
    assert (row.memory_mb, row.vcpus, row.root_gb, row.root_disk_bytes) == (128, 1, 1, GIB)
    assert (await qemu_img.info(_disk(cloud, server_id))).virtual_size == GIB
    assert _digest(_disk(cloud, server_id)) == before  # the old disk itself, not a copy grown and shrunk
    assert not resize_disks.has_kept(_disk(cloud, server_id).parent)
    assert [m.status for m in _migrations(cloud, server_id)] == ["reverted"]
    listed = await cloud.call("GET", f"/servers/{server_id}/os-instance-actions", cloud.member)
    assert [a["action"] for a in (await listed.json())["instanceActions"]][:2] == ["revertResize", "resize"]


async def test_confirm_keeps_the_new_flavor_and_drops_the_old_disk_and_os_migrations_lists_it(flavors):
    cloud = flavors
    server_id = await cloud.server()
    await cloud.act(server_id, {"resize": {"flavorRef": "big", "OS-DCF:diskConfig": "AUTO"}})
    await cloud.act(server_id, {"confirmResize": None}, status=204)
    assert (await _status(cloud, server_id))["status"] == "ACTIVE"
    assert (cloud.row(server_id).flavorid, cloud.row(server_id).root_disk_bytes) == ("big", 2 * GIB)
    assert not resize_disks.has_kept(_disk(cloud, server_id).parent)
    resp = await cloud.call("POST", f"/servers/{server_id}/action", cloud.member, {"confirmResize": None})
    await _fault(resp, 409, f"Cannot 'confirmResize' instance {server_id} while it is in vm_state active")
    old = await cloud.call("GET", "/os-migrations", cloud.admin, version="2.1")
    [view] = (await old.json())["migrations"]
    assert (view["instance_uuid"], view["status"], view["new_instance_type_id"] != view["old_instance_type_id"]) \
        == (server_id, "confirmed", True)
    assert not {"migration_type", "uuid", "user_id"} & set(view)
    new = await cloud.call("GET", f"/os-migrations?migration_type=resize&instance_uuid={server_id}", cloud.admin,
                           version="2.80")
    [view] = (await new.json())["migrations"]
    assert (view["migration_type"], view["uuid"], view["project_id"]) == (
        "resize", _migrations(cloud, server_id)[0].uuid, cloud.row(server_id).project_id)
    none = await cloud.call("GET", "/os-migrations?status=error", cloud.admin, version="2.80")
    assert (await none.json())["migrations"] == []
    denied = await cloud.call("GET", "/os-migrations", cloud.member)
    assert denied.status == 403


async def test_a_stopped_server_resizes_stopped_and_confirms_to_shutoff(flavors):
    cloud = flavors
    server_id = await cloud.server()
    await cloud.act(server_id, {"os-stop": None})
    await cloud.act(server_id, {"resize": {"flavorRef": "eph"}})
    row = cloud.row(server_id)
    assert (row.vm_state, row.power_state, row.ephemeral_gb, row.swap) == (states.RESIZED, states.SHUTDOWN, 1, 16)
    inst = _disk(cloud, server_id).parent
    assert (inst / "disk.local").stat().st_size == GIB and (inst / "disk.swap").stat().st_size == 16 << 20
    await cloud.act(server_id, {"confirmResize": None}, status=204)
    assert (await _status(cloud, server_id))["status"] == "SHUTOFF"


async def test_novas_refusals_answer_400_or_403_and_change_nothing(flavors):
    cloud = flavors
    server_id = await cloud.server()
    before = cloud.row(server_id)

    async def refused(flavor_ref, status: int, message: str) -> None:
        resp = await cloud.call("POST", f"/servers/{server_id}/action", cloud.member,
                                {"resize": {"flavorRef": flavor_ref}})
        await _fault(resp, status, message)
        await cloud.idle()
        assert cloud.row(server_id) == before and _migrations(cloud, server_id) == []

    await refused("42", 400, "When resizing, instances must change flavor!")
    await refused("zero", 400, "Server disk was unable to be resized because: Resize to zero disk flavor is not "
                               "allowed.")
    await refused("nope", 400, "Unable to locate requested flavor.")
    resp = await cloud.call("PUT", f"/os-quota-sets/{before.project_id}", cloud.admin, {"quota_set": {"cores": 1}})
    assert resp.status == 200, await resp.text()
    await refused("big", 403, "Quota exceeded for cores: Requested 1, but already used 1 of 1 cores")
    resp = await cloud.call("POST", f"/servers/{server_id}/action", cloud.member, {"revertResize": None})
    await _fault(resp, 409, f"Cannot 'revertResize' instance {server_id} while it is in vm_state active")


async def test_a_smaller_disk_fails_after_the_answer_and_the_server_stays_as_it_was(flavors):
    cloud = flavors
    await _flavor(cloud, "bigger", 256, 1, 3)
    server_id = await cloud.server()
    await cloud.act(server_id, {"resize": {"flavorRef": "bigger"}})
    await cloud.act(server_id, {"confirmResize": None}, status=204)
    before = cloud.row(server_id)
    await cloud.act(server_id, {"resize": {"flavorRef": "big"}})  # 3 GiB -> 2 GiB
    after = cloud.row(server_id)
    assert (after.vm_state, after.task_state, after.flavorid, after.root_disk_bytes) == (
        states.ACTIVE, None, "bigger", before.root_disk_bytes)
    assert [m.status for m in _migrations(cloud, server_id)] == ["error", "confirmed"]
    listed = await cloud.call("GET", f"/servers/{server_id}/os-instance-actions", cloud.member)
    request_id = (await listed.json())["instanceActions"][0]["request_id"]
    shown = await cloud.call("GET", f"/servers/{server_id}/os-instance-actions/{request_id}", cloud.admin)
    events = {event["event"]: event for event in (await shown.json())["instanceAction"]["events"]}
    assert {name: event["result"] for name, event in events.items()} == {
        "conductor_migrate_server": "Success", "compute_prep_resize": "Success", "compute_resize_instance": "Error"}
    assert "Resize error: Unable to resize disk down." in events["compute_resize_instance"]["traceback"]


async def _events(cloud: Cloud, server_id: str, index: int = 0) -> tuple[str, dict[str, str]]:
    """The action `index` places from the newest: its name and its events' results."""
    listed = await cloud.call("GET", f"/servers/{server_id}/os-instance-actions", cloud.member)
    action = (await listed.json())["instanceActions"][index]
    shown = await cloud.call("GET", f"/servers/{server_id}/os-instance-actions/{action['request_id']}", cloud.admin)
    events = (await shown.json())["instanceAction"]["events"]
    return action["action"], {event["event"]: event["result"] for event in events}


async def test_resize_and_revert_record_novas_events_and_the_migration_its_destination(flavors):
    cloud = flavors
    server_id = await cloud.server()
    await cloud.act(server_id, {"resize": {"flavorRef": "big"}})
    assert await _events(cloud, server_id) == ("resize", {
        "conductor_migrate_server": "Success", "compute_prep_resize": "Success",
        "compute_resize_instance": "Success", "compute_finish_resize": "Success"})
    resp = await cloud.call("GET", f"/os-migrations?instance_uuid={server_id}", cloud.admin, version="2.80")
    [listed] = (await resp.json())["migrations"]
    resp = await cloud.call("GET", "/os-hypervisors/detail", cloud.admin, version="2.27")
    [hypervisor] = (await resp.json())["hypervisors"]
    assert listed["dest_host"] == hypervisor["host_ip"] and listed["dest_compute"] == cloud.row(server_id).host
    await cloud.act(server_id, {"revertResize": None})
    assert await _events(cloud, server_id) == ("revertResize", {
        "compute_revert_resize": "Success", "compute_finish_revert_resize": "Success"})


async def test_an_upsize_beyond_the_host_fails_after_the_answer_with_no_valid_host(flavors):
    cloud = flavors
    server_id = await cloud.server()
    project = cloud.row(server_id).project_id
    resp = await cloud.call("PUT", f"/os-quota-sets/{project}", cloud.admin, {"quota_set": {"ram": -1}})
    assert resp.status == 200, await resp.text()
    await _flavor(cloud, "huge", 1 << 30, 1, 1)  # a PiB of memory
    before = cloud.row(server_id)
    await cloud.act(server_id, {"resize": {"flavorRef": "huge"}})
    after = cloud.row(server_id)
    assert (after.vm_state, after.task_state, after.flavorid, after.power_state, after.fault) == (
        states.ACTIVE, None, before.flavorid, states.RUNNING, None)
    assert [m.status for m in _migrations(cloud, server_id)] == ["error"]
    assert await _events(cloud, server_id) == ("resize", {"conductor_migrate_server": "Error"})
    assert not resize_disks.has_kept(_disk(cloud, server_id).parent)


async def test_deleting_a_server_waiting_for_its_resize_confirmation_confirms_it_first(flavors):
    cloud = flavors
    server_id = await cloud.server()
    await cloud.act(server_id, {"resize": {"flavorRef": "big"}})
    assert (await cloud.call("DELETE", f"/servers/{server_id}", cloud.member)).status == 204
    await cloud.idle()
    assert [m.status for m in _migrations(cloud, server_id)] == ["confirmed"]
    listed = await cloud.call("GET", f"/servers/{server_id}/os-instance-actions", cloud.admin, version="2.21")
    actions = (await listed.json())["instanceActions"]
    assert [action["action"] for action in actions] == ["delete", "confirmResize", "resize", "create"]
    # both come from the one DELETE request: Nova's show by request id finds the newest (the delete)
    assert actions[0]["request_id"] == actions[1]["request_id"]


async def test_a_failure_in_the_middle_puts_back_the_old_disk_and_flavor(flavors, monkeypatch):
    cloud = flavors
    server_id = await cloud.server()
    before, digest = cloud.row(server_id), _digest(_disk(cloud, server_id))

    async def broken(*args, **kwargs):
        raise OSError("no space left")

    monkeypatch.setattr(resize_disks, "grow", broken)
    await cloud.act(server_id, {"resize": {"flavorRef": "big"}})
    after = cloud.row(server_id)
    assert (after.vm_state, after.task_state, after.flavorid, after.power_state) == (
        states.ACTIVE, None, "42", states.RUNNING)
    assert _digest(_disk(cloud, server_id)) == digest and not resize_disks.has_kept(_disk(cloud, server_id).parent)
    assert [m.status for m in _migrations(cloud, server_id)] == ["error"]
    assert after.memory_mb == before.memory_mb


async def test_a_stop_in_the_middle_rolls_back_to_the_old_server_with_a_fault(flavors):
    cloud = flavors
    server_id = await cloud.server()
    digest = _digest(_disk(cloud, server_id))
    await cloud.act(server_id, {"resize": {"flavorRef": "big"}})
    # as a SIGKILL after the new domain was defined leaves it: the task, the migration not finished
    store = cloud.app[servers_key].store
    [migration] = _migrations(cloud, server_id)
    await store.write(servers_db.update_server, server_id, {"vm_state": states.ACTIVE,
                                                            "task_state": states.RESIZE_FINISH}, now=cloud.clock())
    await store.write(migrations_db.set_status, migration.uuid, mig.POST_MIGRATING, now=cloud.clock())
    await cloud.app[reconciler_key].at_start()
    await cloud.idle()
    row = cloud.row(server_id)
    assert (row.vm_state, row.task_state, row.flavorid, row.root_disk_bytes) == (states.ERROR, None, "42", GIB)
    assert row.fault is not None and "resize was rolled back" in row.fault.message
    assert _digest(_disk(cloud, server_id)) == digest and not resize_disks.has_kept(_disk(cloud, server_id).parent)
    assert [m.status for m in _migrations(cloud, server_id)] == ["error"]
    await cloud.act(server_id, {"reboot": {"type": "HARD"}})
    assert (await _status(cloud, server_id))["status"] == "ACTIVE"


async def test_a_revert_cut_short_is_finished_at_start(flavors):
    cloud = flavors
    server_id = await cloud.server()
    digest = _digest(_disk(cloud, server_id))
    await cloud.act(server_id, {"resize": {"flavorRef": "big"}})
    store = cloud.app[servers_key].store
    [migration] = _migrations(cloud, server_id)
    await store.write(servers_db.update_server, server_id, {"task_state": states.RESIZE_REVERTING},
                      now=cloud.clock())
    await store.write(migrations_db.set_status, migration.uuid, mig.REVERTING, now=cloud.clock())
    await cloud.app[reconciler_key].at_start()
    row = cloud.row(server_id)
    assert (row.vm_state, row.task_state, row.flavorid, row.power_state) == (
        states.ACTIVE, None, "42", states.RUNNING)
    assert _digest(_disk(cloud, server_id)) == digest
    assert [m.status for m in _migrations(cloud, server_id)] == ["reverted"]


async def test_the_confirm_window_confirms_resizes_left_unconfirmed(flavors):
    cloud = flavors
    server_id, deleted = await cloud.server(), await cloud.server()
    for resized in (server_id, deleted):
        await cloud.act(resized, {"resize": {"flavorRef": "big"}})
    assert (await cloud.call("DELETE", f"/servers/{deleted}", cloud.member)).status == 204
    await cloud.idle()
    resizes = cloud.app[servers_key].resizes
    assert await resizes.confirm_due(3600) == 0  # not yet
    cloud.clock.move(seconds=3601)
    assert await resizes.confirm_due(3600) == 1  # the deleted server's resize is not asked again
    await cloud.idle()
    assert (cloud.row(server_id).vm_state, cloud.row(server_id).flavorid) == (states.ACTIVE, "big")
    assert [m.status for m in _migrations(cloud, server_id)] == ["confirmed"]
