"""storage/volumes.py against the real qemu-img on tiny files (each call takes milliseconds).

Content is written with qemu-io at known offsets, so "the same bytes" is checked with qemu-img compare and with
qemu-io reads. Failure paths: a qemu-img wrapper that fails after writing, a cancelled copy, a monkeypatched
statvfs, and (as root) a 4 MiB tmpfs where qemu-img itself runs out of space.
"""
from __future__ import annotations

import asyncio
import hashlib
import os
import stat
import subprocess
import uuid
from pathlib import Path
from types import SimpleNamespace

import pytest

from nodecompute.filemodes import DirAccess
from nodecompute.storage import qemu_img, volumes
from nodecompute.storage.errors import DiskError, InvalidImage, InvalidSize, NoSpace, StorageError
from nodecompute.storage.image_files import ImageFiles
from nodecompute.storage.volumes import GiB, VolumeFiles, compare

MiB = 1 << 20


def new_id() -> str:
    return str(uuid.uuid4())


def make_image(path: Path, fmt: str, size: str = "64M", *options: str) -> Path:
    argv = ["qemu-img", "create", "-q", "-f", fmt]
    for option in options:
        argv += ["-o", option]
    subprocess.run([*argv, str(path), size], check=True)
    return path


def qemu_io(path: Path, fmt: str, command: str) -> str:
    done = subprocess.run(["qemu-io", "-f", fmt, "-c", command, str(path)], check=True, capture_output=True,
                          text=True)
    return done.stdout


def write_pattern(path: Path, fmt: str, pattern: int, offset: str, length: str = "64k") -> None:
    qemu_io(path, fmt, f"write -P {pattern} {offset} {length}")


def reads_pattern(path: Path, fmt: str, pattern: int, offset: str, length: str = "64k") -> bool:
    """qemu-io read -P prints "Pattern verification failed" when a byte differs."""
    return "verification failed" not in qemu_io(path, fmt, f"read -P {pattern} {offset} {length}")


async def image_info(path: Path) -> qemu_img.ImageInfo:
    return await qemu_img.info(path)


def listing(directory: Path) -> list[str]:
    return sorted(entry.name for entry in directory.iterdir()) if directory.exists() else []


@pytest.fixture
def files(tmp_path) -> VolumeFiles:
    return VolumeFiles(tmp_path / "data")


@pytest.fixture
def image(tmp_path) -> Path:
    """A 64 MiB qcow2 image with a marker at 1 MiB and another at its last 64 KiB."""
    path = make_image(tmp_path / "image.qcow2", "qcow2")
    write_pattern(path, "qcow2", 0x5A, "1M")
    write_pattern(path, "qcow2", 0x6B, "65472k")
    return path


async def test_create_empty_is_a_private_standalone_qcow2(files):
    volume_id = new_id()
    made = await files.create_empty(volume_id, 1)
    assert made.path == files.volumes_dir / f"volume-{volume_id}"
    found = await image_info(made.path)
    assert (found.format, found.virtual_size, found.backing_file) == ("qcow2", GiB, None)
    assert made.virtual_size == GiB and 0 < made.actual_size < MiB
    assert stat.S_IMODE(made.path.stat().st_mode) == 0o600
    assert stat.S_IMODE(files.volumes_dir.stat().st_mode) == 0o700
    assert listing(files.volumes_dir) == [made.path.name]  # no temp left


async def test_the_volumes_directory_gets_the_access_it_is_given(tmp_path):
    files = VolumeFiles(tmp_path / "data", dir_access=DirAccess(0o750, os.getgid()))
    await files.create_empty(new_id(), 1)
    assert stat.S_IMODE(files.volumes_dir.stat().st_mode) == 0o750  # whatever the umask
    assert stat.S_IMODE(next(files.volumes_dir.iterdir()).stat().st_mode) == 0o600  # files stay private


async def test_create_refuses_an_existing_volume_and_keeps_it(files):
    volume_id = new_id()
    first = await files.create_empty(volume_id, 1)
    write_pattern(first.path, "qcow2", 0x11, "0")
    with pytest.raises(StorageError, match="exists already"):
        await files.create_empty(volume_id, 2)
    assert (await image_info(first.path)).virtual_size == GiB
    assert reads_pattern(first.path, "qcow2", 0x11, "0")
    assert listing(files.volumes_dir) == [first.path.name]


