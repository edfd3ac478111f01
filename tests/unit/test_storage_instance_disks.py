"""Instance disks and the base cache, with real qemu-img, mkfs.vfat and mkswap on sparse files."""
from __future__ import annotations

import asyncio
import os
import subprocess
import time
from pathlib import Path

import pytest

from nodecompute.storage import instance_disks, qemu_img
from nodecompute.storage.errors import DiskError, FlavorDiskTooSmall, InvalidImage, StorageError
from nodecompute.storage.image_files import ImageFiles
from nodecompute.storage.instance_disks import (
    TEMP_PREFIX, BaseCache, create_instance_disks, remove_instance_dir,
)
from nodecompute.storage.overlay_templates import OverlayTemplates

GiB = 1 << 30
MiB = 1 << 20
SHA_A, SHA_B, SHA_C = "a" * 64, "b" * 64, "c" * 64


def blkid(path: Path) -> dict[str, str]:
    out = subprocess.run(["blkid", "-o", "export", str(path)], check=True, capture_output=True, text=True).stdout
    return dict(line.split("=", 1) for line in out.splitlines() if "=" in line)


@pytest.fixture
async def stored(tmp_path):
    src = tmp_path / "src.qcow2"
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", str(src), "1G"], check=True)
    return await ImageFiles(tmp_path / "store").store_from_path(src, "qcow2")


@pytest.fixture
async def base(tmp_path, stored):
    return await BaseCache(tmp_path / "instances" / "_base").ensure(stored.sha256, stored.path, "qcow2")


async def test_root_ephemeral_and_swap(tmp_path, base):
    inst = tmp_path / "instances" / "uuid-1"
    disks = await create_instance_disks(inst, base=base, base_format="qcow2", root_gb=2, image_virtual_size=GiB,
                                        ephemeral_gb=1, swap_mb=64)
    assert (disks.root, disks.ephemeral, disks.swap) == (inst / "disk", inst / "disk.local", inst / "disk.swap")
    assert disks.formats == {"disk": "qcow2", "disk.local": "raw", "disk.swap": "raw"}
    root = await qemu_img.info(disks.root)
    assert (root.format, root.backing_file, root.virtual_size) == ("qcow2", str(base), 2 * GiB)
    assert blkid(disks.ephemeral)["TYPE"] == "vfat"
    assert blkid(disks.ephemeral)["LABEL"] == "ephemeral0"
    assert disks.ephemeral.stat().st_size == GiB
    assert disks.ephemeral.stat().st_blocks * 512 < 16 * MiB  # sparse
    assert blkid(disks.swap)["TYPE"] == "swap"
    with disks.swap.open("rb") as swap:
        swap.seek(4086)
        assert swap.read(10) == b"SWAPSPACE2"
    assert disks.swap.stat().st_size == 64 * MiB


async def test_root_gb_zero_takes_the_image_size_and_no_extra_disks(tmp_path, base):
    inst = tmp_path / "instances" / "uuid-2"
    disks = await create_instance_disks(inst, base=base, base_format="qcow2", root_gb=0, image_virtual_size=GiB,
                                        ephemeral_gb=0, swap_mb=0)
    assert (disks.ephemeral, disks.swap, disks.formats) == (None, None, {"disk": "qcow2"})
    assert (await qemu_img.info(disks.root)).virtual_size == GiB
    assert sorted(os.listdir(inst)) == ["disk"]


async def test_root_smaller_than_the_image_is_refused_before_anything_is_made(tmp_path, base):
    inst = tmp_path / "instances" / "uuid-3"
    with pytest.raises(FlavorDiskTooSmall) as caught:
        await create_instance_disks(inst, base=base, base_format="qcow2", root_gb=1, image_virtual_size=3 * GiB,
                                    ephemeral_gb=1, swap_mb=64)
    assert str(caught.value) == ("Flavor's disk is too small for requested image. Flavor disk is 1073741824 bytes, "
                                 "image is 3221225472 bytes.")
    assert isinstance(caught.value, InvalidImage)
    assert not inst.exists()


async def test_failure_removes_every_disk_it_made(tmp_path, monkeypatch):
    inst = tmp_path / "instances" / "uuid-4"
    present_at_undo = []
    real_undo = instance_disks._undo

    def watched_undo(paths, made_dir):
        paths = list(paths)
        present_at_undo.extend(sorted(path.name for path in paths if path.exists()))
        real_undo(paths, made_dir)

    monkeypatch.setattr(instance_disks, "_undo", watched_undo)
    with pytest.raises(DiskError):  # the base is missing: the overlay fails while ephemeral and swap succeed
        await create_instance_disks(inst, base=tmp_path / "gone.qcow2", base_format="qcow2", root_gb=1,
                                    image_virtual_size=GiB, ephemeral_gb=1, swap_mb=64)
    assert present_at_undo == ["disk.local", "disk.swap"]
    assert not inst.exists()


