"""One running domain's own counters, read the way Nova's libvirt driver reads them for diagnostics, and every
running domain's cumulative CPU and network counters in one call, for the stats sampler.

- `read_domain_counters`: info() (state, memory, vCPUs, CPU time), vcpus() (time per vCPU), blockStats() of every
  <disk> with a target, interfaceStats() of every <interface> with a target, memoryStats(). As in Nova's
  get_diagnostics, a statistic libvirt cannot give (vcpus() under some drivers, blockStats() of an empty cdrom,
  a NIC without a host device such as user networking) is left out rather than failing the whole read.
  diagnostics.py turns the result into Nova's two answer forms.
- `read_all_counters`: getAllDomainStats (cpu.time, vcpu.current, net.*.rx/tx.bytes) of every running domain,
  keyed by domain UUID (the server id), for nodecompute.compute.stats_sampler; CPU from info() where the driver
  has no CPU statistics (the test driver).
Network counters are the guest's view (libvirt swaps the tap's rx and tx).
"""
from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import libvirt

from nodecompute.virt.hypervisor import NOSTATE, POWER_STATES, Hypervisor

T = TypeVar("T")
ALL_COUNTERS_STATS = (libvirt.VIR_DOMAIN_STATS_CPU_TOTAL | libvirt.VIR_DOMAIN_STATS_VCPU
                      | libvirt.VIR_DOMAIN_STATS_INTERFACE)


@dataclass(frozen=True)
class VcpuTime:
    id: int
    time_ns: int


@dataclass(frozen=True)
class DiskCounters:
    target: str  # vda, hda ...
    read_requests: int
    read_bytes: int
    write_requests: int
    write_bytes: int
    errors: int  # -1: QEMU does not count them


@dataclass(frozen=True)
class NicTraffic:
    rx_bytes: int
    rx_packets: int
    rx_errors: int
    rx_drop: int
    tx_bytes: int
    tx_packets: int
    tx_errors: int
    tx_drop: int


@dataclass(frozen=True)
class NicCounters:
    mac: str | None
    target: str | None  # the host-side device (tap); None when there is none (user networking)
    traffic: NicTraffic | None  # None without a target, or when libvirt could not read the device


@dataclass(frozen=True)
class DomainCounters:
    name: str
    uuid: str
    power_state: int  # Nova's power_state (1 running, 3 paused, 4 shutdown ...)
    max_memory_kib: int
    memory_kib: int  # current (balloon) memory
    vcpus: int
    cpu_time_ns: int  # all vCPUs and QEMU's own threads
    vcpu_times: tuple[VcpuTime, ...]  # empty when the driver cannot tell per vCPU
    disks: tuple[DiskCounters, ...]
    nics: tuple[NicCounters, ...]
    memory_stats: tuple[tuple[str, int], ...]  # memoryStats() in libvirt's order (actual, rss, ...), KiB


@dataclass(frozen=True)
class CumulativeCounters:
    """What the stats sampler needs of one running domain, all counting up since the domain started."""
    cpu_time_ns: int
    vcpus: int
    rx_bytes: int
    tx_bytes: int


@dataclass(frozen=True)
class IoDevices:
    disks: tuple[str, ...]  # targets, in XML order
    nics: tuple[tuple[str | None, str | None], ...]  # (mac, target) of every <interface>, in XML order


def io_devices(domain_xml: str) -> IoDevices:
    """Disk targets and NICs of a domain's XML (Nova's _get_io_devices, plus the MACs of every interface)."""
    devices = ET.fromstring(domain_xml).find("devices")
    if devices is None:
        return IoDevices((), ())
    disks = tuple(t.get("dev", "") for t in devices.findall("disk/target") if t.get("dev"))
    nics = tuple((_attr(nic.find("mac"), "address"), _attr(nic.find("target"), "dev"))
                 for nic in devices.findall("interface"))
    return IoDevices(disks, nics)


def _attr(element: ET.Element | None, name: str) -> str | None:
    return (element.get(name) or None) if element is not None else None


