"""A domain's disks: read them from its XML, name a new one, and hot-plug or unplug a volume's virtio disk.

- `parse_disks` lists (target, source file, bus, serial ...) from any domain XML; `list_disks` reads it live or
  from the persistent definition.
- `next_device_name` is Nova's choice: the requested name (/dev/ stripped) when free, else the first free vdX
  (vda ... vdz, vdaa ...) over the live and persistent disks together.
- `volume_disk_xml`: bus virtio, serial = the volume id cut to 20 characters (virtio-blk's limit, as the guest
  sees it in /dev/disk/by-id), cache none (host page cache bypassed: what the guest flushed is on disk; Nova's
  default, with its fallback to writethrough where the file system refuses O_DIRECT: `cache_mode_for`), discard
  unmap (the guest's TRIM frees qcow2 clusters).
- `attach_disk`: LIVE|CONFIG on a running or paused domain (libvirt saves the definition only once the hot-plug
  worked), CONFIG on a stopped one.
- `detach_disk` follows Nova's retry loop (device_detach_attempts 8, device_detach_timeout 20 s; both
  arguments here): ask QEMU to unplug, then watch the live XML until the guest has let go; ask again after each
  timeout. Unlike Nova, the persistent definition loses the disk only after the live domain did: a guest that
  never lets go keeps the disk in both (DeviceStillAttached), so "still in use" is true everywhere.

Every libvirt call runs in the Hypervisor's pool through `on_domain`, which never abandons a call in its thread:
a cancelled caller waits for the call to return before it is cancelled, so what the call did is known.
"""
from __future__ import annotations

import asyncio
import contextlib
import mmap
import os
import re
import tempfile
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import libvirt

from nodecompute.virt.errors import DeviceStillAttached, DiskNotFound, InvalidDevicePath, TooManyDisks
from nodecompute.virt.hypervisor import Hypervisor

T = TypeVar("T")
SERIAL_MAX = 20  # virtio-blk's serial (VIRTIO_BLK_ID_BYTES)
DETACH_ATTEMPTS = 8  # Nova's [libvirt] device_detach_attempts
DETACH_WAIT_SECONDS = 20.0  # Nova's [libvirt] device_detach_timeout, per attempt
DETACH_POLL_SECONDS = 0.2
BUS_PREFIX = {"virtio": "vd", "scsi": "sd", "sata": "sd", "usb": "sd", "ide": "hd"}
_DEVICE_NAME = re.compile(r"(x?vd|sd|hd)([a-z]+)")
_UNPLUG_PENDING = "already in the process of unplug"


@dataclass(frozen=True)
class DiskInfo:
    target: str
    bus: str
    device: str  # disk | cdrom
    source: str | None  # the file (or block device) behind it; None for an empty cdrom or a network disk
    format: str | None  # the driver type: qcow2, raw
    serial: str | None


@dataclass(frozen=True)
class VolumeDisk:
    path: str
    target: str
    serial: str | None = None
    format: str = "qcow2"
    cache: str = "none"
    discard: str = "unmap"
    bus: str = "virtio"


# pure ---------------------------------------------------------------------------------------------------------

def parse_disks(domain_xml: str) -> tuple[DiskInfo, ...]:
    return tuple(_disk_info(element) for element in ET.fromstring(domain_xml).findall("devices/disk"))


def volume_disk_xml(disk: VolumeDisk) -> str:
    element = ET.Element("disk", {"type": "file", "device": "disk"})
    ET.SubElement(element, "driver", {"name": "qemu", "type": disk.format, "cache": disk.cache,
                                      "discard": disk.discard})
    ET.SubElement(element, "source", {"file": disk.path})
    ET.SubElement(element, "target", {"dev": disk.target, "bus": disk.bus})
    if disk.serial:
        ET.SubElement(element, "serial").text = disk.serial[:SERIAL_MAX]
    return ET.tostring(element, encoding="unicode")


def next_device_name(used: Iterable[str], *, bus: str = "virtio", requested: str | None = None,
                     max_devices: int | None = None) -> str:
    """The requested name when valid for the bus and free, else the first free name for the bus."""
    taken = set(used)
    prefix = BUS_PREFIX[bus]
    if requested:
        name = requested.removeprefix("/dev/")
        match = _DEVICE_NAME.fullmatch(name)
        if match is None or match.group(1) != prefix:
            raise InvalidDevicePath(requested)
        if name in taken:
            raise InvalidDevicePath(requested, in_use=True)
        return name
    index = 0
    while max_devices is None or index < max_devices:
        name = prefix + device_letters(index)
        if name not in taken:
            return name
        index += 1
    raise TooManyDisks(max_devices)


