"""Per-instance disks and the base-image cache, in Nova's layout.

<instances>/_base/<sha256>      the cached base: a hard link of the stored image (same inode, so removing the image
                                never breaks a server), or a copy when the store is on another file system
<data_dir>/overlays/            a fresh root overlay per base and size, copied for the next builds (overlay_templates)
<instances>/<uuid>/disk         qcow2 overlay on the base, sized to the flavor's root disk
<instances>/<uuid>/disk.local   ephemeral disk: raw sparse, vfat, label "ephemeral0" (Nova's default for Linux)
<instances>/<uuid>/disk.swap    raw sparse, mkswap
<instances>/<uuid>/disk.eph<N>  an ephemeral disk a block device mapping asked for: qcow2, made with its
                                guest_format and label ephemeral<N> (Nova's libvirt driver); its swap disk.swap, qcow2
Delete renames <uuid> to <uuid>_del first (atomic), then removes the tree, as Nova does.
Every file here is created 0600 and every directory 0700 whatever the umask (nodecompute.filemodes).
"""
from __future__ import annotations

import asyncio
import contextlib
import errno
import os
import shutil
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from nodecompute.domain.server_models import LocalDisk, root_disk_bytes
from nodecompute.filemodes import FILE_MODE, create_file, make_dir
from nodecompute.storage import qemu_img
from nodecompute.storage.errors import FlavorDiskTooSmall, InvalidImage, StorageError
from nodecompute.storage.image_files import check_sha256
from nodecompute.storage.overlay_templates import OverlayTemplates

GiB = 1 << 30
MiB = 1 << 20
ROOT, EPHEMERAL, SWAP = "disk", "disk.local", "disk.swap"
EPHEMERAL_LABEL = "ephemeral0"
TEMP_PREFIX = ".partial-"
STALE_TEMP_SECONDS = 3600


@dataclass(frozen=True)
class InstanceDisks:
    root: Path
    ephemeral: Path | None
    swap: Path | None
    formats: dict[str, str]


class BaseCache:
    def __init__(self, base_dir: Path, templates_dir: Path | None = None) -> None:
        self.base_dir = Path(base_dir).absolute()
        # the bases' root overlay templates (None: every overlay made by qemu-img), kept while their image is stored
        self.templates = OverlayTemplates(templates_dir) if templates_dir is not None else None
        self._locks: defaultdict[str, asyncio.Lock] = defaultdict(asyncio.Lock)

    def path_for(self, sha256: str) -> Path:
        return self.base_dir / check_sha256(sha256)

    async def ensure(self, sha256: str, source: Path, source_format: str) -> Path:
        """The cached base for an image, made once even when many builds ask at the same time."""
        if source_format not in qemu_img.SUPPORTED_FORMATS:
            raise InvalidImage(f"Image format '{source_format}' is not supported")
        base = self.path_for(sha256)
        async with self._locks[sha256]:
            if not base.exists():
                make_dir(self.base_dir)  # made at start with the right modes; here only if removed since
                await self._materialise(Path(source), base)
        return base

    async def prune(self, in_use: set[str], stored: Callable[[str], bool] | None = None) -> list[str]:
        """Remove bases not in `in_use` (and temp files older than an hour); return the removed sha256s. With
        `stored` (whether an image's file is still in the store), the overlay templates of images no longer stored
        go too: a pruned base comes back at the same path for the image's next server, and so do its templates."""
        removed = []
        if self.templates is not None and stored is not None:
            self.templates.prune(stored)
        if not self.base_dir.is_dir():
            return removed
        for entry in sorted(self.base_dir.iterdir()):
            if entry.name.startswith(TEMP_PREFIX):
                _remove_if_stale(entry)
                continue
            if entry.name in in_use or not _is_sha256(entry.name):
                continue
            async with self._locks[entry.name]:
                entry.unlink(missing_ok=True)
            removed.append(entry.name)
        return removed

    async def _materialise(self, source: Path, base: Path) -> None:
        try:
            os.link(source, base)  # atomic on its own: the name either appears whole or not at all
            return
        except FileExistsError:
            return  # another process made it
        except OSError as exc:
            if exc.errno not in (errno.EXDEV, errno.EPERM, errno.EMLINK):
                raise StorageError(f"cannot link base image {source}: {exc}") from exc
        await _copy_then_rename(source, base)


