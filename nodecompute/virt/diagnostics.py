"""Nova's two diagnostics forms (GET /servers/{id}/diagnostics, #1901) from a domain's counters (domain_stats.py).

- `legacy_diagnostics` (microversions before 2.48): the free-form dict of Nova's libvirt get_diagnostics, keys in
  its order: cpu<id>_time; per disk <target>_read_req, _read, _write_req, _write, _errors; per NIC with a host
  device <dev>_rx, _rx_packets, _rx_errors, _rx_drop, _tx, _tx_packets, _tx_errors, _tx_drop; memory (the
  maximum, KiB); memory-<key> for every memoryStats() key (KiB).
- `standard_diagnostics` (2.48+): Nova's Diagnostics object as get_instance_diagnostics fills it. `utilisation`,
  `rx_rate` and `tx_rate` are always None (the libvirt driver never sets them); a NIC without a host device
  shows its MAC only; one whose device libvirt could not read is left out, as in Nova.
  memory_details are in MiB, the unit Nova documents (its libvirt driver divides info()'s KiB by Mi, which
  makes a 2 GiB guest show 2); `uptime` (seconds since launched_at) and `config_drive` are the server's, which
  the caller passes. `as_nova()` is the response body.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from nodecompute.virt.domain_stats import DomainCounters, NicCounters

# nova.objects.fields.InstancePowerState by power_state index (nova/compute/power_state.py STATE_MAP)
POWER_STATE_NAMES = {0: "pending", 1: "running", 3: "paused", 4: "shutdown", 6: "crashed", 7: "suspended"}
DRIVER = "libvirt"
HYPERVISOR_OS = "linux"


@dataclass(frozen=True)
class CpuDetails:
    id: int
    time: int  # ns
    utilisation: int | None = None


@dataclass(frozen=True)
class NicDetails:
    mac_address: str | None
    rx_octets: int | None = None
    rx_errors: int | None = None
    rx_drop: int | None = None
    rx_packets: int | None = None
    rx_rate: int | None = None
    tx_octets: int | None = None
    tx_errors: int | None = None
    tx_drop: int | None = None
    tx_packets: int | None = None
    tx_rate: int | None = None


@dataclass(frozen=True)
class DiskDetails:
    read_bytes: int
    read_requests: int
    write_bytes: int
    write_requests: int
    errors_count: int


@dataclass(frozen=True)
class MemoryDetails:
    maximum: int  # MiB
    used: int  # MiB


@dataclass(frozen=True)
class Diagnostics:
    state: str
    driver: str
    hypervisor: str  # "qemu" | "kvm" (Nova: CONF.libvirt.virt_type)
    hypervisor_os: str
    uptime: int | None
    config_drive: bool
    num_cpus: int
    num_nics: int
    num_disks: int
    memory_details: MemoryDetails
    cpu_details: tuple[CpuDetails, ...]
    nic_details: tuple[NicDetails, ...]
    disk_details: tuple[DiskDetails, ...]

    def as_nova(self) -> dict[str, Any]:
        body = asdict(self)
        for key in ("cpu_details", "nic_details", "disk_details"):
            body[key] = list(body[key])
        return body


def standard_diagnostics(counters: DomainCounters, *, hypervisor: str, uptime: int | None,
                         config_drive: bool) -> Diagnostics:
    cpus = tuple(CpuDetails(id=vcpu.id, time=vcpu.time_ns) for vcpu in counters.vcpu_times)
    nics = tuple(details for nic in counters.nics if (details := _nic_details(nic)) is not None)
    disks = tuple(DiskDetails(read_bytes=d.read_bytes, read_requests=d.read_requests, write_bytes=d.write_bytes,
                              write_requests=d.write_requests, errors_count=d.errors) for d in counters.disks)
    return Diagnostics(
        state=POWER_STATE_NAMES.get(counters.power_state, "pending"), driver=DRIVER, hypervisor=hypervisor,
        hypervisor_os=HYPERVISOR_OS, uptime=uptime, config_drive=config_drive,
        num_cpus=len(cpus), num_nics=len(nics), num_disks=len(disks),
        memory_details=MemoryDetails(maximum=counters.max_memory_kib // 1024, used=counters.memory_kib // 1024),
        cpu_details=cpus, nic_details=nics, disk_details=disks,
    )


def _nic_details(nic: NicCounters) -> NicDetails | None:
    if nic.target is None:
        return NicDetails(mac_address=nic.mac)
    traffic = nic.traffic
    if traffic is None:
        return None
    return NicDetails(
        mac_address=nic.mac, rx_octets=traffic.rx_bytes, rx_errors=traffic.rx_errors, rx_drop=traffic.rx_drop,
        rx_packets=traffic.rx_packets, tx_octets=traffic.tx_bytes, tx_errors=traffic.tx_errors,
        tx_drop=traffic.tx_drop, tx_packets=traffic.tx_packets)


def legacy_diagnostics(counters: DomainCounters) -> dict[str, int]:
    out: dict[str, int] = {}
    for vcpu in counters.vcpu_times:
        out[f"cpu{vcpu.id}_time"] = vcpu.time_ns
    for disk in counters.disks:
        out[f"{disk.target}_read_req"] = disk.read_requests
        out[f"{disk.target}_read"] = disk.read_bytes
        out[f"{disk.target}_write_req"] = disk.write_requests
        out[f"{disk.target}_write"] = disk.write_bytes
        out[f"{disk.target}_errors"] = disk.errors
    for nic in counters.nics:
        if nic.target is None or nic.traffic is None:
            continue
        t = nic.traffic
        for suffix, value in (("rx", t.rx_bytes), ("rx_packets", t.rx_packets), ("rx_errors", t.rx_errors),
                              ("rx_drop", t.rx_drop), ("tx", t.tx_bytes), ("tx_packets", t.tx_packets),
                              ("tx_errors", t.tx_errors), ("tx_drop", t.tx_drop)):
            out[f"{nic.target}_{suffix}"] = value
    out["memory"] = counters.max_memory_kib
    for key, value in counters.memory_stats:
        out[f"memory-{key}"] = value
    return out
