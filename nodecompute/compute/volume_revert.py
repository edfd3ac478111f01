"""Reverting a volume to one of its snapshots in place (Cinder's revert-to-snapshot; K5's fcx-restore, #1230).

The volume must be `available` (409 otherwise: an attached volume's guest would see its disk change under it; the
system volume of a stopped server comes with boot from volume). The row goes `reverting` by a compare-and-set, the
snapshot is copied back into a temporary file beside the volume and renamed over it (storage/volumes.py
`revert_to_snapshot`), then `available` again, or `error` if the copy failed (the volume file is untouched then).
A daemon stopped mid-revert finds the volume whole (the rename is atomic, the temporary file is removed at start)
and puts it back to `available` (volume_reconcile.py).
"""
from __future__ import annotations

import logging

from nodecompute.compute.volumes import VolumeService, require_member
from nodecompute.db import volumes as volumes_db
from nodecompute.domain import volume_models as vm
from nodecompute.domain.errors import Conflict
from nodecompute.domain.models import AuthContext

log = logging.getLogger(__name__)


class RevertRefused(Conflict):
    msg_fmt = "Volume %(volume_id)s must be available to revert it to a snapshot, but it is %(status)s."


async def revert(volumes: VolumeService, ctx: AuthContext, snapshot_id: str) -> vm.Volume:
    """Start the revert of the snapshot's volume to it; the copy runs as a job (202)."""
    require_member(ctx, "volume:revert_to_snapshot")
    snapshot = volumes.snapshot_of(ctx, snapshot_id)
    if snapshot.status != vm.SNAP_AVAILABLE:
        raise Conflict(f"Snapshot {snapshot_id} must be available to revert to it, but it is {snapshot.status}.")
    volume = volumes.get(ctx, snapshot.volume_id)
    moved = await volumes.store.write(volumes_db.update_volume, volume.id, {"status": vm.REVERTING},
                                      (vm.AVAILABLE,), now=volumes.clock())
    if moved is None:
        raise RevertRefused(volume_id=volume.id, status=volume.status)
    volumes.jobs.start(f"revert of volume {volume.id} to snapshot {snapshot_id}", _copy_back(volumes, volume.id,
                                                                                             snapshot_id))
    return moved


async def _copy_back(volumes: VolumeService, volume_id: str, snapshot_id: str) -> None:
    status = vm.AVAILABLE
    try:
        async with volumes.jobs.holding(volume_id, snapshot_id):
            await volumes.files.revert_to_snapshot(volume_id, snapshot_id)
    except Exception:
        log.exception("volume %s could not be reverted to snapshot %s", volume_id, snapshot_id)
        status = vm.ERROR
    await volumes.store.write(volumes_db.update_volume, volume_id, {"status": status}, (vm.REVERTING,),
                              now=volumes.clock())


async def settle(volumes: VolumeService, volume: vm.Volume) -> None:
    """At start: a revert cut short left the volume whole (before or after the rename): available again."""
    log.warning("volume %s was being reverted to a snapshot at the last stop: available again, as its file is",
                volume.id)
    await volumes.store.write(volumes_db.update_volume, volume.id, {"status": vm.AVAILABLE}, (vm.REVERTING,),
                              now=volumes.clock())
