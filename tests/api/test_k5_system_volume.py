"""K5's volume-only boot ("system storage", inventory 3.9) through /k5/v2/{tenant_id} on libvirt's test:///, over
the core's boot from volume (tests/api/test_boot_from_volume.py's `cloud`): a create whose mapping passes every
value as a string (seed 003 §1.2.6.38's example) boots from a volume made from the image, the same server shows in
/compute/v2.1; `volume_size` is required for an image source; the system volume cannot be detached (400); a
`delete_on_termination` "True" volume that has a snapshot survives the server's delete; a volume not ready in time
gives K5's fault message on the ERROR server; fcx-restore reverts the system volume of a STOPPED server (409 while
it runs)."""
from __future__ import annotations

import pytest

from nodecompute.api.keys import config_key
from nodecompute.compute import volume_boot
from nodecompute.db import servers as servers_db
from nodecompute.db import volumes as volumes_db
from nodecompute.domain import states
from nodecompute.domain import volume_models as vm
from nodecompute.domain.errors import Conflict
from nodecompute.domain.models import utcnow
from tests.api.helpers import assert_fault
from tests.api.test_boot_from_volume import Cloud, cloud  # noqa: F401 (fixture)
from tests.api.volume_helpers import Cinder, qemu_io


def _k5(cloud: Cloud, method: str, path: str, **kw):  # noqa: F811
    return cloud.api.client.request(method, f"/k5/v2{path}", headers={"X-Auth-Token": cloud.token}, **kw)


def system_volume(source: str, uuid: str, **more) -> dict:
    """seed 003 §1.2.6.38: every value a string."""
    return {"device_name": "/dev/vda", "source_type": source, "destination_type": "volume", "boot_index": "0",
            "uuid": uuid, "delete_on_termination": "True", **more}


async def boot(cloud: Cloud, mappings: list[dict], status: int = 202, **fields) -> dict:  # noqa: F811
    body = {"server": {"name": "k5-system", "imageRef": "", "flavorRef": "42", "networks": [],
                       "block_device_mapping_v2": mappings, **fields}}
    resp = await _k5(cloud, "POST", "/servers", json=body)
    if status != 202:
        return await assert_fault(resp, status)
    assert resp.status == 202, await resp.text()
    await cloud.service.wait_idle()
    await cloud.cinder.idle()
    shown = await _k5(cloud, "GET", f"/servers/{(await resp.json())['server']['id']}")
    assert shown.status == 200, await shown.text()
    return (await shown.json())["server"]


async def test_k5_boot_from_an_image_volume_detach_refused_and_snapshot_survives(cloud: Cloud):  # noqa: F811
    fault = await boot(cloud, [system_volume("image", cloud.image)], 400)
    assert "volume_size" in fault["message"] or "non-zero size" in fault["message"]
    assert cloud.api.client.server.app[config_key].compute.force_config_drive  # the host forces drives
    server = await boot(cloud, [system_volume("image", cloud.image, volume_size="2")])
    assert (server["status"], server["config_drive"]) == ("ACTIVE", "")  # never a drive in K5 (D65), even forced
    [attached] = server["os-extended-volumes:volumes_attached"]
    volume = await cloud.cinder.show(attached["id"])
    assert (volume["status"], volume["size"], volume["bootable"]) == ("in-use", 2, "true")
    assert (await cloud.defined_disks(server["id"]))["vda"] == str(cloud.cinder.volume_file(volume["id"]))
    assert (await cloud.show(server["id"]))["id"] == server["id"]  # the same server in /compute/v2.1

    resp = await _k5(cloud, "DELETE", f"/servers/{server['id']}/os-volume_attachments/{volume['id']}")
    await assert_fault(resp, 400, "badRequest", "Cannot detach a root device volume")
    assert (await cloud.cinder.show(volume["id"]))["status"] == "in-use"

    snapshot = await cloud.cinder.snapshot(volume["id"], force=True)
    resp = await _k5(cloud, "DELETE", f"/servers/{server['id']}")
    assert resp.status == 204, await resp.text()
    await cloud.service.wait_idle()
    await cloud.cinder.idle()
    kept = await cloud.cinder.show(volume["id"])  # a volume with snapshots is never deleted on termination
    assert (kept["status"], kept["attachments"]) == ("available", [])
    assert (await cloud.cinder.ok("GET", f"/snapshots/{snapshot['id']}", 200))["snapshot"]["volume_id"] == kept["id"]


async def test_k5_volume_not_ready_in_time_is_the_servers_fault(cloud: Cloud, monkeypatch):  # noqa: F811
    boot_volumes = cloud.service.volume_boot
    monkeypatch.setattr(boot_volumes, "attempts", 1)

    async def never_available(volume_id: str) -> None:
        raise volume_boot.VolumeNotCreated(
            f"Volume {volume_id} did not finish being created even after we waited 0 seconds or 1 attempts. "
            f"And its status is creating.")

    monkeypatch.setattr(boot_volumes, "_wait_available", never_available)
    server = await boot(cloud, [system_volume("image", cloud.image, volume_size="1")])
    assert server["status"] == "ERROR"
    assert "did not finish being created even after we waited" in server["fault"]["message"]
    resp = await _k5(cloud, "DELETE", f"/servers/{server['id']}")
    assert resp.status == 204, await resp.text()