@pytest.mark.parametrize("size_gb", [0, -1, True, 1.5, "1", None])
async def test_sizes_must_be_whole_gib(files, size_gb):
    with pytest.raises(InvalidSize, match="whole number of GiB"):
        await files.create_empty(new_id(), size_gb)
    assert listing(files.volumes_dir) == []


@pytest.mark.parametrize("bad", ["../etc", "volume", "ABCDEFAB-1234-1234-1234-123456789012", ""])
def test_ids_must_be_uuids(files, bad):
    with pytest.raises(StorageError, match="not a volume or snapshot id"):
        files.volume_path(bad)


@pytest.mark.parametrize("fmt", ["qcow2", "raw"])
async def test_create_from_image_copies_content_and_grows(files, tmp_path, fmt):
    source = make_image(tmp_path / f"img.{fmt}", fmt)
    write_pattern(source, fmt, 0x5A, "1M")
    made = await files.create_from_image(new_id(), source, fmt, 1)
    found = await image_info(made.path)
    assert (found.format, found.virtual_size, found.backing_file, found.data_file) == ("qcow2", GiB, None, None)
    assert reads_pattern(made.path, "qcow2", 0x5A, "1M")
    assert await compare(source, made.path, first_format=fmt)  # the extra GiB reads as zeros
    assert not await compare(source, made.path, first_format=fmt, strict=True)  # sizes differ
    assert stat.S_IMODE(made.path.stat().st_mode) == 0o600
    assert listing(files.volumes_dir) == [made.path.name]


async def test_create_from_image_refuses_a_size_below_the_image(files, tmp_path):
    source = make_image(tmp_path / "big.raw", "raw", "2G")
    with pytest.raises(InvalidSize, match="smaller than the image's virtual size of 2147483648 bytes"):
        await files.create_from_image(new_id(), source, "raw", 1)
    assert listing(files.volumes_dir) == []


async def test_create_from_image_refuses_hostile_images(files, tmp_path, image):
    child = make_image(tmp_path / "child.qcow2", "qcow2", "64M", f"backing_file={image},backing_fmt=qcow2")
    with pytest.raises(InvalidImage, match="backing file"):
        await files.create_from_image(new_id(), child, "qcow2", 1)
    with_data = make_image(tmp_path / "d.qcow2", "qcow2", "64M", f"data_file={tmp_path / 'data.raw'}")
    with pytest.raises(InvalidImage, match="external data file"):
        await files.create_from_image(new_id(), with_data, "qcow2", 1)
    with pytest.raises(InvalidImage, match="disk_format is 'raw'"):  # a qcow2 declared raw would be read raw
        await files.create_from_image(new_id(), image, "raw", 1)
    assert listing(files.volumes_dir) == []


async def test_snapshot_then_volume_from_snapshot_keeps_the_point_in_time(files, image):
    volume_id, snapshot_id = new_id(), new_id()
    volume = await files.create_from_image(volume_id, image, "qcow2", 1)
    snapshot = await files.snapshot_volume(snapshot_id, volume_id)
    assert snapshot.path == files.volumes_dir / f"snapshot-{snapshot_id}"
    assert (await image_info(snapshot.path)).backing_file is None
    assert await compare(volume.path, snapshot.path, strict=True)

    write_pattern(volume.path, "qcow2", 0x77, "1M")  # the volume changes after the snapshot
    assert not await compare(volume.path, snapshot.path)

    restored = await files.create_from_snapshot(new_id(), snapshot_id, 2)
    assert (await image_info(restored.path)).virtual_size == 2 * GiB
    assert reads_pattern(restored.path, "qcow2", 0x5A, "1M")
    assert reads_pattern(restored.path, "qcow2", 0x6B, "65472k")
    assert await compare(snapshot.path, restored.path)
    await files.delete_snapshot(snapshot_id)
    assert reads_pattern(restored.path, "qcow2", 0x5A, "1M")  # standalone: the snapshot's removal breaks nothing


async def test_volume_from_volume_is_a_standalone_copy(files, image):
    source_id = new_id()
    source = await files.create_from_image(source_id, image, "qcow2", 1)
    clone = await files.create_from_volume(new_id(), source_id)
    assert clone.virtual_size == GiB
    assert await compare(source.path, clone.path, strict=True)
    await files.delete_volume(source_id)
    assert not source.path.exists()
    assert reads_pattern(clone.path, "qcow2", 0x6B, "65472k")
    with pytest.raises(StorageError, match=f"volume-{source_id} does not exist"):
        await files.create_from_volume(new_id(), source_id)


