"""Reverting a volume to one of its snapshots in place (Cinder's revert-to-snapshot; K5's fcx-restore, #1230).

The volume must be `available`, or the root volume (boot index 0) of a server STOPPED with no task running (K5's
system volume): 409 otherwise, as an attached running guest would see its disk change under it. The row goes
`reverting` by a compare-and-set (in one transaction with the server's state check), the snapshot is copied back
into a temporary file beside the volume and renamed over it (storage/volumes.py `revert_to_snapshot`), then
`available` (or `in-use`, still attached) again, or `error` if the copy failed (the volume file is untouched then).
While a system volume reverts, its server takes no action (server_actions.py asks db/volume_attachments.py's
`volume_reverting`).
A daemon stopped mid-revert finds the volume whole (the rename is atomic, the temporary file is removed at start)
and puts it back to `available` or `in-use` (volume_reconcile.py).
"""
from __future__ import annotations

import logging

from datetime import datetime

from nodecompute.compute.volumes import VolumeService, require_member
from nodecompute.db import servers as servers_db
from nodecompute.db import volume_attachments as attachments_db
from nodecompute.db import volumes as volumes_db
from nodecompute.domain import states
from nodecompute.domain import volume_models as vm
from nodecompute.domain.errors import Conflict, NotFound
from nodecompute.domain.models import AuthContext

log = logging.getLogger(__name__)


class RevertRefused(Conflict):
    msg_fmt = ("Volume %(volume_id)s must be available, or the system volume of a stopped server, to revert it to a "
               "snapshot, but it is %(status)s.")


def _stopped_root(db, volume_id: str) -> bool:
    """The volume is the root volume of a server STOPPED with no task running."""
    attachments = attachments_db.of_volume(db, volume_id)
    if len(attachments) != 1 or attachments[0].boot_index != 0:
        return False
    try:
        server = servers_db.get_server(db, attachments[0].server_id)
    except NotFound:
        return False
    return server.vm_state == states.STOPPED and server.task_state is None


def _start_tx(db, volume_id: str, now: datetime) -> vm.Volume | None:
    moved = volumes_db.update_volume(db, volume_id, {"status": vm.REVERTING}, (vm.AVAILABLE,), now=now)
    if moved is None and _stopped_root(db, volume_id):
        moved = volumes_db.update_volume(db, volume_id, {"status": vm.REVERTING}, (vm.IN_USE,), now=now)
    return moved


async def revert(volumes: VolumeService, ctx: AuthContext, snapshot_id: str) -> vm.Volume:
    """Start the revert of the snapshot's volume to it; the copy runs as a job (202)."""
    require_member(ctx, "volume:revert_to_snapshot")
    snapshot = volumes.snapshot_of(ctx, snapshot_id)
    if snapshot.status != vm.SNAP_AVAILABLE:
        raise Conflict(f"Snapshot {snapshot_id} must be available to revert to it, but it is {snapshot.status}.")
    volume = volumes.get(ctx, snapshot.volume_id)
    moved = await volumes.store.write(_start_tx, volume.id, volumes.clock())
    if moved is None:
        raise RevertRefused(volume_id=volume.id, status=volume.status)
    volumes.jobs.start(f"revert of volume {volume.id} to snapshot {snapshot_id}", _copy_back(volumes, volume.id,
                                                                                             snapshot_id))
    return moved


def _settled_status(volumes: VolumeService, volume_id: str) -> str:
    return vm.IN_USE if volumes.store.read(attachments_db.of_volume, volume_id) else vm.AVAILABLE


async def _copy_back(volumes: VolumeService, volume_id: str, snapshot_id: str) -> None:
    status = _settled_status(volumes, volume_id)
    try:
        async with volumes.jobs.holding(volume_id, snapshot_id):
            await volumes.files.revert_to_snapshot(volume_id, snapshot_id)
    except Exception:
        log.exception("volume %s could not be reverted to snapshot %s", volume_id, snapshot_id)
        status = vm.ERROR
    await volumes.store.write(volumes_db.update_volume, volume_id, {"status": status}, (vm.REVERTING,),
                              now=volumes.clock())


async def settle(volumes: VolumeService, volume: vm.Volume) -> None:
    """At start: a revert cut short left the volume whole (before or after the rename): available (or in-use)
    again."""
    status = _settled_status(volumes, volume.id)
    log.warning("volume %s was being reverted to a snapshot at the last stop: %s again, as its file is", volume.id,
                status)
    await volumes.store.write(volumes_db.update_volume, volume.id, {"status": status}, (vm.REVERTING,),
                              now=volumes.clock())
