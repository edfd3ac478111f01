"""The host as Nova's libvirt driver reports it to the resource tracker (get_available_resource), for
os-hypervisors list/detail/show/statistics/uptime. Facts only; which numbers the API shows is the service's call.

Where each number comes from (nova/virt/libvirt/driver.py and host.py):
- vcpus: the host's online logical CPUs (getCPUMap), Nova's `len(_get_vcpu_available())` without pinning sets.
- vcpus_used_by_domains: Nova's _get_vcpu_used, the vCPUs of every running domain (here from info(), one call
  per domain, instead of vcpus(), which Nova counts as 1 when it fails).
- memory_mb: Nova takes getInfo()[1], which libvirt computes from the NUMA nodes' memory; on hosts where that is
  less than /proc/meminfo's MemTotal (seen here: 9305 MiB of 24104), the node memory stats' total (MemTotal) is
  the truth, so that comes first, getInfo() being the fallback (the test driver has no memory stats).
- memory_mb_used: Nova's get_memory_mb_used, total minus MemFree+Buffers+Cached (host_os.MemoryUse).
  memory_mb_used_by_domains: the current memory of the running domains (Nova's _sum_domain_memory_mb, used when
  file-backed memory is configured).
- local_gb, local_gb_used, free_disk_gb: statvfs of the data directory (Nova: of instances_path).
- hypervisor_type: getType() ("QEMU"); hypervisor_version: getVersion(), already Nova's integer
  major * 1,000,000 + minor * 1,000 + release (QEMU 7.2.22 -> 7002022); hypervisor_hostname: getHostname().
- cpu_info: Nova's _get_cpu_info from the capabilities' host CPU (CpuInfo.as_nova).
- running_domains: active domains. Nova's `running_vms` is the resource tracker's count of its instances on the
  host (stopped ones included), which is the service's to count.
- uptime: `uptime`'s line (host_os.uptime_text); Nova puts it in the node's stats and shows it from 2.88.
"""
from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import libvirt

from nodecompute.virt import host_os
from nodecompute.virt.host_os import DiskUsage, MemoryUse
from nodecompute.virt.hypervisor import Hypervisor


@dataclass(frozen=True)
class CpuTopology:
    cells: int
    sockets: int | None
    cores: int | None
    threads: int | None


@dataclass(frozen=True)
class MaxPhysAddr:
    mode: str | None
    bits: int | None


@dataclass(frozen=True)
class CpuInfo:
    arch: str | None
    model: str | None
    vendor: str | None
    topology: CpuTopology
    features: tuple[str, ...]  # sorted (Nova keeps a set, which JSON shows in no fixed order)
    maxphysaddr: MaxPhysAddr | None = None

    def as_nova(self) -> dict[str, Any]:
        """Nova's cpu_info object (2.28+; before that the API shows `json.dumps` of it), keys in Nova's order."""
        info: dict[str, Any] = {"arch": self.arch, "model": self.model, "vendor": self.vendor,
                                "topology": {"cells": self.topology.cells, "sockets": self.topology.sockets,
                                             "cores": self.topology.cores, "threads": self.topology.threads}}
        if self.maxphysaddr is not None:
            info["maxphysaddr"] = {"mode": self.maxphysaddr.mode, "bits": self.maxphysaddr.bits}
        info["features"] = list(self.features)
        return info


@dataclass(frozen=True)
class HostStats:
    hypervisor_hostname: str
    hypervisor_type: str
    hypervisor_version: int
    vcpus: int
    vcpus_used_by_domains: int
    running_domains: int
    memory_mb: int
    memory: MemoryUse  # /proc/meminfo, for memory_mb_used
    memory_mb_used_by_domains: int
    disk: DiskUsage  # the data directory's filesystem
    host_ip: str
    cpu_info: CpuInfo
    uptime: str  # `uptime`'s line, no newline

    @property
    def memory_mb_used(self) -> int:
        """Nova's get_memory_mb_used: memory_mb minus (MemFree + Buffers + Cached)."""
        return self.memory_mb - self.memory.available_kib // 1024

    @property
    def local_gb(self) -> int:
        return self.disk.total_gb

    @property
    def local_gb_used(self) -> int:
        return self.disk.used_gb


