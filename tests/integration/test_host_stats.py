"""Host stats, diagnostics and the stats sampler's counters against real libvirt: the test guest booting under
qemu:///embed (TCG, KVM where usable) with a tap NIC that libvirt makes and a user-networking NIC, on the session's
embed root (conftest.py), compared with what the OS itself says; and the same readers on the test driver."""
from __future__ import annotations

import asyncio
import os
import platform
import re
import socket
import subprocess
import time
import uuid
import xml.etree.ElementTree as ET
from datetime import datetime
from pathlib import Path

import pytest

from nodecompute.compute.stats_sampler import StatsSampler
from nodecompute.virt import designer, domain_xml, host_os
from nodecompute.virt.diagnostics import legacy_diagnostics, standard_diagnostics
from nodecompute.virt.domain_stats import read_all_counters, read_domain_counters
from nodecompute.virt.errors import DomainNotFound
from nodecompute.virt.host_stats import decode_version, read_host_stats
from nodecompute.virt.hypervisor import Hypervisor
from tests.integration.cloud import guest_image

pytestmark = pytest.mark.integration
GIB = 1024 ** 3
MEMORY_MB = 128
BOOT_READ_BYTES = 4 * 1024 * 1024  # SYSLINUX has read a good part of the kernel by then
BOOT_READ_TIMEOUT = 60.0
MAC_TAP, MAC_USER = "fa:16:3e:5a:00:01", "fa:16:3e:5a:00:02"
CPU_VENDORS = {"GenuineIntel": "Intel", "AuthenticAMD": "AMD"}


def guest_xml(hv: Hypervisor, inst: Path, *, tap: str) -> tuple[str, str]:
    server_id = str(uuid.uuid4())
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", "-F", "qcow2", "-b", str(guest_image()),
                    str(inst / "disk")], check=True)
    with open(inst / "disk.config", "wb") as f:
        f.truncate(1024 * 1024)  # an empty drive: the guest reports configdrive=none and goes on
    (inst / "console.log").touch()
    spec = designer.design_domain(
        name=f"instance-{server_id[:8]}", uuid=server_id, display_name="stats", memory_mb=MEMORY_MB, vcpus=1,
        disks=designer.image_backed_disks(root=str(inst / "disk"), config_drive=str(inst / "disk.config")),
        console_log=str(inst / "console.log"), vnc_socket=None, server_id=server_id, project_id="project-a")
    dom = ET.fromstring(domain_xml.render(spec, hv.host))
    devices = dom.find("devices")
    for kind, mac, target in (("ethernet", MAC_TAP, tap), ("user", MAC_USER, None)):
        nic = ET.SubElement(devices, "interface", {"type": kind})
        ET.SubElement(nic, "mac", {"address": mac})
        if target:
            ET.SubElement(nic, "target", {"dev": target})  # libvirt makes the tap
        ET.SubElement(nic, "model", {"type": "virtio"})
        ET.SubElement(nic, "rom", {"enabled": "no"})  # no iPXE: the guest boots from its disk at once
    return spec.name, ET.tostring(dom, encoding="unicode")


@pytest.fixture(scope="module")
async def guest(hv, tmp_path_factory):
    inst = tmp_path_factory.mktemp("stats-guest")
    tap = f"ncst{uuid.uuid4().hex[:8]}"
    name, xml = guest_xml(hv, inst, tap=tap)
    started = time.monotonic()
    await hv.define(xml)
    try:
        await hv.start(name)
        print(f"\ndefine+start of the test guest: {time.monotonic() - started:.2f}s")
        yield name, tap
    finally:
        await hv.destroy(name)
        await hv.undefine(name)


async def wait_for_disk_reads(hv: Hypervisor, name: str) -> None:
    deadline = time.monotonic() + BOOT_READ_TIMEOUT
    while time.monotonic() < deadline:
        counters = await read_domain_counters(hv, name)
        if counters.disks and counters.disks[0].read_bytes >= BOOT_READ_BYTES:
            return
        await asyncio.sleep(0.2)
    raise AssertionError(f"the guest read less than {BOOT_READ_BYTES} bytes in {BOOT_READ_TIMEOUT}s")


def tap_statistic(tap: str, counter: str) -> int:
    return int(Path(f"/sys/class/net/{tap}/statistics/{counter}").read_text())