def device_letters(index: int) -> str:
    """0 -> a, 25 -> z, 26 -> aa (Nova's generate_device_letter)."""
    letters = ""
    while index >= 0:
        letters = chr(ord("a") + index % 26) + letters
        index = index // 26 - 1
    return letters


def serial_for(volume_id: str) -> str:
    return volume_id[:SERIAL_MAX]


def cache_mode_for(directory: Path) -> str:
    """'none' where the file system takes O_DIRECT (ext4, xfs, tmpfs since Linux 6.6), else 'writethrough': Nova's
    rule (its _supports_direct_io probe)."""
    fd, name = tempfile.mkstemp(prefix=".direct-io-", dir=directory)
    os.close(fd)
    try:
        fd = os.open(name, os.O_WRONLY | os.O_DIRECT | os.O_CLOEXEC)
    except OSError:
        os.unlink(name)
        return "writethrough"
    try:
        with mmap.mmap(-1, mmap.PAGESIZE) as aligned:  # O_DIRECT wants an aligned buffer
            os.write(fd, aligned)
        return "none"
    except OSError:
        return "writethrough"
    finally:
        os.close(fd)
        os.unlink(name)


def replace_disk_source(domain_xml: str, target: str, new_path: str) -> str:
    """The same domain XML with disk `target`'s source file set to new_path."""
    root = ET.fromstring(domain_xml)
    element = find_disk(root, target)
    if element is None:
        raise DiskNotFound(target)
    source = element.find("source")
    if source is None:
        source = ET.SubElement(element, "source")
    source.attrib.clear()
    source.set("file", new_path)
    element.set("type", "file")
    return ET.tostring(root, encoding="unicode")


def find_disk(root: ET.Element, target: str) -> ET.Element | None:
    """The <disk> element with target dev `target` in a parsed domain XML, else None."""
    for element in root.findall("devices/disk"):
        found = element.find("target")
        if found is not None and found.get("dev") == target:
            return element
    return None


def _disk_xml_of(domain_xml: str, target: str) -> str | None:
    element = find_disk(ET.fromstring(domain_xml), target)
    return None if element is None else ET.tostring(element, encoding="unicode")


def _disk_info(element: ET.Element) -> DiskInfo:
    target = element.find("target")
    source = element.find("source")
    driver = element.find("driver")
    return DiskInfo(
        target=target.get("dev", "") if target is not None else "",
        bus=target.get("bus", "") if target is not None else "",
        device=element.get("device", "disk"),
        source=(source.get("file") or source.get("dev")) if source is not None else None,
        format=driver.get("type") if driver is not None else None,
        serial=element.findtext("serial"),
    )


# calls --------------------------------------------------------------------------------------------------------

async def settled(task: asyncio.Future[T]) -> T:
    """Await `task`; if the caller is cancelled meanwhile, let the task finish first, then be cancelled."""
    try:
        return await asyncio.shield(task)
    except asyncio.CancelledError:
        while not task.done():
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.wait([task])
        if not task.cancelled():
            task.exception()  # retrieved: the caller is cancelled, whatever the call did is its result
        raise


async def on_domain(hv: Hypervisor, action: str, name: str, fn: Callable[[libvirt.virDomain], T]) -> T:
    """fn(domain) in the Hypervisor's pool, with its error translation (DomainNotFound, HypervisorError)."""
    return await settled(asyncio.ensure_future(
        hv._run(action, name, lambda conn: fn(conn.lookupByName(name)))))


async def list_disks(hv: Hypervisor, name: str, *, persistent: bool = False) -> tuple[DiskInfo, ...]:
    flags = libvirt.VIR_DOMAIN_XML_INACTIVE if persistent else 0
    return parse_disks(await on_domain(hv, "list disks of", name, lambda dom: dom.XMLDesc(flags)))


async def used_device_names(hv: Hypervisor, name: str) -> set[str]:
    """Targets in the live and the persistent definition together (a half-detached disk still holds its name)."""
    def op(dom: libvirt.virDomain) -> set[str]:
        xmls = [dom.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE)] + ([dom.XMLDesc(0)] if dom.isActive() else [])
        return {disk.target for xml in xmls for disk in parse_disks(xml)}
    return await on_domain(hv, "list disks of", name, op)