async def test_failure_keeps_what_was_in_the_directory_before(tmp_path):
    inst = tmp_path / "instances" / "uuid-5"
    inst.mkdir(parents=True)
    (inst / "console.log").write_text("kept")
    with pytest.raises(DiskError):
        await create_instance_disks(inst, base=tmp_path / "gone.qcow2", base_format="qcow2", root_gb=1,
                                    image_virtual_size=GiB, ephemeral_gb=1, swap_mb=64)
    assert sorted(os.listdir(inst)) == ["console.log"]


async def test_existing_disks_are_never_overwritten(tmp_path, base):
    inst = tmp_path / "instances" / "uuid-6"
    inst.mkdir(parents=True)
    (inst / "disk.swap").write_bytes(b"guest data")
    with pytest.raises(StorageError, match="exist already"):
        await create_instance_disks(inst, base=base, base_format="qcow2", root_gb=1, image_virtual_size=GiB,
                                    ephemeral_gb=0, swap_mb=64)
    assert sorted(os.listdir(inst)) == ["disk.swap"]
    assert (inst / "disk.swap").read_bytes() == b"guest data"


async def test_remove_instance_dir_is_idempotent_and_clears_leftovers(tmp_path):
    instances = tmp_path / "instances"
    (instances / "uuid-7" / "swtpm").mkdir(parents=True)
    (instances / "uuid-7" / "disk").write_bytes(b"x")
    (instances / "uuid-7_del").mkdir()  # an earlier delete that was interrupted
    (instances / "uuid-7_del" / "disk").write_bytes(b"y")
    await remove_instance_dir(instances / "uuid-7")
    await remove_instance_dir(instances / "uuid-7")
    assert os.listdir(instances) == []


async def test_base_is_a_hard_link_that_outlives_the_image(tmp_path, stored):
    cache = BaseCache(tmp_path / "instances" / "_base")
    base = await cache.ensure(stored.sha256, stored.path, "qcow2")
    assert base == tmp_path / "instances" / "_base" / stored.sha256
    assert base.stat().st_ino == stored.path.stat().st_ino
    content = stored.path.read_bytes()
    await ImageFiles(tmp_path / "store").remove(stored.sha256)
    assert base.read_bytes() == content
    assert await cache.ensure(stored.sha256, stored.path, "qcow2") == base  # cached: the source is not needed


async def test_base_is_copied_across_file_systems_keeping_holes(tmp_path):
    if not os.path.isdir("/dev/shm") or os.stat("/dev/shm").st_dev == tmp_path.stat().st_dev:
        pytest.skip("needs a second file system")
    src = tmp_path / "sparse.raw"
    with src.open("wb") as handle:
        handle.truncate(64 * MiB)
        handle.write(b"boot sector")
    stored = await ImageFiles(tmp_path / "store").store_from_path(src, "raw")
    shm = Path(f"/dev/shm/nc-test-{os.getpid()}")
    shm.mkdir()
    try:
        base = await BaseCache(shm).ensure(stored.sha256, stored.path, "raw")
        assert base.stat().st_ino != stored.path.stat().st_ino
        assert base.read_bytes() == src.read_bytes()
        assert base.stat().st_blocks * 512 <= MiB
        assert os.listdir(shm) == [stored.sha256]
    finally:
        subprocess.run(["rm", "-rf", str(shm)], check=True)


async def test_concurrent_ensure_makes_one_base(tmp_path, stored, monkeypatch):
    cache = BaseCache(tmp_path / "instances" / "_base")
    links = []
    real_link = os.link
    monkeypatch.setattr(os, "link", lambda src, dst: (links.append(dst), real_link(src, dst))[1])
    bases = await asyncio.gather(*(cache.ensure(stored.sha256, stored.path, "qcow2") for _ in range(10)))
    assert set(bases) == {cache.path_for(stored.sha256)}
    assert len(links) == 1
    assert os.listdir(cache.base_dir) == [stored.sha256]


async def test_ensure_refuses_unsupported_formats_and_missing_sources(tmp_path, stored):
    cache = BaseCache(tmp_path / "_base")
    with pytest.raises(InvalidImage, match="'vmdk' is not supported"):
        await cache.ensure(stored.sha256, stored.path, "vmdk")
    with pytest.raises(StorageError, match="cannot link base image"):
        await cache.ensure(SHA_A, tmp_path / "missing", "raw")
    assert os.listdir(cache.base_dir) == []


async def test_prune_removes_only_unused_bases_and_stale_temp_files(tmp_path):
    cache = BaseCache(tmp_path / "_base")
    cache.base_dir.mkdir()
    for name in (SHA_A, SHA_B, SHA_C, "lost+found", TEMP_PREFIX + "old", TEMP_PREFIX + "new"):
        (cache.base_dir / name).write_bytes(b"x")
    hour_ago = time.time() - 7200
    os.utime(cache.base_dir / (TEMP_PREFIX + "old"), (hour_ago, hour_ago))
    assert await cache.prune({SHA_B}) == [SHA_A, SHA_C]
    assert sorted(os.listdir(cache.base_dir)) == sorted([SHA_B, "lost+found", TEMP_PREFIX + "new"])
    assert await cache.prune({SHA_B}) == []
    assert await BaseCache(tmp_path / "never-made").prune(set()) == []


