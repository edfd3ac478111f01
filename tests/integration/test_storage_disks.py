"""Storage on bigger files: upload -> base -> instance disks end to end, cancellation, concurrent uploads."""
from __future__ import annotations

import asyncio
import hashlib
import os
import subprocess
import time
from pathlib import Path

import pytest

from nodecompute.storage import qemu_img
from nodecompute.storage.image_files import ImageFiles
from nodecompute.storage.instance_disks import BaseCache, create_instance_disks, remove_instance_dir

pytestmark = pytest.mark.integration

GiB = 1 << 30
MiB = 1 << 20
MARKS = {0: 0x11, 300 * MiB: 0x22, 511 * MiB: 0x33}  # offset -> byte pattern of 1 MiB


def qemu_io(path: Path, fmt: str, command: str) -> str:
    return subprocess.run(["qemu-io", "-f", fmt, "-c", command, str(path)], check=True, capture_output=True,
                          text=True).stdout


def sparse_raw_with_marks(path: Path, size: int) -> Path:
    with path.open("wb") as handle:
        handle.truncate(size)
        for offset, byte in MARKS.items():
            handle.seek(offset)
            handle.write(bytes([byte]) * MiB)
    return path


async def test_upload_to_instance_disks_end_to_end(tmp_path):
    src = sparse_raw_with_marks(tmp_path / "image.raw", 512 * MiB)
    stored = await ImageFiles(tmp_path / "store").store_from_path(src, "raw")
    assert stored.sha256 == hashlib.sha256(src.read_bytes()).hexdigest()
    assert (stored.disk_format, stored.virtual_size) == ("raw", 512 * MiB)
    base = await BaseCache(tmp_path / "instances" / "_base").ensure(stored.sha256, stored.path, "raw")
    inst = tmp_path / "instances" / "11111111-2222-3333-4444-555555555555"
    started = time.perf_counter()
    disks = await create_instance_disks(inst, base=base, base_format="raw", root_gb=20, image_virtual_size=512 * MiB,
                                        ephemeral_gb=20, swap_mb=1024)
    elapsed = time.perf_counter() - started
    assert elapsed < 5, f"making a 20 GB root, 20 GB ephemeral and 1 GB swap took {elapsed:.2f}s"
    assert (await qemu_img.info(disks.root)).virtual_size == 20 * GiB
    for offset, byte in MARKS.items():  # the image's data is visible through the overlay
        assert "read 1048576/1048576" in qemu_io(disks.root, "qcow2", f"read -P {byte} {offset} 1M")
    qemu_io(disks.root, "qcow2", "write -P 0x77 0 1M")
    qemu_io(disks.root, "qcow2", "write -P 0x78 19G 1M")  # beyond the image: lands in the overlay only
    assert "read 1048576/1048576" in qemu_io(disks.root, "qcow2", "read -P 0x77 0 1M")
    assert stored.path.read_bytes() == src.read_bytes()  # base (same inode as the stored image) untouched
    (tmp_path / "hello.txt").write_text("hi")
    subprocess.run(["mcopy", "-i", str(disks.ephemeral), str(tmp_path / "hello.txt"), "::hello.txt"], check=True)
    listing = subprocess.run(["mdir", "-i", str(disks.ephemeral), "-b", "::"], check=True, capture_output=True,
                             text=True).stdout
    assert "HELLO.TXT" in listing.upper()
    assert disks.ephemeral.stat().st_size == 20 * GiB
    assert disks.ephemeral.stat().st_blocks * 512 < 64 * MiB
    await remove_instance_dir(inst)
    assert not inst.exists()
    assert base.read_bytes()[:MiB] == bytes([0x11]) * MiB


async def test_cancelled_store_stops_copying_and_leaves_no_temp_file(tmp_path):
    src = sparse_raw_with_marks(tmp_path / "big.raw", 1024 * MiB)  # hashing reads holes at full cost
    files = ImageFiles(tmp_path / "store")
    first_progress = asyncio.Event()
    calls = []

    def progress(done, total):
        calls.append(done)
        first_progress.set()

    task = asyncio.create_task(files.store_from_path(src, "raw", progress=progress))
    await first_progress.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    copied = calls[-1]
    await asyncio.sleep(0.2)
    assert calls[-1] == copied  # the copying thread stopped with the task
    assert copied < 1024 * MiB
    assert os.listdir(files.images_dir) == []


async def test_concurrent_uploads_of_the_same_content_store_it_once(tmp_path):
    payload = os.urandom(32 * MiB)
    files = ImageFiles(tmp_path / "store")

    async def upload():
        for start in range(0, len(payload), 256 * 1024):
            yield payload[start:start + 256 * 1024]
            await asyncio.sleep(0)

    results = await asyncio.gather(*(files.store_from_stream(upload(), "raw", max_bytes=None) for _ in range(4)))
    assert len(set(results)) == 1
    assert results[0].sha512 == hashlib.sha512(payload).hexdigest()
    assert os.listdir(files.images_dir) == [results[0].sha256]
    assert results[0].path.read_bytes() == payload
