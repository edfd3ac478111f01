"""VolumeService: Cinder's volume API on qcow2 files (#1216-#1221, #1232, and the os-volumes proxy #1201-#1205).

Create checks the request as Cinder's create flow does (sources and their statuses, size, image, zone, type,
quotas), writes the row `creating` in the transaction that counts the quota, answers, and makes the file in the
background (storage/volumes.py: empty, or a standalone copy of an image, a snapshot or another volume, so deleting
the source never breaks it): `available` when the file is there, `error` and no file when anything failed.
Delete checks Cinder's conditions (status, no attachment, no snapshot), moves to `deleting`, removes the file,
then the row (`error_deleting` if the file will not go). Extend and upload are in volume_actions.py; the start-up
reconciliation in volume_reconcile.py.
"""
from __future__ import annotations

import logging
import math
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

from nodecompute.compute.images import ImageService
from nodecompute.compute.volume_attach_side import LiveCopier
from nodecompute.compute.volume_jobs import Jobs
from nodecompute.compute.volume_listing import VOLUME_COLUMNS, page, sort_keys, volume_filters
from nodecompute.compute.volume_quotas import VolumeQuotas, check_size_limit, over_quota, volume_deltas
from nodecompute.compute.volume_types import VolumeTypeService
from nodecompute.config import Config
from nodecompute.db import images as images_db
from nodecompute.db import volume_snapshots as volume_snapshots_db
from nodecompute.db import volumes as volumes_db
from nodecompute.db.store import Store
from nodecompute.domain import volume_models as vm
from nodecompute.domain.errors import BadRequest, Conflict, NotFound, PolicyNotAuthorized
from nodecompute.domain.image_models import ACTIVE, Image, ImageQuery
from nodecompute.domain.models import AuthContext, Clock
from nodecompute.domain.volume_errors import (ImageUnacceptable, InvalidAvailabilityZone, InvalidInput,
                                              InvalidSnapshot, InvalidVolume, SnapshotNotFound,
                                              VolumeMetadataNotFound, VolumeNotFound)
from nodecompute.storage.volumes import GiB, VolumeFiles

log = logging.getLogger(__name__)

DELETE_REFUSED = ("Volume status must be available or error or error_restoring or error_extending or error_managing "
                  "and must not be migrating, attached, belong to a group, have snapshots, awaiting a transfer, or "
                  "be disassociated from snapshots after volume transfer.")
# what Cinder copies from an image into the volume's image metadata, beside the image's own properties
IMAGE_ATTRIBUTES = ("checksum", "container_format", "disk_format", "min_disk", "min_ram", "size")


def require_member(ctx: AuthContext, rule: str) -> None:
    if not ctx.can_write:
        raise PolicyNotAuthorized(action=rule)


def image_metadata(image: Image) -> dict[str, str]:
    """Cinder's volume_image_metadata of a volume made from `image` (values are strings, as Cinder stores them)."""
    values = {key: str(value) for key, value in image.properties.items() if value is not None}
    values["image_id"] = image.id
    if image.name:
        values["image_name"] = image.name
    for key in IMAGE_ATTRIBUTES:
        value = image.checksum if key == "checksum" else getattr(image, key)
        if value is not None:
            values[key] = str(value)
    return values


