"""Volume and snapshot files: standalone qcow2 files under <data dir>/volumes, written whole or not at all.

<volumes>/volume-<uuid>        a volume (Cinder's file naming)
<volumes>/snapshot-<uuid>      a snapshot: a standalone qcow2 copy of a volume as it was
<volumes>/.partial-<name>.*    a file being written; removed on any failure, swept at start (remove_partials)

Every file is standalone (no backing file), so deleting an image, a snapshot or a volume never breaks another one
and there is no chain to count. Each write goes to a temp name in the same directory, is fsynced, made 0600 and
linked to its final name (never over an existing file: a second create of the same id fails), then the directory
is fsynced; a qemu-img failure, a lack of space or a cancellation removes the temp. Free space is checked first,
against `qemu-img measure`'s estimate of what the write allocates (volumes are thin: an empty 100 GiB volume
needs only its metadata now), plus `reserved_bytes` kept free for everything else.

Sources: an image from the store goes through qemu_img.check_importable again (a user's file: no backing file, no
external data file, the declared format); volume and snapshot files are checked to be standalone qcow2 before they
are read; every qemu-img call names the source format (-f), so nothing is probed from content.

A file held by a running or paused QEMU (an attached volume) is refused by qemu-img on its image lock, which is
right: a copy would not be a point in time. Attached volumes are copied with libvirt's backup job and grown with
blockResize (nodecompute/virt/blockjobs.py). Only `compare` and `describe` take force_share (-U), for callers
that made the content still by other means (a paused guest, a finished job).
"""
from __future__ import annotations

import asyncio
import contextlib
import json
import math
import os
import re
import tempfile
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import Executor
from dataclasses import dataclass
from pathlib import Path

from nodecompute.filemodes import FILE_MODE, PRIVATE, DirAccess, make_dir
from nodecompute.storage import qemu_img
from nodecompute.storage.errors import DiskError, InvalidImage, InvalidSize, NoSpace, StorageError
from nodecompute.storage.image_files import TEMP_PREFIX as IMAGE_TEMP_PREFIX
from nodecompute.storage.image_files import ImageFiles, StoredImage

GiB = 1 << 30
VOLUME_FORMAT = "qcow2"
TEMP_PREFIX = ".partial-"  # the same prefix nodecompute/virt/blockjobs.py gives a backup job's target
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


@dataclass(frozen=True)
class VolumeFile:
    path: Path
    virtual_size: int  # bytes the guest sees
    actual_size: int  # bytes allocated on the host


