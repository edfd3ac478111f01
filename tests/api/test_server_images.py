"""createImage (#307) and createBackup (#324) on libvirt's test driver, through the whole app: a stopped server's
root disk is copied by qemu-img into an active image with Nova's snapshot properties (Location below 2.45,
`image_id` from 2.45), the server shows the image task states while it runs and keeps its own states; backups
rotate; refusals change nothing and make no image; a copy that fails (the test driver has no backup job for a
running domain) leaves no image and the server as it was; a stop in the middle is abandoned at start-up. The
real guest (a running and a paused disk copied by libvirt's backup job, the image booted): tests/integration/
test_server_actions2_guest.py."""
from __future__ import annotations

import asyncio

from nodecompute.api.keys import images_key, reconciler_key, servers_key
from nodecompute.db import images as images_db
from nodecompute.db import servers as servers_db
from nodecompute.domain import states
from nodecompute.domain.image_models import ImageQuery
from nodecompute.domain.models import utcnow
from nodecompute.storage import qemu_img
from nodecompute.storage.image_files import SNAPSHOT_TEMP_PREFIX
from tests.api.test_server_actions_part1 import Cloud, cloud  # noqa: F401 (the fixture)

SNAPSHOT = {"createImage": {"name": "snap", "metadata": {"color": "blue"}}}


def _backup(name: str, rotation: int, backup_type: str = "daily") -> dict:
    return {"createBackup": {"name": name, "backup_type": backup_type, "rotation": rotation}}


def _images(cloud: Cloud, server_id: str, *statuses: str) -> list:
    query = ImageQuery(properties=(("instance_uuid", server_id),), statuses=statuses, limit=100)
    return cloud.app[servers_key].store.read(images_db.list_images, query, None)


async def _last_action_events(cloud: Cloud, server_id: str) -> list[tuple[str, str]]:
    """The (event, result) pairs of the server's newest instance action."""
    listed = await cloud.call("GET", f"/servers/{server_id}/os-instance-actions", cloud.admin)
    request_id = (await listed.json())["instanceActions"][0]["request_id"]
    shown = await cloud.call("GET", f"/servers/{server_id}/os-instance-actions/{request_id}", cloud.admin)
    return [(e["event"], e["result"]) for e in (await shown.json())["instanceAction"]["events"]]


async def _stopped(cloud: Cloud) -> str:
    server_id = await cloud.server()
    await cloud.act(server_id, {"os-stop": None})
    return server_id


async def test_a_stopped_server_becomes_an_active_image_with_novas_properties(cloud):  # noqa: F811
    server_id = await _stopped(cloud)
    resp = await cloud.act(server_id, SNAPSHOT, version="2.44")
    image_id = resp.headers["Location"].rsplit("/", 1)[1]
    assert resp.headers["Location"].endswith(f"/image/images/{image_id}") and not await resp.read()
    image = cloud.app[images_key].store.read(images_db.get_image, image_id)
    assert (image.status, image.name, image.disk_format, image.owner, image.visibility) == (
        "active", "snap", "qcow2", cloud.row(server_id).project_id, "private")
    assert image.min_disk == 1 and image.virtual_size == 1 << 30  # the flavor's root disk
    props = image.properties
    assert {k: props[k] for k in ("image_type", "instance_uuid", "base_image_ref", "color", "owner_project_name")} \
        == {"image_type": "snapshot", "instance_uuid": server_id, "base_image_ref": cloud.image, "color": "blue",
            "owner_project_name": "demo"}
    path = cloud.app[images_key].files.path_for(image.content_sha256)
    assert (await qemu_img.info(path)).backing_file is None  # standalone: the base image is flattened in
    row = cloud.row(server_id)
    assert (row.vm_state, row.power_state, row.task_state) == (states.STOPPED, states.SHUTDOWN, None)
    listed = await cloud.call("GET", f"/servers/{server_id}/os-instance-actions", cloud.member)
    assert (await listed.json())["instanceActions"][0]["action"] == "createImage"
    boot = {"server": {"name": "from-snap", "imageRef": image_id, "flavorRef": "42", "networks": "none"}}
    booted = await cloud.call("POST", "/servers", cloud.member, boot)
    assert booted.status == 202, await booted.text()
    await cloud.idle()
    assert cloud.row((await booted.json())["server"]["id"]).vm_state == states.ACTIVE