class VolumeService:
    def __init__(self, store: Store, cfg: Config, files: VolumeFiles, images: ImageService,
                 types: VolumeTypeService, quotas: VolumeQuotas, jobs: Jobs, clock: Clock) -> None:
        self.store = store
        self.clock = clock
        self.cfg = cfg
        self.files = files
        self.images = images
        self.types = types
        self.quotas = quotas
        self.jobs = jobs
        self.live: LiveCopier | None = None  # set where a hypervisor runs (attached volumes: issue 20)

    # reads ----------------------------------------------------------------------------------------------------

    def get(self, ctx: AuthContext, volume_id: str) -> vm.Volume:
        volume = self.store.read(volumes_db.get_volume, volume_id)
        if volume is None or (volume.project_id != ctx.project_id and not ctx.is_admin):
            raise VolumeNotFound(volume_id=volume_id)
        return volume

    def list(self, ctx: AuthContext, query: vm.ListQuery) -> list[vm.Volume]:
        return self.store.read(self._listed(ctx, query))

    async def list_off_loop(self, ctx: AuthContext, query: vm.ListQuery) -> list[vm.Volume]:
        """list(), read and paged on the store's reader thread: a thousand volumes are tens of milliseconds of
        SQL rows made records, which the event loop spends answering others meanwhile."""
        return await self.store.read_in_thread(self._listed(ctx, query))

    @staticmethod
    def _listed(ctx: AuthContext, query: vm.ListQuery) -> Callable[[Any], list[vm.Volume]]:
        """The read of a list: the sort and the filters checked now (a bad one raises here), the rows read later."""
        sort = sort_keys(query.sort, VOLUME_COLUMNS, name_alias=True)
        project = None if ctx.is_admin and query.all_projects else ctx.project_id
        wanted = volume_filters(query.filters, ctx.is_admin)

        def read(db: Any) -> list[vm.Volume]:
            return page(volumes_db.list_volumes(db, project, sort), wanted, query.marker, query.limit, query.offset,
                        lambda marker: VolumeNotFound(volume_id=marker))
        return read

    def snapshot_of(self, ctx: AuthContext, snapshot_id: str) -> vm.Snapshot:
        snapshot = self.store.read(volume_snapshots_db.get_snapshot, snapshot_id)
        if snapshot is None or (snapshot.project_id != ctx.project_id and not ctx.is_admin):
            raise SnapshotNotFound(snapshot_id=snapshot_id)
        return snapshot

    # create ---------------------------------------------------------------------------------------------------

    async def create(self, ctx: AuthContext, req: vm.VolumeCreate) -> vm.Volume:
        require_member(ctx, "volume:create")
        snapshot = self.snapshot_of(ctx, req.snapshot_id) if req.snapshot_id is not None else None
        source = self.get(ctx, req.source_volid) if req.source_volid is not None else None
        _check_source_states(snapshot, source)
        size = _size(req.size, snapshot, source)
        image = self._image_for(ctx, req.image_ref, size) if req.image_ref is not None else None
        zone = self._zone(req.availability_zone, snapshot, source)
        volume_type = self._type_for(ctx, req.volume_type, snapshot, source)
        volume = vm.Volume(
            id=str(uuid.uuid4()), project_id=ctx.project_id, user_id=ctx.user_id, name=req.name,
            description=req.description, size=size, status=vm.CREATING, availability_zone=zone,
            volume_type_id=volume_type.id, created_at=self.clock(), snapshot_id=req.snapshot_id,
            source_volid=req.source_volid, image_id=image.id if image and not (snapshot or source) else None,
            metadata=dict(req.metadata or {}))
        limits = self.quotas.limits(ctx.project_id)
        check_size_limit(limits, size)
        created = await self.store.write(_create_tx, volume, limits, volume_type.name)
        self.jobs.start(f"create of volume {volume.id}", self._make(created, image, snapshot, source))
        return created

    def resume_create(self, volume: vm.Volume) -> bool:
        """A create a stop cut short, made again from its row's source (start-up: volume_reconcile.py); False when
        that source is gone (the snapshot, the source volume, or the image's data)."""
        snapshot = self.store.read(volume_snapshots_db.get_snapshot, volume.snapshot_id) if volume.snapshot_id \
            else None
        source = self.store.read(volumes_db.get_volume, volume.source_volid) if volume.source_volid else None
        image = self.store.read(lambda db: images_db.get_image(db, volume.image_id, include_deleted=True)) \
            if volume.image_id else None
        if (volume.snapshot_id and snapshot is None) or (volume.source_volid and source is None) or (
                volume.image_id and (image is None or not image.content_sha256)):
            return False
        self.jobs.start(f"create of volume {volume.id}", self._make(volume, image, snapshot, source))
        return True

    def _image_for(self, ctx: AuthContext, ref: str, size: int) -> Image:
        image = self._find_image(ctx, ref)
        if image.status != ACTIVE:
            raise InvalidInput(reason=f"Image {image.id} is not active.")
        image_gb = math.ceil((image.size or 0) / GiB)
        if image_gb > size:
            raise InvalidInput(reason=f"Size of specified image {image_gb}GB is larger than volume size {size}GB.")
        if size < image.min_disk:
            raise InvalidInput(reason=f"Volume size {size}GB cannot be smaller than the image minDisk size "
                                      f"{image.min_disk}GB.")
        virtual_gb = math.ceil((image.virtual_size or 0) / GiB)
        if virtual_gb > size:
            raise ImageUnacceptable(image_id=image.id, reason=f"Image virtual size is {virtual_gb}GB and doesn't "
                                                              f"fit in a volume of size {size}GB.")
        return image

    def _find_image(self, ctx: AuthContext, ref: str) -> Image:
        """Cinder's _image_uuid_from_ref: the last segment of a URL as an id, else the name (one match)."""
        image_id = ref.split("/")[-1]
        try:
            uuid.UUID(image_id)
        except ValueError:
            pass
        else:
            try:
                return self.images.get(ctx, image_id)
            except NotFound:
                pass
        named = self.images.list(ctx, ImageQuery(names=(ref,), limit=1000))
        if len(named) > 1:
            raise Conflict(f"Multiple matches found for '{ref}', use an ID to be more specific.")
        if named:
            return named[0]
        raise BadRequest("Invalid image identifier or unable to access requested image.")

    def _zone(self, requested: str | None, snapshot: vm.Snapshot | None, source: vm.Volume | None) -> str:
        zone = self.cfg.volume.availability_zone
        if requested is None:
            origin = source or (self.store.read(volumes_db.get_volume, snapshot.volume_id) if snapshot else None)
            return origin.availability_zone if origin is not None else zone
        if requested != zone:
            raise InvalidAvailabilityZone(az=requested)
        return requested

    def _type_for(self, ctx: AuthContext, requested: str | None, snapshot: vm.Snapshot | None,
                  source: vm.Volume | None):
        if requested:
            return self.types.get_by_name_or_id(ctx, requested)
        inherited = source.volume_type_id if source else snapshot.volume_type_id if snapshot else None
        found = self.types.by_id(inherited) if inherited else None
        return found or self.types.default()

    async def _make(self, volume: vm.Volume, image: Image | None, snapshot: vm.Snapshot | None,
                    source: vm.Volume | None) -> None:
        values: dict = {"status": vm.AVAILABLE}
        try:
            async with self.jobs.holding(snapshot.id if snapshot else None, source.id if source else None):
                if snapshot is not None:  # Cinder's order when a request names several sources
                    await self.files.create_from_snapshot(volume.id, snapshot.id, volume.size)
                    values.update(self._inherited(snapshot.volume_id))
                elif source is not None:
                    await self._clone(volume, source)
                    values.update(bootable=source.bootable, image_metadata=source.image_metadata)
                elif image is not None:
                    await self.files.create_from_image(volume.id, self.images.files.path_for(image.content_sha256),
                                                       image.disk_format, volume.size)
                    values.update(bootable=True, image_metadata=image_metadata(image))
                else:
                    await self.files.create_empty(volume.id, volume.size)
        except Exception:
            log.exception("volume %s could not be made", volume.id)
            await self.files.delete_volume(volume.id)
            await self.store.write(volumes_db.update_volume, volume.id, {"status": vm.ERROR}, (vm.CREATING,),
                                   now=self.clock())
            return
        if await self.store.write(volumes_db.update_volume, volume.id, values, (vm.CREATING,),
                                  now=self.clock()) is None:
            await self.files.delete_volume(volume.id)  # the row left creating meanwhile: no file without it

    def _inherited(self, volume_id: str) -> dict:
        origin = self.store.read(volumes_db.get_volume, volume_id)
        if origin is None:
            return {}
        return {"bootable": origin.bootable, "image_metadata": origin.image_metadata}

    async def _clone(self, volume: vm.Volume, source: vm.Volume) -> None:
        if source.status == vm.IN_USE and self.live is not None and self.live.holds(source.id):
            path = self.files.volume_path(volume.id)
            try:
                await self.live.copy(source.id, path)
                if volume.size > source.size:
                    await self.files.extend(volume.id, volume.size)
            except BaseException:
                await self.files.delete_volume(volume.id)
                raise
            return
        await self.files.create_from_volume(volume.id, source.id, volume.size)

    # update and metadata --------------------------------------------------------------------------------------

    async def update(self, ctx: AuthContext, volume_id: str, values: dict) -> vm.Volume:
        require_member(ctx, "volume:update")
        self.get(ctx, volume_id)
        updated = await self.store.write(volumes_db.update_volume, volume_id, values, now=self.clock())
        if updated is None:
            raise VolumeNotFound(volume_id=volume_id)
        return updated

    def metadata(self, ctx: AuthContext, volume_id: str) -> dict[str, str]:
        return self.get(ctx, volume_id).metadata

    def metadata_item(self, ctx: AuthContext, volume_id: str, key: str) -> dict[str, str]:
        metadata = self.metadata(ctx, volume_id)
        if key not in metadata:
            raise VolumeMetadataNotFound(volume_id=volume_id, metadata_key=key)
        return {key: metadata[key]}

    async def set_metadata(self, ctx: AuthContext, volume_id: str, metadata: dict[str, str], *,
                           replace: bool) -> dict[str, str]:
        require_member(ctx, "volume:update_volume_metadata")
        volume = self.get(ctx, volume_id)
        merged = dict(metadata) if replace else {**volume.metadata, **metadata}
        return (await self.update(ctx, volume_id, {"metadata": merged})).metadata

    async def delete_metadata_item(self, ctx: AuthContext, volume_id: str, key: str) -> None:
        require_member(ctx, "volume:delete_volume_metadata")
        volume = self.get(ctx, volume_id)
        if key not in volume.metadata:
            raise VolumeMetadataNotFound(volume_id=volume_id, metadata_key=key)
        await self.update(ctx, volume_id, {"metadata": {k: v for k, v in volume.metadata.items() if k != key}})

    # delete ---------------------------------------------------------------------------------------------------

    async def delete(self, ctx: AuthContext, volume_id: str, cascade: bool = False) -> None:
        """Cinder's delete; with `cascade` (`openstack volume delete --purge`) its snapshots go too, when each is
        available or error (and, for a non-admin, the caller's)."""
        require_member(ctx, "volume:delete")
        volume = self.get(ctx, volume_id)
        owner = None if ctx.is_admin else ctx.project_id
        if not await self.store.write(_begin_delete_tx, volume.id, cascade, owner, self.clock()):
            raise InvalidVolume(reason=DELETE_REFUSED)
        self.jobs.start(f"delete of volume {volume.id}", self.finish_delete(volume.id))

    async def finish_delete(self, volume_id: str) -> None:
        """Remove the files (the snapshots a cascade took along, then the volume's), then the rows (a volume in
        deleting at start-up is finished here too)."""
        snapshots = [s.id for s in self.store.read(volume_snapshots_db.of_volume, volume_id)]
        try:
            async with self.jobs.holding(volume_id, *snapshots):
                for snapshot_id in snapshots:
                    await self.files.delete_snapshot(snapshot_id)
                await self.files.delete_volume(volume_id)
        except Exception:
            log.exception("volume %s could not be deleted", volume_id)
            await self.store.write(volumes_db.update_volume, volume_id, {"status": vm.ERROR_DELETING}, (vm.DELETING,),
                                   now=self.clock())
            return
        await self.store.write(_delete_rows_tx, volume_id)
        for item in (volume_id, *snapshots):
            self.jobs.forget(item)