async def test_k5_fcx_restore_of_a_stopped_servers_system_volume(cloud: Cloud):  # noqa: F811
    source = await cloud.cinder.create(name="system", imageRef=cloud.image)
    server = await boot(cloud, [system_volume("volume", source["id"], delete_on_termination="False")])
    assert server["status"] == "ACTIVE"
    k5_cinder = Cinder(cloud.api, cloud.token, root="/k5/volume/v2")
    path = cloud.cinder.volume_file(source["id"])

    async def act(action: dict, status: str) -> None:
        resp = await _k5(cloud, "POST", f"/servers/{server['id']}/action", json=action)
        assert resp.status == 202, await resp.text()
        await cloud.service.wait_idle()
        assert (await (await _k5(cloud, "GET", f"/servers/{server['id']}")).json())["server"]["status"] == status

    await act({"os-stop": None}, "STOPPED")  # (the test driver has no live backup: the snapshot of a stopped disk)
    qemu_io(path, "qcow2", "write -P 0x4b 0 64k")  # the marker, before the snapshot
    snapshot = await cloud.cinder.snapshot(source["id"], force=True)
    restore = {"fcx-restore": {}}
    await act({"os-start": None}, "ACTIVE")
    await k5_cinder.fault("POST", f"/snapshots/{snapshot['id']}/action", 409, json=restore)  # running: refused

    await act({"os-stop": None}, "STOPPED")
    qemu_io(path, "qcow2", "write -P 0x00 0 64k")  # erased after the snapshot
    resp = await k5_cinder.request("POST", f"/snapshots/{snapshot['id']}/action", json=restore)
    assert resp.status == 202, await resp.text()
    await cloud.cinder.idle()
    qemu_io(path, "qcow2", "read -P 0x4b 0 64k")  # the marker is back (qemu-io fails on a mismatch)
    assert (await cloud.cinder.show(source["id"]))["status"] == "in-use"
    # while its system volume reverts, the server takes no action
    store = cloud.service.store
    await store.write(volumes_db.update_volume, source["id"], {"status": vm.REVERTING}, now=utcnow())
    resp = await _k5(cloud, "POST", f"/servers/{server['id']}/action", json={"os-start": None})
    await assert_fault(resp, 409, "conflictingRequest", "being reverted")
    await store.write(volumes_db.update_volume, source["id"], {"status": vm.IN_USE}, now=utcnow())
    await act({"os-start": None}, "ACTIVE")
    assert (await cloud.defined_disks(server["id"]))["vda"] == str(path)


async def test_k5_fcx_restore_and_an_action_cannot_both_win(cloud: Cloud):  # noqa: F811
    """The revert's check (the server STOPPED with no task) and its `reverting` are one transaction; so are an
    action's check (no volume reverting) and its task's compare-and-set: an action whose request was checked before
    the revert began is refused when it claims the server (409, nothing started), a rebuild too; a revert asked
    while an action holds the task is refused."""
    source = await cloud.cinder.create(name="system", imageRef=cloud.image)
    server = await boot(cloud, [system_volume("volume", source["id"], delete_on_termination="False")])
    stop = await _k5(cloud, "POST", f"/servers/{server['id']}/action", json={"os-stop": None})
    assert stop.status == 202, await stop.text()
    await cloud.service.wait_idle()
    snapshot = await cloud.cinder.snapshot(source["id"], force=True)
    k5_cinder = Cinder(cloud.api, cloud.token, root="/k5/volume/v2")
    store, actions = cloud.service.store, cloud.service.actions

    checked = store.read(servers_db.get_server, server["id"])  # the start's request checked: STOPPED, no task
    await store.write(volumes_db.update_volume, source["id"], {"status": vm.REVERTING}, now=utcnow())  # revert won
    with pytest.raises(Conflict, match="being reverted"):
        await actions.begin(None, "start", checked, states.ACTIONS["start"].expected)
    assert store.read(servers_db.get_server, server["id"]).task_state is None
    rebuild = await _k5(cloud, "POST", f"/servers/{server['id']}/action", json={"rebuild": {"imageRef": cloud.image}})
    await assert_fault(rebuild, 409, "conflictingRequest", "being reverted")
    await store.write(volumes_db.update_volume, source["id"], {"status": vm.IN_USE}, now=utcnow())

    # the other order: the action claimed the task first; the revert's transaction sees it
    await store.write(servers_db.update_server, server["id"], {"task_state": states.POWERING_ON}, now=utcnow())
    await k5_cinder.fault("POST", f"/snapshots/{snapshot['id']}/action", 409, json={"fcx-restore": {}})
    assert (await cloud.cinder.show(source["id"]))["status"] == "in-use"
    await store.write(servers_db.update_server, server["id"], {"task_state": None}, now=utcnow())
