"""K5 image import and export: qemu-img conversions between the object root and the image store, all or nothing.

Import. The source object is opened through ObjectRoot (no link followed) and tools read that descriptor as
/proc/<pid>/fd/<n>. Its SHA1 is checked against the caller's `checksum` before anything else. `qemu-img info`, under
the probe limits, must find a standalone vmdk, the only format K5 converts: create type monolithicSparse or
streamOptimized, exactly one extent and that extent the file itself, no parent. A descriptor vmdk naming other files
(a FLAT extent on /etc/passwd) is how a vmdk reads the host's files, so it is refused. `qemu-img convert -f vmdk -O
raw` then writes a temp file in the image store's directory, and ImageFiles.adopt checks it again (raw, no backing
or data file), hashes it and links it into the store.

Export. An image's stored file is converted to the requested format (vmdk by default, qemu-img's monolithicSparse)
into the root's private staging directory, then linked into the container under its name. A link never replaces
anything, so a name taken meanwhile fails the export.

Every temp file is named after its job. It is removed on any failure or cancellation, after qemu-img has been killed
and reaped, and `remove_leftovers` removes it after a crash. The copy loop is qemu-img's. `Throttle` is a test-only
hook on its progress reports: while `hold()` keeps the copy waiting, qemu-img is stopped (SIGSTOP) and continued
afterwards, so a test can cancel a half-written conversion.
"""
from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import os
import re
import signal
import threading
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Protocol

from nodecompute.filemodes import FILE_MODE, make_dir
from nodecompute.storage import qemu_img
from nodecompute.storage.errors import DiskError, InvalidImage, StorageError
from nodecompute.storage.image_files import CHUNK_BYTES, TEMP_PREFIX, ImageFiles, StoredImage
from nodecompute.storage.object_paths import ObjectPath, ObjectRoot, fd_path

SOURCE_FORMAT = "vmdk"
SAFE_VMDK_TYPES = ("monolithicSparse", "streamOptimized")
EXPORT_FORMATS = ("vmdk", "qcow2", "raw")
MAX_VIRTUAL_SIZE = 1 << 40  # Glance's image_size_cap: a raw disk of that size is what an import may produce
IMPORT_TEMP_PREFIX = TEMP_PREFIX + "k5import-"
PROGRESS_REPORT = re.compile(rb"\((\d+(?:\.\d+)?)/100%\)")
IMPORT_CONVERT_SHARE = 0.95  # of an import's progress; hashing the result takes the rest

Progress = Callable[[float], Awaitable[None] | None]


class Throttle(Protocol):
    """Test-only: called at each progress report of a conversion (percent 0-100 of that conversion)."""

    def hold(self, percent: float) -> Awaitable[None] | None:
        """None to go on; else an awaitable the copy waits for, the converter stopped meanwhile."""


class HoldOnce:
    """Test-only ([k5] test_hold_conversions): each conversion waits `seconds` at its first report past 0% (its
    target file written in part or whole, qemu-img stopped), and waits them out even when cancelled (the job shows
    `cancelling` meanwhile, observable through HTTP) before the cancellation goes on. Every conversion reports 0%
    first (qemu-img -p), which arms the next hold."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.last = 0.0

    def hold(self, percent: float) -> Awaitable[None] | None:
        armed, self.last = self.last == 0 and percent > 0, percent
        return self if armed else None

    def __await__(self):  # (an awaitable, not a coroutine: a hold never awaited leaves no warning)
        return self._wait_out().__await__()

    async def _wait_out(self) -> None:
        until = asyncio.get_running_loop().time() + self.seconds
        cancelled = False
        while (left := until - asyncio.get_running_loop().time()) > 0:
            try:
                await asyncio.sleep(left)
            except asyncio.CancelledError:
                cancelled = True
        if cancelled:
            raise asyncio.CancelledError


class ChecksumMismatch(InvalidImage):
    def __init__(self) -> None:
        super().__init__("The SHA1 checksum of the VM image file does not match 'checksum'.")


class ExportTargetExists(StorageError):
    """The container already holds a file of the export's name."""


