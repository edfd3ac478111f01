"""Block jobs on a running (or paused) domain's disks: point-in-time backup, copy with pivot, online resize.

- `backup_disk`: libvirt's backup job (virDomainBackupBegin, push mode, full) copies one disk, as it was when the
  job began, into a new standalone qcow2 that the job creates; QEMU goes on running (or stays paused: a paused
  QEMU still holds its image lock, so qemu-img could not read the disk, but the job can). This is createImage of a
  running guest and the snapshot of an attached volume. Nova's recipe (blockRebase with COPY|REUSE_EXT|SHALLOW) is
  refused by libvirt on persistent domains, and a second QMP client next to libvirt is not an option.
  The job writes `.partial-<name>` beside the destination; completion is polled (jobStats every `poll_seconds`,
  then the completed job's stats say success or the error); the file is then fsynced, made 0600 and linked to
  its name. A failure, a timeout or a cancellation aborts the job and removes the partial file.
- `copy_disk_and_pivot`: virDomainBlockCopy with VIR_DOMAIN_BLOCK_COPY_TRANSIENT_JOB (allowed on a persistent
  domain), REUSE_EXT when the destination exists (a volume made beforehand: swap, #1104), waits until the mirror
  is ready (the live XML's <mirror ready='yes'>, as Nova checks it) and pivots (VIR_DOMAIN_BLOCK_JOB_ABORT_PIVOT).
  libvirt then points the persistent definition at the new file too; that is verified, and put right by
  redefining the domain should it ever not be. A failure before the pivot aborts the copy and leaves the domain on
  the old file, removing the destination only when the copy made it.
- `resize_disk`: blockResize in bytes, growing only (a shrink would cut the guest's data).

All libvirt calls go through the Hypervisor's pool via disk_devices.on_domain (never abandoned in their thread).
"""
from __future__ import annotations

import asyncio
import os
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import libvirt

from nodecompute.filemodes import FILE_MODE
from nodecompute.virt.disk_devices import find_disk, on_domain, parse_disks, replace_disk_source, settled
from nodecompute.virt.errors import BlockJobFailed, DiskNotFound, DomainNotRunning, HypervisorError
from nodecompute.virt.hypervisor import Hypervisor

PARTIAL_PREFIX = ".partial-"  # as storage/volumes.py's TEMP_PREFIX: its remove_partials sweeps these too
POLL_SECONDS = 0.2
JOB_TIMEOUT_SECONDS = 3600.0
ABORT_WAIT_SECONDS = 30.0


async def backup_disk(hv: Hypervisor, name: str, target: str, dest: Path, *, timeout: float = JOB_TIMEOUT_SECONDS,
                      poll_seconds: float = POLL_SECONDS) -> None:
    """Copy disk `target` of a running or paused domain, as it is now, into a new qcow2 file `dest`."""
    dest = Path(dest).absolute()
    partial = dest.with_name(PARTIAL_PREFIX + dest.name)
    if dest.exists():
        raise HypervisorError(f"backup of {name} {target}: {dest} exists already")
    began = False
    try:
        await on_domain(hv, "backup", name, lambda dom: _begin_backup(dom, target, partial))
        began = True
        await _wait_for_backup(hv, name, timeout, poll_seconds)
        await settled(asyncio.ensure_future(asyncio.to_thread(_publish, partial, dest)))
    except BaseException as exc:
        try:
            if began or isinstance(exc, asyncio.CancelledError):  # cancelled in backupBegin: the job may run
                await on_domain(hv, "abort backup of", name, _abort_job)
        finally:
            partial.unlink(missing_ok=True)
        raise


async def copy_disk_and_pivot(hv: Hypervisor, name: str, target: str, dest: Path, *, dest_format: str = "qcow2",
                              timeout: float = JOB_TIMEOUT_SECONDS, poll_seconds: float = POLL_SECONDS) -> None:
    """Move disk `target` of a running domain onto `dest` (made by the copy, or an existing image whose size
    is at least the disk's, which the copy overwrites), live and in the persistent definition."""
    dest = Path(dest).absolute()
    made_here = not dest.exists()
    began = False
    try:
        await on_domain(hv, "block copy", name, lambda dom: _begin_copy(dom, target, dest, dest_format, made_here))
        began = True
        await _wait_for_mirror(hv, name, target, timeout, poll_seconds)
        await on_domain(hv, "pivot", name, lambda dom: dom.blockJobAbort(
            target, libvirt.VIR_DOMAIN_BLOCK_JOB_ABORT_PIVOT))
    except BaseException as exc:
        on_new = False
        if began or isinstance(exc, asyncio.CancelledError):  # cancelled in blockCopy: the job may run
            on_new = await on_domain(hv, "abort block copy of", name, lambda dom: _abort_copy(dom, target, dest))
        if on_new:  # the pivot went through after all: the domain stays on dest, its definition too
            await on_domain(hv, "pivot", name, lambda dom: _make_definition_follow(dom, target, dest))
        elif made_here:
            dest.unlink(missing_ok=True)
        raise
    if made_here:
        dest.chmod(FILE_MODE)
    await on_domain(hv, "pivot", name, lambda dom: _make_definition_follow(dom, target, dest))


