"""What block storage needs from the attachments code (issue 20): where an attached volume's disk runs.

A volume held by a running (or paused) QEMU cannot be read by qemu-img (its image lock refuses, and a copy would
not be a point in time). A snapshot of an in-use volume (`force`), or a new volume cloned from one, is therefore
libvirt's backup job on the domain's disk (virt/blockjobs.py `backup_disk`), which needs the domain and the
disk's target. The attachments code satisfies `AttachedDisks`; `LiveCopier` is the path that uses it.
"""
from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from nodecompute.domain.volume_errors import InvalidVolume

if TYPE_CHECKING:  # libvirt is imported only where a hypervisor exists (the daemon, the real-guest tests)
    from nodecompute.virt.hypervisor import Hypervisor


@dataclass(frozen=True)
class AttachedDisk:
    domain: str  # the libvirt domain the volume is attached to
    target: str  # its disk target there (vdb)


class AttachedDisks(Protocol):
    def disk_of(self, volume_id: str) -> AttachedDisk | None:
        """The running domain's disk that is this volume, or None when no running domain holds it (an attached
        volume of a stopped server is a file qemu-img may read)."""


class LiveCopier:
    """Copies an attached volume as it is now into a new standalone qcow2 at `dest` (libvirt's backup job)."""

    def __init__(self, hv: Hypervisor, disks: AttachedDisks) -> None:
        self.hv = hv
        self.disks = disks

    def holds(self, volume_id: str) -> bool:
        return self.disks.disk_of(volume_id) is not None

    async def copy(self, volume_id: str, dest: Path) -> None:
        from nodecompute.virt import blockjobs

        disk = self.disks.disk_of(volume_id)
        if disk is None:
            raise InvalidVolume(reason=f"Volume {volume_id} is not attached to a running server")
        await blockjobs.backup_disk(self.hv, disk.domain, disk.target, dest)


class LibvirtDiskPlug:
    """The attachments code's DiskPlug on libvirt (virt/disk_devices.py): a volume's virtio disk with its serial,
    the cache mode the volumes directory takes, and Nova's detach retries from [volume]."""

    def __init__(self, hv: Hypervisor, volumes_dir: Path, detach_attempts: int, detach_wait_seconds: float) -> None:
        self.hv = hv
        self.volumes_dir = volumes_dir
        self.cache: str | None = None  # probed on the first plug (the directory holds a volume by then)
        self.detach_attempts = detach_attempts
        self.detach_wait_seconds = detach_wait_seconds

    async def used_names(self, domain: str) -> set[str]:
        from nodecompute.virt import disk_devices

        return await disk_devices.used_device_names(self.hv, domain)

    async def plug(self, domain: str, path: str, target: str, serial: str) -> None:
        from nodecompute.virt import disk_devices

        if self.cache is None:
            self.cache = await asyncio.to_thread(disk_devices.cache_mode_for, self.volumes_dir)
        disk = disk_devices.VolumeDisk(path=path, target=target, serial=disk_devices.serial_for(serial),
                                       cache=self.cache)
        await disk_devices.attach_disk(self.hv, domain, disk)

    async def target_of(self, domain: str, path: str) -> str | None:
        from nodecompute.virt import disk_devices

        for persistent in (False, True):
            for disk in await disk_devices.list_disks(self.hv, domain, persistent=persistent):
                if disk.source == path:
                    return disk.target
        return None

    async def move(self, domain: str, target: str, path: str, size_bytes: int) -> None:
        """QEMU's mirror needs a target of the source's size: a larger volume is cut to it first (the copy
        overwrites all of it anyway), and the disk grows to the volume's size once the guest is on it."""
        from nodecompute.storage import qemu_img
        from nodecompute.virt import blockjobs

        current = await blockjobs.disk_capacity(self.hv, domain, target)
        if (await qemu_img.info(Path(path))).virtual_size != current:
            await qemu_img.resize(Path(path), current, fmt="qcow2", shrink=True)
        await blockjobs.copy_disk_and_pivot(self.hv, domain, target, Path(path))
        if size_bytes > current:
            await blockjobs.resize_disk(self.hv, domain, target, size_bytes)

    async def unplug(self, domain: str, target: str) -> None:
        from nodecompute.virt import disk_devices

        try:
            await disk_devices.detach_disk(self.hv, domain, target, attempts=self.detach_attempts,
                                           wait_seconds=self.detach_wait_seconds)
        except disk_devices.DiskNotFound:
            pass  # already gone (a crash between the unplug and the row): detached