def import_temp(files: ImageFiles, job_id: str) -> Path:
    return files.images_dir / f"{IMPORT_TEMP_PREFIX}{job_id}"


def export_temp(root: ObjectRoot, job_id: str) -> Path:
    return root.staging_dir / f"{job_id}.part"


def export_name(image_id: str, fmt: str) -> str:
    return f"{image_id}.{fmt}"


def _check_name(name: str) -> None:
    if not name or name in (".", "..") or "/" in name or "\0" in name:
        raise StorageError(f"not a file name: {name!r}")


def remove_leftovers(files: ImageFiles, root: ObjectRoot, job_id: str) -> None:
    """What a job killed with the daemon may have left: its temp files (never anything published)."""
    import_temp(files, job_id).unlink(missing_ok=True)
    export_temp(root, job_id).unlink(missing_ok=True)


async def _report(progress: Progress | None, percent: float) -> None:
    if progress is not None:
        result = progress(percent)
        if result is not None:
            await result


async def _hold(proc: asyncio.subprocess.Process, waiting: Awaitable[None] | None) -> None:
    """Wait for `waiting` with qemu-img stopped, or already gone (a report read after it ended: the hold still
    holds, its file complete)."""
    if waiting is None:
        return
    try:
        proc.send_signal(signal.SIGSTOP)
    except ProcessLookupError:
        pass
    try:
        await waiting
    finally:
        if proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(signal.SIGCONT)


async def _follow(proc: asyncio.subprocess.Process, progress: Progress | None, throttle: Throttle | None) -> None:
    """Read `qemu-img convert -p` reports ("    (12.34/100%)\\r") as they come."""
    pending = b""
    while chunk := await proc.stdout.read(4096):
        *reports, pending = re.split(rb"[\r\n]", pending + chunk)
        for report in reports:
            found = PROGRESS_REPORT.search(report)
            if found is None:
                continue
            percent = float(found.group(1))
            await _report(progress, percent)
            if throttle is not None:
                await _hold(proc, throttle.hold(percent))


async def convert(argv: list[str], *, progress: Progress | None = None, throttle: Throttle | None = None) -> None:
    """`qemu-img convert -p <argv>`; cancelling kills and reaps it before CancelledError goes on."""
    command = (qemu_img.QEMU_IMG, "convert", "-p", *argv)
    proc = await asyncio.create_subprocess_exec(
        *command, stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE, env={**os.environ, **qemu_img.TOOL_ENV})
    errors = asyncio.ensure_future(proc.stderr.read())
    try:
        await _follow(proc, progress, throttle)
        returncode = await proc.wait()
    except BaseException:
        with contextlib.suppress(ProcessLookupError):
            proc.kill()  # a stopped process dies too
        await asyncio.shield(proc.wait())
        errors.cancel()
        raise
    stderr = (await errors).decode(errors="replace")
    if returncode != 0:
        raise DiskError("qemu-img convert failed", command=command, returncode=returncode, stderr=stderr)


class _Stopped(Exception):
    """Raised in the hashing thread after the coroutine that started it was cancelled."""


def _sha1_loop(fd: int, stop: threading.Event) -> str:
    digest = hashlib.sha1(usedforsecurity=False)
    offset = 0
    while chunk := os.pread(fd, CHUNK_BYTES, offset):
        if stop.is_set():
            raise _Stopped()
        digest.update(chunk)
        offset += len(chunk)
    return digest.hexdigest()


async def sha1_of(fd: int) -> str:
    """SHA1 of an open file, read in a thread; a cancelled caller stops the thread and waits for it."""
    stop = threading.Event()
    future = asyncio.get_running_loop().run_in_executor(None, _sha1_loop, fd, stop)
    try:
        return await asyncio.shield(future)
    except asyncio.CancelledError:
        stop.set()
        await asyncio.wait([future])
        future.exception()  # retrieved: the thread's _Stopped is expected
        raise


