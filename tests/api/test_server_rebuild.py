"""rebuild (#303), rescue (#319) and unrescue (#320) on libvirt's test driver, through the whole app: the answers
by microversion, the states while and after, the fresh root disk and config drive, the rescue domain's disks,
Nova's refusals (each changes nothing), the instance actions, and a stop in the middle settled at start-up. The
real guest (new user data seen by its init, the address kept, the rescue image booted with the original disk
second): tests/integration/test_server_actions2_guest.py."""
from __future__ import annotations

import base64

from nodecompute.api.keys import reconciler_key, servers_key
from nodecompute.compute.rebuild import STAGING
from nodecompute.compute.rescue import RESCUE_DISK, RESCUE_DRIVE
from nodecompute.db import servers as servers_db
from nodecompute.domain import states
from nodecompute.storage import instance_disks
from nodecompute.virt import disk_devices
from tests.api.test_server_actions_part1 import Cloud, cloud  # noqa: F401 (the fixture)

KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBvNcObFDVJD8tm62pomUuL7spC1GMHPd9G3NnOBmlR9 rebuild@test"


def _rebuild(image: str, **fields) -> dict:
    return {"rebuild": {"imageRef": image, **fields}}


async def _disk_sources(cloud: Cloud, server_id: str) -> list[str]:
    row = cloud.row(server_id)
    disks = await disk_devices.list_disks(cloud.app[servers_key].guests.hv, row.instance_name, persistent=True)
    return [disk.source.rsplit("/", 1)[1] for disk in disks]


async def _actions(cloud: Cloud, server_id: str) -> list[str]:
    resp = await cloud.call("GET", f"/servers/{server_id}/os-instance-actions", cloud.member)
    return [action["action"] for action in (await resp.json())["instanceActions"]]


async def test_rebuild_answers_the_rewritten_server_and_gives_it_a_fresh_disk(cloud):  # noqa: F811
    server_id = await cloud.server()
    await cloud.call("POST", "/os-keypairs", cloud.member, {"keypair": {"name": "k", "public_key": KEY}})
    root = cloud.app[servers_key].guests.instance_dir(server_id) / instance_disks.ROOT
    before = root.stat().st_ino
    body = _rebuild(cloud.image, name="again", metadata={"role": "rebuilt"}, adminPass="s3cret!", key_name="k",
                    user_data=base64.b64encode(b"#!/bin/sh\necho new\n").decode(), hostname="fresh")
    resp = await cloud.call("POST", f"/servers/{server_id}/action", cloud.member, body, "2.90")
    assert resp.status == 202, await resp.text()
    view = (await resp.json())["server"]
    assert (view["id"], view["status"], view["name"], view["metadata"], view["adminPass"], view["key_name"]) == (
        server_id, "REBUILD", "again", {"role": "rebuilt"}, "s3cret!", "k")
    assert view["OS-EXT-STS:task_state"] == states.REBUILDING  # 2.75: the full server
    assert base64.b64decode(view["user_data"]) == b"#!/bin/sh\necho new\n"
    assert view["OS-EXT-SRV-ATTR:hostname"] == "fresh" and view["image"]["id"] == cloud.image
    await cloud.idle()
    row = cloud.row(server_id)
    assert (row.vm_state, row.power_state, row.task_state, row.key_data) == (
        states.ACTIVE, states.RUNNING, None, KEY)
    assert root.stat().st_ino != before  # a fresh overlay took the old one's place
    assert not (root.parent / STAGING).exists()
    assert await _disk_sources(cloud, server_id) == [instance_disks.ROOT, "disk.config"]
    drive = (root.parent / "disk.config").read_bytes()  # a fresh config drive: the new user data and password
    assert b"echo new" in drive and b"s3cret!" in drive and b"rebuilt" in drive
    assert (await _actions(cloud, server_id))[0] == "rebuild"
    unset = await cloud.call("POST", f"/servers/{server_id}/action", cloud.member,
                             _rebuild(cloud.image, key_name=None, user_data=None), "2.57")
    view = (await unset.json())["server"]
    assert (view["key_name"], view["user_data"], "OS-EXT-STS:task_state" in view) == (None, None, False)
    await cloud.idle()
    assert (cloud.row(server_id).key_name, cloud.row(server_id).user_data) == (None, None)


