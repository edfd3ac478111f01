"""Volume actions (#1222 os-volume_upload_image, #1223 os-extend, and os-set_bootable) as Cinder 3.0 has them.

- os-extend: a bigger size only (400 otherwise), of an `available` volume only (Cinder answers in-use volumes 400
  before 3.42); the per-volume limit and the gigabytes quota (the new size counts at once) are checked in the
  transaction that moves it to `extending`; `qemu-img resize` runs in the background; `available` at the new size,
  or `error_extending` at the old one.
- os-volume_upload_image: `available` -> `uploading` (Cinder's enable_force_upload is off by default, so `force`
  changes nothing), a queued image is made in the image service, the volume is converted beside the image store and
  adopted by it in the background; the image goes active and the volume back to `available`, or on failure the
  image is deleted and the volume goes back to `available` (Cinder's manager does both).
- os-set_bootable: the flag, on any volume of the caller's.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from nodecompute.compute.volume_quotas import check_size_limit, over_quota
from nodecompute.compute.volumes import VolumeService, require_member
from nodecompute.db import volumes as volumes_db
from nodecompute.domain import volume_models as vm
from nodecompute.domain.errors import BadRequest
from nodecompute.domain.image_models import CONTAINER_FORMATS, DISK_FORMATS, Image
from nodecompute.domain.models import AuthContext
from nodecompute.domain.volume_errors import InvalidInput, InvalidVolume

log = logging.getLogger(__name__)
# Glance core properties Cinder does not copy from a volume's image metadata into the new image
CORE_PROPERTIES = ("checksum", "container_format", "disk_format", "image_name", "image_id", "min_disk", "min_ram",
                   "name", "size")


@dataclass(frozen=True)
class Upload:
    volume: vm.Volume  # as it was asked (status uploading)
    image: Image
    volume_type: vm.VolumeType | None


class VolumeActions:
    def __init__(self, volumes: VolumeService) -> None:
        self.volumes = volumes
        self.store = volumes.store

    # os-extend ------------------------------------------------------------------------------------------------

    async def extend(self, ctx: AuthContext, volume_id: str, new_size: int) -> None:
        require_member(ctx, "volume:extend")
        volume = self.volumes.get(ctx, volume_id)
        if new_size <= volume.size:
            raise InvalidInput(reason=f"New size for extend must be greater than current size. (current: "
                                      f"{volume.size}, extended: {new_size}).")
        limits = self.volumes.quotas.limits(volume.project_id)
        type_name = volume.volume_type_name or ""
        await self.store.write(_begin_extend_tx, volume.id, new_size, limits, type_name,
                               self.volumes.clock())
        self.volumes.jobs.start(f"extend of volume {volume.id}", self._grow(volume.id, new_size))

    async def _grow(self, volume_id: str, new_size: int) -> None:
        try:
            async with self.volumes.jobs.holding(volume_id):
                await self.volumes.files.extend(volume_id, new_size)
        except Exception:
            log.exception("volume %s could not be extended", volume_id)
            values = {"status": vm.ERROR_EXTENDING, "extend_to": None, "previous_status": None}
        else:
            values = {"status": vm.AVAILABLE, "size": new_size, "extend_to": None, "previous_status": None}
        await self.store.write(volumes_db.update_volume, volume_id, values, (vm.EXTENDING,), now=self.volumes.clock())

    # os-volume_upload_image -----------------------------------------------------------------------------------

    async def upload_to_image(self, ctx: AuthContext, volume_id: str, image_name: str, disk_format: str,
                              container_format: str, force: bool) -> Upload:
        require_member(ctx, "volume_extension:volume_actions:upload_image")
        volume = self.volumes.get(ctx, volume_id)
        if disk_format not in DISK_FORMATS:
            raise BadRequest(f"Image format '{disk_format}' is not supported: the image store keeps "
                             f"{' and '.join(DISK_FORMATS)} images")
        if container_format not in CONTAINER_FORMATS:
            raise BadRequest(f"Container format '{container_format}' is not supported: the image store keeps "
                             f"{' and '.join(CONTAINER_FORMATS)} images")
        moved = await self.store.write(volumes_db.update_volume, volume.id,
                                       {"status": vm.UPLOADING, "previous_status": volume.status}, (vm.AVAILABLE,),
                                       now=self.volumes.clock())
        if moved is None:
            raise InvalidVolume(reason=f"Volume {volume.id} status must be available")
        try:
            image = await self.volumes.images.create(
                ctx, {"name": image_name, "disk_format": disk_format, "container_format": container_format},
                _custom_properties(volume), [])
        except BaseException:
            await self.store.write(volumes_db.update_volume, volume.id,
                                   {"status": volume.status, "previous_status": None}, (vm.UPLOADING,),
                                   now=self.volumes.clock())
            raise
        await self.store.write(volumes_db.update_volume, volume.id, {"upload_image_id": image.id}, (vm.UPLOADING,),
                               now=self.volumes.clock())
        self.volumes.jobs.start(f"upload of volume {volume.id}", self._convert(ctx, volume.id, image, disk_format))
        return Upload(volume=moved, image=image, volume_type=self.volumes.types.by_id(volume.volume_type_id))

    async def _convert(self, ctx: AuthContext, volume_id: str, image: Image, disk_format: str) -> None:
        files, images = self.volumes.files, self.volumes.images
        try:
            async with self.volumes.jobs.holding(volume_id):
                await images.upload_produced(ctx, image.id,
                                             lambda: files.upload_to_image(volume_id, images.files, disk_format))
        except Exception:
            log.exception("volume %s could not be uploaded to image %s", volume_id, image.id)
            await images.delete_unfinished(image.id)
        await self.store.write(volumes_db.update_volume, volume_id,
                               {"status": vm.AVAILABLE, "previous_status": None, "upload_image_id": None},
                               (vm.UPLOADING,), now=self.volumes.clock())

    # os-set_bootable ------------------------------------------------------------------------------------------

    async def set_bootable(self, ctx: AuthContext, volume_id: str, bootable: bool) -> None:
        require_member(ctx, "volume_extension:volume_actions:set_bootable")
        self.volumes.get(ctx, volume_id)
        await self.store.write(volumes_db.update_volume, volume_id, {"bootable": bootable}, now=self.volumes.clock())


def _custom_properties(volume: vm.Volume) -> dict[str, str]:
    """Cinder's _merge_volume_image_meta: the volume's image metadata less Glance's core properties and the
    reserved os_glance namespace."""
    return {key: value for key, value in (volume.image_metadata or {}).items()
            if key not in CORE_PROPERTIES and not key.startswith("os_glance")}


def _begin_extend_tx(db, volume_id: str, new_size: int, limits: dict[str, int], type_name: str,
                     now: datetime) -> None:
    volume = volumes_db.get_volume(db, volume_id)
    if volume is None or volume.status != vm.AVAILABLE:
        status = volume.status if volume else "deleted"
        raise InvalidVolume(reason=f"Volume {volume_id} status must be '{{'status': 'available'}}' to extend, "
                                   f"currently {status}.")
    check_size_limit(limits, new_size)
    increase = new_size - volume.size
    over_quota(limits, volumes_db.usage(db, volume.project_id),
               {"gigabytes": increase, f"gigabytes_{type_name}": increase}, resource="volumes", size=increase)
    volumes_db.update_volume(db, volume_id, {"status": vm.EXTENDING, "extend_to": new_size,
                                      "previous_status": vm.AVAILABLE}, (vm.AVAILABLE,), now=now)