async def check_vmdk(name: str, max_virtual_size: int = MAX_VIRTUAL_SIZE) -> int:
    """The virtual size of a standalone vmdk at `name`; InvalidImage (message safe for the user) otherwise."""
    try:
        data = json.loads(await qemu_img.run_tool(qemu_img.QEMU_IMG, "info", "--output=json", name, limited=True))
        found, size = data["format"], int(data["virtual-size"])
    except (DiskError, ValueError, KeyError, TypeError) as exc:
        raise InvalidImage("The VM image file is not a readable disk image.") from exc
    if found != SOURCE_FORMAT:
        raise InvalidImage(f"The VM image file is '{found}', not vmdk.")
    specific = (data.get("format-specific") or {}).get("data") or {}
    create_type = specific.get("create-type")
    if create_type not in SAFE_VMDK_TYPES:
        raise InvalidImage(f"vmdk create type '{create_type}' is not supported (only {', '.join(SAFE_VMDK_TYPES)}).")
    extents = specific.get("extents") or []
    if len(extents) != 1 or extents[0].get("filename") != name:
        raise InvalidImage("The vmdk refers to other files.")
    if data.get("backing-filename") or data.get("full-backing-filename"):
        raise InvalidImage("The vmdk has a parent disk.")
    if size > max_virtual_size:
        raise InvalidImage(f"The disk is larger than the maximum of {max_virtual_size} bytes.")
    return size


async def import_vmdk(source_fd: int, files: ImageFiles, *, job_id: str, checksum: str | None = None,
                      progress: Progress | None = None, throttle: Throttle | None = None,
                      max_virtual_size: int = MAX_VIRTUAL_SIZE) -> StoredImage:
    """The open vmdk, converted to raw and stored; nothing is left in the store's directory on any failure."""
    if checksum is not None and (await sha1_of(source_fd)) != checksum.strip().lower():
        raise ChecksumMismatch()
    source = fd_path(source_fd)
    await check_vmdk(source, max_virtual_size)
    make_dir(files.images_dir)
    temp = import_temp(files, job_id)
    temp.unlink(missing_ok=True)

    async def converting(percent: float) -> None:
        await _report(progress, percent * IMPORT_CONVERT_SHARE)

    try:
        await convert(["-f", SOURCE_FORMAT, "-O", "raw", source, str(temp)], progress=converting, throttle=throttle)
        await _report(progress, 100 * IMPORT_CONVERT_SHARE)
        return await files.adopt(temp, "raw")
    finally:
        temp.unlink(missing_ok=True)


async def convert_for_export(source: Path, source_format: str, root: ObjectRoot, *, job_id: str, fmt: str = "vmdk",
                             progress: Progress | None = None, throttle: Throttle | None = None) -> Path:
    """The stored image converted to `fmt` in a staging temp file (returned); removed again on any failure."""
    if fmt not in EXPORT_FORMATS:
        raise InvalidImage(f"Export format '{fmt}' is not supported.")
    root.ensure_staging_dir()
    temp = export_temp(root, job_id)
    temp.unlink(missing_ok=True)
    try:
        await convert(["-f", source_format, "-O", fmt, str(Path(source).absolute()), str(temp)],
                      progress=progress, throttle=throttle)
        temp.chmod(FILE_MODE)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    return temp


def publish_export(root: ObjectRoot, container: ObjectPath, name: str, temp: Path) -> None:
    """Link the finished temp file into the container as `name`, never replacing anything; the temp name goes."""
    _check_name(name)
    try:
        with root.opened_staging_dir() as staging, root.opened_container(container) as target:
            try:
                os.link(temp.name, name, src_dir_fd=staging, dst_dir_fd=target, follow_symlinks=False)
            except FileExistsError:
                raise ExportTargetExists(f"{container}/{name} already exists") from None
    finally:
        temp.unlink(missing_ok=True)


def withdraw_export(root: ObjectRoot, container: ObjectPath, name: str) -> None:
    """Remove a published export again (a cancel that arrived as it was published)."""
    _check_name(name)
    with root.opened_container(container) as target, contextlib.suppress(FileNotFoundError):
        os.unlink(name, dir_fd=target)