async def test_the_answer_below_2_54_names_no_keypair_and_a_stopped_server_stays_stopped(cloud):  # noqa: F811
    server_id = await cloud.server()
    await cloud.act(server_id, {"os-stop": None})
    resp = await cloud.call("POST", f"/servers/{server_id}/action", cloud.member,
                            _rebuild(cloud.image, personality=[{"path": "/etc/x", "contents": "eA=="}]), "2.1")
    assert resp.status == 202, await resp.text()
    view = (await resp.json())["server"]
    assert "key_name" not in view and "user_data" not in view and len(view["adminPass"]) == 12
    assert view["status"] == "REBUILD"
    await cloud.idle()
    row = cloud.row(server_id)
    assert (row.vm_state, row.power_state, row.task_state) == (states.STOPPED, states.SHUTDOWN, None)
    files = cloud.app[servers_key].store.read(servers_db.server_files, server_id)
    assert [(f.path, f.contents) for f in files] == [("/etc/x", b"x")]


async def test_refusals_are_novas_and_change_nothing(cloud):  # noqa: F811
    server_id = await cloud.server()
    before = cloud.row(server_id)
    missing = "00000000-0000-4000-8000-000000000000"
    cases = [
        (_rebuild(missing), "2.90", 400, "Cannot find image for rebuild"),
        (_rebuild(cloud.image, key_name="nokey"), "2.90", 400, "Invalid key_name provided."),
        (_rebuild(cloud.image, trusted_image_certificates=["cert"]), "2.63", 400, "certificate: cert"),
        (_rebuild(cloud.image, personality=[]), "2.57", 400, "personality"),
        (_rebuild(cloud.image, key_name="k"), "2.53", 400, "key_name"),
        (_rebuild(cloud.image, user_data="not base64!"), "2.57", 400, "user_data"),
        (_rebuild(cloud.image, metadata={f"k{i}": "v" for i in range(200)}), "2.90", 403, "metadata"),
        (_rebuild("not-a-uuid"), "2.90", 400, "imageRef"),
    ]
    for body, version, status, text in cases:
        resp = await cloud.call("POST", f"/servers/{server_id}/action", cloud.member, body, version)
        assert (resp.status, text in await resp.text()) == (status, True), (body, await resp.text())
    store = cloud.app[servers_key].images.store
    for column, value, text in (("min_disk", 5, "Flavor's disk is too small"),  # flavor 42: 1 GB, 128 MB
                                ("min_ram", 100000, "Flavor's memory is too small")):
        await store.write(lambda db: db.execute(f"UPDATE images SET {column} = ? WHERE id = ?", [value, cloud.image]))
        resp = await cloud.call("POST", f"/servers/{server_id}/action", cloud.member, _rebuild(cloud.image))
        assert resp.status == 400 and text in await resp.text()
    await cloud.act(server_id, {"lock": None})
    resp = await cloud.call("POST", f"/servers/{server_id}/action", cloud.member, _rebuild(cloud.image))
    assert resp.status == 409 and "is locked" in await resp.text()
    await cloud.act(server_id, {"unlock": None}, cloud.admin)
    await cloud.act(server_id, {"pause": None})
    for body in (_rebuild(cloud.image), {"rescue": None}):
        resp = await cloud.call("POST", f"/servers/{server_id}/action", cloud.member, body)
        assert resp.status == 409 and "in vm_state paused" in await resp.text(), await resp.text()
    after = cloud.row(server_id)
    assert (after.name, after.image_id, after.metadata, after.task_state) == (
        before.name, before.image_id, before.metadata, None)
    assert "rebuild" not in await _actions(cloud, server_id)


async def test_preserve_ephemeral_fails_the_rebuild_as_novas_libvirt_driver(cloud):  # noqa: F811
    server_id = await cloud.server()
    await cloud.act(server_id, _rebuild(cloud.image, preserve_ephemeral=True))
    row = cloud.row(server_id)
    assert row.vm_state == states.ERROR and "preserving ephemeral" in row.fault.message


