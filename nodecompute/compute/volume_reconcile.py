"""Block storage at start-up: after a crash every volume and snapshot says the truth and no file is left over.

Nothing of block storage runs yet when this runs, so (as Cinder's volume manager does at init_host):
- partial files (`.partial-*`, a write or a backup job that never finished) are removed;
- a volume left `downloading` by a server's re-image (previous status in-use) is in-use again (its file is the old
  content or the new one, renamed whole);
- a volume a server's build was making (its attachment row not attached) without delete_on_termination, left
  `creating`, is made again from its source and ends `available`: in Nova's deployment a compute service's crash
  does not stop Cinder's create, and Nova's _cleanup_volumes of the abandoned build keeps such a volume (a volume
  the build had finished is kept available the same way); never an `error` volume nobody asked for;
- any other volume left `creating` (or `downloading` otherwise) goes to `error` and loses any file, as Cinder's
  init_host does (a build's volume with delete_on_termination is then deleted with the abandoned build); a snapshot
  left `creating` too;
- a volume or snapshot left `deleting` is deleted (file, then row);
- a volume left `extending` is `available` at the size its file has now (qemu-img resize rewrites one header, so
  the file is at the old size or the new one), or `error_extending` when the file cannot be read;
- a volume left `uploading` goes back to the status it had (`available`), and the image it was filling (still
  queued, or back to queued) is deleted, as Cinder's manager does after a failed upload;
- a volume or snapshot file whose row does not exist (rows are always written before their files) is removed.
"""
from __future__ import annotations

import logging
import math
import re

from nodecompute.compute import volume_revert
from nodecompute.compute.volume_snapshots import SnapshotService
from nodecompute.compute.volumes import VolumeService
from nodecompute.db import volume_attachments as volume_attachments_db
from nodecompute.db import volume_snapshots as volume_snapshots_db
from nodecompute.db import volumes as volumes_db
from nodecompute.domain import volume_models as vm
from nodecompute.storage.errors import StorageError
from nodecompute.storage.volumes import GiB

log = logging.getLogger(__name__)
_FILE = re.compile(r"^(volume|snapshot)-([0-9a-f-]{36})$")


async def reconcile(volumes: VolumeService, snapshots: SnapshotService) -> None:
    store, files = volumes.store, volumes.files
    removed = files.remove_partials()
    if removed:
        log.warning("removed %d partial volume files left by an interrupted write: %s", len(removed), removed)
    for volume in store.read(volumes_db.in_status, (vm.DOWNLOADING,)):
        if volume.previous_status == vm.IN_USE:  # a root volume's re-image (rename over: old or new, whole)
            log.warning("volume %s was being re-imaged when the daemon stopped: in-use again", volume.id)
            await store.write(volumes_db.update_volume, volume.id, {"status": vm.IN_USE, "previous_status": None},
                              (vm.DOWNLOADING,), now=volumes.clock())
    remade = set()
    for volume in store.read(volumes_db.in_status, (vm.CREATING,)):
        if _kept_by_its_build(store, volume):
            await files.delete_volume(volume.id)  # whatever the cut-short write left
            if volumes.resume_create(volume):
                log.warning("volume %s was being made for a server's build when the daemon stopped: made again",
                            volume.id)
                remade.add(volume.id)
    for volume in store.read(volumes_db.in_status, (vm.CREATING, vm.DOWNLOADING)):
        if volume.id in remade:
            continue
        log.warning("volume %s was being created when the daemon stopped: error", volume.id)
        await files.delete_volume(volume.id)
        await store.write(volumes_db.update_volume, volume.id, {"status": vm.ERROR}, (volume.status,),
                          now=volumes.clock())
    for snapshot in store.read(volume_snapshots_db.in_status, (vm.SNAP_CREATING,)):
        log.warning("snapshot %s was being made when the daemon stopped: error", snapshot.id)
        await files.delete_snapshot(snapshot.id)
        await store.write(volume_snapshots_db.update_snapshot, snapshot.id, {"status": vm.SNAP_ERROR},
                          (vm.SNAP_CREATING,), now=volumes.clock())
    for volume in store.read(volumes_db.in_status, (vm.EXTENDING,)):
        await _settle_extend(volumes, volume)
    for volume in store.read(volumes_db.in_status, (vm.UPLOADING,)):
        await _settle_upload(volumes, volume)
    for volume in store.read(volumes_db.in_status, (vm.REVERTING,)):
        await volume_revert.settle(volumes, volume)
    for snapshot in store.read(volume_snapshots_db.in_status, (vm.SNAP_DELETING,)):
        await snapshots.finish_delete(snapshot.id)
    for volume in store.read(volumes_db.in_status, (vm.DELETING,)):
        await volumes.finish_delete(volume.id)
    _remove_orphans(volumes)


def _kept_by_its_build(store, volume: vm.Volume) -> bool:
    """A volume a build makes has its attachment row from the moment its row exists (volume_boot.py)."""
    found = store.read(volume_attachments_db.of_volume, volume.id)
    return bool(found) and all(a.attached_at is None and not a.delete_on_termination for a in found)


async def _settle_extend(volumes: VolumeService, volume: vm.Volume) -> None:
    try:
        found = await volumes.files.describe(volumes.files.volume_path(volume.id))
    except (StorageError, OSError) as exc:
        log.warning("volume %s was being extended and its file cannot be read (%s): error_extending", volume.id, exc)
        values = {"status": vm.ERROR_EXTENDING, "extend_to": None, "previous_status": None}
    else:
        size = max(volume.size, math.ceil(found.virtual_size / GiB))
        log.warning("volume %s was being extended when the daemon stopped: available at %d GiB", volume.id, size)
        values = {"status": vm.AVAILABLE, "size": size, "extend_to": None, "previous_status": None}
    await volumes.store.write(volumes_db.update_volume, volume.id, values, (vm.EXTENDING,), now=volumes.clock())


async def _settle_upload(volumes: VolumeService, volume: vm.Volume) -> None:
    if volume.upload_image_id is not None:
        await volumes.images.delete_unfinished(volume.upload_image_id)
    log.warning("volume %s was being uploaded to an image when the daemon stopped: back to %s", volume.id,
                volume.previous_status or vm.AVAILABLE)
    await volumes.store.write(volumes_db.update_volume, volume.id, {"status": volume.previous_status or vm.AVAILABLE,
                                                             "previous_status": None, "upload_image_id": None},
                              (vm.UPLOADING,), now=volumes.clock())


def _remove_orphans(volumes: VolumeService) -> None:
    directory = volumes.files.volumes_dir
    if not directory.is_dir():
        return
    known = {"volume": volumes.store.read(volumes_db.all_ids),
             "snapshot": volumes.store.read(volume_snapshots_db.all_ids)}
    for entry in directory.iterdir():
        match = _FILE.match(entry.name)
        if match and match.group(2) not in known[match.group(1)]:
            log.warning("removing %s: no volume or snapshot has it", entry)
            entry.unlink(missing_ok=True)
