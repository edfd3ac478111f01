"""Boot from volume (issue 20): the volumes a create's block device mappings name, checked, reserved and made.

At the request (Nova's compute API `_validate_bdm`): each existing volume must be there (and, as the root, bootable),
each snapshot and image too, each volume type; the root's image metadata (the image's, or the volume's
volume_image_metadata) is what the server was booted from (its properties, min_ram and min_disk). An existing volume
is reserved (attaching, an attachment row without attached_at) in the transaction that writes the server's row, so
two creates cannot take one volume.

At build (Nova's _prep_block_device, task state block_device_mapping): a volume from an image, a snapshot or nothing
is made through the block storage service (Cinder's create, its quota) and waited for, as Nova waits
(block_device_allocate_retries); then every volume is attached: in-use, its attachment row attached. The domain's
definition names the disks (the root volume is vda: Guests.disks). A failed build lets the volumes go as Nova's
_cleanup_volumes does (detached, available; deleted when delete_on_termination), including a volume the build made
itself whose mapping did not ask for its deletion (Nova keeps it too).
"""
from __future__ import annotations

import asyncio
import logging
import uuid as uuidlib
from dataclasses import dataclass, field
from datetime import datetime

from nodecompute.compute import attachment_records as records
from nodecompute.compute.block_devices import INVALID, BlockDevicePlan, VolumeMapping
from nodecompute.compute.block_storage import BlockStorage
from nodecompute.compute.guests import crash_point
from nodecompute.compute.metadata_documents import DeviceMetadata
from nodecompute.compute.tagged_disks import local_disk_devices, unpinned_disk_entry
from nodecompute.db import servers as servers_db
from nodecompute.db import volume_attachments as attachments_db
from nodecompute.db import volumes as volumes_db
from nodecompute.db.store import Store
from nodecompute.domain import volume_models as vm
from nodecompute.domain.errors import BadRequest, NotFound
from nodecompute.domain.models import AuthContext, Clock
from nodecompute.domain.server_models import Server

log = logging.getLogger(__name__)

GIB = 1 << 30
ALLOCATE_ATTEMPTS = 360  # Nova waits block_device_allocate_retries (60) x its interval (3 s): the same 180 s,
ALLOCATE_INTERVAL = 0.5  # looked at more often (a small volume is made in well under a second here)
# what Cinder's volume_image_metadata holds beside the image's properties (volumes.py IMAGE_ATTRIBUTES, ids)
NOT_PROPERTIES = ("checksum", "container_format", "disk_format", "min_disk", "min_ram", "size", "image_id",
                  "image_name")


@dataclass(frozen=True)
class VolumeRoot:
    """What a volume-backed server was booted from, in the shape the create code reads an image in: no image of
    its own (id "", no local root disk), the root's image properties and minimums."""

    properties: dict[str, str] = field(default_factory=dict)
    min_ram: int = 0
    min_disk: int = 0
    id: str = ""
    content_sha256: str | None = None
    virtual_size: int = 0


FIRST_DISK_SLOT = 0x18  # a tagged virtio volume's PCI slot on bus 0: this plus its rank (NICs take 0x10-0x17)
TAGGED_DISK_SLOTS = 8


def disk_pci_slots(attachments: list[vm.Attachment]) -> dict[str, int]:
    """attachment id -> the pinned PCI slot of each tagged virtio volume, in attachment order (the first 8)."""
    tagged = [a for a in attachments if a.tag and (a.disk_bus or "virtio") == "virtio"]
    return {a.id: FIRST_DISK_SLOT + rank for rank, a in enumerate(tagged[:TAGGED_DISK_SLOTS])}


def disk_devices(attachments: list[vm.Attachment]) -> tuple[DeviceMetadata, ...]:
    """meta_data.json `devices` entries of the tagged volumes (Nova's DiskMetadata: PCI address, serial, tag), in
    attachment order; one on another bus than virtio with that bus and no address (tagged_disks.py)."""
    slots = disk_pci_slots(attachments)
    return tuple(DeviceMetadata(type="disk", bus="pci", address=f"0000:00:{slots[a.id]:02x}.0", serial=a.volume_id,
                                tags=(a.tag,)) if a.id in slots
                 else unpinned_disk_entry(a.disk_bus or "", a.tag or "", a.volume_id)
                 for a in attachments if a.id in slots or (a.tag and (a.disk_bus or "virtio") != "virtio"))


