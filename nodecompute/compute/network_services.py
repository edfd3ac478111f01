"""The networking service as the API sees it: one object per resource (networks, subnets, ports, quotas, routers,
their interfaces, floating IPs, the auto-allocated topology, servers' floating IPs) over one shared NetworkCore (networks.py), and the
host side they keep in step."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from nodecompute.compute.auto_topology import AutoTopologyService
from nodecompute.compute.external_network import ensure_external_network
from nodecompute.compute.floating_ips import FloatingIpService
from nodecompute.compute.network_host import HostSync
from nodecompute.compute.network_quotas import NetworkQuotaService
from nodecompute.compute.networks import NetworkCore, NetworkService
from nodecompute.compute.ports import PortService
from nodecompute.compute.router_interfaces import RouterInterfaceService
from nodecompute.compute.routers import RouterService
from nodecompute.compute.server_floating_ips import ServerFloatingIps
from nodecompute.compute.subnets import SubnetService
from nodecompute.config import Config
from nodecompute.db.store import Store
from nodecompute.domain.models import AuthContext, Clock


@dataclass(frozen=True)
class NetworkServices:
    networks: NetworkService
    subnets: SubnetService
    ports: PortService
    quotas: NetworkQuotaService
    host: HostSync
    routers: RouterService
    interfaces: RouterInterfaceService
    floating_ips: FloatingIpService
    auto_topology: AutoTopologyService
    server_floating_ips: ServerFloatingIps  # what servers' floating IP actions and addresses use

    @classmethod
    def make(cls, store: Store, cfg: Config, net: Any, clock: Clock) -> NetworkServices:
        """Services over `net`, a hostnet.HostNet (or a stand-in with its methods)."""
        quotas = NetworkQuotaService(store, cfg)
        host = HostSync(store, net, cfg)
        core = NetworkCore(store, cfg, host, quotas, clock)
        networks, subnets, ports, routers = NetworkService(core), SubnetService(core), PortService(core), \
            RouterService(core)
        interfaces = RouterInterfaceService(core, routers, subnets, ports)
        auto = AutoTopologyService(core, networks, subnets, routers, interfaces)
        floating_ips = FloatingIpService(core)
        return cls(networks, subnets, ports, quotas, host, routers, interfaces, floating_ips, auto,
                   ServerFloatingIps(core, floating_ips))

    async def restore(self) -> None:
        """At start: the configured external network's rows, then the host as the database says."""
        core = self.networks.core
        await ensure_external_network(core.store, core.cfg, self.host, core.clock())
        await self.host.restore()

    async def ensure_auto_topology(self, ctx: AuthContext, project_id: str) -> str:
        """The project's auto-allocated network (made with its subnet and router on the default external network
        at first call): what the server side boots `networks: "auto"` on."""
        return await self.auto_topology.ensure(ctx, project_id)
