"""qemu-img as async calls: probe, import checks, copy-on-write overlays, resize.

Every call runs with LC_ALL=C (stable messages) and absolute paths (a relative name with a ':' would be read as a
protocol such as nbd: or json:). Probing content that came from a user runs under resource limits, as Nova's
QEMU_IMG_LIMITS do (a crafted header can make qemu-img allocate or spin: CVE-2015-5162).
"""
from __future__ import annotations

import asyncio
import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from nodecompute.storage.errors import DiskError, InvalidImage

QEMU_IMG = "qemu-img"
SUPPORTED_FORMATS = ("qcow2", "raw")
PROBE_ADDRESS_SPACE = 1 << 30  # bytes, Nova's QEMU_IMG_LIMITS
PROBE_CPU_SECONDS = 30
TOOL_ENV = {"LC_ALL": "C", "LANG": "C"}


@dataclass(frozen=True)
class ImageInfo:
    format: str
    virtual_size: int
    actual_size: int
    backing_file: str | None
    data_file: str | None


async def run_tool(*argv: str, limited: bool = False) -> str:
    """Run a disk tool, return its stdout; raise DiskError (stderr kept) when it fails or is missing."""
    command = tuple(argv)
    if limited and shutil.which("prlimit"):
        command = ("prlimit", f"--as={PROBE_ADDRESS_SPACE}", f"--cpu={PROBE_CPU_SECONDS}", "--", *command)
    try:
        proc = await asyncio.create_subprocess_exec(
            *command, stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE, env={**os.environ, **TOOL_ENV},
        )
    except FileNotFoundError as exc:
        raise DiskError(f"{argv[0]} is not installed", command=command) from exc
    try:
        out, err = await proc.communicate()
    except asyncio.CancelledError:
        proc.kill()  # do not leave a qemu-img/mkfs writing to a file the caller is about to remove
        await proc.wait()
        raise
    if proc.returncode != 0:
        raise DiskError(f"{argv[0]} failed", command=command, returncode=proc.returncode,
                        stderr=err.decode(errors="replace"))
    return out.decode(errors="replace")


def _absolute(path: Path) -> str:
    return str(Path(path).absolute())


def _parse_info(document: str) -> ImageInfo:
    data = json.loads(document)
    specific = (data.get("format-specific") or {}).get("data") or {}
    return ImageInfo(
        format=data["format"],
        virtual_size=int(data["virtual-size"]),
        actual_size=int(data.get("actual-size", 0)),
        backing_file=data.get("backing-filename"),
        data_file=specific.get("data-file"),
    )


async def info(path: Path, *, force_share: bool = False, fmt: str | None = None,
               limited: bool = False) -> ImageInfo:
    """`qemu-img info --output=json`. force_share (-U) reads a disk a running guest holds open; fmt skips probing."""
    argv = [QEMU_IMG, "info", "--output=json"]
    if force_share:
        argv.append("-U")
    if fmt:
        argv += ["-f", fmt]
    return _parse_info(await run_tool(*argv, _absolute(path), limited=limited))


async def check_importable(path: Path, declared_format: str | None) -> ImageInfo:
    """Accept only standalone qcow2/raw whose detected format matches the declared one; else InvalidImage."""
    declared = declared_format.lower() if declared_format else None
    if declared is not None and declared not in SUPPORTED_FORMATS:
        raise InvalidImage(f"Image format '{declared_format}' is not supported")
    try:
        found = await info(path, limited=True)
    except (DiskError, ValueError, KeyError) as exc:
        raise InvalidImage("Image content is not a readable disk image") from exc
    if found.format not in SUPPORTED_FORMATS:
        raise InvalidImage(f"Image format '{found.format}' is not supported")
    if found.backing_file:
        raise InvalidImage("Image has a backing file")
    if found.data_file:
        raise InvalidImage("Image has an external data file")
    if declared is not None and declared != found.format:
        raise InvalidImage(f"Image content is '{found.format}' but its disk_format is '{declared}'")
    return found


async def create_overlay(base: Path, base_format: str, dest: Path, size_bytes: int | None,
                         base_virtual_size: int | None = None) -> None:
    """A qcow2 overlay backed by `base`; its size is the base's, or `size_bytes` when that is not smaller.
    `base_virtual_size`, when the caller knows it (checked at import), saves a `qemu-img info`."""
    argv = [QEMU_IMG, "create", "-q", "-f", "qcow2", "-b", _absolute(base), "-F", base_format, _absolute(dest)]
    if size_bytes is not None:
        base_size = base_virtual_size or (await info(base, force_share=True, fmt=base_format)).virtual_size
        if size_bytes < base_size:
            raise InvalidImage(f"Disk size {size_bytes} is smaller than the image's virtual size {base_size}")
        argv.append(str(size_bytes))
    await run_tool(*argv)


async def resize(path: Path, size_bytes: int, *, fmt: str | None = None, shrink: bool = False) -> None:
    """Grow a disk to `size_bytes`; qemu-img refuses to shrink without --shrink, so shrinking raises DiskError
    unless `shrink` (what lies past the new end is lost)."""
    argv = [QEMU_IMG, "resize", "-q"]
    if fmt:
        argv += ["-f", fmt]
    if shrink:
        argv.append("--shrink")
    await run_tool(*argv, _absolute(path), str(size_bytes))
