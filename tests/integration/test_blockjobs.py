"""virt/blockjobs.py and virt/disk_devices.py on a real guest under qemu:///embed (TCG): the test guest boots once
for the module and every test works on it, in file order; the last one restarts it from the disk it was moved to.

What the guest wrote is read back from the copies: its boot counter (file `bootcount` on its FAT root disk) with
mtools after a conversion to raw, and whole disks with qemu-img compare while the guest is paused. What the guest
sees of hot-plugged disks is its own report (images/README.md): `disk-added <name> sectors= serial= marker=` and
`disk-removed <name>`, the marker being the NCMARK: line a test writes at the start of a volume.
"""
from __future__ import annotations

import asyncio
import json
import os
import stat
import subprocess
import time
import uuid
import xml.etree.ElementTree as ET
from pathlib import Path

import libvirt
import pytest

from nodecompute.storage import configdrive, qemu_img
from nodecompute.storage.errors import DiskError
from nodecompute.storage.volumes import VolumeFiles, compare
from nodecompute.virt import blockjobs, disk_devices
from nodecompute.virt.disk_devices import VolumeDisk
from nodecompute.virt.errors import (
    DeviceStillAttached,
    DiskNotFound,
    DomainNotRunning,
    HypervisorError,
    InvalidDevicePath,
)
from nodecompute.virt.hypervisor import Hypervisor
from tests.integration.cloud import guest_image

pytestmark = pytest.mark.integration
BOOT_TIMEOUT = 120.0
MiB = 1 << 20
GiB = 1 << 30
DETACH_FAST = {"wait_seconds": 5.0, "poll_seconds": 0.1}  # Nova's 8 x 20 s is for slow guests, not this one


class Guest:
    def __init__(self, hv: Hypervisor, workdir: Path) -> None:
        self.hv = hv
        self.workdir = workdir
        self.uuid = str(uuid.uuid4())
        self.name = f"instance-{self.uuid[:8]}"
        self.root = workdir / "disk"
        self.config_drive = workdir / "disk.config"  # found at once: no 3 s wait for a missing one at each boot
        self.console = workdir / "console.log"
        self.volumes = VolumeFiles(workdir)

    def domain_xml(self, *, name: str | None = None, uuid_: str | None = None) -> str:
        host = self.hv.host
        cpu = "host-model" if host.domain_type == "kvm" else "maximum"
        return f"""<domain type='{host.domain_type}'>
  <name>{name or self.name}</name><uuid>{uuid_ or self.uuid}</uuid>
  <memory unit='MiB'>128</memory><vcpu>1</vcpu><cpu mode='{cpu}'/>
  <os><type arch='{host.arch}' machine='{host.machine}'>hvm</type><boot dev='hd'/></os>
  <features><acpi/><apic/></features>
  <devices>
    <emulator>{host.emulator}</emulator>
    <disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='{self.root}'/>
      <target dev='vda' bus='virtio'/></disk>
    <disk type='file' device='cdrom'><driver name='qemu' type='raw'/><source file='{self.config_drive}'/>
      <target dev='hda' bus='ide'/><readonly/></disk>
    <serial type='file'><source path='{self.console}' append='on'/><target port='0'/></serial>
    <memballoon model='none'/>
  </devices>
</domain>"""

    async def boot(self) -> None:
        self.console.write_bytes(b"")
        await self.hv.define(self.domain_xml())
        await self.hv.start(self.name)
        await self.wait_console("NCGUEST ready")

    def console_mark(self) -> int:
        """Where the console log ends now: wait_console(after=...) looks only at what comes later."""
        return self.console.stat().st_size

    async def wait_console(self, text: str, timeout: float = BOOT_TIMEOUT, *, after: int = 0) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            output = self.console.read_bytes()[after:].decode(errors="replace")
            if text in output:
                return output
            await asyncio.sleep(0.2)
        raise AssertionError(f"{text!r} not on the console after {timeout}s: {output[-2000:]!r}")

    async def dom(self, fn):
        return await disk_devices.on_domain(self.hv, "test", self.name, fn)

    async def pause(self) -> None:
        await self.dom(lambda dom: dom.suspend())

    async def resume(self) -> None:
        await self.dom(lambda dom: dom.resume())

    async def source_of(self, target: str, *, persistent: bool = False) -> str | None:
        disks = await disk_devices.list_disks(self.hv, self.name, persistent=persistent)
        return next((disk.source for disk in disks if disk.target == target), None)