async def _copy_then_rename(source: Path, base: Path) -> None:
    """Another file system: copy (keeping holes) into a temp name, then rename, so no half base is ever seen."""
    fd, name = tempfile.mkstemp(prefix=TEMP_PREFIX, dir=base.parent)
    os.close(fd)
    temp = Path(name)
    try:
        await qemu_img.run_tool("cp", "--sparse=always", "--", str(source), str(temp))
        temp.chmod(FILE_MODE)
        os.replace(temp, base)
    finally:
        temp.unlink(missing_ok=True)


def _is_sha256(name: str) -> bool:
    try:
        check_sha256(name)
    except StorageError:
        return False
    return True


def _remove_if_stale(entry: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        if time.time() - entry.stat().st_mtime > STALE_TEMP_SECONDS:
            entry.unlink()


async def create_instance_disks(inst_dir: Path, *, base: Path, base_format: str, root_gb: int,
                                image_virtual_size: int, ephemeral_gb: int, swap_mb: int,
                                templates: OverlayTemplates | None = None) -> InstanceDisks:
    """Make disk (+ disk.local, disk.swap); on any failure remove what this call created and re-raise. With
    `templates` (the base cache's), the root overlay is a copy of the last one made for its base and size."""
    root_bytes = root_disk_bytes(root_gb, image_virtual_size)
    if root_bytes < image_virtual_size:  # compute's placement refuses it first; never shrink an image here
        raise FlavorDiskTooSmall(flavor_size=root_bytes, image_size=image_virtual_size)
    inst_dir = Path(inst_dir).absolute()
    planned = {ROOT: inst_dir / ROOT}
    if ephemeral_gb > 0:
        planned[EPHEMERAL] = inst_dir / EPHEMERAL
    if swap_mb > 0:
        planned[SWAP] = inst_dir / SWAP
    existing = [str(path) for path in planned.values() if path.exists()]
    if existing:
        raise StorageError(f"instance disks exist already: {', '.join(existing)}")
    made_dir = not inst_dir.exists()
    make_dir(inst_dir)
    steps = [_make_overlay(base, base_format, planned[ROOT], root_bytes, image_virtual_size or None, templates)]
    if EPHEMERAL in planned:
        steps.append(_make_ephemeral(planned[EPHEMERAL], ephemeral_gb * GiB))
    if SWAP in planned:
        steps.append(_make_swap(planned[SWAP], swap_mb * MiB))
    try:
        results = await asyncio.gather(*steps, return_exceptions=True)
        failure = next((result for result in results if isinstance(result, BaseException)), None)
        if failure is not None:
            raise failure
    except BaseException:
        _undo(planned.values(), inst_dir if made_dir else None)
        raise
    formats = {name: ("qcow2" if name == ROOT else "raw") for name in planned}
    return InstanceDisks(root=planned[ROOT], ephemeral=planned.get(EPHEMERAL), swap=planned.get(SWAP),
                         formats=formats)


async def create_extra_disks(inst_dir: Path, *, ephemeral_gb: int, swap_mb: int) -> None:
    """A volume-backed server's local disks (its root is a volume): disk.local and disk.swap when the flavor has
    them; on any failure remove what this call created and re-raise."""
    inst_dir = Path(inst_dir).absolute()
    make_dir(inst_dir)
    planned = {}
    if ephemeral_gb > 0:
        planned[EPHEMERAL] = _make_ephemeral(inst_dir / EPHEMERAL, ephemeral_gb * GiB)
    if swap_mb > 0:
        planned[SWAP] = _make_swap(inst_dir / SWAP, swap_mb * MiB)
    existing = [str(inst_dir / name) for name in planned if (inst_dir / name).exists()]
    if existing:
        for step in planned.values():
            step.close()
        raise StorageError(f"instance disks exist already: {', '.join(existing)}")
    results = await asyncio.gather(*planned.values(), return_exceptions=True)
    failure = next((result for result in results if isinstance(result, BaseException)), None)
    if failure is not None:
        _undo([inst_dir / name for name in planned], None)
        raise failure


async def create_local_disks(inst_dir: Path, disks: tuple[LocalDisk, ...]) -> None:
    """A server's ephemeral and swap disks as its mappings asked for them (raw ones: the flavor's, qcow2 ones: a
    mapping's); on any failure remove what this call created and re-raise."""
    inst_dir = Path(inst_dir).absolute()
    make_dir(inst_dir)
    existing = [str(inst_dir / disk.file) for disk in disks if (inst_dir / disk.file).exists()]
    if existing:
        raise StorageError(f"instance disks exist already: {', '.join(existing)}")
    results = await asyncio.gather(*(_make_local(inst_dir / disk.file, disk) for disk in disks),
                                   return_exceptions=True)
    failure = next((result for result in results if isinstance(result, BaseException)), None)
    if failure is not None:
        _undo([inst_dir / disk.file for disk in disks], None)
        raise failure


async def _make_local(path: Path, disk: LocalDisk) -> None:
    """Formatted on a sparse raw file (Nova's mkfs: `mkfs -t <fs>`, -F for ext3/ext4, the label; mkswap), then
    converted to qcow2 beside it when the disk is one."""
    raw = path if disk.disk_format == "raw" else path.with_name(f"{TEMP_PREFIX}{path.name}")
    raw.unlink(missing_ok=True)
    try:
        _sparse_file(raw, disk.size_bytes)
        if disk.guest_format == "swap":
            await qemu_img.run_tool("mkswap", str(raw))
        elif disk.guest_format:
            force = ("-F",) if disk.guest_format in ("ext3", "ext4", "ntfs") else ()
            label = ("-n" if disk.guest_format in ("vfat", "msdos") else "-L", disk.label) if disk.label else ()
            await qemu_img.run_tool("mkfs", "-t", disk.guest_format, *force, *label, str(raw))
        if raw != path:
            await copy_to_qcow2(raw, path)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    finally:
        if raw != path:
            raw.unlink(missing_ok=True)


def _undo(paths, made_dir: Path | None) -> None:
    for path in paths:
        path.unlink(missing_ok=True)
    if made_dir is not None:
        with contextlib.suppress(OSError):
            made_dir.rmdir()  # only when empty: never remove what someone else put there


async def _make_overlay(base: Path, base_format: str, dest: Path, size_bytes: int,
                        base_virtual_size: int | None, templates: OverlayTemplates | None = None) -> None:
    """A template exists only where qemu-img made this very overlay before (its size checks passed then)."""
    create_file(dest)  # 0600 before qemu-img (or the template's copy) writes it: both keep an existing file's mode
    try:
        if templates is not None and templates.copy_to(base, base_format, size_bytes, dest):
            return
        await qemu_img.create_overlay(base, base_format, dest, size_bytes, base_virtual_size)
        if templates is not None:
            templates.keep(base, base_format, size_bytes, dest)
    except BaseException:
        dest.unlink(missing_ok=True)
        raise


def _sparse_file(path: Path, size_bytes: int) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, FILE_MODE)
    try:
        os.fchmod(fd, FILE_MODE)
        os.ftruncate(fd, size_bytes)
    finally:
        os.close(fd)