async def test_diagnostics_of_a_running_guest_are_plausible_and_grow(hv, guest):
    name, tap = guest
    await wait_for_disk_reads(hv, name)
    host_sent_before = tap_statistic(tap, "tx_bytes")
    first = await read_domain_counters(hv, name)
    host_sent_after = tap_statistic(tap, "tx_bytes")
    await asyncio.sleep(1.0)
    second = await read_domain_counters(hv, name)

    assert first.power_state == 1 and first.vcpus == 1 and first.name == name
    assert first.max_memory_kib == first.memory_kib == MEMORY_MB * 1024
    assert [v.id for v in first.vcpu_times] == [0]
    assert second.vcpu_times[0].time_ns > first.vcpu_times[0].time_ns > 0
    assert second.cpu_time_ns > first.cpu_time_ns >= first.vcpu_times[0].time_ns
    assert [d.target for d in first.disks] == ["vda", "hda"]
    vda = first.disks[0]
    assert vda.read_bytes >= BOOT_READ_BYTES and vda.read_requests > 0 and vda.errors == -1  # QEMU counts none
    assert second.disks[0].read_bytes >= vda.read_bytes
    tap_nic, user_nic = first.nics
    assert (tap_nic.mac, tap_nic.target) == (MAC_TAP, tap) and tap_nic.traffic is not None
    assert host_sent_before <= tap_nic.traffic.rx_bytes <= host_sent_after  # the guest receives what the tap sends
    assert (user_nic.mac, user_nic.target, user_nic.traffic) == (MAC_USER, None, None)
    memory = dict(first.memory_stats)
    assert memory["actual"] == MEMORY_MB * 1024 and memory["rss"] > 0

    body = standard_diagnostics(second, hypervisor=hv.host.domain_type, uptime=7, config_drive=True).as_nova()
    assert body["state"] == "running" and body["hypervisor"] in ("qemu", "kvm") and body["driver"] == "libvirt"
    assert (body["num_cpus"], body["num_disks"], body["num_nics"]) == (1, 2, 2)
    assert body["memory_details"] == {"maximum": MEMORY_MB, "used": MEMORY_MB}
    assert body["cpu_details"][0]["time"] == second.vcpu_times[0].time_ns
    assert body["nic_details"][0]["mac_address"] == MAC_TAP and body["nic_details"][0]["rx_octets"] >= 0
    assert body["nic_details"][1] == {key: None for key in body["nic_details"][0]} | {"mac_address": MAC_USER}

    legacy = legacy_diagnostics(second)
    disk_keys = {f"{d}_{k}" for d in ("vda", "hda") for k in ("read_req", "read", "write_req", "write", "errors")}
    nic_keys = {f"{tap}_{k}" for k in ("rx", "rx_packets", "rx_errors", "rx_drop", "tx", "tx_packets",
                                        "tx_errors", "tx_drop")}
    memory_keys = {f"memory-{key}" for key, _ in second.memory_stats}
    assert set(legacy) == {"cpu0_time", "memory"} | disk_keys | nic_keys | memory_keys
    assert legacy["vda_read"] == second.disks[0].read_bytes and legacy["memory"] == MEMORY_MB * 1024


async def test_diagnostics_of_a_defined_but_stopped_domain_and_of_none(hv, guest, tmp_path):
    name, xml = guest_xml(hv, tmp_path, tap=f"ncst{uuid.uuid4().hex[:8]}")
    await hv.define(xml)
    try:
        counters = await read_domain_counters(hv, name)
    finally:
        await hv.undefine(name)
    assert counters.power_state == 4 and counters.vcpu_times == () and counters.disks == ()
    assert [nic.traffic for nic in counters.nics] == [None, None]
    assert standard_diagnostics(counters, hypervisor="qemu", uptime=None, config_drive=True).state == "shutdown"
    with pytest.raises(DomainNotFound):
        await read_domain_counters(hv, "instance-deadbeef")


