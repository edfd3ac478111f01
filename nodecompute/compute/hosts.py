"""os-hosts (#2119-#2122, Nova's HostController and HostAPI up to 2.42) over this one host's services.

- list: every enabled service but the API ones (Nova filters `disabled: False`), as host name, topic and zone;
- show: the compute host's totals, what its compute node uses now, and what its servers' flavors add up to in all
  and per project (Nova's `(total)`, `(used_now)`, `(used_max)` rows, then one per project);
- update: `status` answers "enabled"/"disabled" and changes nothing, as Nova's compute manager does for the libvirt
  driver (its set_host_enabled is not implemented; the os-services API is what disables a compute service);
  `maintenance_mode` and the power actions (startup, shutdown, reboot) are not implemented by the libvirt driver:
  501. A host that is not a compute host is "not mapped to any cell" (404).
"""
from __future__ import annotations

from typing import NamedTuple

from nodecompute.compute.host_services import HostServices
from nodecompute.db import host_services as host_services_db
from nodecompute.domain.errors import NotFound, NotImplementedYet
from nodecompute.domain.host_models import COMPUTE, INTERNAL_ZONE


class HostEntry(NamedTuple):
    host_name: str
    service: str  # the service's topic
    zone: str


class HostResource(NamedTuple):
    host: str
    project: str  # a project id, or "(total)", "(used_now)", "(used_max)"
    cpu: int
    memory_mb: int
    disk_gb: int


class Hosts:
    def __init__(self, services: HostServices) -> None:
        self.services = services

    def _zone(self, binary: str) -> str:
        return self.services.cfg.compute.availability_zone if binary == COMPUTE else INTERNAL_ZONE

    def list(self, zone: str | None = None) -> list[HostEntry]:
        entries = [HostEntry(s.host, s.topic, self._zone(s.binary)) for s in self.services.list() if not s.disabled]
        return [entry for entry in entries if not zone or entry.zone == zone]

    def _mapped(self, host_name: str) -> str:
        """Nova's HostMapping: only a host with a compute service is mapped to a cell."""
        if not any(s.host == host_name for s in self.services.list(binary=COMPUTE)):
            raise NotFound(f"Host '{host_name}' is not mapped to any cell")
        return host_name

    async def show(self, host_name: str) -> list[HostResource]:
        self._mapped(host_name)
        node = next((n for n in self.services.node_ids() if n.host == host_name), None)
        if node is None:
            raise NotFound(f"Compute host {host_name} could not be found.")
        figures = await self.services.hypervisor(node)
        projects = self.services.store.read(host_services_db.host_servers_by_project, host_name)
        return [
            HostResource(host_name, "(total)", figures.vcpus, figures.memory_mb, figures.local_gb),
            HostResource(host_name, "(used_now)", figures.vcpus_used, figures.memory_mb_used, figures.local_gb_used),
            HostResource(host_name, "(used_max)", sum(p[1] for p in projects), sum(p[2] for p in projects),
                         sum(p[3] for p in projects)),
            *(HostResource(host_name, project, cpu, memory, disk) for project, cpu, memory, disk in projects)]

    def set_enabled(self, host_name: str, enabled: bool) -> str:
        self._mapped(host_name)
        return "enabled" if enabled else "disabled"

    def set_maintenance(self, host_name: str, mode: bool) -> str:
        self._mapped(host_name)
        raise NotImplementedYet()  # the libvirt driver's host_maintenance_mode

    def power_action(self, host_name: str, action: str) -> str:
        self._mapped(host_name)
        raise NotImplementedYet()  # the libvirt driver's host_power_action