class VolumeFiles:
    def __init__(self, root: Path, *, reserved_bytes: int = 0, executor: Executor | None = None,
                 dir_access: DirAccess = PRIVATE) -> None:
        """dir_access: how the volumes directory is made; under qemu:///system QEMU (libvirt-qemu) must reach the
        files of attached volumes, so the service passes filemodes.guest_dir_access(uri) as for instances/."""
        self.volumes_dir = Path(root).absolute() / "volumes"
        self.reserved_bytes = reserved_bytes
        self.executor = executor
        self.dir_access = dir_access

    def volume_path(self, volume_id: str) -> Path:
        return self.volumes_dir / f"volume-{_check_id(volume_id)}"

    def snapshot_path(self, snapshot_id: str) -> Path:
        return self.volumes_dir / f"snapshot-{_check_id(snapshot_id)}"

    # making files ---------------------------------------------------------------------------------------------

    async def create_empty(self, volume_id: str, size_gb: int) -> VolumeFile:
        size = size_bytes(size_gb)
        needed = await _measure_empty(size)

        async def fill(temp: Path) -> None:
            await qemu_img.run_tool(qemu_img.QEMU_IMG, "create", "-q", "-f", VOLUME_FORMAT, str(temp), str(size))

        return await self._write(self.volume_path(volume_id), needed, size, fill)

    async def create_from_image(self, volume_id: str, image: Path, image_format: str, size_gb: int) -> VolumeFile:
        """A standalone qcow2 with the image's content (raw or qcow2), grown to size_gb; smaller than the image's
        virtual size is refused (InvalidSize)."""
        image = Path(image).absolute()
        found = await qemu_img.check_importable(image, image_format)
        return await self._copy(self.volume_path(volume_id), image, found, size_gb, what="image")

    async def create_from_volume(self, volume_id: str, source_volume_id: str, size_gb: int | None = None
                                 ) -> VolumeFile:
        """A standalone copy of a detached volume, grown to size_gb when given."""
        source = self.volume_path(source_volume_id)
        found = await _standalone(source)
        return await self._copy(self.volume_path(volume_id), source, found, size_gb, what="source volume")

    async def create_from_snapshot(self, volume_id: str, snapshot_id: str, size_gb: int | None = None
                                   ) -> VolumeFile:
        source = self.snapshot_path(snapshot_id)
        found = await _standalone(source)
        return await self._copy(self.volume_path(volume_id), source, found, size_gb, what="snapshot")

    async def snapshot_volume(self, snapshot_id: str, volume_id: str) -> VolumeFile:
        """A snapshot of a detached volume: a standalone qcow2 copy (an attached one is libvirt's backup job)."""
        source = self.volume_path(volume_id)
        found = await _standalone(source)
        return await self._copy(self.snapshot_path(snapshot_id), source, found, None, what="volume")

    async def revert_to_snapshot(self, volume_id: str, snapshot_id: str) -> VolumeFile:
        """The volume's content replaced by the snapshot's: the snapshot is copied to a temporary file beside the
        volume, which is then renamed over it (the volume is whole before and after; no temp stays)."""
        source, dest = self.snapshot_path(snapshot_id), self.volume_path(volume_id)
        found = await _standalone(source)
        await self._replace_with_converted(dest, source, found.format, found.virtual_size, found.virtual_size)
        return _volume_file(dest, found.virtual_size)

    async def reimage(self, volume_id: str, image: Path, image_format: str, size_gb: int) -> VolumeFile:
        """Cinder's re-image: the volume's content replaced by the image's, at the volume's size (an image larger
        than the volume is refused: InvalidSize). Written beside the volume and renamed over it, so the volume is
        whole before and after, as revert_to_snapshot."""
        image, dest = Path(image).absolute(), self.volume_path(volume_id)
        found = await qemu_img.check_importable(image, image_format)
        size = size_bytes(size_gb)
        if size < found.virtual_size:
            raise InvalidSize(f"Volume size {size_gb} GiB is smaller than the image's virtual size of "
                              f"{found.virtual_size} bytes")
        await self._replace_with_converted(dest, image, found.format, found.virtual_size, size)
        return _volume_file(dest, size)

    async def _replace_with_converted(self, dest: Path, source: Path, source_format: str, source_size: int,
                                      size: int) -> None:
        """`source` converted to a temporary volume file beside `dest` (grown to `size` when larger than the source),
        synced and renamed over it: the volume is whole before and after, and no temp stays."""
        make_dir(self.volumes_dir, self.dir_access)
        self._ensure_space(self.volumes_dir, await _measure(source, source_format))
        temp = _temp_in(self.volumes_dir, f"{TEMP_PREFIX}{dest.name}.")
        try:
            await qemu_img.run_tool(qemu_img.QEMU_IMG, "convert", "-q", "-f", source_format, "-O", VOLUME_FORMAT,
                                    str(source), str(temp))
            if size > source_size:
                await qemu_img.resize(temp, size, fmt=VOLUME_FORMAT)
            await self._in_thread(_sync_file, temp)
            temp.chmod(FILE_MODE)
            os.replace(temp, dest)
            _sync_dir(self.volumes_dir)
        finally:
            temp.unlink(missing_ok=True)

    async def extend(self, volume_id: str, size_gb: int) -> VolumeFile:
        """Grow a detached volume (qemu-img resize rewrites the qcow2 header in place: one small write).
        Not larger than now is refused with Cinder's text."""
        path = self.volume_path(volume_id)
        size = size_bytes(size_gb)
        found = await _standalone(path)
        if size <= found.virtual_size:
            raise InvalidSize(f"New size for extend must be greater than current size. "
                              f"(current: {math.ceil(found.virtual_size / GiB)}, extended: {size_gb})")
        await qemu_img.resize(path, size, fmt=VOLUME_FORMAT)
        return _volume_file(path, size)

    async def upload_to_image(self, volume_id: str, image_files: ImageFiles, disk_format: str) -> StoredImage:
        """Convert a detached volume into the image store (raw or qcow2): written beside the store, fsynced, then
        adopted by it (hashed in place, checked like an upload, linked to images/<sha256>), so the result carries
        what the store records for an import: size, md5, sha256, sha512, format, virtual size."""
        if disk_format not in qemu_img.SUPPORTED_FORMATS:
            raise InvalidImage(f"Image format '{disk_format}' is not supported")
        source = self.volume_path(volume_id)
        await _standalone(source)
        target_dir = image_files.images_dir
        make_dir(target_dir)
        self._ensure_space(target_dir, await _measure(source, VOLUME_FORMAT))
        temp = _temp_in(target_dir, IMAGE_TEMP_PREFIX)
        try:
            await qemu_img.run_tool(qemu_img.QEMU_IMG, "convert", "-q", "-f", VOLUME_FORMAT, "-O", disk_format,
                                    str(source), str(temp))
            await self._in_thread(_sync_file, temp)
        except BaseException:
            temp.unlink(missing_ok=True)
            raise
        return await image_files.adopt(temp, disk_format)  # removes the temp name whatever happens

    # reading and removing -------------------------------------------------------------------------------------

    async def describe(self, path: Path, *, force_share: bool = False) -> VolumeFile:
        found = await qemu_img.info(Path(path), fmt=VOLUME_FORMAT, force_share=force_share)
        return _volume_file(Path(path), found.virtual_size)

    async def delete_volume(self, volume_id: str) -> None:
        _remove(self.volume_path(volume_id))

    async def delete_snapshot(self, snapshot_id: str) -> None:
        _remove(self.snapshot_path(snapshot_id))

    def remove_partials(self, older_than_seconds: float = 0) -> list[str]:
        """Remove temp files left by an interrupted write (at start, when no write runs: all of them)."""
        removed = []
        if not self.volumes_dir.is_dir():
            return removed
        now = time.time()
        for entry in sorted(self.volumes_dir.iterdir()):
            if not entry.name.startswith(TEMP_PREFIX):
                continue
            with contextlib.suppress(FileNotFoundError):
                if now - entry.stat().st_mtime >= older_than_seconds:
                    entry.unlink()
                    removed.append(entry.name)
        return removed

    # the one way files are written ----------------------------------------------------------------------------

    async def _copy(self, dest: Path, source: Path, found: qemu_img.ImageInfo, size_gb: int | None, *,
                    what: str) -> VolumeFile:
        size = found.virtual_size if size_gb is None else size_bytes(size_gb)
        if size < found.virtual_size:
            raise InvalidSize(f"Volume size {size_gb} GiB is smaller than the {what}'s virtual size of "
                              f"{found.virtual_size} bytes")
        needed = await _measure(source, found.format)

        async def fill(temp: Path) -> None:
            await qemu_img.run_tool(qemu_img.QEMU_IMG, "convert", "-q", "-f", found.format, "-O", VOLUME_FORMAT,
                                    str(source), str(temp))
            if size > found.virtual_size:
                await qemu_img.resize(temp, size, fmt=VOLUME_FORMAT)

        return await self._write(dest, needed, size, fill)

    async def _write(self, dest: Path, needed: int, size: int, fill: Callable[[Path], Awaitable[None]]
                     ) -> VolumeFile:
        """fill(temp) writes the content; then fsync, 0600, link to dest, fsync the directory. No stray temp."""
        if dest.exists():
            raise StorageError(f"{dest.name} exists already")
        make_dir(self.volumes_dir, self.dir_access)
        self._ensure_space(self.volumes_dir, needed)
        temp = _temp_in(self.volumes_dir, f"{TEMP_PREFIX}{dest.name}.")
        try:
            await fill(temp)
            await self._in_thread(_sync_file, temp)
            temp.chmod(FILE_MODE)
            try:
                os.link(temp, dest)
            except FileExistsError:
                raise StorageError(f"{dest.name} exists already") from None
            _sync_dir(self.volumes_dir)
        finally:
            temp.unlink(missing_ok=True)
        return _volume_file(dest, size)

    def _ensure_space(self, directory: Path, needed: int) -> None:
        st = os.statvfs(directory)
        available = st.f_bavail * st.f_frsize
        wanted = needed + self.reserved_bytes
        if wanted > available:
            raise NoSpace(str(directory), wanted, available)

    async def _in_thread(self, func: Callable, *args: object):
        """File work in a thread, awaited to its end even when the caller is cancelled (it uses the temp file the
        caller then removes)."""
        future = asyncio.get_running_loop().run_in_executor(self.executor, func, *args)
        try:
            return await asyncio.shield(future)
        except asyncio.CancelledError:
            await asyncio.wait([future])
            if not future.cancelled():
                future.exception()  # retrieved: the caller is cancelled whatever the thread did
            raise