async def test_clone_smaller_than_the_source_is_refused(files):
    source_id = new_id()
    await files.create_empty(source_id, 2)
    with pytest.raises(InvalidSize, match="smaller than the source volume's virtual size"):
        await files.create_from_volume(new_id(), source_id, 1)
    assert listing(files.volumes_dir) == [f"volume-{source_id}"]


async def test_extend_only_grows(files, image):
    volume_id = new_id()
    await files.create_from_image(volume_id, image, "qcow2", 1)
    grown = await files.extend(volume_id, 3)
    assert grown.virtual_size == 3 * GiB
    assert (await image_info(grown.path)).virtual_size == 3 * GiB
    assert reads_pattern(grown.path, "qcow2", 0x5A, "1M")
    for size_gb in (3, 2):
        with pytest.raises(InvalidSize) as caught:
            await files.extend(volume_id, size_gb)
        assert str(caught.value) == ("New size for extend must be greater than current size. "
                                     f"(current: 3, extended: {size_gb})")
    assert (await image_info(grown.path)).virtual_size == 3 * GiB


async def test_upload_to_image_gives_what_the_store_records(files, tmp_path, image):
    volume_id = new_id()
    volume = files.volume_path(volume_id)  # a 64 MiB stand-in: hashing a whole GiB of raw would take seconds
    files.volumes_dir.mkdir(parents=True)
    subprocess.run(["qemu-img", "convert", "-q", "-f", "qcow2", "-O", "qcow2", str(image), str(volume)], check=True)
    store = ImageFiles(tmp_path / "data")
    for disk_format in ("raw", "qcow2"):
        stored = await files.upload_to_image(volume_id, store, disk_format)
        content = stored.path.read_bytes()
        assert stored.path == store.path_for(hashlib.sha256(content).hexdigest())
        assert (stored.size, stored.md5, stored.sha512) == (
            len(content), hashlib.md5(content).hexdigest(), hashlib.sha512(content).hexdigest())
        assert (stored.disk_format, stored.virtual_size) == (disk_format, 64 * MiB)
        assert stat.S_IMODE(stored.path.stat().st_mode) == 0o600
        assert (await qemu_img.check_importable(stored.path, disk_format)).format == disk_format
        assert await compare(volume, stored.path, second_format=disk_format)
        assert reads_pattern(stored.path, disk_format, 0x6B, "65472k")
    assert len(listing(store.images_dir)) == 2  # the two files, no temp
    with pytest.raises(InvalidImage, match="'vmdk' is not supported"):
        await files.upload_to_image(volume_id, store, "vmdk")


async def test_compare_and_describe(files, tmp_path, image):
    first = await files.create_from_image(new_id(), image, "qcow2", 1)
    second = await files.create_from_image(new_id(), image, "qcow2", 1)
    assert await compare(first.path, second.path, strict=True)
    write_pattern(second.path, "qcow2", 0x01, "512M", "512")
    assert not await compare(first.path, second.path)
    with pytest.raises(DiskError, match="No such file"):
        await compare(first.path, tmp_path / "missing")
    described = await files.describe(second.path, force_share=True)
    assert (described.path, described.virtual_size) == (second.path, GiB)


def failing_qemu_img(directory: Path, *, after: str) -> Path:
    """A qemu-img that really runs `convert` (so a partial file exists) and then does `after`."""
    wrapper = directory / "qemu-img-wrapper"
    wrapper.write_text(
        "#!/bin/sh\n"
        'if [ "$1" = convert ]; then qemu-img "$@" || exit 2; ' + after + "; fi\n"
        'exec qemu-img "$@"\n'
    )
    wrapper.chmod(0o755)
    return wrapper


async def test_a_failing_qemu_img_leaves_no_file(files, tmp_path, image, monkeypatch):
    wrapper = failing_qemu_img(tmp_path, after="echo 'injected failure' >&2; exit 1")
    monkeypatch.setattr(qemu_img, "QEMU_IMG", str(wrapper))
    with pytest.raises(DiskError, match="injected failure"):
        await files.create_from_image(new_id(), image, "qcow2", 1)
    assert listing(files.volumes_dir) == []
    volume_id = new_id()
    await files.create_empty(volume_id, 1)  # create does not convert: it works through the wrapper
    with pytest.raises(DiskError, match="injected failure"):
        await files.snapshot_volume(new_id(), volume_id)
    assert listing(files.volumes_dir) == [f"volume-{volume_id}"]
    store = ImageFiles(tmp_path / "data")
    with pytest.raises(DiskError, match="injected failure"):
        await files.upload_to_image(volume_id, store, "raw")
    assert listing(store.images_dir) == []