async def test_rescue_boots_the_rescue_disk_first_and_unrescue_restores_the_server(cloud):  # noqa: F811
    server_id = await cloud.server()
    resp = await cloud.call("POST", f"/servers/{server_id}/action", cloud.member,
                            {"rescue": {"adminPass": "rescue-pw", "rescue_image_ref": cloud.image}})
    assert (resp.status, await resp.json()) == (200, {"adminPass": "rescue-pw"})
    await cloud.idle()
    row = cloud.row(server_id)
    assert (row.vm_state, row.power_state, row.task_state) == (states.RESCUED, states.RUNNING, None)
    shown = await cloud.call("GET", f"/servers/{server_id}", cloud.member)
    assert (await shown.json())["server"]["status"] == "RESCUE"
    assert await _disk_sources(cloud, server_id) == [RESCUE_DISK, instance_disks.ROOT, RESCUE_DRIVE]
    assert b"rescue-pw" in (cloud.app[servers_key].guests.instance_dir(server_id) / RESCUE_DRIVE).read_bytes()
    for body in ({"rescue": None}, {"reboot": {"type": "HARD"}}, _rebuild(cloud.image)):
        refused = await cloud.call("POST", f"/servers/{server_id}/action", cloud.member, body)
        assert refused.status == 409 and "in vm_state rescued" in await refused.text(), body
    await cloud.act(server_id, {"unrescue": None})
    row = cloud.row(server_id)
    assert (row.vm_state, row.power_state, row.task_state) == (states.ACTIVE, states.RUNNING, None)
    assert await _disk_sources(cloud, server_id) == [instance_disks.ROOT, "disk.config"]
    assert not (cloud.app[servers_key].guests.instance_dir(server_id) / RESCUE_DISK).exists()
    assert (await _actions(cloud, server_id))[:2] == ["unrescue", "rescue"]
    generated = await cloud.call("POST", f"/servers/{server_id}/action", cloud.member, {"rescue": {}})
    assert generated.status == 200 and len((await generated.json())["adminPass"]) == 12
    await cloud.idle()
    again = await cloud.call("POST", f"/servers/{server_id}/action", cloud.member, {"unrescue": None})
    assert again.status == 202
    await cloud.idle()
    refused = await cloud.call("POST", f"/servers/{server_id}/action", cloud.member, {"unrescue": None})
    assert refused.status == 409 and "in vm_state active" in await refused.text()
    missing = await cloud.call("POST", f"/servers/{server_id}/action", cloud.member,
                               {"rescue": {"rescue_image_ref": "00000000-0000-4000-8000-000000000000"}})
    assert missing.status == 404 and cloud.row(server_id).vm_state == states.ACTIVE


async def test_a_rebuild_or_rescue_cut_short_by_a_stop_is_settled_at_start(cloud):  # noqa: F811
    server_id = await cloud.server()
    service = cloud.app[servers_key]
    staging = service.guests.instance_dir(server_id) / STAGING
    staging.mkdir()
    (staging / instance_disks.ROOT).write_bytes(b"half made")  # what a SIGKILL mid-staging leaves
    await service.store.write(servers_db.update_server, server_id, {"task_state": states.REBUILD_SPAWNING},
                              now=cloud.clock())
    await cloud.app[reconciler_key].at_start()
    await cloud.idle()
    row = cloud.row(server_id)
    assert (row.vm_state, row.power_state, row.task_state) == (states.ACTIVE, states.RUNNING, None)
    assert not staging.exists() and await _disk_sources(cloud, server_id) == [instance_disks.ROOT, "disk.config"]
    await cloud.act(server_id, {"rescue": None}, status=200)
    await service.store.write(servers_db.update_server, server_id, {"task_state": states.UNRESCUING},
                              now=cloud.clock())
    await cloud.app[reconciler_key].at_start()
    await cloud.idle()
    row = cloud.row(server_id)
    assert (row.vm_state, row.task_state) == (states.ACTIVE, None)
    assert await _disk_sources(cloud, server_id) == [instance_disks.ROOT, "disk.config"]
    assert not (service.guests.instance_dir(server_id) / RESCUE_DISK).exists()


async def test_unrescue_destroys_the_rescue_system_without_asking_it(cloud, monkeypatch):  # noqa: F811
    """Nova's unrescue destroys the rescue domain at once (a rescue image stuck in its firmware would never answer
    ACPI: Tempest's IDE cdrom stable rescue waited 60 s and timed out)."""
    server_id = await cloud.server()
    resp = await cloud.call("POST", f"/servers/{server_id}/action", cloud.member,
                            {"rescue": {"rescue_image_ref": cloud.image}})
    assert resp.status == 200
    await cloud.idle()
    hv = cloud.app[servers_key].guests.hv

    async def ignore_acpi(name: str) -> None:
        hv.calls.append("shutdown ignored")

    monkeypatch.setattr(hv, "shutdown", ignore_acpi)
    await cloud.act(server_id, {"unrescue": None})
    assert "shutdown ignored" not in hv.calls and "destroy" in hv.calls  # never asked, so never waited on
    row = cloud.row(server_id)
    assert (row.vm_state, row.power_state, row.task_state) == (states.ACTIVE, states.RUNNING, None)