def _check_source_states(snapshot: vm.Snapshot | None, source: vm.Volume | None) -> None:
    if snapshot is not None and snapshot.status != vm.SNAP_AVAILABLE:
        raise InvalidSnapshot(reason="Originating snapshot status must be one of 'available' values")
    if source is not None and source.status not in (vm.AVAILABLE, vm.IN_USE):
        raise InvalidVolume(reason="Originating source volume status must be one of 'available, in-use' values")


def _size(size: int | None, snapshot: vm.Snapshot | None, source: vm.Volume | None) -> int:
    """Cinder's _extract_size: from the source when not given; a whole number above 0, not below the source's."""
    if not size and source is not None:
        size = source.size
    elif not size and snapshot is not None:
        size = snapshot.size
    if size is not None and not isinstance(size, int):
        size = int(size)
    if not isinstance(size, int) or size <= 0:
        raise InvalidInput(reason=f"Volume size '{size}' must be an integer and greater than 0")
    if source is not None and size < source.size:
        raise InvalidInput(reason=f"Volume size '{size}'GB cannot be smaller than original volume size  "
                                  f"{source.size}GB. They must be >= original volume size.")
    if source is None and snapshot is not None and size < snapshot.size:
        raise InvalidInput(reason=f"Volume size '{size}'GB cannot be smaller than the snapshot size "
                                  f"{snapshot.size}GB. They must be >= original snapshot size.")
    return size


