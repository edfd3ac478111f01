"""Block storage when things fail: qemu-img failing (an injected failure, a full file system, a size it refuses)
leaves the volume or snapshot in `error` (`error_extending` for a resize) with no stray file; a failed upload
leaves no image; and the start-up reconciliation turns what a crash interrupted into the truth."""
from __future__ import annotations

import os
import subprocess
import uuid
from pathlib import Path

import pytest

from nodecompute.api.keys import block_storage_key, images_key
from nodecompute.app import create_app, store_key
from nodecompute.db import volume_snapshots as volume_snapshots_db
from nodecompute.db import volumes as volumes_db
from nodecompute.domain.image_models import ImageQuery
from nodecompute.domain.volume_models import Attachment
from nodecompute.domain.models import utcnow
from nodecompute.storage import qemu_img, volumes as storage_volumes
from tests.api.helpers import Api
from tests.api.volume_helpers import (Cinder, admin, make_qcow2, member, qcow2, qemu_io,  # noqa: F401 (fixtures)
                                      store_image)

GiB = 1 << 30


def failing_qemu_img(directory: Path, command: str) -> Path:
    """A qemu-img that runs `command` for real (a partial file exists) and then fails as a full disk would."""
    wrapper = directory / "qemu-img-failing"
    wrapper.write_text(
        "#!/bin/sh\n"
        f'if [ "$1" = {command} ]; then qemu-img "$@"; echo "qemu-img: error while writing: No space left on '
        'device" >&2; exit 1; fi\n'
        'exec qemu-img "$@"\n')
    wrapper.chmod(0o755)
    return wrapper


async def test_a_failing_copy_leaves_error_and_no_file(member: Cinder, qcow2, tmp_path, monkeypatch):
    image = await store_image(member.api, member.token, qcow2, "img")
    source = await member.create()
    monkeypatch.setattr(qemu_img, "QEMU_IMG", str(failing_qemu_img(tmp_path, "convert")))
    from_image = await member.create(imageRef=image.id)
    clone = await member.create(source_volid=source["id"])
    assert (from_image["status"], clone["status"]) == ("error", "error")
    assert (from_image["bootable"], "volume_image_metadata" in from_image) == ("false", False)
    snapshot = await member.snapshot(source["id"])
    assert snapshot["status"] == "error"
    assert member.files() == [f"volume-{source['id']}"]
    for volume in (from_image, clone):
        await member.ok("DELETE", f"/volumes/{volume['id']}", 202)
    await member.ok("DELETE", f"/snapshots/{snapshot['id']}", 202)
    await member.idle()
    assert (await member.ok("GET", "/volumes", 200))["volumes"][0]["id"] == source["id"]


async def test_a_failing_resize_is_error_extending_at_the_old_size(member: Cinder, tmp_path, monkeypatch):
    volume = await member.create()
    monkeypatch.setattr(qemu_img, "QEMU_IMG", str(failing_qemu_img(tmp_path, "resize")))
    await member.ok("POST", f"/volumes/{volume['id']}/action", 202, json={"os-extend": {"new_size": 2}})
    await member.idle()
    shown = await member.show(volume["id"])
    assert (shown["status"], shown["size"]) == ("error_extending", 1)
    used = await member.ok("GET", f"/os-quota-sets/{member.project_id}?usage=True", 200)
    assert used["quota_set"]["gigabytes"]["in_use"] == 1  # the size that never came is not counted
    await member.ok("DELETE", f"/volumes/{volume['id']}", 202)
    await member.idle()
    assert member.files() == []


async def test_a_failing_upload_leaves_no_image(member: Cinder, tmp_path, monkeypatch):
    volume = await member.create()
    monkeypatch.setattr(qemu_img, "QEMU_IMG", str(failing_qemu_img(tmp_path, "convert")))
    await member.ok("POST", f"/volumes/{volume['id']}/action", 202,
                    json={"os-volume_upload_image": {"image_name": "never", "disk_format": "qcow2"}})
    await member.idle()
    assert (await member.show(volume["id"]))["status"] == "available"
    assert member.app[images_key].list(member.ctx, ImageQuery()) == []
    assert list(member.app[images_key].files.images_dir.iterdir()) == []


async def test_no_space_and_a_size_qemu_img_refuses_leave_error(member: Cinder, admin: Cinder, qcow2):
    files = member.app[block_storage_key].volumes.files
    files.reserved_bytes = 1 << 62  # [volume] reserved_mb: nothing may be written
    try:
        full = await member.create()
    finally:
        files.reserved_bytes = 0
    assert full["status"] == "error"
    await admin.ok("PUT", f"/os-quota-sets/{member.project_id}", 200, json={"quota_set": {"gigabytes": -1}})
    huge = await member.create(size=1 << 30)  # 1 EiB: beyond what qcow2 can address with 64 KiB clusters
    assert (huge["status"], huge["size"]) == ("error", 1 << 30)
    assert member.files() == []