async def test_root_overlays_after_the_first_are_copies_of_its_template(tmp_path, base, monkeypatch):
    """The first overlay of a base and size is qemu-img's and kept; the next ones are its bytes, which are what
    qemu-img writes for that base and size (checked against a fresh one), 0600; another size is qemu-img's again."""
    templates = OverlayTemplates(tmp_path / "overlays")
    made = []
    real = qemu_img.create_overlay

    async def counted(*args, **kwargs):
        made.append(args[3])
        return await real(*args, **kwargs)

    monkeypatch.setattr(qemu_img, "create_overlay", counted)
    first = await create_instance_disks(tmp_path / "instances" / "u1", base=base, base_format="qcow2", root_gb=2,
                                        image_virtual_size=GiB, ephemeral_gb=0, swap_mb=0, templates=templates)
    second = await create_instance_disks(tmp_path / "instances" / "u2", base=base, base_format="qcow2", root_gb=2,
                                         image_virtual_size=GiB, ephemeral_gb=0, swap_mb=0, templates=templates)
    assert made == [2 * GiB]  # the second one was copied
    fresh = tmp_path / "fresh.qcow2"
    await real(base, "qcow2", fresh, 2 * GiB, GiB)
    assert first.root.read_bytes() == second.root.read_bytes() == fresh.read_bytes()
    assert second.root.stat().st_mode & 0o777 == 0o600
    info = await qemu_img.info(second.root)
    assert (info.format, info.backing_file, info.virtual_size) == ("qcow2", str(base), 2 * GiB)
    (template,) = templates.directory.iterdir()
    assert template.name.startswith(f"{base.name}.qcow2.{2 * GiB}.") and template.stat().st_mode & 0o777 == 0o600

    third = await create_instance_disks(tmp_path / "instances" / "u3", base=base, base_format="qcow2", root_gb=3,
                                        image_virtual_size=GiB, ephemeral_gb=0, swap_mb=0, templates=templates)
    assert made == [2 * GiB, 3 * GiB]
    assert (await qemu_img.info(third.root)).virtual_size == 3 * GiB
    assert len(list(templates.directory.iterdir())) == 2


async def test_a_failed_qemu_img_leaves_no_template(tmp_path, base, monkeypatch):
    templates = OverlayTemplates(tmp_path / "overlays")

    async def failing(*_args, **_kwargs):
        raise DiskError("qemu-img failed (as the test asked)")

    monkeypatch.setattr(qemu_img, "create_overlay", failing)
    with pytest.raises(DiskError):
        await create_instance_disks(tmp_path / "instances" / "u1", base=base, base_format="qcow2", root_gb=2,
                                    image_virtual_size=GiB, ephemeral_gb=0, swap_mb=0, templates=templates)
    assert not templates.directory.exists() or list(templates.directory.iterdir()) == []
    assert not (tmp_path / "instances" / "u1").exists()


async def test_templates_outlive_their_base_and_go_with_their_image(tmp_path, stored, monkeypatch):
    """A pruned base comes back at the same path for the image's next server: its templates stay until the image
    leaves the store (prune's `stored`), as do names that are not templates; temp files a crash left go."""
    cache = BaseCache(tmp_path / "instances" / "_base", tmp_path / "overlays")
    base = await cache.ensure(stored.sha256, stored.path, "qcow2")
    await create_instance_disks(tmp_path / "instances" / "u1", base=base, base_format="qcow2", root_gb=2,
                                image_virtual_size=GiB, ephemeral_gb=0, swap_mb=0, templates=cache.templates)
    await remove_instance_dir(tmp_path / "instances" / "u1")
    (template,) = cache.templates.directory.iterdir()
    gone = cache.templates.directory / f"{SHA_B}.qcow2.{GiB}.0123456789abcdef"
    partial = cache.templates.directory / ".partial-x"
    other = cache.templates.directory / "lost+found"
    for path in (gone, partial, other):
        path.write_bytes(b"x")
    assert await cache.prune(set(), stored=lambda sha256: sha256 == stored.sha256) == [stored.sha256]
    assert sorted(cache.templates.directory.iterdir()) == sorted([template, other])

    made = []
    monkeypatch.setattr(qemu_img, "create_overlay", lambda *args, **kwargs: made.append(args))
    base = await cache.ensure(stored.sha256, stored.path, "qcow2")          # the same path again
    disks = await create_instance_disks(tmp_path / "instances" / "u2", base=base, base_format="qcow2", root_gb=2,
                                        image_virtual_size=GiB, ephemeral_gb=0, swap_mb=0,
                                        templates=cache.templates)
    assert made == [] and disks.root.read_bytes() == template.read_bytes()
    assert (await qemu_img.info(disks.root)).backing_file == str(base)

    assert await cache.prune(set(), stored=lambda sha256: False) == [stored.sha256]
    assert list(cache.templates.directory.iterdir()) == [other]
