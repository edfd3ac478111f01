"""qemu_img against the real qemu-img on tiny files (each call takes milliseconds)."""
from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path

import pytest

from nodecompute.storage import qemu_img
from nodecompute.storage.errors import DiskError, InvalidImage

MiB = 1 << 20


def make_image(path: Path, fmt: str, size: str = "64M", *options: str) -> Path:
    argv = ["qemu-img", "create", "-q", "-f", fmt]
    for option in options:
        argv += ["-o", option]
    subprocess.run([*argv, str(path), size], check=True)
    return path


def qemu_io(path: Path, fmt: str, command: str) -> str:
    done = subprocess.run(["qemu-io", "-f", fmt, "-c", command, str(path)], check=True, capture_output=True, text=True)
    return done.stdout


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


async def test_info_reads_qcow2_and_raw(tmp_path):
    qcow2 = await qemu_img.info(make_image(tmp_path / "a.qcow2", "qcow2", "1G"))
    assert (qcow2.format, qcow2.virtual_size, qcow2.backing_file, qcow2.data_file) == ("qcow2", 1 << 30, None, None)
    assert 0 < qcow2.actual_size < MiB
    raw = await qemu_img.info(make_image(tmp_path / "b.raw", "raw", "20G"), force_share=True)
    assert (raw.format, raw.virtual_size) == ("raw", 20 << 30)
    assert raw.actual_size < MiB  # sparse


async def test_info_of_a_missing_file_is_a_disk_error_with_stderr(tmp_path):
    with pytest.raises(DiskError) as caught:
        await qemu_img.info(tmp_path / "missing.qcow2")
    assert caught.value.returncode == 1
    assert "No such file" in caught.value.stderr


async def test_run_tool_reports_a_missing_program():
    with pytest.raises(DiskError, match="not-a-disk-tool is not installed"):
        await qemu_img.run_tool("not-a-disk-tool", "--help")


@pytest.mark.parametrize("fmt,declared", [("qcow2", "qcow2"), ("qcow2", None), ("raw", "raw"), ("raw", None),
                                          ("qcow2", "QCOW2")])
async def test_check_importable_accepts_standalone_qcow2_and_raw(tmp_path, fmt, declared):
    found = await qemu_img.check_importable(make_image(tmp_path / "img", fmt), declared)
    assert (found.format, found.virtual_size) == (fmt, 64 * MiB)


async def test_check_importable_rejects_a_backing_file(tmp_path):
    base = make_image(tmp_path / "base.qcow2", "qcow2")
    child = make_image(tmp_path / "child.qcow2", "qcow2", "64M", f"backing_file={base},backing_fmt=qcow2")
    with pytest.raises(InvalidImage, match="^Image has a backing file$"):
        await qemu_img.check_importable(child, "qcow2")


async def test_check_importable_rejects_a_backing_file_that_does_not_exist(tmp_path):
    child = tmp_path / "child.qcow2"
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", "-u", "-b", "/etc/shadow", "-F", "raw",
                    str(child), "64M"], check=True)
    with pytest.raises(InvalidImage, match="backing file"):
        await qemu_img.check_importable(child, None)


async def test_check_importable_rejects_an_external_data_file(tmp_path):
    image = make_image(tmp_path / "d.qcow2", "qcow2", "64M", f"data_file={tmp_path / 'data.raw'}")
    with pytest.raises(InvalidImage, match="^Image has an external data file$"):
        await qemu_img.check_importable(image, "qcow2")


async def test_check_importable_rejects_vmdk_content(tmp_path):
    with pytest.raises(InvalidImage, match="^Image format 'vmdk' is not supported$"):
        await qemu_img.check_importable(make_image(tmp_path / "x.vmdk", "vmdk"), None)


@pytest.mark.parametrize("declared", ["vmdk", "vdi", "iso", "ami"])
async def test_check_importable_rejects_unsupported_declared_formats(tmp_path, declared):
    with pytest.raises(InvalidImage, match=f"^Image format '{declared}' is not supported$"):
        await qemu_img.check_importable(make_image(tmp_path / "x.raw", "raw"), declared)


async def test_check_importable_rejects_qcow2_content_declared_raw(tmp_path):
    # The classic attack: "raw" upload that is really a qcow2 header which QEMU would interpret.
    with pytest.raises(InvalidImage, match="^Image content is 'qcow2' but its disk_format is 'raw'$"):
        await qemu_img.check_importable(make_image(tmp_path / "x", "qcow2"), "raw")


async def test_check_importable_rejects_raw_content_declared_qcow2(tmp_path):
    with pytest.raises(InvalidImage, match="^Image content is 'raw' but its disk_format is 'qcow2'$"):
        await qemu_img.check_importable(make_image(tmp_path / "x", "raw"), "qcow2")


async def test_check_importable_rejects_a_damaged_qcow2(tmp_path):
    image = make_image(tmp_path / "x.qcow2", "qcow2")
    with image.open("r+b") as handle:  # cluster_bits is a big-endian u32 at offset 20; 31 is out of range
        handle.seek(20)
        handle.write((31).to_bytes(4, "big"))
    with pytest.raises(InvalidImage, match="^Image content is not a readable disk image$"):
        await qemu_img.check_importable(image, "qcow2")


@pytest.mark.parametrize("base_fmt,base_size", [("qcow2", "1G"), ("raw", "64M")])
async def test_overlay_is_copy_on_write_and_takes_the_flavor_size(tmp_path, base_fmt, base_size):
    base = make_image(tmp_path / f"base.{base_fmt}", base_fmt, base_size)
    qemu_io(base, base_fmt, "write -P 0x5a 0 1M")
    before = digest(base)
    overlay = tmp_path / "disk"
    await qemu_img.create_overlay(base, base_fmt, overlay, 40 << 30)
    found = await qemu_img.info(overlay)
    assert (found.format, found.backing_file, found.virtual_size) == ("qcow2", str(base), 40 << 30)
    qemu_io(overlay, "qcow2", "write -P 0xa5 512k 64k")
    assert "read 524288/524288" in qemu_io(overlay, "qcow2", "read -P 0x5a 0 512k")
    assert "read 65536/65536" in qemu_io(overlay, "qcow2", "read -P 0xa5 512k 64k")
    assert "read 65536/65536" in qemu_io(base, base_fmt, "read -P 0x5a 512k 64k")
    assert digest(base) == before


async def test_overlay_without_size_has_the_base_size(tmp_path):
    base = make_image(tmp_path / "base.qcow2", "qcow2", "3G")
    await qemu_img.create_overlay(base, "qcow2", tmp_path / "disk", None)
    assert (await qemu_img.info(tmp_path / "disk")).virtual_size == 3 << 30


async def test_overlay_never_shrinks_the_image(tmp_path):
    base = make_image(tmp_path / "base.qcow2", "qcow2", "2G")
    with pytest.raises(InvalidImage, match="smaller than the image's virtual size"):
        await qemu_img.create_overlay(base, "qcow2", tmp_path / "disk", 1 << 30)
    assert not (tmp_path / "disk").exists()


async def test_resize_grows_and_refuses_to_shrink(tmp_path):
    disk = make_image(tmp_path / "disk", "qcow2", "1G")
    await qemu_img.resize(disk, 5 << 30, fmt="qcow2")
    assert (await qemu_img.info(disk)).virtual_size == 5 << 30
    with pytest.raises(DiskError, match="shrink"):
        await qemu_img.resize(disk, 1 << 30)
    assert (await qemu_img.info(disk)).virtual_size == 5 << 30
