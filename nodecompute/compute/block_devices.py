"""A create request's block device mappings -> what the server boots from (behaviour.md section 16; Nova's
block_device.py and compute API checks).

A server boots from its image onto local disks (imageRef, or the one image -> local boot_index 0 mapping that
`openstack server create --image` sends beside it), or from a volume (issue 20): the mapping with destination
volume and boot_index 0 is its root disk (vda), made from an image, a snapshot or nothing (blank) at build time,
or an existing volume. Other destination-volume mappings are further disks. The legacy `block_device_mapping`
(v1) becomes v2 as Nova's from_legacy_mapping does it. Every mapping first gets Nova's format checks (device UUID
present or absent by source, sizes for new volumes, a known disk bus) and the boot sequence check (indexes 0, 1,
... without gaps, imageRef counting as 0), so a malformed mapping gets Nova's fault. Blank -> local mappings are
ephemeral and swap disks (compute/local_disk_plan.py sizes them against the flavor); other local mappings than the
image's root are refused. compute/volume_boot.py checks the volumes the plan names against block storage and makes
them.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, replace

from nodecompute.domain.errors import BadRequest
from nodecompute.domain.server_models import BlockDeviceRequest

INVALID = "Block Device Mapping is Invalid: "
NO_VOLUMES = INVALID + "volumes are not supported on this host."
NO_LOCAL_DISKS = INVALID + "Mapping image to local is not supported."  # Nova's from_api
BAD_BOOT_SEQUENCE = INVALID + "Boot sequence for the instance and image/block device mapping combination is not valid."
MIXED_SYNTAX = "Using different block_device_mapping syntaxes is not allowed"
MISSING_UUID = INVALID + "Missing device UUID."
BLANK_WITH_UUID = INVALID + "Invalid device UUID."
UNKNOWN_BUS = "Block Device Mapping is Invalid."  # Nova's InvalidBDMDiskBus misspells msg_fmt: the parent's text
IMAGE_VOLUME_SIZE = "Images with destination_type 'volume' need to have a non-zero size specified"
BLANK_VOLUME_SIZE = "Blank volumes (source: 'blank', dest: 'volume') need to have non-zero size"
DISK_BUSES = ("fdc", "ide", "sata", "scsi", "usb", "virtio", "xen", "lxc", "uml")  # Nova's fields.DiskBus.ALL


VOLUME_TYPE_LOCAL = INVALID + "Specifying a volume_type with destination_type=local is not supported."
VOLUME_TYPE_EXISTING = INVALID + "Specifying volume type to existing volume is not supported."
MULTIPLE_WITH_VOLUME = "Cannot attach one or more volumes to multiple instances"


@dataclass(frozen=True)
class VolumeMapping:
    """A disk that is a volume: an existing one (source volume) or one the build makes (image, snapshot, blank)."""

    source_type: str  # volume | image | snapshot | blank
    source_id: str | None  # the volume, image or snapshot (None for blank)
    boot_index: int | None  # 0: the root disk
    volume_size: int | None = None  # GiB of a volume the build makes (a snapshot's size when None)
    device_name: str | None = None
    disk_bus: str | None = None
    delete_on_termination: bool = False
    volume_type: str | None = None
    tag: str | None = None

    @property
    def is_root(self) -> bool:
        return self.boot_index == 0


@dataclass(frozen=True)
class BlockDevicePlan:
    image_ref: str  # the image the root disk is made from (an id or an image URL, as given); "" volume-backed
    volumes: tuple[VolumeMapping, ...] = ()
    blanks: tuple[BlockDeviceRequest, ...] = ()  # blank -> local: ephemeral and swap disks (local_disk_plan.py)
    root_tag: str | None = None  # the device tag of the image -> local root mapping, if one was given

    @property
    def root_volume(self) -> VolumeMapping | None:
        return next((v for v in self.volumes if v.is_root), None)


def plan_block_devices(image_ref: str, mappings: tuple[BlockDeviceRequest, ...], count: int = 1
                       ) -> BlockDevicePlan:
    legacy = [m for m in mappings if m.legacy]
    if legacy and len(legacy) != len(mappings):
        raise BadRequest(MIXED_SYNTAX)
    if legacy:
        mappings = from_legacy(mappings, image_ref or "")
    mappings = tuple(m for m in mappings if not m.no_device)
    for mapping in mappings:
        _check_mapping(mapping)
    _check_boot_sequence(image_ref or "", mappings)
    volumes = tuple(_volume(m) for m in mappings if m.destination_type == "volume")
    if count > 1 and any(v.source_type == "volume" for v in volumes):
        raise BadRequest(MULTIPLE_WITH_VOLUME)
    blanks = tuple(m for m in mappings if is_blank_local(m))
    local = tuple(m for m in mappings if m.destination_type != "volume" and not is_blank_local(m))
    root = next((v for v in volumes if v.is_root), None)
    if root is not None:  # the root is the volume: no image disk beside it
        # An imageRef beside it may name any image (Nova's create compares nothing: the image is the server's, its
        # properties the boot metadata; Tempest boots a blank root volume so): compute/servers.py reads it.
        if local:
            raise BadRequest(NO_LOCAL_DISKS)
        return BlockDevicePlan(image_ref="", volumes=volumes, blanks=blanks)
    image_ref = _image_root(local, image_ref or "")
    if image_ref == "":
        raise BadRequest(BAD_BOOT_SEQUENCE)
    return BlockDevicePlan(image_ref=image_ref, volumes=volumes, blanks=blanks,
                           root_tag=next((m.tag for m in local), None))  # (_image_root: at most one)


def is_blank_local(mapping: BlockDeviceRequest) -> bool:
    """An ephemeral or swap disk (Nova's new_format_is_ephemeral / new_format_is_swap)."""
    return mapping.source_type == "blank" and mapping.destination_type == "local"


def from_image_properties(properties: dict[str, str]) -> tuple[BlockDeviceRequest, ...]:
    """The mappings an image defines (Nova's _get_image_defined_bdms: a volume-backed server's snapshot carries
    `block_device_mapping`, v2 with `bdm_v2`); () when it defines none or they cannot be read."""
    if str(properties.get("bdm_v2", "")).lower() != "true":
        return ()
    try:
        found = json.loads(properties.get("block_device_mapping") or "[]")
    except ValueError:
        return ()
    mappings = []
    for item in found if isinstance(found, list) else ():
        if not isinstance(item, dict):
            continue
        source = item.get("source_type")
        mappings.append(BlockDeviceRequest(
            source_type=source, destination_type=item.get("destination_type"), boot_index=item.get("boot_index"),
            uuid=item.get(f"{source}_id") if source in ("image", "volume", "snapshot") else None,
            volume_size=item.get("volume_size"), device_name=item.get("device_name"),
            disk_bus=item.get("disk_bus"), guest_format=item.get("guest_format"),
            delete_on_termination=bool(item.get("delete_on_termination")),
            volume_type=item.get("volume_type"), tag=item.get("tag"), no_device=bool(item.get("no_device"))))
    return tuple(mappings)


def from_legacy(mappings: tuple[BlockDeviceRequest, ...], image_ref: str) -> tuple[BlockDeviceRequest, ...]:
    """Nova's BlockDeviceDict.from_legacy and from_legacy_mapping: a volume_id is a volume, a snapshot_id a new
    volume from the snapshot; without imageRef the first of them boots (boot_index 0), with one the image does
    (this cloud's images name no root_device_name that a legacy mapping could take over)."""
    converted = []
    for mapping in mappings:
        if mapping.no_device:
            converted.append(replace(mapping, legacy=False))
            continue
        if _is_swap_or_ephemeral(mapping.virtual_name):  # Nova: a blank local disk, deleted with the server
            converted.append(replace(mapping, legacy=False, source_type="blank", destination_type="local",
                                     delete_on_termination=True, boot_index=-1,
                                     guest_format="swap" if mapping.virtual_name == "swap" else None))
            continue
        source = "snapshot" if mapping.snapshot_id else "volume" if mapping.volume_id else "blank"
        converted.append(replace(mapping, legacy=False, source_type=source, destination_type="volume",
                                 uuid=mapping.snapshot_id or mapping.volume_id, boot_index=-1))
    if not image_ref:
        first = next((i for i, m in enumerate(converted) if not m.no_device and m.source_type != "blank"), None)
        # (a legacy ephemeral or swap disk is blank too: never the root)
        if first is not None:
            converted[first] = replace(converted[first], boot_index=0)
    return tuple(converted)


def _is_swap_or_ephemeral(virtual_name: str | None) -> bool:
    """Nova's block_device.is_swap_or_ephemeral: "swap" or "ephemeral<N>"."""
    return bool(virtual_name) and (virtual_name == "swap" or re.fullmatch(r"ephemeral(\d|[1-9]\d+)", virtual_name)
                                   is not None)


def _volume(mapping: BlockDeviceRequest) -> VolumeMapping:
    return VolumeMapping(
        source_type=mapping.source_type or "blank", source_id=mapping.uuid, boot_index=mapping.boot_index,
        volume_size=mapping.volume_size, device_name=mapping.device_name, disk_bus=mapping.disk_bus,
        delete_on_termination=mapping.delete_on_termination, volume_type=mapping.volume_type, tag=mapping.tag)


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
    if mapping.volume_type and mapping.destination_type == "local":
        raise BadRequest(VOLUME_TYPE_LOCAL)
    if mapping.volume_type and mapping.source_type == "volume":
        raise BadRequest(VOLUME_TYPE_EXISTING)


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
            raise BadRequest(NO_LOCAL_DISKS)
        if not mapping.uuid or (image_ref and mapping.uuid != image_ref):
            raise BadRequest(BAD_BOOT_SEQUENCE)
        image_ref = mapping.uuid
    return image_ref
