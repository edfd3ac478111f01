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
  from the BDM either way), the tag. A tagged disk on another bus than virtio is not pinned and not listed.
  volume_boot.tagged_disk_devices puts them between a volume-backed server's root volume and its other volumes.
"""
from __future__ import annotations

from nodecompute.compute.instance_metadata import local_disk_names
from nodecompute.compute.metadata_documents import DeviceMetadata
from nodecompute.domain.server_models import Server

FIRST_LOCAL_DISK_SLOT = 0x0C  # the tagged root's; its tagged ephemeral and swap disks from 0x0d
LOCAL_DISK_SLOTS = 4  # the root and the three local disks Nova's max_local_block_devices allows at most
VIRTIO = "virtio"


def root_pci_slot(server: Server) -> int | None:
    """The pinned slot of a tagged local root disk (an image-backed server's), else None."""
    return FIRST_LOCAL_DISK_SLOT if server.root_disk_tag and not server.volume_backed else None


def local_pci_slots(server: Server) -> list[int | None]:
    """The pinned slot of each of the server's ephemeral and swap disks (local_disk_names' order), None when the
    disk is untagged or not on virtio."""
    return [FIRST_LOCAL_DISK_SLOT + 1 + position
            if disk.tag and bus == VIRTIO and position < LOCAL_DISK_SLOTS - 1 else None
            for position, (disk, _name, bus) in enumerate(local_disk_names(server))]


def local_disk_devices(server: Server) -> tuple[DeviceMetadata, ...]:
    """The device metadata entries of the tagged local disks: the root first, then in disk order."""
    tagged = [(server.root_disk_tag, root_pci_slot(server))]
    tagged += [(disk.tag, slot) for (disk, _name, _bus), slot in zip(local_disk_names(server),
                                                                     local_pci_slots(server))]
    return tuple(DeviceMetadata(type="disk", bus="pci", address=f"0000:00:{slot:02x}.0", serial=None,
                                tags=(tag,)) for tag, slot in tagged if tag and slot is not None)
