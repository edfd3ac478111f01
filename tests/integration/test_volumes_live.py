"""The in-use path of block storage on a real QEMU under qemu:///embed: a volume that a running domain holds is
snapshotted (with `force`) and cloned by libvirt's backup job, through the attachments side
(compute/volume_attach_side.py) that issue 20's attachments code will satisfy; here a test locator stands in for it.

The domain boots nothing (its only disk is the volume, which holds data but no OS): QEMU runs its firmware and keeps
the disk open and locked, which is all the path needs. The copies are compared with the volume while it is paused.
"""
from __future__ import annotations

import subprocess
import uuid
from datetime import datetime, timezone

import pytest

from nodecompute.compute.block_storage import block_storage
from nodecompute.compute.images import ImageService, image_files
from nodecompute.compute.volume_attach_side import AttachedDisk, LiveCopier
from nodecompute.config import ComputeConfig, Config, IdentityConfig
from nodecompute.db import volumes as volumes_db
from nodecompute.db.store import Store
from nodecompute.domain.errors import BadRequest
from nodecompute.domain.models import AuthContext, utcnow
from nodecompute.domain.volume_models import Attachment, VolumeCreate
from nodecompute.filemodes import PRIVATE
from nodecompute.virt.disk_devices import on_domain

pytestmark = pytest.mark.integration


class Locator:
    """What the attachments code will be: volume id -> the running domain's disk."""

    def __init__(self) -> None:
        self.disks: dict[str, AttachedDisk] = {}

    def disk_of(self, volume_id: str) -> AttachedDisk | None:
        return self.disks.get(volume_id)


def domain_xml(hv, name: str, disk: str) -> str:
    host = hv.host
    return f"""<domain type='{host.domain_type}'><name>{name}</name><uuid>{uuid.uuid4()}</uuid>
  <memory unit='MiB'>64</memory><vcpu>1</vcpu>
  <os><type arch='{host.arch}' machine='{host.machine}'>hvm</type><boot dev='hd'/></os>
  <devices><emulator>{host.emulator}</emulator>
    <disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='{disk}'/>
      <target dev='vda' bus='virtio'/><serial>live-volume</serial></disk>
    <memballoon model='none'/></devices></domain>"""


def compare_shared(first, second) -> bool:
    done = subprocess.run(["qemu-img", "compare", "-q", "-U", "-f", "qcow2", "-F", "qcow2", str(first), str(second)])
    assert done.returncode in (0, 1), done
    return done.returncode == 0


@pytest.fixture
async def blocks(tmp_path):
    cfg = Config(data_dir=tmp_path / "data", identity=IdentityConfig(kdf_time_cost=1, kdf_memory_kib=1024),
                 compute=ComputeConfig(libvirt_uri="test:///default"))
    store = Store(cfg.db_path)
    await store.open()
    made = block_storage(store, cfg, ImageService(store, image_files(cfg), cfg, clock=utcnow), PRIVATE,
                        utcnow)
    await made.start()
    yield made
    await made.close()
    await store.close()


async def test_an_in_use_volume_is_snapshotted_and_cloned_by_the_backup_job(hv, blocks):
    now = datetime.now(timezone.utc).replace(tzinfo=None)
    ctx = AuthContext(user_id="u", user_name="u", project_id="p", project_name="p", roles=("member",),
                      expires_at=now, issued_at=now, audit_id="a")
    volume = await blocks.volumes.create(ctx, VolumeCreate(size=1))
    await blocks.wait_idle()
    path = blocks.volumes.files.volume_path(volume.id)
    subprocess.run(["qemu-io", "-f", "qcow2", "-c", "write -P 0x7e 5M 2M", str(path)], check=True,
                   capture_output=True)
    name = f"volume-live-{volume.id[:8]}"
    await hv.define(domain_xml(hv, name, path))
    await hv.start(name)
    try:
        locator = Locator()
        locator.disks[volume.id] = AttachedDisk(domain=name, target="vda")
        blocks.attach_live_copies(LiveCopier(hv, locator))
        await blocks.volumes.store.write(volumes_db.update_volume, volume.id, {"status": "in-use"}, now=utcnow())
        await blocks.volumes.store.write(volumes_db.insert_attachment, Attachment(
            id=str(uuid.uuid4()), volume_id=volume.id, server_id="server", device="/dev/vda", attached_at=utcnow()))
        with pytest.raises(BadRequest, match="status must be available, but current status is: in-use"):
            await blocks.snapshots.create(ctx, volume.id, "unforced", None, False)
        locked = subprocess.run(["qemu-img", "info", str(path)], capture_output=True, text=True)
        assert locked.returncode != 0 and "lock" in locked.stderr  # qemu-img could not have read it
        snapshot = await blocks.snapshots.create(ctx, volume.id, "live", None, True)
        clone = await blocks.volumes.create(ctx, VolumeCreate(size=2, source_volid=volume.id))
        await blocks.wait_idle()
        assert blocks.snapshots.get(ctx, snapshot.id).status == "available"
        assert (blocks.volumes.get(ctx, clone.id).status, blocks.volumes.get(ctx, clone.id).size) == ("available", 2)
        await on_domain(hv, "pause", name, lambda dom: dom.suspend())
        snapshot_file = blocks.volumes.files.snapshot_path(snapshot.id)
        assert compare_shared(snapshot_file, path)
        assert compare_shared(blocks.volumes.files.volume_path(clone.id), path)
        assert sorted(p.name for p in blocks.volumes.files.volumes_dir.iterdir()) == sorted(
            [path.name, snapshot_file.name, f"volume-{clone.id}"])  # no partial left
    finally:
        await hv.destroy(name)  # no error when already off
        await hv.undefine(name)