@pytest.fixture
def tiny_volumes_dir(cfg):
    """<data dir>/volumes on a 4 MiB tmpfs (root only: mount(2) needs CAP_SYS_ADMIN)."""
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    mountpoint = cfg.volumes_dir
    mountpoint.mkdir(mode=0o700, parents=True, exist_ok=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m,mode=0700", "tmpfs", str(mountpoint)], check=True)
    yield mountpoint
    subprocess.run(["umount", str(mountpoint)], check=True)


async def test_qemu_img_running_out_of_space_leaves_error_and_frees_it(tiny_volumes_dir, member: Cinder, tmp_path,
                                                                       monkeypatch):
    big = make_qcow2(tmp_path / "big.qcow2", size="64M")
    qemu_io(big, "qcow2", "write -P 0x33 0 8M")  # 8 MiB of data for a 4 MiB file system
    image = await store_image(member.api, member.token, big, "big")
    refused = await member.create(imageRef=image.id)  # the estimate says so before anything is written
    assert refused["status"] == "error"

    async def too_small_estimate(_source, _fmt):
        return 0

    monkeypatch.setattr(storage_volumes, "_measure", too_small_estimate)  # so qemu-img itself hits ENOSPC
    failed = await member.create(imageRef=image.id)
    assert failed["status"] == "error"
    assert member.files() == []
    assert os.statvfs(tiny_volumes_dir).f_bfree == os.statvfs(tiny_volumes_dir).f_blocks


async def test_the_start_up_reconciliation_tells_the_truth(member: Cinder, aiohttp_client, cfg):
    store, block = member.app[store_key], member.app[block_storage_key]
    files = block.volumes.files
    made = {name: await member.create(name=name) for name in ("creating", "partial", "deleting", "grown", "same",
                                                               "uploading", "kept", "reimaging", "for-build",
                                                               "for-build-dot")}
    snap_creating = await member.snapshot(made["kept"]["id"])
    snap_deleting = await member.snapshot(made["kept"]["id"])
    image = await member.app[images_key].create(member.ctx, {"name": "half", "disk_format": "raw",
                                                             "container_format": "bare"}, {}, [])
    for name, values in (("creating", {"status": "creating"}), ("partial", {"status": "creating"}),
                         ("deleting", {"status": "deleting"}), ("grown", {"status": "extending", "extend_to": 3}),
                         ("same", {"status": "extending", "extend_to": 2}),
                         ("uploading", {"status": "uploading", "previous_status": "available",
                                        "upload_image_id": image.id}),
                         ("reimaging", {"status": "downloading", "previous_status": "in-use"}),
                         ("for-build", {"status": "creating"}), ("for-build-dot", {"status": "creating"})):
        await store.write(volumes_db.update_volume, made[name]["id"], values, now=utcnow())
    for name in ("for-build", "for-build-dot"):  # volumes a server's build was making (volume_boot.py's link)
        await store.write(volumes_db.insert_attachment, Attachment(
            id=str(uuid.uuid4()), volume_id=made[name]["id"], server_id=str(uuid.uuid4()), device=None,
            attached_at=None, delete_on_termination=name == "for-build-dot", boot_index=0))
    files.volume_path(made["for-build"]["id"]).write_bytes(b"half written")
    await store.write(volume_snapshots_db.update_snapshot, snap_creating["id"], {"status": "creating"}, now=utcnow())
    await store.write(volume_snapshots_db.update_snapshot, snap_deleting["id"], {"status": "deleting"}, now=utcnow())
    files.volume_path(made["partial"]["id"]).unlink()
    (files.volumes_dir / f".partial-volume-{made['partial']['id']}.abc").write_bytes(b"half written")
    subprocess.run(["qemu-img", "resize", "-q", "-f", "qcow2", str(files.volume_path(made["grown"]["id"])), "3G"],
                   check=True)
    orphans = [files.volume_path(str(uuid.uuid4())), files.snapshot_path(str(uuid.uuid4()))]
    for orphan in orphans:
        orphan.write_bytes(b"no row")
    (files.volumes_dir / "operator-notes").write_text("kept")

    restarted = Api(await aiohttp_client(create_app(cfg, with_servers=False)))  # its start-up reconciles
    again = Cinder(restarted, member.token)
    await again.idle()  # the build's volume being made again
    status = {name: (await again.request("GET", f"/volumes/{volume['id']}")).status for name, volume in made.items()}
    assert status["deleting"] == 404
    shown = {name: await again.show(volume["id"]) for name, volume in made.items() if name != "deleting"}
    assert {name: (v["status"], v["size"]) for name, v in shown.items()} == {
        "creating": ("error", 1), "partial": ("error", 1), "grown": ("available", 3), "same": ("available", 1),
        "uploading": ("available", 1), "kept": ("available", 1),
        "reimaging": ("in-use", 1),  # a root volume's re-image: its file whole, old or new (renamed over)
        # a build's volume without delete_on_termination is made again (Cinder's create goes on when Nova's
        # compute crashes); with it, error (the abandoned build deletes it)
        "for-build": ("available", 1), "for-build-dot": ("error", 1)}
    assert (await again.ok("GET", f"/snapshots/{snap_creating['id']}", 200))["snapshot"]["status"] == "error"
    await again.fault("GET", f"/snapshots/{snap_deleting['id']}", 404)
    assert again.app[images_key].list(again.ctx, ImageQuery()) == []  # the half-made image went
    assert again.files() == sorted(["operator-notes", *(f"volume-{made[n]['id']}" for n in
                                                        ("grown", "same", "uploading", "kept", "reimaging",
                                                         "for-build"))])
