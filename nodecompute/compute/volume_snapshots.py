"""Snapshots (#1224-#1229, #1232 and the os-snapshots proxy #1206-#1210) as Cinder 3.0 has them.

A snapshot is a standalone qcow2 copy of the volume as it was (storage/volumes.py `snapshot_volume`), so deleting
the volume's later snapshots or the volumes made from it never breaks another one. Create needs the volume
`available`, or `in-use` with `force` (400 otherwise, Cinder's text); an in-use volume that a running domain holds
is copied by libvirt's backup job through the attachments side (volume_attach_side.py), any other with qemu-img.
The row is written `creating` in the transaction that counts the snapshots and gigabytes quotas; the copy runs in
the background: `available`, or `error` and no file. Delete needs `available` or `error`.
"""
from __future__ import annotations

import logging
import uuid

from nodecompute.compute.volume_listing import SNAPSHOT_COLUMNS, page, snapshot_filters, sort_keys
from nodecompute.compute.volume_quotas import over_quota, snapshot_deltas
from nodecompute.compute.volumes import VolumeService, require_member
from nodecompute.db import volume_snapshots as volume_snapshots_db
from nodecompute.db import volumes as volumes_db
from nodecompute.domain import volume_models as vm
from nodecompute.domain.models import AuthContext
from nodecompute.domain.volume_errors import InvalidSnapshot, InvalidVolume, SnapshotNotFound

log = logging.getLogger(__name__)


class SnapshotService:
    def __init__(self, volumes: VolumeService) -> None:
        self.volumes = volumes
        self.store = volumes.store
        self.files = volumes.files
        self.jobs = volumes.jobs

    def get(self, ctx: AuthContext, snapshot_id: str) -> vm.Snapshot:
        return self.volumes.snapshot_of(ctx, snapshot_id)

    def list(self, ctx: AuthContext, query: vm.ListQuery) -> list[vm.Snapshot]:
        sort = sort_keys(query.sort, SNAPSHOT_COLUMNS, name_alias=False)
        project = None if ctx.is_admin and query.all_projects else ctx.project_id
        snapshots = self.store.read(volume_snapshots_db.list_snapshots, project, sort)
        wanted = snapshot_filters(query.filters, ctx.is_admin)
        return page(snapshots, wanted, query.marker, query.limit, query.offset,
                    lambda marker: SnapshotNotFound(snapshot_id=marker))

    async def create(self, ctx: AuthContext, volume_id: str, name: str | None, description: str | None,
                     force: bool, metadata: dict[str, str] | None = None) -> vm.Snapshot:
        require_member(ctx, "volume:create_snapshot")
        volume = self.volumes.get(ctx, volume_id)
        snapshot = vm.Snapshot(id=str(uuid.uuid4()), project_id=ctx.project_id, user_id=ctx.user_id,
                               volume_id=volume.id, name=name, description=description, size=volume.size,
                               status=vm.SNAP_CREATING, volume_type_id=volume.volume_type_id,
                               created_at=self.volumes.clock(), metadata=dict(metadata or {}))
        limits = self.volumes.quotas.limits(ctx.project_id)
        created = await self.store.write(_create_tx, snapshot, force, limits, volume.volume_type_name or "")
        self.jobs.start(f"snapshot {snapshot.id} of volume {volume.id}", self._copy(created))
        return created

    async def _copy(self, snapshot: vm.Snapshot) -> None:
        live = self.volumes.live
        try:
            async with self.jobs.holding(snapshot.volume_id, snapshot.id):
                volume = self.store.read(volumes_db.get_volume, snapshot.volume_id)
                if volume is not None and volume.status == vm.IN_USE and live is not None \
                        and live.holds(volume.id):
                    await live.copy(volume.id, self.files.snapshot_path(snapshot.id))
                else:
                    await self.files.snapshot_volume(snapshot.id, snapshot.volume_id)
        except Exception:
            log.exception("snapshot %s could not be made", snapshot.id)
            await self.files.delete_snapshot(snapshot.id)
            await self.store.write(volume_snapshots_db.update_snapshot, snapshot.id, {"status": vm.SNAP_ERROR},
                                   (vm.SNAP_CREATING,), now=self.volumes.clock())
            return
        values = {"status": vm.SNAP_AVAILABLE, "progress": "100%"}
        if await self.store.write(volume_snapshots_db.update_snapshot, snapshot.id, values, (vm.SNAP_CREATING,),
                                  now=self.volumes.clock()) is None:
            await self.files.delete_snapshot(snapshot.id)

    async def update(self, ctx: AuthContext, snapshot_id: str, values: dict) -> vm.Snapshot:
        require_member(ctx, "volume:update_snapshot")
        self.get(ctx, snapshot_id)
        updated = await self.store.write(volume_snapshots_db.update_snapshot, snapshot_id, values,
                                         now=self.volumes.clock())
        if updated is None:
            raise SnapshotNotFound(snapshot_id=snapshot_id)
        return updated

    async def delete(self, ctx: AuthContext, snapshot_id: str) -> None:
        require_member(ctx, "volume:delete_snapshot")
        self.get(ctx, snapshot_id)
        moved = await self.store.write(volume_snapshots_db.update_snapshot, snapshot_id, {"status": vm.SNAP_DELETING},
                                       vm.SNAPSHOT_DELETABLE, now=self.volumes.clock())
        if moved is None:
            raise InvalidSnapshot(reason="Snapshot status must be available or error and must not be part of a "
                                         "group.")
        self.jobs.start(f"delete of snapshot {snapshot_id}", self.finish_delete(snapshot_id))

    async def finish_delete(self, snapshot_id: str) -> None:
        try:
            async with self.jobs.holding(snapshot_id):
                await self.files.delete_snapshot(snapshot_id)
        except Exception:
            log.exception("snapshot %s could not be deleted", snapshot_id)
            await self.store.write(volume_snapshots_db.update_snapshot, snapshot_id, {"status": vm.SNAP_ERROR_DELETING},
                                   (vm.SNAP_DELETING,), now=self.volumes.clock())
            return
        await self.store.write(volume_snapshots_db.delete_snapshot, snapshot_id)
        self.jobs.forget(snapshot_id)


def _create_tx(db, snapshot: vm.Snapshot, force: bool, limits: dict[str, int], type_name: str) -> vm.Snapshot:
    volume = volumes_db.get_volume(db, snapshot.volume_id)
    if volume.status == vm.ERROR:
        raise InvalidVolume(reason="The snapshot cannot be created when the volume is in error status.")
    valid = (vm.AVAILABLE, vm.IN_USE) if force else (vm.AVAILABLE,)
    if volume.status not in valid:
        raise InvalidVolume(reason=f"Volume {volume.id} status must be {', '.join(valid)}, but current status "
                                   f"is: {volume.status}.")
    over_quota(limits, volumes_db.usage(db, snapshot.project_id), snapshot_deltas(type_name, snapshot.size),
               resource="snapshots", size=snapshot.size)
    return volume_snapshots_db.insert_snapshot(db, snapshot)