async def test_host_stats_match_the_os(hv, guest, tmp_path):
    stats = await read_host_stats(hv, tmp_path)
    meminfo = host_os.read_meminfo()
    st = os.statvfs(tmp_path)

    assert stats.hypervisor_type == "QEMU"
    qemu = subprocess.run([hv.host.emulator, "--version"], capture_output=True, text=True, check=True).stdout
    assert ".".join(map(str, decode_version(stats.hypervisor_version))) in qemu  # "QEMU emulator version 7.2.22"
    assert stats.hypervisor_hostname.split(".")[0] == socket.gethostname().split(".")[0]
    assert stats.vcpus == os.cpu_count()
    assert stats.memory_mb == meminfo.total_kib // 1024
    expected_used = meminfo.total_kib // 1024 - meminfo.available_kib // 1024
    assert abs(stats.memory_mb_used - expected_used) <= max(256, stats.memory_mb // 20)  # the host is busy
    assert stats.running_domains >= 1 and stats.vcpus_used_by_domains >= 1
    assert stats.memory_mb_used_by_domains >= MEMORY_MB
    assert stats.local_gb == st.f_frsize * st.f_blocks // GIB
    assert abs(stats.local_gb_used - st.f_frsize * (st.f_blocks - st.f_bfree) // GIB) <= 1

    cpu = stats.cpu_info
    topology = cpu.topology
    assert cpu.arch == platform.machine()
    assert topology.cells * topology.sockets * topology.cores * topology.threads == os.cpu_count()
    vendor_id = re.search(r"^vendor_id\s*:\s*(\S+)", Path("/proc/cpuinfo").read_text(), re.MULTILINE)
    if vendor_id and vendor_id.group(1) in CPU_VENDORS:
        assert cpu.vendor == CPU_VENDORS[vendor_id.group(1)]
    assert cpu.as_nova()["features"] == sorted(cpu.features) and cpu.features

    route_iface = host_os.default_route_interface(Path("/proc/net/route").read_text())
    if route_iface is None:
        assert stats.host_ip == "127.0.0.1"
    else:
        shown = subprocess.run(["ip", "-4", "-o", "addr", "show", "dev", route_iface], capture_output=True,
                               text=True, check=True).stdout
        assert stats.host_ip == re.search(r"inet (\S+)/", shown).group(1)
    assert re.fullmatch(r" \d\d:\d\d:\d\d up .+,  load average: \d+\.\d\d, \d+\.\d\d, \d+\.\d\d", stats.uptime)


def test_uptime_line_is_what_uptime_prints():
    """Same clock, same line; a minute or a load average may change between the two reads: three tries."""
    for _attempt in range(3):
        printed = subprocess.run(["uptime"], capture_output=True, text=True, check=True,
                                 env={"LANG": "C", "PATH": os.environ["PATH"]}).stdout.rstrip("\n")
        hour, minute, second = map(int, printed.split()[0].split(":"))
        ours = host_os.uptime_text(datetime.now().replace(hour=hour, minute=minute, second=second))
        if ours == printed:
            return
    assert ours == printed


async def test_sampler_on_libvirt_counters(hv, guest):
    name, _tap = guest
    server_id = (await read_domain_counters(hv, name)).uuid
    sampler = StatsSampler(lambda: read_all_counters(hv), clock=time.monotonic, interval=0.5, window=10)
    await sampler.sample()
    await asyncio.sleep(1.0)
    await sampler.sample()
    (point,) = sampler.series(server_id)
    assert 0 < point.cpu_percent <= 100  # the guest is booting or idling in its kernel: some CPU either way
    assert point.rx_bytes_per_s >= 0 and point.tx_bytes_per_s >= 0
    counters = (await read_all_counters(hv))[server_id]
    assert counters.vcpus == 1 and counters.cpu_time_ns > 0


async def test_readers_work_on_the_test_driver(tmp_path):
    test_hv = Hypervisor("test:///default")
    await test_hv.open()
    try:
        stats = await read_host_stats(test_hv, tmp_path)
        assert stats.hypervisor_type == "TEST" and stats.vcpus > 0 and stats.memory_mb > 0
        assert stats.running_domains >= 1  # the test driver's own "test" domain
        counters = await read_all_counters(test_hv)
        assert all(c.vcpus >= 1 for c in counters.values())
        diagnostics = await read_domain_counters(test_hv, "test")
        assert diagnostics.power_state == 1 and diagnostics.vcpus >= 1
    finally:
        await test_hv.close()
