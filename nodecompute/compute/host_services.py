"""The host as an operator sees it: its services (os-services) and its compute node (os-hypervisors).

Services: the rows Nova lists for one node (scheduler, conductor, this host's compute), registered at start.
Only the compute service can be changed, as in Nova; a disabled or forced-down compute makes the one-host
scheduler find no host (servers.py). Deleting the compute service is refused while it hosts servers; a deleted
one comes back at the next start, as Nova's compute service re-registers itself.

Hypervisors: the compute node's figures as Nova's resource tracker reports them, from libvirt and the OS
(virt/host_stats.py) and the servers of the host: vcpus, memory_mb and local_gb are the host's; their `_used`
are what the host's servers hold (memory plus Nova's reserved_host_memory_mb); free_disk_gb is local_gb less
local_gb_used; disk_available_least is the data directory's free space (the libvirt driver's, before its
over-commit correction, which is not counted here).
"""
from __future__ import annotations

import fnmatch
from collections.abc import Awaitable, Callable
from datetime import datetime

from nodecompute.compute.placement import RESERVED_HOST_MEMORY_MB
from nodecompute.config import Config
from nodecompute.db import host_services as host_services_db
from nodecompute.db.store import Store
from nodecompute.domain.errors import BadRequest, Conflict, NotFound
from nodecompute.domain.host_models import COMPUTE, ComputeNode, Hypervisor, Service
from nodecompute.domain.models import Clock

ONLY_COMPUTE = "Updating a %s service is not supported. Only nova-compute services can be updated."
HOSTING = ("Unable to delete compute service that is hosting instances. Migrate or delete the instances first.")
StatsReader = Callable[[], Awaitable[object]]  # -> virt.host_stats.HostStats


class HostServices:
    def __init__(self, store: Store, cfg: Config, clock: Clock, read_stats: StatsReader | None = None) -> None:
        self.store = store
        self.cfg = cfg
        self.clock = clock
        self.read_stats = read_stats  # None: no hypervisor (an app without servers)
        self.started_at: datetime = clock()

    def _find(self, **where) -> Service | None:
        return self.store.read(lambda db: host_services_db.find_service(db, **where))

    # ----- services ------------------------------------------------------------------------------------------------

    def list(self, host: str | None = None, binary: str | None = None) -> list[Service]:
        return [s for s in self.store.read(host_services_db.list_services)
                if (not host or s.host == host) and (not binary or s.binary == binary)]

    def is_up(self, service: Service) -> bool:
        return not service.forced_down

    def compute_service(self, host: str) -> Service | None:
        return self._find(host=host, binary=COMPUTE)

    def compute_accepts_servers(self) -> bool:
        """The one-host scheduler's ComputeFilter: an enabled compute service that is up."""
        found = self._find(host=self.cfg.host_name, binary=COMPUTE)
        return found is not None and not found.disabled and self.is_up(found)

    async def update_by_host(self, host: str, binary: str, values: dict) -> Service:
        """enable, disable, disable-log-reason and force-down (up to 2.52): the service named by host and binary."""
        if binary != COMPUTE:
            raise BadRequest(ONLY_COMPUTE % binary)
        found = self._find(host=host, binary=binary)
        if found is None:
            raise NotFound(f"Service {binary} on host {host} could not be found.")  # Nova's HostBinaryNotFound
        return await self.store.write(host_services_db.update_service, found.id, values, now=self.clock())

    def get(self, service_id: str, by_uuid: bool) -> Service:
        found = self._find(**({"uuid": service_id} if by_uuid else {"service_id": int(service_id)}))
        if found is None:
            raise NotFound(f"Service {service_id} could not be found.")
        return found

    async def update(self, service: Service, values: dict) -> Service:
        """PUT /os-services/{uuid} (2.53+): status, disabled_reason, forced_down."""
        if service.binary != COMPUTE:
            raise BadRequest(ONLY_COMPUTE % service.binary)
        if not values:
            return service
        return await self.store.write(host_services_db.update_service, service.id, values, now=self.clock())

    async def delete(self, service: Service) -> None:
        if service.binary == COMPUTE and self.store.read(host_services_db.live_server_count, service.host):
            raise Conflict(HOSTING)
        await self.store.write(host_services_db.delete_service, service)

    # ----- hypervisors ---------------------------------------------------------------------------------------------

    def _nodes_with_service(self) -> list[tuple[ComputeNode, Service]]:
        found = []
        for node in self.store.read(host_services_db.compute_nodes):
            service = self._find(host=node.host, binary=COMPUTE)
            if service is not None:  # Nova skips a node whose service was deleted
                found.append((node, service))
        return found

    def node_ids(self, pattern: str | None = None) -> list[ComputeNode]:
        """The compute nodes (with a service), those whose hypervisor hostname contains `pattern` when given (Nova's
        LIKE '%pattern%'); 404 when a pattern matches none."""
        nodes = [node for node, _ in self._nodes_with_service()]
        if pattern is not None:
            nodes = [node for node in nodes if fnmatch.fnmatchcase(node.hypervisor_hostname.lower(),
                                                                   f"*{pattern.lower()}*")]
            if not nodes:
                raise NotFound(f"No hypervisor matching '{pattern}' could be found.")
        return nodes

    def find_node(self, hypervisor_id: str, by_uuid: bool) -> ComputeNode:
        for node, _ in self._nodes_with_service():
            if (node.uuid if by_uuid else str(node.id)) == hypervisor_id:
                return node
        raise NotFound(f"Hypervisor with ID '{hypervisor_id}' could not be found.")

    async def hypervisor(self, node: ComputeNode) -> Hypervisor:
        """The node's figures now (one libvirt read)."""
        if self.read_stats is None:
            raise NotFound(f"Hypervisor with ID '{node.id}' could not be found.")
        stats = await self.read_stats()
        service = self._find(host=node.host, binary=COMPUTE)
        if service is None:
            raise NotFound(f"Hypervisor with ID '{node.id}' could not be found.")
        used = self.store.read(host_services_db.host_servers, node.host)
        return Hypervisor(
            node=node, service=service, hypervisor_type=stats.hypervisor_type,
            hypervisor_version=stats.hypervisor_version, host_ip=stats.host_ip, vcpus=stats.vcpus,
            vcpus_used=used.vcpus, memory_mb=stats.memory_mb, memory_mb_used=RESERVED_HOST_MEMORY_MB + used.memory_mb,
            local_gb=stats.local_gb, local_gb_used=used.disk_gb, free_disk_gb=stats.local_gb - used.disk_gb,
            disk_available_least=stats.disk.free_gb, running_vms=used.count, current_workload=used.workload,
            cpu_info=stats.cpu_info.as_nova(), uptime=stats.uptime, servers=used.servers)

    async def hypervisors(self, pattern: str | None = None, limit: int | None = None,
                          marker: str | None = None, by_uuid: bool = False) -> list[Hypervisor]:
        nodes = self.node_ids(pattern)
        if marker is not None:
            ids = [node.uuid if by_uuid else str(node.id) for node in nodes]
            if marker not in ids:
                raise BadRequest(f"marker [{marker}] not found")
            nodes = nodes[ids.index(marker) + 1:]
        if limit is not None:
            nodes = nodes[:limit]
        return [await self.hypervisor(node) for node in nodes]
