"""Host facts for os-hypervisors without a hypervisor: cpu_info from capabilities XML, the version integer, the
`uptime` line from sample /proc contents and utmp records, /proc/meminfo, statvfs, the default route."""
from __future__ import annotations

import json
import os
import struct
from datetime import datetime
from pathlib import Path

import pytest

from nodecompute.virt import host_os
from nodecompute.virt.host_os import DiskUsage, LoadAverage, MemoryUse
from nodecompute.virt.host_stats import (
    CpuInfo, CpuTopology, HostStats, MaxPhysAddr, decode_version, encode_version, parse_cpu_info,
)

DATA = Path(__file__).resolve().parent.parent / "data"
GIB = 1024 ** 3

CAPS_WITH_FEATURES = """<capabilities><host><cpu>
  <arch>x86_64</arch><model>Nehalem</model><vendor>Intel</vendor>
  <topology sockets='4' cores='1' threads='1'/>
  <feature name='pge'/><feature name='clflush'/><feature policy='disable' name='vmx'/>
</cpu></host></capabilities>"""

ROUTES = """Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT
eth1\t00000000\t0102A8C0\t0002\t0\t0\t0\t00000000\t0\t0\t0
eth0\t00000000\t010200C0\t0003\t0\t0\t200\t00000000\t0\t0\t0
wlan0\t00000000\t0101A8C0\t0003\t0\t0\t100\t00000000\t0\t0\t0
lo\t00030201\t01010101\t0003\t0\t0\t0\t00FFFFFF\t0\t0\t0
eth0\t000200C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0
"""


def utmp_record(ut_type: int, user: str) -> bytes:
    record = bytearray(host_os.UTMP_RECORD_SIZE)
    struct.pack_into("=hxxi32s4s32s", record, 0, ut_type, 1234, b"pts/0", b"ts/0", user.encode())
    return bytes(record)


# cpu_info and version ------------------------------------------------------------------------------------------

def test_cpu_info_from_the_test_capabilities():
    info = parse_cpu_info((DATA / "capabilities_qemu_x86_64.xml").read_text())
    assert info == CpuInfo(arch="x86_64", model="Broadwell-noTSX-IBRS", vendor="Intel",
                           topology=CpuTopology(cells=1, sockets=1, cores=2, threads=1), features=(),
                           maxphysaddr=MaxPhysAddr(mode="emulate", bits=46))
    assert info.as_nova() == {
        "arch": "x86_64", "model": "Broadwell-noTSX-IBRS", "vendor": "Intel",
        "topology": {"cells": 1, "sockets": 1, "cores": 2, "threads": 1},
        "maxphysaddr": {"mode": "emulate", "bits": 46}, "features": [],
    }
    assert list(info.as_nova()) == ["arch", "model", "vendor", "topology", "maxphysaddr", "features"]  # Nova's order


def test_cpu_info_features_without_disabled_ones_and_one_cell_without_numa_topology():
    info = parse_cpu_info(CAPS_WITH_FEATURES)
    assert info.features == ("clflush", "pge")
    assert info.topology == CpuTopology(cells=1, sockets=4, cores=1, threads=1)
    assert info.maxphysaddr is None
    body = json.loads(json.dumps(info.as_nova()))  # the pre-2.28 string form round-trips
    assert body == {"arch": "x86_64", "model": "Nehalem", "vendor": "Intel",
                    "topology": {"cells": 1, "sockets": 4, "cores": 1, "threads": 1}, "features": ["clflush", "pge"]}


def test_cpu_info_counts_numa_cells():
    caps = ("<capabilities><host><cpu><arch>x86_64</arch><topology sockets='1' cores='4' threads='2'/></cpu>"
            "<topology><cells num='2'><cell id='0'/><cell id='1'/></cells></topology></host></capabilities>")
    info = parse_cpu_info(caps)
    assert info.topology == CpuTopology(cells=2, sockets=1, cores=4, threads=2)
    assert info.model is None and info.vendor is None


@pytest.mark.parametrize(("parts", "number"), [((7, 2, 22), 7002022), ((9, 0, 0), 9000000), ((2, 11, 1), 2011001)])
def test_hypervisor_version_encoding(parts, number):
    assert encode_version(*parts) == number
    assert decode_version(number) == parts


# uptime -------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("now", "uptime", "users", "loadavg", "line"), [
    ((12, 34, 56), "266490.51 500000.00", 1, "0.00 0.01 0.05 1/123 4567",
     " 12:34:56 up 3 days,  2:01,  1 user,  load average: 0.00, 0.01, 0.05"),
    ((8, 32, 11), "8101543.20 1.00", 12, "0.20 0.12 0.14 2/300 99",  # Nova's api sample, to the letter
     " 08:32:11 up 93 days, 18:25, 12 users,  load average: 0.20, 0.12, 0.14"),
    ((13, 2, 18), "2592.77 1857.54", 0, "5.00 4.54 3.81 3/139 18818",  # `uptime` on the test machine
     " 13:02:18 up 43 min,  0 user,  load average: 5.00, 4.54, 3.81"),
    ((0, 0, 5), "86700.00 0.00", 2, "12.50 1.00 0.00 1/1 1",
     " 00:00:05 up 1 day, 5 min,  2 users,  load average: 12.50, 1.00, 0.00"),
    ((23, 59, 59), "3600.99 0.00", 1, "0.00 0.00 0.00 1/1 1",
     " 23:59:59 up  1:00,  1 user,  load average: 0.00, 0.00, 0.00"),
])
def test_uptime_line_as_procps_prints_it(tmp_path, now, uptime, users, loadavg, line):
    (tmp_path / "uptime").write_text(uptime + "\n")
    (tmp_path / "loadavg").write_text(loadavg + "\n")
    utmp = tmp_path / "utmp"
    utmp.write_bytes(b"".join(utmp_record(host_os.USER_PROCESS, f"user{i}") for i in range(users)))
    assert host_os.uptime_text(datetime(2026, 1, 1, *now), proc=tmp_path, utmp=utmp) == line