async def test_an_impossible_size_leaves_no_file(files):
    with pytest.raises(DiskError, match="too large"):
        await files.create_empty(new_id(), 1 << 30)  # 1 EiB: beyond qcow2 with 64 KiB clusters
    assert listing(files.volumes_dir) == []


async def test_a_cancelled_copy_leaves_no_file(files, tmp_path, image, monkeypatch):
    wrapper = failing_qemu_img(tmp_path, after="exec sleep 30")  # converted, then hangs: the temp file exists
    monkeypatch.setattr(qemu_img, "QEMU_IMG", str(wrapper))
    task = asyncio.create_task(files.create_from_image(new_id(), image, "qcow2", 1))
    for _ in range(200):
        await asyncio.sleep(0.05)
        if any(name.startswith(".partial-") and (files.volumes_dir / name).stat().st_size > 0
               for name in listing(files.volumes_dir)):
            break
    else:
        pytest.fail("the copy never started")
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert listing(files.volumes_dir) == []


async def test_no_space_is_refused_before_writing(files, image, monkeypatch):
    real_statvfs = os.statvfs

    def nearly_full(path):
        found = real_statvfs(path)
        return SimpleNamespace(f_bavail=10, f_frsize=found.f_frsize)

    monkeypatch.setattr(volumes.os, "statvfs", nearly_full)
    with pytest.raises(NoSpace) as caught:
        await files.create_from_image(new_id(), image, "qcow2", 1)
    assert caught.value.needed > 128 * 1024 and caught.value.available == 10 * os.statvfs("/").f_frsize
    assert str(caught.value).startswith(f"Not enough free space in {files.volumes_dir}: ")
    assert listing(files.volumes_dir) == []


async def test_reserved_bytes_count_against_free_space(tmp_path):
    files = VolumeFiles(tmp_path / "data", reserved_bytes=1 << 62)
    with pytest.raises(NoSpace):
        await files.create_empty(new_id(), 1)
    assert listing(files.volumes_dir) == []


@pytest.fixture
def tiny_tmpfs(tmp_path):
    """A 4 MiB tmpfs (root only: mount(2) needs CAP_SYS_ADMIN)."""
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    mountpoint = tmp_path / "tiny"
    mountpoint.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m,mode=0700", "tmpfs", str(mountpoint)], check=True)
    try:
        yield mountpoint
    finally:
        subprocess.run(["umount", str(mountpoint)], check=True)


async def test_a_full_file_system_leaves_no_file(tiny_tmpfs, tmp_path, monkeypatch):
    big = make_image(tmp_path / "big.qcow2", "qcow2")
    qemu_io(big, "qcow2", "write -P 0x33 0 8M")  # 8 MiB of data for a 4 MiB file system
    files = VolumeFiles(tiny_tmpfs)
    with pytest.raises(NoSpace):  # the estimate says so before anything is written
        await files.create_from_image(new_id(), big, "qcow2", 1)
    assert listing(files.volumes_dir) == []

    async def too_small_estimate(_source, _fmt):
        return 0

    monkeypatch.setattr(volumes, "_measure", too_small_estimate)  # so qemu-img itself hits ENOSPC
    with pytest.raises(DiskError, match="No space left on device"):
        await files.create_from_image(new_id(), big, "qcow2", 1)
    assert listing(files.volumes_dir) == []
    assert os.statvfs(tiny_tmpfs).f_bfree == os.statvfs(tiny_tmpfs).f_blocks  # nothing allocated is left


async def test_remove_partials_sweeps_only_temp_files(files):
    volume = await files.create_empty(new_id(), 1)
    (files.volumes_dir / ".partial-volume-x.abc").write_bytes(b"half")
    (files.volumes_dir / "operator-notes").write_text("kept")
    assert files.remove_partials() == [".partial-volume-x.abc"]
    assert listing(files.volumes_dir) == sorted([volume.path.name, "operator-notes"])
