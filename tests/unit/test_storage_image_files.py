"""ImageFiles: content-addressed store with one-pass checksums, on small real images."""
from __future__ import annotations

import hashlib
import os
import stat
import subprocess
from pathlib import Path

import pytest

from nodecompute.storage.errors import ImageTooLarge, InvalidImage, StorageError
from nodecompute.storage.image_files import CHUNK_BYTES, ImageFiles

MiB = 1 << 20


def qcow2_with_data(path: Path, size: str = "64M") -> Path:
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", str(path), size], check=True)
    subprocess.run(["qemu-io", "-f", "qcow2", "-c", "write -P 0x42 0 9M", str(path)], check=True,
                   capture_output=True)
    return path


def raw_with_data(path: Path, size: int) -> Path:
    path.write_bytes(os.urandom(size))
    return path


def hashes(path: Path) -> tuple[str, str, str]:
    data = path.read_bytes()
    return hashlib.md5(data).hexdigest(), hashlib.sha256(data).hexdigest(), hashlib.sha512(data).hexdigest()


def listing(files: ImageFiles) -> list[str]:
    return sorted(os.listdir(files.images_dir))


async def test_store_from_path_checksums_match_hashlib(tmp_path):
    src = qcow2_with_data(tmp_path / "cirros.qcow2")
    files = ImageFiles(tmp_path / "store")
    calls = []
    stored = await files.store_from_path(src, "qcow2", progress=lambda done, total: calls.append((done, total)))
    md5, sha256, sha512 = hashes(src)
    assert (stored.md5, stored.sha256, stored.sha512) == (md5, sha256, sha512)
    assert (stored.size, stored.disk_format, stored.virtual_size) == (src.stat().st_size, "qcow2", 64 * MiB)
    assert stored.path == files.path_for(sha256) == files.images_dir / sha256
    assert stored.path.read_bytes() == src.read_bytes()
    assert stat.S_IMODE(stored.path.stat().st_mode) == 0o600  # private, not world-readable
    assert calls[-1] == (stored.size, stored.size)
    assert [done for done, _ in calls] == sorted(done for done, _ in calls)
    assert len(calls) == -(-stored.size // CHUNK_BYTES)
    assert listing(files) == [sha256]


async def test_same_content_is_stored_once(tmp_path):
    src = raw_with_data(tmp_path / "a.raw", 3 * MiB)
    copy = tmp_path / "b.raw"
    copy.write_bytes(src.read_bytes())
    files = ImageFiles(tmp_path / "store")
    first = await files.store_from_path(src, "raw")
    inode = first.path.stat().st_ino
    second = await files.store_from_path(copy, None)
    assert second == first
    assert first.path.stat().st_ino == inode
    assert first.path.stat().st_nlink == 1
    assert listing(files) == [first.sha256]


async def chunks_of(data: bytes, size: int):
    for start in range(0, len(data), size):
        yield data[start:start + size]


async def test_store_from_stream_matches_hashlib(tmp_path):
    src = raw_with_data(tmp_path / "a.raw", 9 * MiB + 123)  # not a multiple of the chunk or write size
    files = ImageFiles(tmp_path / "store")
    stored = await files.store_from_stream(chunks_of(src.read_bytes(), 65536), "raw", max_bytes=10 * MiB)
    md5, sha256, sha512 = hashes(src)
    assert (stored.md5, stored.sha256, stored.sha512, stored.size) == (md5, sha256, sha512, 9 * MiB + 123)
    assert (stored.disk_format, stored.virtual_size) == ("raw", 9 * MiB + 512)  # qemu counts whole sectors
    assert stored.path.read_bytes() == src.read_bytes()


async def test_stream_over_the_limit_is_refused_and_leaves_nothing(tmp_path):
    files = ImageFiles(tmp_path / "store")
    consumed = []

    async def upload():
        for _ in range(100):
            consumed.append(1)
            yield b"\0" * MiB

    with pytest.raises(ImageTooLarge, match="larger than the maximum of 5242880 bytes"):
        await files.store_from_stream(upload(), "raw", max_bytes=5 * MiB)
    assert len(consumed) == 6  # stopped at the first chunk over the limit, not after reading it all
    assert listing(files) == []


async def test_rejected_image_leaves_no_temp_file(tmp_path):
    src = tmp_path / "x.vmdk"
    subprocess.run(["qemu-img", "create", "-q", "-f", "vmdk", str(src), "64M"], check=True)
    files = ImageFiles(tmp_path / "store")
    with pytest.raises(InvalidImage, match="Image format 'vmdk' is not supported"):
        await files.store_from_path(src, None)
    with pytest.raises(InvalidImage, match="Image content is 'qcow2' but its disk_format is 'raw'"):
        await files.store_from_path(qcow2_with_data(tmp_path / "q"), "raw")
    assert listing(files) == []


async def test_failed_stream_leaves_no_temp_file(tmp_path):
    files = ImageFiles(tmp_path / "store")

    async def broken_upload():
        yield b"x" * (5 * MiB)
        raise ConnectionResetError("client went away")

    with pytest.raises(ConnectionResetError):
        await files.store_from_stream(broken_upload(), "raw", max_bytes=None)
    assert listing(files) == []


async def test_missing_source_leaves_no_temp_file(tmp_path):
    files = ImageFiles(tmp_path / "store")
    with pytest.raises(FileNotFoundError):
        await files.store_from_path(tmp_path / "nope.qcow2", "qcow2")
    assert listing(files) == []


async def test_remove_is_idempotent(tmp_path):
    files = ImageFiles(tmp_path / "store")
    stored = await files.store_from_path(raw_with_data(tmp_path / "a.raw", MiB), "raw")
    await files.remove(stored.sha256)
    await files.remove(stored.sha256)
    assert not stored.path.exists()


@pytest.mark.parametrize("name", ["../../etc/passwd", "ABC", "0" * 63, "g" * 64, "0" * 64 + "/x"])
def test_path_for_takes_only_sha256_hex(tmp_path, name):
    with pytest.raises(StorageError, match="not a sha256"):
        ImageFiles(tmp_path).path_for(name)


async def test_sparse_raw_images_stay_sparse_in_the_store(tmp_path):
    src = tmp_path / "sparse.raw"
    with src.open("wb") as handle:
        handle.truncate(32 * MiB)
        handle.seek(10 * MiB + 1000)
        handle.write(b"data in the middle")  # the file ends in a hole, and the block is only partly data
    files = ImageFiles(tmp_path / "store")
    stored = await files.store_from_path(src, "raw")
    assert (stored.size, stored.path.stat().st_size) == (32 * MiB, 32 * MiB)
    assert stored.path.stat().st_blocks * 512 <= MiB
    assert stored.sha256 == hashes(src)[1]
    with stored.path.open("rb") as handle:
        handle.seek(10 * MiB + 1000)
        assert handle.read(18) == b"data in the middle"


async def test_adopt_takes_a_finished_temp_file_into_the_store(tmp_path):
    files = ImageFiles(tmp_path / "store")
    files.images_dir.mkdir(parents=True)
    temp = raw_with_data(files.images_dir / ".incoming-k5import-job1", 3 * MiB)
    md5, sha256, sha512 = hashes(temp)
    stored = await files.adopt(temp, "raw")
    assert (stored.md5, stored.sha256, stored.sha512, stored.size) == (md5, sha256, sha512, 3 * MiB)
    assert (stored.disk_format, stored.virtual_size) == ("raw", 3 * MiB)
    assert listing(files) == [sha256]  # linked under its sha256, the temp name gone
    assert stat.S_IMODE(stored.path.stat().st_mode) == 0o600


async def test_adopt_refuses_a_disk_with_a_backing_file_and_leaves_nothing(tmp_path):
    files = ImageFiles(tmp_path / "store")
    files.images_dir.mkdir(parents=True)
    base = qcow2_with_data(tmp_path / "base.qcow2")
    temp = files.images_dir / ".incoming-k5import-job2"
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", "-b", str(base), "-F", "qcow2", str(temp)], check=True)
    with pytest.raises(InvalidImage, match="backing file"):
        await files.adopt(temp, None)
    assert listing(files) == []


async def test_adopt_takes_only_temp_files_of_the_store(tmp_path):
    files = ImageFiles(tmp_path / "store")
    files.images_dir.mkdir(parents=True)
    outside = raw_with_data(tmp_path / ".incoming-elsewhere", MiB)
    named = raw_with_data(files.images_dir / "not-a-temp", MiB)
    for path in (outside, named):
        with pytest.raises(StorageError):
            await files.adopt(path, "raw")
        assert path.exists()  # refused before anything was done to it