@pytest.fixture(scope="module")
async def guest(hv, tmp_path_factory):
    workdir = tmp_path_factory.mktemp("blockjobs")
    made = Guest(hv, workdir)
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", "-b", str(guest_image()), "-F", "qcow2",
                    str(made.root), "64M"], check=True)
    meta_data = json.dumps({"uuid": made.uuid, "name": "blockjobs", "hostname": "blockjobs"}).encode()
    configdrive.write_iso({"openstack/latest/meta_data.json": meta_data}, made.config_drive)
    started = time.monotonic()
    await made.boot()
    print(f"\ntest guest ready in {time.monotonic() - started:.1f}s")
    yield made
    await hv.destroy(made.name)
    await hv.undefine(made.name)


@pytest.fixture(autouse=True)
async def _unplug_leftovers(request):
    """A failed test may leave a volume plugged in: take it out, so the next test starts from vda and hda."""
    yield
    if "guest" not in request.fixturenames:
        return
    guest = request.getfixturevalue("guest")
    if await guest.hv.power_state(guest.name) != 1:
        return
    for target in await disk_devices.used_device_names(guest.hv, guest.name) - {"vda", "hda"}:
        await disk_devices.detach_disk(guest.hv, guest.name, target, **DETACH_FAST)


def bootcount(qcow2: Path, workdir: Path) -> str:
    raw = workdir / f"{qcow2.name}.raw"
    subprocess.run(["qemu-img", "convert", "-f", "qcow2", "-O", "raw", str(qcow2), str(raw)], check=True)
    try:
        done = subprocess.run(["mtype", "-i", str(raw), "::bootcount"], capture_output=True, text=True, check=True)
    finally:
        raw.unlink()
    return done.stdout.strip()


def partials(directory: Path) -> list[str]:
    return [entry.name for entry in directory.iterdir() if entry.name.startswith(blockjobs.PARTIAL_PREFIX)]


def disk_element(domain_xml: str, target: str) -> ET.Element:
    found = disk_devices.find_disk(ET.fromstring(domain_xml), target)
    assert found is not None, f"no disk {target}"
    return found


async def test_backup_of_the_running_root_disk(guest, tmp_path):
    dest = tmp_path / "root-backup"
    started = time.monotonic()
    await blockjobs.backup_disk(guest.hv, guest.name, "vda", dest)
    print(f"\nbackup of a running 64 MiB root: {time.monotonic() - started:.2f}s")
    found = await qemu_img.info(dest)
    assert (found.format, found.virtual_size, found.backing_file) == ("qcow2", 64 * MiB, None)  # standalone
    assert stat.S_IMODE(dest.stat().st_mode) == 0o600
    assert partials(tmp_path) == []
    assert bootcount(dest, tmp_path) == "1"  # what the guest wrote at boot is in the copy
    assert await guest.hv.power_state(guest.name) == 1


async def test_backup_while_paused_is_the_disk_as_it_is(guest, tmp_path):
    await guest.pause()
    try:
        dest = tmp_path / "paused-backup"
        await blockjobs.backup_disk(guest.hv, guest.name, "vda", dest)
        with pytest.raises(DiskError, match="lock"):  # QEMU holds the image even while paused
            await qemu_img.info(guest.root)
        assert await compare(guest.root, dest, force_share=True)  # the guest is still: -U reads a point in time
        assert await guest.hv.power_state(guest.name) == 3
    finally:
        await guest.resume()


async def test_a_cancelled_backup_leaves_nothing_and_a_bad_one_is_refused(guest, tmp_path):
    dest = tmp_path / "cancelled"
    task = asyncio.create_task(blockjobs.backup_disk(guest.hv, guest.name, "vda", dest, poll_seconds=0.05))
    while not partials(tmp_path) and not task.done():
        await asyncio.sleep(0.001)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert partials(tmp_path) == [] and not dest.exists()
    assert (await guest.dom(lambda dom: dom.jobStats(0)))["type"] == libvirt.VIR_DOMAIN_JOB_NONE

    with pytest.raises(DiskNotFound, match="Device 'vdq' not found."):
        await blockjobs.backup_disk(guest.hv, guest.name, "vdq", dest)
    with pytest.raises(HypervisorError, match="missing-dir"):  # libvirt refuses it before any job runs
        await blockjobs.backup_disk(guest.hv, guest.name, "vda", tmp_path / "missing-dir" / "x")
    assert partials(tmp_path) == [] and not dest.exists()
    await blockjobs.backup_disk(guest.hv, guest.name, "vda", dest)  # nothing stale is in the way
    assert bootcount(dest, tmp_path) == "1"


