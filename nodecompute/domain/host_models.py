"""Records of the host as an operator sees it: its services (os-services), its compute node (os-hypervisors), the
figures a hypervisor view shows, and server groups (os-server-groups)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

COMPUTE = "nova-compute"
INTERNAL_ZONE = "internal"  # Nova's [DEFAULT] internal_service_availability_zone
# The services Nova lists for a one-node deployment (its API services are never listed), with their topics.
SERVICE_BINARIES = (("nova-scheduler", "scheduler"), ("nova-conductor", "conductor"), (COMPUTE, "compute"))
AFFINITY, ANTI_AFFINITY = "affinity", "anti-affinity"
SOFT_AFFINITY, SOFT_ANTI_AFFINITY = "soft-affinity", "soft-anti-affinity"


@dataclass(frozen=True)
class Service:
    id: int
    uuid: str
    host: str
    binary: str
    topic: str
    disabled: bool
    disabled_reason: str | None
    forced_down: bool
    created_at: datetime
    updated_at: datetime | None


@dataclass(frozen=True)
class ComputeNode:
    id: int
    uuid: str
    host: str
    hypervisor_hostname: str


@dataclass(frozen=True)
class HostServers:
    """What the live servers of the host hold (Nova's resource tracker's usage)."""

    count: int
    workload: int  # Nova's current_workload
    vcpus: int
    memory_mb: int
    disk_gb: int  # root + ephemeral + swap, in GiB as Nova counts them
    servers: tuple[tuple[str, str], ...]  # (instance name, uuid), oldest first


@dataclass(frozen=True)
class Hypervisor:
    """One compute node as the hypervisor views show it (Nova's ComputeNode fields), with its service."""

    node: ComputeNode
    service: Service
    hypervisor_type: str
    hypervisor_version: int
    host_ip: str
    vcpus: int
    vcpus_used: int
    memory_mb: int
    memory_mb_used: int
    local_gb: int
    local_gb_used: int
    free_disk_gb: int
    disk_available_least: int
    running_vms: int
    current_workload: int
    cpu_info: dict[str, Any]
    uptime: str
    servers: tuple[tuple[str, str], ...]

    @property
    def free_ram_mb(self) -> int:
        return self.memory_mb - self.memory_mb_used

    @property
    def state(self) -> str:
        return "down" if self.service.forced_down else "up"

    @property
    def status(self) -> str:
        return "disabled" if self.service.disabled else "enabled"


@dataclass(frozen=True)
class ServerGroup:
    uuid: str
    name: str
    policy: str
    rules: dict[str, Any]
    project_id: str
    user_id: str
    members: tuple[str, ...]
    created_at: datetime
