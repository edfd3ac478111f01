"""A create request's block device mappings -> what the server boots from (behaviour.md section 16; Nova's
block_device.py and compute API checks).

Today a server boots from its image onto local disks: the only mapping accepted is the image disk itself
(source image -> destination local, boot_index 0), which `openstack server create --image` sends beside imageRef;
with imageRef "" that mapping alone names the image. Volumes extend `plan_block_devices`: each check below that
refuses a volume mapping becomes a volume entry of the plan (destination volume, source volume/snapshot/blank or
image), and the refusal stays for what cannot be honoured.
"""
from __future__ import annotations

from dataclasses import dataclass

from nodecompute.domain.errors import BadRequest
from nodecompute.domain.server_models import BlockDeviceRequest

INVALID = "Block Device Mapping is Invalid: "
NO_VOLUMES = INVALID + "volumes are not supported yet."
BAD_BOOT_SEQUENCE = INVALID + "Boot sequence for the instance and image/block device mapping combination is not valid."
MIXED_SYNTAX = "Using different block_device_mapping syntaxes is not allowed"


@dataclass(frozen=True)
class BlockDevicePlan:
    image_ref: str  # the image the root disk is made from (an id or an image URL, as given)


def plan_block_devices(image_ref: str, mappings: tuple[BlockDeviceRequest, ...]) -> BlockDevicePlan:
    legacy = [m for m in mappings if m.legacy]
    if legacy and len(legacy) != len(mappings):
        raise BadRequest(MIXED_SYNTAX)
    if legacy:
        raise BadRequest(NO_VOLUMES)
    image_ref = _image_root(mappings, image_ref or "")
    if image_ref == "":
        raise BadRequest(BAD_BOOT_SEQUENCE)
    return BlockDevicePlan(image_ref=image_ref)


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
