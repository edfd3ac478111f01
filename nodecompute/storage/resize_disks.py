"""An instance's disks across a resize on this host (Nova's libvirt driver keeps `<uuid>_resize` until the resize
is confirmed or reverted): `keep` copies the powered-off guest's disks into `<instance dir>/before-resize` (made
under a temporary name, then renamed: it exists whole or not at all), `grow` resizes the root and ephemeral disks
to the new flavor and makes the ephemeral and swap disks it adds, `restore` puts the kept files back exactly as they
were (a revert, or a resize rolled back), `drop` removes them (a confirm)."""
from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

from nodecompute.filemodes import DIR_MODE, create_file
from nodecompute.storage import qemu_img
from nodecompute.storage.instance_disks import EPHEMERAL, EPHEMERAL_LABEL, GiB, MiB, ROOT, SWAP

KEPT = "before-resize"
KEPT_PARTIAL = ".before-resize.partial"
DISKS = (ROOT, EPHEMERAL, SWAP)


def kept_dir(inst_dir: Path) -> Path:
    return Path(inst_dir) / KEPT


def has_kept(inst_dir: Path) -> bool:
    return kept_dir(inst_dir).is_dir()


async def keep(inst_dir: Path) -> None:
    """Copy the disks of a guest no process holds (idempotent: an existing copy is kept as it is). `cp` keeps the
    holes of the sparse disks (and shares the blocks where the file system can)."""
    inst = Path(inst_dir).absolute()
    if has_kept(inst):
        return
    partial = inst / KEPT_PARTIAL
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(mode=DIR_MODE)
    for name in DISKS:
        if (inst / name).exists():
            await qemu_img.run_tool("cp", "--reflink=auto", "--sparse=always", "--preserve=mode,timestamps",
                                    str(inst / name), str(partial / name))
    partial.rename(kept_dir(inst))


async def grow(inst_dir: Path, *, root_bytes: int, ephemeral_gb: int, swap_mb: int, keep_local: bool = False
               ) -> None:
    """The disks to the new flavor's sizes: the root (qcow2; none when root_bytes is 0: a volume-backed server) and
    an existing ephemeral disk grow (never shrink: the resize refused that before), a new ephemeral disk or a swap disk of another size is made afresh."""
    inst = Path(inst_dir)
    root = inst / ROOT
    if root_bytes and (await qemu_img.info(root)).virtual_size < root_bytes:  # 0: a volume-backed server's
        await qemu_img.resize(root, root_bytes, fmt="qcow2")
    if keep_local:  # the ephemeral and swap disks block device mappings asked for: kept as they are (Nova)
        return
    ephemeral = inst / EPHEMERAL
    if ephemeral_gb and ephemeral.exists():
        if ephemeral.stat().st_size < ephemeral_gb * GiB:
            await qemu_img.resize(ephemeral, ephemeral_gb * GiB, fmt="raw")
    elif ephemeral_gb:
        await _fresh(ephemeral, ephemeral_gb * GiB, "mkfs.vfat", "-n", EPHEMERAL_LABEL)
    else:
        ephemeral.unlink(missing_ok=True)
    swap = inst / SWAP
    if swap_mb and (not swap.exists() or swap.stat().st_size != swap_mb * MiB):
        swap.unlink(missing_ok=True)
        await _fresh(swap, swap_mb * MiB, "mkswap")
    elif not swap_mb:
        swap.unlink(missing_ok=True)


async def _fresh(path: Path, size: int, *tool: str) -> None:
    create_file(path)
    with open(path, "r+b") as handle:
        handle.truncate(size)
    await qemu_img.run_tool(*tool, str(path))


def _restore(inst_dir: Path) -> None:
    kept = kept_dir(inst_dir)
    for name in DISKS:
        saved, current = kept / name, Path(inst_dir) / name
        if saved.exists():
            saved.replace(current)
        else:
            current.unlink(missing_ok=True)  # a disk the new flavor added
    shutil.rmtree(kept, ignore_errors=True)


async def restore(inst_dir: Path) -> bool:
    """The kept disks back in place (what the resize added removed); False when there was no copy."""
    shutil.rmtree(Path(inst_dir) / KEPT_PARTIAL, ignore_errors=True)
    if not has_kept(inst_dir):
        return False
    await asyncio.to_thread(_restore, Path(inst_dir))
    return True


async def drop(inst_dir: Path) -> None:
    shutil.rmtree(Path(inst_dir) / KEPT_PARTIAL, ignore_errors=True)
    await asyncio.to_thread(shutil.rmtree, kept_dir(inst_dir), True)