async def compare(first: Path, second: Path, *, first_format: str = VOLUME_FORMAT,
                  second_format: str = VOLUME_FORMAT, force_share: bool = False, strict: bool = False) -> bool:
    """`qemu-img compare`: True when the guest-visible contents are equal. A larger disk whose extra part reads
    as zeros equals a smaller one unless strict. force_share (-U) only for disks that are still (a paused guest)."""
    argv = [qemu_img.QEMU_IMG, "compare", "-q", "-f", first_format, "-F", second_format]
    if force_share:
        argv.append("-U")
    if strict:
        argv.append("-s")
    try:
        await qemu_img.run_tool(*argv, str(Path(first).absolute()), str(Path(second).absolute()))
    except DiskError as exc:
        if exc.returncode == 1:  # 0 equal, 1 different, 2 and more an error
            return False
        raise
    return True


def size_bytes(size_gb: int) -> int:
    if isinstance(size_gb, bool) or not isinstance(size_gb, int) or size_gb < 1:
        raise InvalidSize(f"Volume size must be a whole number of GiB, at least 1: {size_gb!r}")
    return size_gb * GiB


def _check_id(value: str) -> str:
    if not isinstance(value, str) or not _UUID.fullmatch(value):
        raise StorageError(f"not a volume or snapshot id: {value!r}")
    return value