async def resize_disk(hv: Hypervisor, name: str, target: str, size_bytes: int) -> int:
    """Grow disk `target` of a running domain to size_bytes (the guest sees it at once); returns the new size.
    Equal is nothing to do; smaller is refused."""
    def op(dom: libvirt.virDomain) -> int:
        _check_running(dom, name)
        _check_target(dom, target)
        capacity = dom.blockInfo(target)[0]
        if size_bytes < capacity:
            raise HypervisorError(f"resize {name} {target}: {size_bytes} bytes is smaller than the disk's "
                                  f"{capacity}; disks only grow")
        if size_bytes > capacity:
            dom.blockResize(target, size_bytes, libvirt.VIR_DOMAIN_BLOCK_RESIZE_BYTES)
        return dom.blockInfo(target)[0]
    return await on_domain(hv, "resize disk of", name, op)


async def disk_capacity(hv: Hypervisor, name: str, target: str) -> int:
    """The size in bytes the running domain sees for disk `target`."""
    return await on_domain(hv, "size of disk of", name, lambda dom: dom.blockInfo(target)[0])


# backup -------------------------------------------------------------------------------------------------------

def _backup_xml(disks: list[str], target: str, partial: Path) -> str:
    """Every other disk is listed with backup='no': libvirt would otherwise back them all up."""
    root = ET.Element("domainbackup", {"mode": "push"})
    listed = ET.SubElement(root, "disks")
    for dev in disks:
        if dev != target:
            ET.SubElement(listed, "disk", {"name": dev, "backup": "no"})
            continue
        disk = ET.SubElement(listed, "disk", {"name": dev, "backup": "yes", "type": "file"})
        ET.SubElement(disk, "target", {"file": str(partial)})
        ET.SubElement(disk, "driver", {"type": "qcow2"})
    return ET.tostring(root, encoding="unicode")


def _begin_backup(dom: libvirt.virDomain, target: str, partial: Path) -> None:
    _check_running(dom, dom.name())
    disks = [disk.target for disk in parse_disks(dom.XMLDesc(0))]
    if target not in disks:
        raise DiskNotFound(target)
    dom.jobStats(libvirt.VIR_DOMAIN_JOB_STATS_COMPLETED)  # reading drops an older job's result
    partial.unlink(missing_ok=True)  # ours, from an attempt that died before removing it
    dom.backupBegin(_backup_xml(disks, target, partial), None, 0)


async def _wait_for_backup(hv: Hypervisor, name: str, timeout: float, poll_seconds: float) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        result = await on_domain(hv, "backup", name, _finished_job)
        if result is not None:
            break
        if loop.time() >= deadline:
            raise BlockJobFailed(f"backup of {name}: not finished after {timeout:g} s")
        await asyncio.sleep(poll_seconds)
    if result.get("type") != libvirt.VIR_DOMAIN_JOB_COMPLETED or not result.get("success", True):
        reason = result.get("errmsg") or f"job type {result.get('type')}"
        raise BlockJobFailed(f"backup of {name} failed: {reason}")


def _finished_job(dom: libvirt.virDomain) -> dict | None:
    """None while a job runs, else the completed job's stats (type COMPLETED or FAILED, success, errmsg)."""
    if not dom.isActive():
        return {"type": libvirt.VIR_DOMAIN_JOB_FAILED, "errmsg": "the domain stopped"}
    if dom.jobStats(0).get("type", libvirt.VIR_DOMAIN_JOB_NONE) != libvirt.VIR_DOMAIN_JOB_NONE:
        return None
    return dom.jobStats(libvirt.VIR_DOMAIN_JOB_STATS_COMPLETED)