async def attach_disk(hv: Hypervisor, name: str, disk: VolumeDisk) -> bool:
    """Add the disk to the domain: hot-plugged and defined when it runs, defined only when stopped.
    Returns True when it was hot-plugged. A target in use is refused with Nova's DevicePathInUse text."""
    def op(dom: libvirt.virDomain) -> bool:
        live = bool(dom.isActive())
        xmls = [dom.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE)] + ([dom.XMLDesc(0)] if live else [])
        if any(find_disk(ET.fromstring(xml), disk.target) is not None for xml in xmls):
            raise InvalidDevicePath(f"/dev/{disk.target}", in_use=True)
        flags = libvirt.VIR_DOMAIN_AFFECT_CONFIG | (libvirt.VIR_DOMAIN_AFFECT_LIVE if live else 0)
        dom.attachDeviceFlags(volume_disk_xml(disk), flags)
        return live
    return await on_domain(hv, "attach disk to", name, op)


async def detach_disk(hv: Hypervisor, name: str, target: str, *, attempts: int = DETACH_ATTEMPTS,
                      wait_seconds: float = DETACH_WAIT_SECONDS, poll_seconds: float = DETACH_POLL_SECONDS) -> None:
    """Remove the disk from the live domain (waiting for the guest, with retries), then from the definition.
    DiskNotFound when neither has it; DeviceStillAttached when the guest keeps it (both still have it then)."""
    def read(dom: libvirt.virDomain) -> tuple[str | None, str | None]:
        live = _disk_xml_of(dom.XMLDesc(0), target) if dom.isActive() else None
        return live, _disk_xml_of(dom.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE), target)

    live_xml, persistent_xml = await on_domain(hv, "detach disk from", name, read)
    if live_xml is None and persistent_xml is None:
        raise DiskNotFound(target)
    if live_xml is not None:
        await _unplug(hv, name, target, live_xml, attempts, wait_seconds, poll_seconds)
    if persistent_xml is not None:
        await on_domain(hv, "detach disk from", name, lambda dom: _undefine_disk(dom, target))


async def _unplug(hv: Hypervisor, name: str, target: str, disk_xml: str, attempts: int, wait_seconds: float,
                  poll_seconds: float) -> None:
    loop = asyncio.get_running_loop()
    for _attempt in range(attempts):
        if not await on_domain(hv, "detach disk from", name, lambda dom: _request_unplug(dom, disk_xml)):
            return
        deadline = loop.time() + wait_seconds
        while loop.time() < deadline:
            if not await on_domain(hv, "detach disk from", name, lambda dom: _live_has(dom, target)):
                return
            await asyncio.sleep(poll_seconds)
    raise DeviceStillAttached(target, f"the guest did not release it after {attempts} attempts of "
                                      f"{wait_seconds:g} s; it is still attached")


def _request_unplug(dom: libvirt.virDomain, disk_xml: str) -> bool:
    """Ask for the unplug; False when the live domain has no such disk any more (or stopped)."""
    if not dom.isActive():
        return False
    try:
        dom.detachDeviceFlags(disk_xml, libvirt.VIR_DOMAIN_AFFECT_LIVE)
    except libvirt.libvirtError as err:
        code, message = err.get_error_code(), err.get_error_message() or ""
        if code == libvirt.VIR_ERR_DEVICE_MISSING or (code == libvirt.VIR_ERR_OPERATION_FAILED
                                                       and "not found" in message):
            return False
        # An earlier request still running ("already in the process of unplug": PCIe hot-plug) means keep
        # waiting, as Nova does. QEMU 7.2 on 'pc' takes a repeated request without complaint (measured).
        if _UNPLUG_PENDING not in message:
            raise
    return True


def _live_has(dom: libvirt.virDomain, target: str) -> bool:
    return bool(dom.isActive()) and _disk_xml_of(dom.XMLDesc(0), target) is not None


def _undefine_disk(dom: libvirt.virDomain, target: str) -> None:
    disk_xml = _disk_xml_of(dom.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE), target)
    if disk_xml is not None:
        dom.detachDeviceFlags(disk_xml, libvirt.VIR_DOMAIN_AFFECT_CONFIG)