def encode_version(major: int, minor: int, release: int) -> int:
    """libvirt's (and so Nova's) version integer."""
    return major * 1_000_000 + minor * 1_000 + release


def decode_version(version: int) -> tuple[int, int, int]:
    return version // 1_000_000, version // 1_000 % 1_000, version % 1_000


def parse_cpu_info(capabilities_xml: str) -> CpuInfo:
    """Nova's _get_cpu_info over <capabilities><host><cpu> (features with policy 'disable' left out)."""
    host = ET.fromstring(capabilities_xml).find("host")
    cpu = host.find("cpu") if host is not None else None
    if cpu is None:
        cpu = ET.Element("cpu")
    topology = cpu.find("topology")
    physaddr = cpu.find("maxphysaddr")
    features = {f.get("name", "") for f in cpu.findall("feature") if f.get("policy", "require") != "disable"}
    return CpuInfo(
        arch=cpu.findtext("arch"), model=cpu.findtext("model"), vendor=cpu.findtext("vendor"),
        topology=CpuTopology(
            cells=_numa_cells(host),
            sockets=_int_attr(topology, "sockets"), cores=_int_attr(topology, "cores"),
            threads=_int_attr(topology, "threads")),
        features=tuple(sorted(features)),
        maxphysaddr=None if physaddr is None else MaxPhysAddr(physaddr.get("mode"), _int_attr(physaddr, "bits")),
    )


def _numa_cells(host: ET.Element | None) -> int:
    """Nova: len(caps.host.topology.cells), 1 when the host shows no NUMA topology."""
    topology = host.find("topology") if host is not None else None
    if topology is None:
        return 1
    return len(topology.findall("cells/cell"))


def _int_attr(element: ET.Element | None, name: str) -> int | None:
    value = element.get(name) if element is not None else None
    return int(value) if value is not None else None


async def read_host_stats(hv: Hypervisor, data_dir: Path, *, now: datetime | None = None,
                          proc: Path = host_os.PROC, utmp: Path = host_os.UTMP) -> HostStats:
    """Everything above, read in one libvirt worker call. `now` (local time) is the uptime line's clock."""
    def op(conn: libvirt.virConnect) -> HostStats:
        domains_vcpus, domains_memory_kib, running = _running_domains(conn)
        return HostStats(
            hypervisor_hostname=conn.getHostname(),
            hypervisor_type=conn.getType(),
            hypervisor_version=conn.getVersion(),
            vcpus=_online_cpus(conn),
            vcpus_used_by_domains=domains_vcpus,
            running_domains=running,
            memory_mb=_memory_mb_total(conn),
            memory=host_os.read_meminfo(proc),
            memory_mb_used_by_domains=domains_memory_kib // 1024,
            disk=host_os.disk_usage(data_dir),
            host_ip=host_os.host_ip(proc),
            cpu_info=parse_cpu_info(conn.getCapabilities()),
            uptime=host_os.uptime_text(now, proc=proc, utmp=utmp),
        )
    return await hv.run("host stats", hv.uri, op)


def _online_cpus(conn: libvirt.virConnect) -> int:
    try:
        _count, online, _online_count = conn.getCPUMap()
    except libvirt.libvirtError:
        return conn.getInfo()[2]  # drivers without a CPU map (test driver): the active CPUs
    return sum(1 for is_online in online if is_online)


def _memory_mb_total(conn: libvirt.virConnect) -> int:
    try:
        return conn.getMemoryStats(libvirt.VIR_NODE_MEMORY_STATS_ALL_CELLS)["total"] // 1024
    except (libvirt.libvirtError, KeyError):
        return conn.getInfo()[1]


def _running_domains(conn: libvirt.virConnect) -> tuple[int, int, int]:
    """(vCPUs, current memory KiB, count) of the running domains; one vanishing meanwhile is left out."""
    vcpus = memory_kib = count = 0
    for dom in conn.listAllDomains(libvirt.VIR_CONNECT_LIST_DOMAINS_ACTIVE):
        try:
            _state, _max_kib, current_kib, nr_vcpus, _cpu_time = dom.info()
        except libvirt.libvirtError as err:
            if err.get_error_code() == libvirt.VIR_ERR_NO_DOMAIN:
                continue
            raise
        vcpus += nr_vcpus
        memory_kib += current_kib
        count += 1
    return vcpus, memory_kib, count
