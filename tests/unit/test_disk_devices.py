"""The pure parts of virt/disk_devices.py and virt/blockjobs.py: disk XML in and out, device names, the backup
job's XML, the cache mode probe, and the call wrapper that never abandons a libvirt call."""
from __future__ import annotations

import asyncio
import os
import xml.etree.ElementTree as ET

import pytest

from nodecompute.storage import volumes
from nodecompute.virt import blockjobs
from nodecompute.virt.disk_devices import (
    DiskInfo,
    VolumeDisk,
    cache_mode_for,
    device_letters,
    next_device_name,
    parse_disks,
    replace_disk_source,
    serial_for,
    settled,
    volume_disk_xml,
)
from nodecompute.virt.errors import DiskNotFound, InvalidDevicePath, TooManyDisks

DOMAIN = """<domain type='qemu'><name>instance-1</name><devices>
  <emulator>/usr/bin/qemu-system-x86_64</emulator>
  <disk type='file' device='disk'><driver name='qemu' type='qcow2'/>
    <source file='/data/instances/u/disk' index='1'/><target dev='vda' bus='virtio'/></disk>
  <disk type='file' device='cdrom'><driver name='qemu' type='raw'/><source file='/data/instances/u/disk.config'/>
    <target dev='hda' bus='ide'/><readonly/></disk>
  <disk type='block' device='disk'><driver name='qemu' type='raw' cache='none'/><source dev='/dev/sdz'/>
    <target dev='vdb' bus='virtio'/><serial>0123456789abcdef0123</serial></disk>
  <disk type='file' device='cdrom'><target dev='hdb' bus='ide'/></disk>
</devices></domain>"""


def test_parse_disks_lists_target_source_bus_serial():
    assert parse_disks(DOMAIN) == (
        DiskInfo("vda", "virtio", "disk", "/data/instances/u/disk", "qcow2", None),
        DiskInfo("hda", "ide", "cdrom", "/data/instances/u/disk.config", "raw", None),
        DiskInfo("vdb", "virtio", "disk", "/dev/sdz", "raw", "0123456789abcdef0123"),
        DiskInfo("hdb", "ide", "cdrom", None, None, None),
    )


def test_volume_disk_xml_is_virtio_cache_none_discard_unmap_with_a_20_character_serial():
    volume_id = "0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0"
    disk = VolumeDisk(path="/data/volumes/volume-" + volume_id, target="vdb", serial=serial_for(volume_id))
    assert volume_disk_xml(disk) == (
        "<disk type=\"file\" device=\"disk\">"
        "<driver name=\"qemu\" type=\"qcow2\" cache=\"none\" discard=\"unmap\" />"
        f"<source file=\"/data/volumes/volume-{volume_id}\" />"
        "<target dev=\"vdb\" bus=\"virtio\" />"
        "<serial>0b1c2d3e-4f50-6172-8</serial>"
        "</disk>")
    long_serial = VolumeDisk(path="/v", target="vdc", serial=volume_id, cache="writethrough")
    parsed = parse_disks(f"<domain><devices>{volume_disk_xml(long_serial)}</devices></domain>")
    assert parsed[0].serial == volume_id[:20]
    assert ET.fromstring(volume_disk_xml(long_serial)).find("driver").get("cache") == "writethrough"


@pytest.mark.parametrize("used,requested,expected", [
    (set(), None, "vda"),
    ({"vda", "hda"}, None, "vdb"),
    ({"vda", "vdc"}, None, "vdb"),
    ({"vda", "hda"}, "/dev/vdd", "vdd"),
    ({"vda"}, "vdb", "vdb"),
    ({f"vd{chr(c)}" for c in range(ord("a"), ord("z") + 1)}, None, "vdaa"),
])
def test_next_device_name(used, requested, expected):
    assert next_device_name(used, requested=requested) == expected


