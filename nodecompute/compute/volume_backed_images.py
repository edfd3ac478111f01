"""createImage of a volume-backed server (issue 20; Nova's snapshot_volume_backed): each attached volume is
snapshotted (force: it is in use; libvirt's backup job when a running guest holds it), and the image is a record of
size 0, active at once, whose properties carry Nova's `block_device_mapping` (one snapshot -> volume mapping per
volume, JSON as Nova stores it in Glance), `bdm_v2` and `root_device_name`. Booting that image makes the volumes from
the snapshots (compute/block_devices.py `from_image_properties`).
"""
from __future__ import annotations

import asyncio
import json
import logging

from nodecompute.compute.block_storage import BlockStorage
from nodecompute.compute.images import ImageService
from nodecompute.compute.instance_metadata import local_disk_names
from nodecompute.db import volume_attachments as attachments_db
from nodecompute.db import volume_snapshots as volume_snapshots_db
from nodecompute.db.store import Store
from nodecompute.domain import volume_models as vm
from nodecompute.domain.errors import ComputeError
from nodecompute.domain.image_models import Image
from nodecompute.domain.models import AuthContext
from nodecompute.domain.server_models import LocalDisk, Server

log = logging.getLogger(__name__)

ROOT_DEVICE = "/dev/vda"
# Nova's BlockDeviceDict fields (block_device.bdm_new_fields without connection_info): an image mapping has them all
MAPPING_FIELDS = ("source_type", "destination_type", "guest_format", "device_type", "disk_bus", "boot_index",
                  "device_name", "delete_on_termination", "snapshot_id", "volume_id", "volume_size", "image_id",
                  "no_device", "tag", "volume_type", "encrypted", "encryption_secret_uuid", "encryption_format",
                  "encryption_options")
SNAPSHOT_WAIT_SECONDS = 600.0


class VolumeBackedImages:
    def __init__(self, store: Store, blocks: BlockStorage, images: ImageService, interval: float = 0.2) -> None:
        self.store = store
        self.blocks = blocks
        self.images = images
        self.interval = interval

    async def create_image(self, ctx: AuthContext, server: Server, fields: dict, properties: dict[str, str]
                           ) -> Image:
        """The snapshots, then the image (its name in `fields`, the inherited properties in `properties`)."""
        mapping = []
        for attachment in self.store.read(attachments_db.of_server, server.uuid):
            volume = self.blocks.volumes.get(ctx, attachment.volume_id)
            snapshot = await self.blocks.snapshots.create(ctx, volume.id, f"snapshot for {fields['name']}",
                                                          volume.description, True)
            await self._wait(snapshot.id)
            mapping.append(_image_mapping(attachment, snapshot.id, volume.size))
        mapping += [_blank_mapping(disk, f"/dev/{name}") for disk, name, _ in local_disk_names(server)]
        properties = {key: value for key, value in properties.items()
                      if key not in ("block_device_mapping", "bdm_v2", "root_device_name")}
        properties["root_device_name"] = ROOT_DEVICE
        if mapping:
            properties.update(block_device_mapping=json.dumps(mapping), bdm_v2="True")
        fields = {key: value for key, value in fields.items() if key not in ("disk_format", "container_format")}
        image = await self.images.create(ctx, fields, properties, [])
        return await self.images.activate_empty(ctx, image.id)

    async def _wait(self, snapshot_id: str) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + SNAPSHOT_WAIT_SECONDS
        while True:
            snapshot = self.store.read(volume_snapshots_db.get_snapshot, snapshot_id)
            status = snapshot.status if snapshot else "deleted"
            if status == vm.SNAP_AVAILABLE:
                return
            if status != vm.SNAP_CREATING or loop.time() > deadline:
                raise ComputeError(f"Snapshot {snapshot_id} of a volume-backed server's volume is {status}.")
            await asyncio.sleep(self.interval)


def _image_mapping(attachment: vm.Attachment, snapshot_id: str, size: int) -> dict:
    """Nova's snapshot_from_bdm(...).get_image_mapping(): the attachment's bus, boot index, deletion, size and
    device on a snapshot -> volume mapping."""
    mapping: dict = dict.fromkeys(MAPPING_FIELDS)
    mapping.update(source_type="snapshot", destination_type="volume", snapshot_id=snapshot_id,
                   disk_bus=attachment.disk_bus, boot_index=attachment.boot_index,
                   delete_on_termination=attachment.delete_on_termination, volume_size=size,
                   device_name=attachment.device)
    return mapping


def _blank_mapping(disk: LocalDisk, device_name: str) -> dict:
    """Nova's image mapping of an ephemeral or swap disk's blank -> local mapping (its size in GiB, a swap's MiB,
    the device name it has): booting the image makes it again."""
    mapping: dict = dict.fromkeys(MAPPING_FIELDS)
    mapping.update(source_type="blank", destination_type="local", guest_format=disk.guest_format,
                   device_type="disk", disk_bus=disk.disk_bus, boot_index=-1, delete_on_termination=True,
                   volume_size=disk.size_bytes >> (20 if disk.kind == "swap" else 30), device_name=device_name,
                   tag=disk.tag)  # Nova's get_image_mapping keeps the BDM's tag
    return mapping