async def test_hot_plug_and_unplug_a_blank_volume(guest):
    volume_id = str(uuid.uuid4())
    volume = await guest.volumes.create_empty(volume_id, 1)
    used = await disk_devices.used_device_names(guest.hv, guest.name)
    assert used == {"vda", "hda"}
    target = disk_devices.next_device_name(used)
    assert target == "vdb"
    cache = disk_devices.cache_mode_for(volume.path.parent)
    disk = VolumeDisk(path=str(volume.path), target=target, serial=disk_devices.serial_for(volume_id), cache=cache)

    started = time.monotonic()
    mark = guest.console_mark()
    assert await disk_devices.attach_disk(guest.hv, guest.name, disk) is True
    print(f"\nhot-plug: {time.monotonic() - started:.2f}s")
    await guest.wait_console(f"NCGUEST disk-added vdb sectors={GiB // 512} serial={volume_id[:20]} marker=none\r\n",
                             after=mark)
    print(f"hot-plug seen by the guest: {time.monotonic() - started:.2f}s")
    for persistent in (False, True):
        listed = {d.target: d for d in await disk_devices.list_disks(guest.hv, guest.name, persistent=persistent)}
        assert listed["vdb"].source == str(volume.path)
        assert (listed["vdb"].bus, listed["vdb"].format, listed["vdb"].serial) == ("virtio", "qcow2", volume_id[:20])
    live = disk_element(await guest.hv.live_xml(guest.name), "vdb")
    assert (live.find("driver").get("cache"), live.find("driver").get("discard")) == ("none", "unmap")
    assert live.find("alias") is not None  # QEMU has the device
    assert (await guest.dom(lambda dom: dom.blockInfo("vdb")))[0] == GiB
    with pytest.raises(InvalidDevicePath, match=r"The supplied device path \(/dev/vdb\) is in use."):
        await disk_devices.attach_disk(guest.hv, guest.name, disk)

    started = time.monotonic()
    mark = guest.console_mark()
    await disk_devices.detach_disk(guest.hv, guest.name, "vdb", **DETACH_FAST)
    print(f"\nunplug: {time.monotonic() - started:.2f}s")
    await guest.wait_console("NCGUEST disk-removed vdb\r\n", after=mark)
    assert await disk_devices.used_device_names(guest.hv, guest.name) == {"vda", "hda"}
    assert (await qemu_img.info(volume.path)).virtual_size == GiB  # QEMU let go: no lock, no -U
    with pytest.raises(DiskNotFound):
        await disk_devices.detach_disk(guest.hv, guest.name, "vdb", **DETACH_FAST)
    await guest.volumes.delete_volume(volume_id)


async def test_a_guest_that_keeps_the_disk_is_reported_and_the_disk_stays(guest):
    volume_id = str(uuid.uuid4())
    volume = await guest.volumes.create_empty(volume_id, 1)
    disk = VolumeDisk(path=str(volume.path), target="vdb", serial=volume_id)
    await disk_devices.attach_disk(guest.hv, guest.name, disk)
    await guest.pause()  # a paused guest cannot answer the unplug request
    try:
        with pytest.raises(DeviceStillAttached, match="Device detach failed for vdb: the guest did not release"):
            await disk_devices.detach_disk(guest.hv, guest.name, "vdb", attempts=1, wait_seconds=0.3,
                                           poll_seconds=0.1)  # libvirt itself waits 5 s per request
        for persistent in (False, True):
            listed = await disk_devices.list_disks(guest.hv, guest.name, persistent=persistent)
            assert "vdb" in {d.target for d in listed}
    finally:
        await guest.resume()
    await disk_devices.detach_disk(guest.hv, guest.name, "vdb", **DETACH_FAST)  # once running it lets go
    assert await disk_devices.used_device_names(guest.hv, guest.name) == {"vda", "hda"}
    await guest.volumes.delete_volume(volume_id)


async def test_online_resize_grows_only(guest):
    grown = await blockjobs.resize_disk(guest.hv, guest.name, "vda", 96 * MiB)
    assert grown == 96 * MiB
    assert (await guest.dom(lambda dom: dom.blockInfo("vda")))[0] == 96 * MiB
    assert (await qemu_img.info(guest.root, force_share=True)).virtual_size == 96 * MiB  # in the file itself
    assert await blockjobs.resize_disk(guest.hv, guest.name, "vda", 96 * MiB) == 96 * MiB
    with pytest.raises(HypervisorError, match="disks only grow"):
        await blockjobs.resize_disk(guest.hv, guest.name, "vda", 64 * MiB)
    assert (await guest.dom(lambda dom: dom.blockInfo("vda")))[0] == 96 * MiB