def tagged_disk_devices(server: Server, attachments: list[vm.Attachment]) -> tuple[DeviceMetadata, ...]:
    """Every tagged disk's entry in the domain's disk order (Nova walks the guest's XML): a volume-backed server's
    root volume, the local disks (compute/tagged_disks.py), the other volumes."""
    volumes = disk_devices(attachments)
    roots = {a.volume_id for a in attachments if a.boot_index == 0}
    return (*(d for d in volumes if d.serial in roots), *local_disk_devices(server),
            *(d for d in volumes if d.serial not in roots))


class VolumeNotCreated(Exception):
    """Nova's VolumeNotCreated: a volume the build made did not become available."""


def _int(value: object) -> int:
    try:
        return int(str(value))
    except ValueError:
        return 0


def from_image_metadata(metadata: dict[str, str] | None) -> VolumeRoot:
    metadata = metadata or {}
    return VolumeRoot(properties={k: v for k, v in metadata.items() if k not in NOT_PROPERTIES},
                      min_ram=_int(metadata.get("min_ram", 0)), min_disk=_int(metadata.get("min_disk", 0)))


class VolumeBoot:
    def __init__(self, store: Store, blocks: BlockStorage, clock: Clock, *, attempts: int = ALLOCATE_ATTEMPTS,
                 interval: float = ALLOCATE_INTERVAL) -> None:
        self.store = store
        self.blocks = blocks
        self.clock = clock
        self.attempts = attempts
        self.interval = interval

    # at the request -------------------------------------------------------------------------------------------

    def check(self, ctx: AuthContext, plan: BlockDevicePlan) -> VolumeRoot | None:
        """Every volume mapping's source and type (Nova's faults); the root's boot source when volume-backed."""
        root = None
        for mapping in plan.volumes:
            source = self._check_source(ctx, mapping)
            if mapping.volume_type:
                try:
                    self.blocks.types.get_by_name_or_id(ctx, mapping.volume_type)
                except NotFound:
                    raise BadRequest(f"Volume type {mapping.volume_type} could not be found.") from None
            if mapping.is_root:
                root = source
                if mapping.volume_size and root.min_disk > mapping.volume_size:
                    raise BadRequest(f"Volume is smaller than the minimum size specified in image metadata. "
                                     f"Volume size is {mapping.volume_size * GIB} bytes, minimum size is "
                                     f"{root.min_disk * GIB} bytes.")
        return root

    def _check_source(self, ctx: AuthContext, mapping: VolumeMapping) -> VolumeRoot:
        volumes = self.blocks.volumes
        if mapping.source_type == "volume":
            try:
                volume = volumes.get(ctx, mapping.source_id or "")
            except NotFound:
                raise BadRequest(f"{INVALID}failed to get volume {mapping.source_id}.") from None
            if mapping.is_root and not volume.bootable:
                raise BadRequest(f"Block Device {volume.id} is not bootable.")
            if volume.multiattach:
                raise BadRequest(f"Volume {volume.id} has 'multiattach' set, which is not supported for this "
                                 f"instance.")
            return from_image_metadata(volume.image_metadata)
        if mapping.source_type == "snapshot":
            try:
                snapshot = volumes.snapshot_of(ctx, mapping.source_id or "")
            except NotFound:
                raise BadRequest(f"{INVALID}failed to get snapshot {mapping.source_id}.") from None
            origin = self.store.read(volumes_db.get_volume, snapshot.volume_id)
            return from_image_metadata(origin.image_metadata if origin else None)
        if mapping.source_type == "image":
            try:
                image = volumes.images.get_for_boot(mapping.source_id or "", ctx.project_id)
            except NotFound:
                raise BadRequest(f"{INVALID}failed to get image {mapping.source_id}.") from None
            return VolumeRoot(properties=dict(image.properties), min_ram=image.min_ram, min_disk=image.min_disk)
        return VolumeRoot()  # blank

    def reservations(self, server_uuid: str, host: str | None, plan: BlockDevicePlan) -> list[vm.Attachment]:
        """The attachments that reserve the existing volumes a create names (written with the server's row)."""
        return [self._attachment(server_uuid, host, mapping, mapping.source_id or "")
                for mapping in plan.volumes if mapping.source_type == "volume"]

    def insert_tx(self, db, rows: list[dict], metadata: dict, personality, tags, reservations: list[vm.Attachment],
                  now: datetime) -> list[Server]:
        """The servers' rows and the volumes' reservations, one transaction: a volume not available refuses the
        create and nothing is written."""
        servers = servers_db.insert_servers(db, rows, metadata, personality, tags)
        for attachment in reservations:
            records.reserve_tx(db, attachment, now)
        return servers

    # at build -------------------------------------------------------------------------------------------------

    async def prepare(self, ctx: AuthContext, server: Server, plan: BlockDevicePlan) -> None:
        """Make the volumes the mappings ask for and attach every volume of the plan (rows in-use, attached)."""
        for mapping in plan.volumes:
            if mapping.source_type == "volume":
                reserved = self.store.read(attachments_db.find, server.uuid, mapping.source_id)
                if reserved is None:  # let go meanwhile (a restart settled it): reserve it again
                    reserved = self._attachment(server.uuid, server.host, mapping, mapping.source_id or "")
                    await self.store.write(records.reserve_tx, reserved, self.clock())
                await self.store.write(records.attached_tx, reserved, reserved.device or "", self.clock())
                continue
            await self._make(ctx, server, mapping)
        crash_point("volumes_attached")  # the crash tests' SIGKILL: every volume made and attached, no domain yet

    async def _make(self, ctx: AuthContext, server: Server, mapping: VolumeMapping) -> None:
        """The volume made, linked to the server by an attachment row from the moment its row exists (a stop in
        the middle leaves no volume the server does not name: reconcile.py lets an abandoned build's volumes go),
        then attached once available."""
        request = vm.VolumeCreate(
            size=mapping.volume_size, name=f"{server.uuid}-blank-vol" if mapping.source_type == "blank" else "",
            volume_type=mapping.volume_type, snapshot_id=mapping.source_id if mapping.source_type == "snapshot"
            else None, image_ref=mapping.source_id if mapping.source_type == "image" else None)
        volume = await self.blocks.volumes.create(ctx, request)
        attachment = self._attachment(server.uuid, server.host, mapping, volume.id)
        await self.store.write(volumes_db.insert_attachment, attachment)
        crash_point("volume_creating")  # the crash tests' SIGKILL: a volume row (creating) the build names
        try:
            await asyncio.shield(self._wait_available(volume.id))
        except BaseException:
            await asyncio.shield(self.store.write(attachments_db.delete, attachment.id))
            if mapping.delete_on_termination:  # Nova's _call_wait_func
                await asyncio.shield(self._delete(volume.id))
            raise
        await self.store.write(_attach_made_tx, attachment, self.clock())

    async def _wait_available(self, volume_id: str) -> None:
        status = vm.CREATING
        for _ in range(self.attempts):
            volume = self.store.read(volumes_db.get_volume, volume_id)
            status = volume.status if volume else "deleted"
            if status == vm.AVAILABLE:
                return
            if status != vm.CREATING:
                break
            await asyncio.sleep(self.interval)
        seconds = int(self.attempts * self.interval)
        raise VolumeNotCreated(f"Volume {volume_id} did not finish being created even after we waited {seconds} "
                               f"seconds or {self.attempts} attempts. And its status is {status}.")

    async def _delete(self, volume_id: str) -> None:
        await self.blocks.wait_idle()
        try:
            await self.blocks.volumes.delete(AuthContext.system("nodecompute", self.clock()), volume_id)
        except Exception as exc:
            log.warning("volume %s made for a failed build was not deleted: %s", volume_id, exc)

    def _attachment(self, server_uuid: str, host: str | None, mapping: VolumeMapping, volume_id: str
                    ) -> vm.Attachment:
        device = mapping.device_name
        if device and not device.startswith("/dev/"):
            device = f"/dev/{device}"
        return vm.Attachment(id=str(uuidlib.uuid4()), volume_id=volume_id, server_id=server_uuid, device=device,
                             attached_at=None, attached_host=host, tag=mapping.tag,
                             delete_on_termination=mapping.delete_on_termination, boot_index=mapping.boot_index,
                             disk_bus=mapping.disk_bus)


def _attach_made_tx(db, attachment: vm.Attachment, now: datetime) -> None:
    """A volume the build made (its attachment row written with it), now available: attached."""
    if volumes_db.update_volume(db, attachment.volume_id, {"status": vm.ATTACHING}, (vm.AVAILABLE,),
                                now=now) is None:
        raise VolumeNotCreated(f"Volume {attachment.volume_id} is no longer available to attach.")
    records.attached_tx(db, attachment, attachment.device or "", now)