def _create_tx(db, volume: vm.Volume, limits: dict[str, int], type_name: str) -> vm.Volume:
    over_quota(limits, volumes_db.usage(db, volume.project_id), volume_deltas(type_name, volume.size),
               resource="volumes", size=volume.size)
    return volumes_db.insert_volume(db, volume)


def _begin_delete_tx(db, volume_id: str, cascade: bool, owner: str | None, now: datetime) -> bool:
    volume = volumes_db.get_volume(db, volume_id)
    if volume is None or volume.status not in vm.DELETABLE or volume.attached:
        return False
    snapshots = volume_snapshots_db.of_volume(db, volume_id)
    if snapshots and not cascade:
        return False
    if any(s.status not in vm.SNAPSHOT_DELETABLE or owner not in (None, s.project_id) for s in snapshots):
        return False
    for snapshot in snapshots:
        volume_snapshots_db.update_snapshot(db, snapshot.id, {"status": vm.SNAP_DELETING}, now=now)
    volumes_db.update_volume(db, volume_id, {"status": vm.DELETING}, vm.DELETABLE, now=now)
    return True


def _delete_rows_tx(db, volume_id: str) -> None:
    for snapshot in volume_snapshots_db.of_volume(db, volume_id):
        volume_snapshots_db.delete_snapshot(db, snapshot.id)
    volumes_db.delete_volume(db, volume_id)