def write_marker(volume: Path, text: str) -> None:
    """The guest's marker format: NCMARK:<text> and a newline, zero-padded to 512 bytes, at the disk's start."""
    sector = volume.with_name(volume.name + ".mark")
    sector.write_bytes(f"NCMARK:{text}\n".encode().ljust(512, b"\0"))
    subprocess.run(["qemu-io", "-f", "qcow2", "-c", f"write -s {sector} 0 512", str(volume)], check=True,
                   capture_output=True)
    sector.unlink()


async def test_swap_a_volume_onto_another_with_a_block_copy(guest):
    old_id, new_id = str(uuid.uuid4()), str(uuid.uuid4())
    old = await guest.volumes.create_empty(old_id, 1)
    write_marker(old.path, f"swap-{old_id[:8]}")
    new = await guest.volumes.create_empty(new_id, 1)
    mark = guest.console_mark()
    await disk_devices.attach_disk(guest.hv, guest.name, VolumeDisk(path=str(old.path), target="vdb",
                                                                    serial=old_id))
    await guest.wait_console(f"marker=swap-{old_id[:8]}\r\n", after=mark)

    started = time.monotonic()
    await blockjobs.copy_disk_and_pivot(guest.hv, guest.name, "vdb", new.path)
    print(f"\nswap of a 1 GiB volume: {time.monotonic() - started:.2f}s")
    assert await guest.source_of("vdb") == str(new.path)
    assert await guest.source_of("vdb", persistent=True) == str(new.path)
    await qemu_img.info(old.path)  # QEMU let go of the old volume: no lock, no -U
    mark = guest.console_mark()
    await disk_devices.detach_disk(guest.hv, guest.name, "vdb", **DETACH_FAST)
    await guest.wait_console("NCGUEST disk-removed vdb\r\n", after=mark)

    # The new volume, plugged in on its own, carries what the guest had on the old one.
    mark = guest.console_mark()
    await disk_devices.attach_disk(guest.hv, guest.name, VolumeDisk(path=str(new.path), target="vdb",
                                                                    serial=new_id))
    await guest.wait_console(f"NCGUEST disk-added vdb sectors={GiB // 512} serial={new_id[:20]} "
                             f"marker=swap-{old_id[:8]}\r\n", after=mark)
    await disk_devices.detach_disk(guest.hv, guest.name, "vdb", **DETACH_FAST)


async def test_a_stopped_domain_gets_disks_in_its_definition_only(hv, guest, tmp_path):
    other = str(uuid.uuid4())
    name = f"instance-{other[:8]}"
    await hv.define(guest.domain_xml(name=name, uuid_=other))
    try:
        volume = await guest.volumes.create_empty(other, 1)
        disk = VolumeDisk(path=str(volume.path), target="vdc", serial=other)
        assert await disk_devices.attach_disk(hv, name, disk) is False
        assert "vdc" in {d.target for d in await disk_devices.list_disks(hv, name, persistent=True)}
        with pytest.raises(DomainNotRunning):
            await blockjobs.backup_disk(hv, name, "vda", tmp_path / "never")
        with pytest.raises(DomainNotRunning):
            await blockjobs.resize_disk(hv, name, "vda", 128 * MiB)
        await disk_devices.detach_disk(hv, name, "vdc")
        assert {d.target for d in await disk_devices.list_disks(hv, name, persistent=True)} == {"vda", "hda"}
        assert partials(tmp_path) == []
    finally:
        await hv.undefine(name)


async def test_block_copy_moves_the_running_root_disk_for_good(guest, tmp_path):
    dest = guest.workdir / "disk.moved"
    started = time.monotonic()
    await blockjobs.copy_disk_and_pivot(guest.hv, guest.name, "vda", dest)
    print(f"\nblock copy + pivot of the root disk: {time.monotonic() - started:.2f}s")
    assert await guest.source_of("vda") == str(dest)
    assert await guest.source_of("vda", persistent=True) == str(dest)
    found = await qemu_img.info(dest, force_share=True)
    assert (found.backing_file, found.virtual_size) == (None, 96 * MiB)  # a full copy, with the resize
    assert stat.S_IMODE(dest.stat().st_mode) == 0o600

    os.unlink(guest.root)  # the old disk is gone: the next start can only use the new one
    await guest.hv.destroy(guest.name)
    guest.console.write_bytes(b"")
    await guest.hv.start(guest.name)
    output = await guest.wait_console("NCGUEST ready")
    assert "NCGUEST boot=2" in output  # the counter the guest wrote on its first boot came along
    assert "NCGUEST disk root=100663296 " in output  # 96 MiB: the online resize too