def test_utmp_counts_user_processes_with_a_name_only():
    records = [utmp_record(2, "reboot"), utmp_record(6, "LOGIN"), utmp_record(host_os.USER_PROCESS, "alice"),
               utmp_record(host_os.USER_PROCESS, ""), utmp_record(8, "bob"), utmp_record(host_os.USER_PROCESS, "bob")]
    data = b"".join(records)
    assert host_os.count_utmp_users(data) == 2
    assert host_os.count_utmp_users(data + b"\0" * 100) == 2  # a torn last record is ignored


def test_uptime_without_utmp_counts_no_user(tmp_path):
    (tmp_path / "uptime").write_text("59.99 1.00\n")
    (tmp_path / "loadavg").write_text("0.10 0.20 0.30 1/1 1\n")
    line = host_os.uptime_text(datetime(2026, 5, 1, 7, 8, 9), proc=tmp_path, utmp=tmp_path / "missing")
    assert line == " 07:08:09 up 0 min,  0 user,  load average: 0.10, 0.20, 0.30"


def test_loadavg_and_uptime_parsers():
    assert host_os.parse_loadavg("1.25 0.50 0.01 2/345 6789\n") == LoadAverage(1.25, 0.5, 0.01)
    assert host_os.parse_proc_uptime("12345.67 2345.00\n") == 12345.67


# memory and disk ----------------------------------------------------------------------------------------------

MEMINFO = """MemTotal:       24683568 kB
MemFree:        19198976 kB
MemAvailable:   23548396 kB
Buffers:          135104 kB
Cached:          3939128 kB
SwapCached:            0 kB
HugePages_Total:       0
"""


def test_meminfo_and_novas_memory_used():
    memory = host_os.parse_meminfo(MEMINFO)
    assert memory == MemoryUse(total_kib=24683568, free_kib=19198976, buffers_kib=135104, cached_kib=3939128)
    assert memory.available_kib == 19198976 + 135104 + 3939128
    stats = host_stats_with(memory_mb=24683568 // 1024, memory=memory)
    assert stats.memory_mb_used == 24105 - 22727 == 1378  # Nova: total MiB - (free+buffers+cached) // 1024


def test_disk_usage_counts_as_nova_get_fs_info():
    # f_bsize, f_frsize, f_blocks, f_bfree, f_bavail, f_files, f_ffree, f_favail, f_flag, f_namemax
    st = os.statvfs_result((4096, 4096, 66_060_288, 20_000_000, 19_000_000, 0, 0, 0, 0, 255))
    usage = host_os.disk_usage_from_statvfs(st)
    assert usage == DiskUsage(total_bytes=4096 * 66_060_288, free_bytes=4096 * 19_000_000,
                              used_bytes=4096 * (66_060_288 - 20_000_000))
    assert (usage.total_gb, usage.used_gb, usage.free_gb) == (252, 175, 72)  # truncated GiB, as ComputeNode keeps
    stats = host_stats_with(disk=usage)
    assert (stats.local_gb, stats.local_gb_used) == (252, 175)


def test_disk_usage_of_a_real_directory(tmp_path):
    st = os.statvfs(tmp_path)
    assert host_os.disk_usage(tmp_path).total_bytes == st.f_frsize * st.f_blocks


# host address -------------------------------------------------------------------------------------------------

def test_default_route_is_the_lowest_metric_up_route():
    assert host_os.default_route_interface(ROUTES) == "wlan0"  # eth1's default route is not up
    no_default = "\n".join(line for line in ROUTES.splitlines() if "\t00000000\t0" not in line or "lo" in line)
    assert host_os.default_route_interface(no_default) is None
    assert host_os.default_route_interface("") is None


def test_host_ip_falls_back_to_localhost(tmp_path):
    (tmp_path / "net").mkdir()
    assert host_os.host_ip(tmp_path) == "127.0.0.1"  # no route table at all
    (tmp_path / "net" / "route").write_text(ROUTES.replace("wlan0", "ncnosuchif0"))
    assert host_os.host_ip(tmp_path) == "127.0.0.1"  # the route's interface has no address
    (tmp_path / "net" / "route").write_text("Iface\tDestination\tGateway\tFlags\tRefCnt\tUse\tMetric\tMask\n"
                                             "lo\t00000000\t00000000\t0001\t0\t0\t0\t00000000\n")
    assert host_os.host_ip(tmp_path) == "127.0.0.1"  # read from the interface (lo) this time
    assert host_os.interface_ipv4("lo") == "127.0.0.1"
    assert host_os.interface_ipv4("ncnosuchif0") is None


def host_stats_with(**changes) -> HostStats:
    base = dict(hypervisor_hostname="node1", hypervisor_type="QEMU", hypervisor_version=7002022, vcpus=2,
                vcpus_used_by_domains=0, running_domains=0, memory_mb=1024,
                memory=MemoryUse(1024 * 1024, 512 * 1024, 0, 0), memory_mb_used_by_domains=0,
                disk=DiskUsage(10 * GIB, 5 * GIB, 5 * GIB), host_ip="127.0.0.1",
                cpu_info=parse_cpu_info(CAPS_WITH_FEATURES), uptime="")
    base.update(changes)
    return HostStats(**base)