async def test_from_2_45_the_answer_is_the_image_id_and_the_tasks_show_while_it_runs(cloud):  # noqa: F811
    server_id = await _stopped(cloud)
    seen: list[str | None] = []
    images = cloud.app[images_key]
    produce = images.upload_produced

    async def watching(ctx, image_id, make):
        async def made():
            seen.append(cloud.row(server_id).task_state)
            stored = await make()
            seen.append(cloud.row(server_id).task_state)
            return stored
        return await produce(ctx, image_id, made)

    images.upload_produced = watching
    resp = await cloud.call("POST", f"/servers/{server_id}/action", cloud.member, SNAPSHOT, version="2.45")
    body = await resp.json()
    assert (resp.status, list(body), "Location" in resp.headers) == (202, ["image_id"], False)
    assert cloud.row(server_id).task_state == states.IMAGE_SNAPSHOT_PENDING
    await cloud.idle()
    assert seen == [states.IMAGE_SNAPSHOT, states.IMAGE_UPLOADING]
    assert cloud.row(server_id).task_state is None
    assert [i.status for i in _images(cloud, server_id)] == ["active"]


async def test_three_backups_with_rotation_two_keep_the_two_newest(cloud):  # noqa: F811
    server_id = await _stopped(cloud)
    made = []
    for index in range(3):
        resp = await cloud.act(server_id, _backup(f"bk{index}", 2), version="2.1")
        made.append(resp.headers["Location"].rsplit("/", 1)[1])
        assert f"/compute/v2.1/images/{made[-1]}" in resp.headers["Location"]
        cloud.clock.move(seconds=1)
    await cloud.act(server_id, _backup("weekly", 1, "weekly"), version="2.1")  # another type: not rotated with
    kept = {i.id: i for i in _images(cloud, server_id)}
    assert set(made[1:]) <= set(kept) and made[0] not in kept and len(kept) == 3
    assert {(kept[i].properties["image_type"], kept[i].properties["backup_type"]) for i in made[1:]} == {
        ("backup", "daily")}
    resp = await cloud.act(server_id, _backup("none-kept", 0), version="2.1")
    assert "Location" not in resp.headers  # Nova names no image it rotates out at once
    assert {i.properties["backup_type"] for i in _images(cloud, server_id)} == {"weekly"}


async def test_refused_states_and_bodies_make_no_image(cloud):  # noqa: F811
    server_id = await cloud.server()
    store = cloud.app[servers_key].store
    for vm_state in (states.ERROR, states.SOFT_DELETED, states.RESCUED):
        await store.write(servers_db.update_server, server_id, {"vm_state": vm_state}, now=utcnow())
        for body, name in ((SNAPSHOT, "createImage"), (_backup("b", 1), "createBackup")):
            resp = await cloud.call("POST", f"/servers/{server_id}/action", cloud.member, body)
            assert (resp.status, await resp.json()) == (409, {"conflictingRequest": {"code": 409, "message": (
                f"Cannot '{name}' instance {server_id} while it is in vm_state {vm_state}")}})
    await store.write(servers_db.update_server, server_id, {"vm_state": states.ACTIVE,
                                                            "task_state": states.POWERING_OFF}, now=utcnow())
    resp = await cloud.call("POST", f"/servers/{server_id}/action", cloud.member, SNAPSHOT)
    assert resp.status == 409 and "task_state powering-off" in (await resp.json())["conflictingRequest"]["message"]
    await store.write(servers_db.update_server, server_id, {"task_state": None}, now=utcnow())
    for body in ({"createImage": {}}, {"createImage": {"name": ""}}, {"createBackup": {"name": "b", "rotation": 1}},
                 {"createBackup": {"name": "b", "backup_type": "d", "rotation": -1}}):
        resp = await cloud.call("POST", f"/servers/{server_id}/action", cloud.member, body)
        assert resp.status == 400, body
    reader = await cloud.user("demo", "reader", "rita")
    resp = await cloud.call("POST", f"/servers/{server_id}/action", reader, SNAPSHOT)
    assert resp.status == 403
    assert _images(cloud, server_id) == []