async def _standalone(path: Path) -> qemu_img.ImageInfo:
    """A volume or snapshot file: must exist and be a qcow2 with neither backing file nor external data file."""
    if not path.is_file():
        raise StorageError(f"{path.name} does not exist")
    found = await qemu_img.info(path, fmt=VOLUME_FORMAT, limited=True)
    if found.backing_file or found.data_file:
        raise StorageError(f"{path.name} is not a standalone qcow2")
    return found


async def _measure(source: Path, source_format: str) -> int:
    """Bytes a qcow2 copy of `source` allocates (qemu-img measure's "required")."""
    document = await qemu_img.run_tool(qemu_img.QEMU_IMG, "measure", "--output=json", "-O", VOLUME_FORMAT,
                                       "-f", source_format, str(source), limited=True)
    return int(json.loads(document)["required"])


async def _measure_empty(size: int) -> int:
    document = await qemu_img.run_tool(qemu_img.QEMU_IMG, "measure", "--output=json", "-O", VOLUME_FORMAT,
                                       "--size", str(size))
    return int(json.loads(document)["required"])


def _temp_in(directory: Path, prefix: str) -> Path:
    fd, name = tempfile.mkstemp(prefix=prefix, dir=directory)  # 0600; qemu-img keeps an existing file's mode
    os.close(fd)
    return Path(name)


def _volume_file(path: Path, virtual_size: int) -> VolumeFile:
    return VolumeFile(path=path, virtual_size=virtual_size, actual_size=os.stat(path).st_blocks * 512)


def _sync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _sync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _remove(path: Path) -> None:
    try:
        path.unlink()
    except FileNotFoundError:
        return
    _sync_dir(path.parent)