@pytest.mark.parametrize("requested", ["/dev/sdb", "/dev/hdb", "vdb1", "/dev/vd", "/dev/VDB", "disk"])
def test_a_requested_name_must_be_a_virtio_name(requested):
    with pytest.raises(InvalidDevicePath) as caught:
        next_device_name({"vda"}, requested=requested)
    assert str(caught.value) == f"The supplied device path ({requested}) is invalid."


def test_a_requested_name_in_use_is_refused_with_novas_text():
    with pytest.raises(InvalidDevicePath) as caught:
        next_device_name({"vda", "vdb"}, requested="/dev/vdb")
    assert caught.value.in_use and str(caught.value) == "The supplied device path (/dev/vdb) is in use."


def test_too_many_disks():
    with pytest.raises(TooManyDisks, match=r"maximum allowed number of disk devices \(3\)"):
        next_device_name({"vda", "vdb", "vdc"}, max_devices=3)
    assert next_device_name({"vda", "vdb"}, max_devices=3) == "vdc"


def test_device_letters_as_nova_counts():
    assert [device_letters(i) for i in (0, 1, 25, 26, 27, 701, 702)] == ["a", "b", "z", "aa", "ab", "zz", "aaa"]


def test_replace_disk_source():
    changed = replace_disk_source(DOMAIN, "vdb", "/data/volumes/volume-x")
    disks = {disk.target: disk for disk in parse_disks(changed)}
    assert disks["vdb"].source == "/data/volumes/volume-x"
    assert disks["vda"].source == "/data/instances/u/disk"
    element = ET.fromstring(changed).find("devices/disk[3]")
    assert element.get("type") == "file" and element.find("source").attrib == {"file": "/data/volumes/volume-x"}
    with pytest.raises(DiskNotFound, match="Device 'vdq' not found."):
        replace_disk_source(DOMAIN, "vdq", "/x")


def test_backup_xml_backs_up_one_disk_and_names_every_other():
    assert blockjobs._backup_xml(["vda", "hda", "vdb"], "vdb", "/data/volumes/.partial-snapshot-1") == (
        "<domainbackup mode=\"push\"><disks>"
        "<disk name=\"vda\" backup=\"no\" /><disk name=\"hda\" backup=\"no\" />"
        "<disk name=\"vdb\" backup=\"yes\" type=\"file\"><target file=\"/data/volumes/.partial-snapshot-1\" />"
        "<driver type=\"qcow2\" /></disk>"
        "</disks></domainbackup>")


def test_partial_files_of_backup_jobs_are_swept_with_the_volumes():
    assert blockjobs.PARTIAL_PREFIX == volumes.TEMP_PREFIX


def test_cache_mode_for_a_file_system_with_o_direct(tmp_path):
    assert cache_mode_for(tmp_path) == "none"  # ext4 here
    assert list(tmp_path.iterdir()) == []  # the probe file is gone


def test_cache_mode_without_o_direct_is_writethrough(tmp_path, monkeypatch):
    """Refusing O_DIRECT is what a file system without it does (tmpfs before Linux 6.6: this kernel's has it)."""
    real_open = os.open

    def no_direct_io(path, flags, *args):
        if flags & os.O_DIRECT:
            raise OSError(22, "Invalid argument")
        return real_open(path, flags, *args)

    monkeypatch.setattr(os, "open", no_direct_io)
    assert cache_mode_for(tmp_path) == "writethrough"
    assert list(tmp_path.iterdir()) == []


async def test_settled_lets_the_call_finish_before_the_caller_is_cancelled():
    finished = asyncio.Event()

    async def call():
        await asyncio.sleep(0.2)
        finished.set()
        return "done"

    outer = asyncio.create_task(settled(asyncio.ensure_future(call())))
    await asyncio.sleep(0.05)
    outer.cancel()
    with pytest.raises(asyncio.CancelledError):
        await outer
    assert finished.is_set()  # the cancellation took effect only once the call had returned
    assert await settled(asyncio.ensure_future(call())) == "done"