def counters_from_libvirt(*, name: str, uuid: str, domain_xml: str, info: Sequence[int],
                          vcpus: Sequence[Sequence[int]] | None, block_stats: Mapping[str, Sequence[int] | None],
                          iface_stats: Mapping[str, Sequence[int] | None],
                          memory_stats: Mapping[str, int] | None) -> DomainCounters:
    """libvirt's answers -> DomainCounters. info: virDomainGetInfo [state, maxMem KiB, memory KiB, nrVirtCpu,
    cpuTime ns]; vcpus: vcpus()[0] rows (number, state, cpuTime, cpu), None when it failed; block_stats: target ->
    (rd_req, rd_bytes, wr_req, wr_bytes, errs) or None; iface_stats: target -> the eight interfaceStats values."""
    state, max_kib, current_kib, nr_vcpus, cpu_time = info[:5]
    devices = io_devices(domain_xml)
    return DomainCounters(
        name=name, uuid=uuid, power_state=POWER_STATES.get(state, NOSTATE),
        max_memory_kib=max_kib, memory_kib=current_kib, vcpus=nr_vcpus, cpu_time_ns=cpu_time,
        vcpu_times=tuple(VcpuTime(row[0], row[2]) for row in vcpus or ()),
        disks=tuple(DiskCounters(target, *stats[:5]) for target in devices.disks
                    if (stats := block_stats.get(target)) is not None),
        nics=tuple(NicCounters(mac, target, _traffic(iface_stats.get(target)) if target else None)
                   for mac, target in devices.nics),
        memory_stats=tuple((key, value) for key, value in (memory_stats or {}).items()),
    )


def _traffic(stats: Sequence[int] | None) -> NicTraffic | None:
    return NicTraffic(*stats[:8]) if stats is not None else None


def cumulative_counters(record: Mapping[str, Any]) -> CumulativeCounters:
    """One domain's getAllDomainStats record (cpu.time, vcpu.current, net.<i>.rx.bytes ...) -> counters."""
    nics = range(record.get("net.count", 0))
    return CumulativeCounters(
        cpu_time_ns=record.get("cpu.time", 0),
        vcpus=record.get("vcpu.current", 0),
        rx_bytes=sum(record.get(f"net.{i}.rx.bytes", 0) for i in nics),
        tx_bytes=sum(record.get(f"net.{i}.tx.bytes", 0) for i in nics),
    )


async def read_domain_counters(hv: Hypervisor, name: str) -> DomainCounters:
    """The counters of domain `name` (DomainNotFound if there is none). A domain that is not running has no
    vCPU, disk or NIC statistics: those come back empty."""
    return await hv.run("diagnostics", name, lambda conn: _read_domain(conn, name))


async def read_all_counters(hv: Hypervisor) -> dict[str, CumulativeCounters]:
    """Domain UUID -> cumulative counters of every running domain."""
    def op(conn: libvirt.virConnect) -> dict[str, CumulativeCounters]:
        records = conn.getAllDomainStats(ALL_COUNTERS_STATS, libvirt.VIR_CONNECT_GET_ALL_DOMAINS_STATS_ACTIVE)
        return {dom.UUIDString(): cumulative_counters(_with_info_fallback(dom, record)) for dom, record in records}
    return await hv.run("stats", "domains", op)


def _with_info_fallback(dom: libvirt.virDomain, record: Mapping[str, Any]) -> Mapping[str, Any]:
    """Drivers that give no CPU statistics (the test driver gives only state.*): CPU time and vCPUs from info()."""
    if "cpu.time" in record:
        return record
    try:
        info = dom.info()
    except libvirt.libvirtError:
        return record
    return {**record, "cpu.time": info[4], "vcpu.current": info[3]}


def _read_domain(conn: libvirt.virConnect, name: str) -> DomainCounters:
    dom = conn.lookupByName(name)
    domain_xml = dom.XMLDesc(0)
    devices = io_devices(domain_xml)
    vcpus = _optional(lambda: dom.vcpus()[0])
    return counters_from_libvirt(
        name=name, uuid=dom.UUIDString(), domain_xml=domain_xml, info=dom.info(), vcpus=vcpus,
        block_stats={t: _optional(lambda t=t: dom.blockStats(t)) for t in devices.disks},
        iface_stats={t: _optional(lambda t=t: dom.interfaceStats(t)) for _mac, t in devices.nics if t},
        memory_stats=_optional(dom.memoryStats),
    )


def _optional(read: Callable[[], T]) -> T | None:
    """A statistic the driver cannot give is None; a domain that vanished meanwhile is still an error."""
    try:
        return read()
    except libvirt.libvirtError as err:
        if err.get_error_code() == libvirt.VIR_ERR_NO_DOMAIN:
            raise
        return None
