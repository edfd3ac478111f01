"""A create request's block device mappings -> what the server boots from (behaviour.md section 16; Nova's
block_device.py and compute API checks).

Today a server boots from its image onto local disks: the only mapping accepted is the image disk itself
(source image -> destination local, boot_index 0), which `openstack server create --image` sends beside imageRef;
with imageRef "" that mapping alone names the image. Every mapping first gets Nova's format checks (device UUID
present or absent by source, sizes for new volumes, a known disk bus) and the boot sequence check (indexes 0, 1,
... without gaps, imageRef counting as 0), so a malformed mapping gets Nova's fault. Volumes extend
`plan_block_devices`: each check below that refuses a volume mapping becomes a volume entry of the plan
(destination volume, source volume/snapshot/blank or image), and the refusal stays for what cannot be honoured.
"""
from __future__ import annotations

from dataclasses import dataclass

from nodecompute.domain.errors import BadRequest
from nodecompute.domain.server_models import BlockDeviceRequest

INVALID = "Block Device Mapping is Invalid: "
NO_VOLUMES = INVALID + "volumes are not supported yet."
BAD_BOOT_SEQUENCE = INVALID + "Boot sequence for the instance and image/block device mapping combination is not valid."
MIXED_SYNTAX = "Using different block_device_mapping syntaxes is not allowed"
MISSING_UUID = INVALID + "Missing device UUID."
BLANK_WITH_UUID = INVALID + "Invalid device UUID."
UNKNOWN_BUS = "Block Device Mapping is Invalid."  # Nova's InvalidBDMDiskBus misspells msg_fmt: the parent's text
IMAGE_VOLUME_SIZE = "Images with destination_type 'volume' need to have a non-zero size specified"
BLANK_VOLUME_SIZE = "Blank volumes (source: 'blank', dest: 'volume') need to have non-zero size"
DISK_BUSES = ("fdc", "ide", "sata", "scsi", "usb", "virtio", "xen", "lxc", "uml")  # Nova's fields.DiskBus.ALL


@dataclass(frozen=True)
class BlockDevicePlan:
    image_ref: str  # the image the root disk is made from (an id or an image URL, as given)


def plan_block_devices(image_ref: str, mappings: tuple[BlockDeviceRequest, ...]) -> BlockDevicePlan:
    legacy = [m for m in mappings if m.legacy]
    if legacy and len(legacy) != len(mappings):
        raise BadRequest(MIXED_SYNTAX)
    if legacy:
        raise BadRequest(NO_VOLUMES)
    for mapping in mappings:
        _check_mapping(mapping)
    _check_boot_sequence(image_ref or "", mappings)
    image_ref = _image_root(mappings, image_ref or "")
    if image_ref == "":
        raise BadRequest(BAD_BOOT_SEQUENCE)
    return BlockDevicePlan(image_ref=image_ref)


def _check_mapping(mapping: BlockDeviceRequest) -> None:
    """Nova's BlockDeviceDict.from_api and the per-mapping checks of compute API's _validate_bdm."""
    if mapping.no_device or mapping.source_type is None:
        return
    if mapping.source_type == "blank" and mapping.uuid:
        raise BadRequest(BLANK_WITH_UUID)
    if mapping.source_type != "blank" and not mapping.uuid:
        raise BadRequest(MISSING_UUID)
    if mapping.destination_type == "volume" and not mapping.volume_size:
        if mapping.source_type == "image":
            raise BadRequest(IMAGE_VOLUME_SIZE)
        if mapping.source_type == "blank":
            raise BadRequest(BLANK_VOLUME_SIZE)
    if mapping.disk_bus and mapping.disk_bus not in DISK_BUSES:
        raise BadRequest(UNKNOWN_BUS)


def _check_boot_sequence(image_ref: str, mappings: tuple[BlockDeviceRequest, ...]) -> None:
    """Boot indexes 0, 1, ... without gaps; imageRef stands for boot index 0 when no mapping takes it (Nova puts
    the image's mapping first then)."""
    indexes = sorted(m.boot_index for m in mappings if m.boot_index is not None and m.boot_index >= 0)
    if image_ref and 0 not in indexes:
        indexes.insert(0, 0)
    if not indexes or indexes != list(range(len(indexes))):
        raise BadRequest(BAD_BOOT_SEQUENCE)


def _image_root(mappings: tuple[BlockDeviceRequest, ...], image_ref: str) -> str:
    """The image to boot from: imageRef, or the one image -> local boot_index 0 mapping naming the same image."""
    for mapping in mappings:
        is_image_root = (mapping.source_type == "image" and (mapping.destination_type or "local") == "local"
                         and mapping.boot_index == 0 and len(mappings) == 1)
        if not is_image_root:
            raise BadRequest(NO_VOLUMES)
        if not mapping.uuid or (image_ref and mapping.uuid != image_ref):
            raise BadRequest(BAD_BOOT_SEQUENCE)
        image_ref = mapping.uuid
    return image_ref
