"""A server's tagged disks in its device metadata (meta_data.json `devices`, 2.32 and 2.42+), as Nova's libvirt
driver (_build_device_metadata, _build_disk_metadata) finds them in the guest's XML: every disk whose block device
mapping has a tag, the local ones too (the image -> local root, the blank -> local ephemeral and swap disks).

The address must be the one the guest sees, and the drive is written before the domain exists, so each tagged
virtio disk has a pinned PCI slot on bus 0 that depends only on what the server keeps (its tags, its disks'
positions): every definition of its domain (create, rebuild, resize, shelve and unshelve, a restart's redefinition,
a stable rescue, which keeps the server's disks; a legacy rescue keeps the root's) puts it there.

- local disks: 0x0c the root (image-backed only), 0x0d + n the n-th of its ephemeral and swap disks (Nova's
  max_local_block_devices is 3: four slots are enough), below the tagged NICs' 0x10-0x17 (network_data.py) and the
  tagged volumes' 0x18-0x1f (volume_boot.py).
- entries: type disk, bus pci, the address, serial = the mapping's volume id (null for a local disk: Nova sets it
  from the BDM either way), the tag. volume_boot.tagged_disk_devices puts them between a volume-backed server's
  root volume and its other volumes.
- a tagged disk on another bus is not pinned (it has a drive or USB address, not a PCI slot) and is listed as Nova's
  _prepare_device_bus lists it: bus scsi, ide or usb and no address (Nova formats no drive address), a sata disk
  (or any other bus) with neither: "bus": "none", "address": "none" in the document.
"""
from __future__ import annotations

from nodecompute.compute.instance_metadata import local_disk_names
from nodecompute.compute.metadata_documents import DeviceMetadata
from nodecompute.domain.server_models import LocalDisk, Server

FIRST_LOCAL_DISK_SLOT = 0x0C  # the tagged root's; its tagged ephemeral and swap disks from 0x0d
LOCAL_DISK_SLOTS = 4  # the root and the three local disks Nova's max_local_block_devices allows at most
VIRTIO = "virtio"
NOVA_DRIVE_BUSES = ("scsi", "ide", "usb")  # the disk buses Nova's metadata names; others show "none"


def unpinned_disk_entry(bus: str, tag: str, serial: str | None) -> DeviceMetadata:
    """The entry of a tagged disk that has no pinned PCI slot because it is not on virtio (Nova's DiskMetadata
    with a SCSI, IDE or USB bus and no address, or with no bus at all)."""
    return DeviceMetadata(type="disk", bus=bus if bus in NOVA_DRIVE_BUSES else "none", address="none",
                          serial=serial, tags=(tag,))


def root_pci_slot(server: Server) -> int | None:
    """The pinned slot of a tagged local root disk (an image-backed server's), else None."""
    return FIRST_LOCAL_DISK_SLOT if server.root_disk_tag and not server.volume_backed else None


def slotted_local_disks(server: Server) -> list[tuple[LocalDisk, str, str, int | None]]:
    """local_disk_names' (disk, device name, bus) of each ephemeral and swap disk with its pinned slot, None when the
    disk is untagged or not on virtio."""
    return [(disk, name, bus, FIRST_LOCAL_DISK_SLOT + 1 + position
             if disk.tag and bus == VIRTIO and position < LOCAL_DISK_SLOTS - 1 else None)
            for position, (disk, name, bus) in enumerate(local_disk_names(server))]


def local_pci_slots(server: Server) -> list[int | None]:
    """The pinned slot of each of the server's ephemeral and swap disks (local_disk_names' order)."""
    return [slot for _disk, _name, _bus, slot in slotted_local_disks(server)]


def local_disk_devices(server: Server) -> tuple[DeviceMetadata, ...]:
    """The device metadata entries of the tagged local disks: the root first, then in disk order."""
    tagged = [(server.root_disk_tag, VIRTIO, root_pci_slot(server))]
    tagged += [(disk.tag, bus, slot) for disk, _name, bus, slot in slotted_local_disks(server)]
    return tuple(DeviceMetadata(type="disk", bus="pci", address=f"0000:00:{slot:02x}.0", serial=None, tags=(tag,))
                 if slot is not None else unpinned_disk_entry(bus, tag, None)
                 for tag, bus, slot in tagged if tag and (slot is not None or bus != VIRTIO))