async def test_a_failed_copy_leaves_no_image_and_the_server_as_it_was(cloud):  # noqa: F811
    """The test driver has no backup job: the running server's copy fails."""
    server_id = await cloud.server()
    before = cloud.row(server_id)
    await cloud.act(server_id, SNAPSHOT)
    row = cloud.row(server_id)
    assert (row.vm_state, row.power_state, row.task_state, row.fault) == (
        before.vm_state, before.power_state, None, None)
    assert _images(cloud, server_id, "queued", "saving", "active") == []
    assert not list(cloud.app[images_key].files.images_dir.glob(f"*{SNAPSHOT_TEMP_PREFIX}*"))
    assert await _last_action_events(cloud, server_id) == [("compute_snapshot_instance", "Error")]


async def test_an_image_deleted_while_it_saves_ends_the_snapshot_as_nova_does(cloud):  # noqa: F811
    """Tempest's test_delete_saving_image: the image deleted (204) while the server's disk is copied; the snapshot
    ends without a fault (Nova: "Image not found during snapshot"), nothing is stored, the server is as it was."""
    server_id = await _stopped(cloud)
    images = cloud.app[images_key]
    produce = images.upload_produced
    answers = []

    async def deleting(ctx, image_id, make):
        async def made():
            stored = await make()
            answers.append(await cloud.call("DELETE", f"/images/{image_id}", cloud.member, version="2.35"))
            return stored
        return await produce(ctx, image_id, made)

    images.upload_produced = deleting
    files_before = set(images.files.images_dir.iterdir())
    resp = await cloud.call("POST", f"/servers/{server_id}/action", cloud.member, SNAPSHOT, version="2.45")
    image_id = (await resp.json())["image_id"]
    await cloud.idle()
    assert [a.status for a in answers] == [204]
    assert (await cloud.call("GET", f"/images/{image_id}", cloud.member, version="2.35")).status == 404
    row = cloud.row(server_id)
    assert (row.vm_state, row.power_state, row.task_state, row.fault) == (states.STOPPED, states.SHUTDOWN, None, None)
    assert _images(cloud, server_id, "queued", "saving", "active") == []
    assert set(images.files.images_dir.iterdir()) == files_before  # the copy's bytes went with the image
    assert await _last_action_events(cloud, server_id) == [("compute_snapshot_instance", "Success")]


async def test_a_snapshot_cut_short_by_a_stop_is_abandoned_at_start(cloud):  # noqa: F811
    server_id = await _stopped(cloud)
    images = cloud.app[images_key]
    hold = asyncio.Event()
    produce = images.upload_produced

    async def stuck(ctx, image_id, make):
        async def never():
            hold.set()
            await asyncio.Event().wait()
        return await produce(ctx, image_id, never)

    images.upload_produced = stuck
    await cloud.call("POST", f"/servers/{server_id}/action", cloud.member, SNAPSHOT)
    await hold.wait()
    partial = images.files.images_dir / f".partial-{SNAPSHOT_TEMP_PREFIX}left-behind"
    partial.write_bytes(b"x")
    # what a SIGKILL leaves: the task in the row, the image saving, a partial copy; the start-up then settles it
    assert cloud.row(server_id).task_state == states.IMAGE_SNAPSHOT
    assert [i.status for i in _images(cloud, server_id)] == ["saving"]
    await cloud.app[reconciler_key].at_start()
    await cloud.app[servers_key].tasks.cancel(server_id)  # the killed process's task, gone with it
    row = cloud.row(server_id)
    assert (row.vm_state, row.task_state) == (states.STOPPED, None)
    assert _images(cloud, server_id, "queued", "saving", "active") == [] and not partial.exists()