def _abort_job(dom: libvirt.virDomain) -> None:
    """Abort the running job (nothing to do when none runs) and wait until QEMU has let go of the target."""
    try:
        dom.abortJob()
    except libvirt.libvirtError as err:
        if err.get_error_code() not in (libvirt.VIR_ERR_OPERATION_INVALID, libvirt.VIR_ERR_NO_DOMAIN):
            raise
        return
    for _ in range(int(ABORT_WAIT_SECONDS / POLL_SECONDS)):
        if not dom.isActive() or dom.jobStats(0).get("type") == libvirt.VIR_DOMAIN_JOB_NONE:
            return
        time.sleep(POLL_SECONDS)  # in a pool thread, never on the event loop


def _publish(partial: Path, dest: Path) -> None:
    fd = os.open(partial, os.O_RDONLY | os.O_CLOEXEC)
    try:
        os.fsync(fd)
        os.fchmod(fd, FILE_MODE)
    finally:
        os.close(fd)
    os.link(partial, dest)  # never over an existing file
    partial.unlink()
    fd = os.open(dest.parent, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


# block copy ---------------------------------------------------------------------------------------------------

def _begin_copy(dom: libvirt.virDomain, target: str, dest: Path, dest_format: str, made_here: bool) -> None:
    _check_running(dom, dom.name())
    _check_target(dom, target)
    copy = ET.Element("disk", {"type": "file"})
    ET.SubElement(copy, "source", {"file": str(dest)})
    ET.SubElement(copy, "driver", {"type": dest_format})
    flags = libvirt.VIR_DOMAIN_BLOCK_COPY_TRANSIENT_JOB
    if not made_here:
        flags |= libvirt.VIR_DOMAIN_BLOCK_COPY_REUSE_EXT
    dom.blockCopy(target, ET.tostring(copy, encoding="unicode"), None, flags)


async def _wait_for_mirror(hv: Hypervisor, name: str, target: str, timeout: float, poll_seconds: float) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        state = await on_domain(hv, "block copy", name, lambda dom: _mirror_state(dom, target))
        if state == "ready":
            return
        if state == "gone":
            raise BlockJobFailed(f"block copy of {name} {target} ended before it was ready")
        if loop.time() >= deadline:
            raise BlockJobFailed(f"block copy of {name} {target}: not ready after {timeout:g} s")
        await asyncio.sleep(poll_seconds)


def _mirror_state(dom: libvirt.virDomain, target: str) -> str:
    """"ready" when the mirror has caught up (both files equal, writes go to both), "copying", or "gone"."""
    if not dom.isActive() or not dom.blockJobInfo(target, 0):
        return "gone"
    disk = find_disk(ET.fromstring(dom.XMLDesc(0)), target)
    mirror = disk.find("mirror") if disk is not None else None
    return "ready" if mirror is not None and mirror.get("ready") == "yes" else "copying"


def _abort_copy(dom: libvirt.virDomain, target: str, dest: Path) -> bool:
    """After a failure: True when the domain is on dest already (the pivot went through), else the copy is
    aborted (the domain stays on its old file) and False."""
    if _live_source(dom, target) == str(dest):
        return True
    try:
        dom.blockJobAbort(target, 0)
    except libvirt.libvirtError as err:  # a job that failed on its own is gone already ("no active block job")
        if err.get_error_code() not in (libvirt.VIR_ERR_OPERATION_INVALID, libvirt.VIR_ERR_NO_DOMAIN,
                                        libvirt.VIR_ERR_INVALID_ARG):
            raise
    return False


def _make_definition_follow(dom: libvirt.virDomain, target: str, dest: Path) -> None:
    if _live_source(dom, target) != str(dest):
        raise BlockJobFailed(f"pivot of {dom.name()} {target} to {dest} did not take effect")
    persistent = dom.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE | libvirt.VIR_DOMAIN_XML_SECURE)
    if _source_of(persistent, target) != str(dest):
        dom.connect().defineXML(replace_disk_source(persistent, target, str(dest)))


# shared -------------------------------------------------------------------------------------------------------

def _check_running(dom: libvirt.virDomain, name: str) -> None:
    if not dom.isActive():
        raise DomainNotRunning(f"{name} is not running: its disks are files for qemu-img")


def _check_target(dom: libvirt.virDomain, target: str) -> None:
    if find_disk(ET.fromstring(dom.XMLDesc(0)), target) is None:
        raise DiskNotFound(target)


def _live_source(dom: libvirt.virDomain, target: str) -> str | None:
    return _source_of(dom.XMLDesc(0), target)


def _source_of(domain_xml: str, target: str) -> str | None:
    for disk in parse_disks(domain_xml):
        if disk.target == target:
            return disk.source
    return None