async def _make_ephemeral(path: Path, size_bytes: int) -> None:
    _sparse_file(path, size_bytes)
    await qemu_img.run_tool("mkfs.vfat", "-n", EPHEMERAL_LABEL, str(path))


async def _make_swap(path: Path, size_bytes: int) -> None:
    _sparse_file(path, size_bytes)
    await qemu_img.run_tool("mkswap", str(path))


async def copy_to_qcow2(source: Path, dest: Path) -> None:
    """A standalone qcow2 copy of a disk no process holds (its whole backing chain flattened), made 0600; on any
    failure nothing is left at `dest`."""
    create_file(dest)
    try:
        await qemu_img.run_tool(qemu_img.QEMU_IMG, "convert", "-q", "-O", "qcow2", str(Path(source).absolute()),
                                str(Path(dest).absolute()))
    except BaseException:
        Path(dest).unlink(missing_ok=True)
        raise


async def remove_instance_dir(inst_dir: Path) -> None:
    """Nova's delete: rename <uuid> to <uuid>_del (atomic), then remove the tree. Safe to call again."""
    inst_dir = Path(inst_dir).absolute()
    doomed = inst_dir.with_name(inst_dir.name + "_del")
    if doomed.exists():
        await asyncio.to_thread(shutil.rmtree, doomed)
    try:
        inst_dir.rename(doomed)
    except FileNotFoundError:
        return
    await asyncio.to_thread(shutil.rmtree, doomed)
