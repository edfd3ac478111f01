"""The block storage service as one unit: volumes, their actions, snapshots, types and quotas, sharing one set of
background jobs, opened at start (reconciliation first) and closed at stop.

It needs no hypervisor: volume files are qemu-img's. Where a hypervisor runs, `attach_live_copies` gives it the
attachments side (volume_attach_side.py), which in-use snapshots and clones need.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass

from nodecompute.compute.images import ImageService
from nodecompute.compute.volume_actions import VolumeActions
from nodecompute.compute.volume_attach_side import LiveCopier
from nodecompute.compute.volume_jobs import Jobs
from nodecompute.compute.volume_quotas import VolumeQuotas
from nodecompute.compute.volume_reconcile import reconcile
from nodecompute.compute.volume_snapshots import SnapshotService
from nodecompute.compute.volume_types import VolumeTypeService
from nodecompute.compute.volumes import VolumeService
from nodecompute.config import Config
from nodecompute.db.store import Store
from nodecompute.domain.models import Clock
from nodecompute.filemodes import DirAccess
from nodecompute.storage.volumes import VolumeFiles

log = logging.getLogger(__name__)
MiB = 1 << 20


@dataclass(frozen=True)
class BlockStorage:
    volumes: VolumeService
    actions: VolumeActions
    snapshots: SnapshotService
    types: VolumeTypeService
    quotas: VolumeQuotas
    jobs: Jobs

    async def start(self) -> None:
        await reconcile(self.volumes, self.snapshots)

    def attach_live_copies(self, copier: LiveCopier) -> None:
        self.volumes.live = copier

    async def wait_idle(self) -> None:
        await self.jobs.wait_idle()

    async def close(self) -> None:
        await self.jobs.close()


def block_storage(store: Store, cfg: Config, images: ImageService, dir_access: DirAccess,
                  clock: Clock) -> BlockStorage:
    """`dir_access`: how <data dir>/volumes is made (filemodes.guest_dir_access: QEMU opens attached volumes);
    `clock` stamps the rows."""
    files = VolumeFiles(cfg.data_dir, reserved_bytes=cfg.volume.reserved_mb * MiB, dir_access=dir_access)
    jobs = Jobs()
    types = VolumeTypeService(store, cfg, clock)
    quotas = VolumeQuotas(store, cfg)
    volumes = VolumeService(store, cfg, files, images, types, quotas, jobs, clock)
    return BlockStorage(volumes=volumes, actions=VolumeActions(volumes), snapshots=SnapshotService(volumes),
                        types=types, quotas=quotas, jobs=jobs)
