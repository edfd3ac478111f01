"""The networking service as the API sees it: one object per resource (networks, subnets, ports, security groups,
quotas, routers, their interfaces, floating IPs, the auto-allocated topology) over one shared NetworkCore
(networks.py), and the host side they keep in step (bridges and DHCP: HostSync; security groups and anti-spoofing:
Firewall; routers: RouterHost, the core's `l3`)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from nodecompute.compute.auto_topology import AutoTopologyService
from nodecompute.compute.external_network import ensure_external_network
from nodecompute.compute.firewall import Firewall
from nodecompute.compute.floating_ips import FloatingIpService
from nodecompute.compute.metadata_listeners import MetadataListeners
from nodecompute.compute.network_host import HostSync
from nodecompute.compute.network_quotas import NetworkQuotaService
from nodecompute.compute.networks import NetworkCore, NetworkService
from nodecompute.compute.ports import PortService
from nodecompute.compute.router_interfaces import RouterInterfaceService
from nodecompute.compute.routers import RouterService
from nodecompute.compute.security_groups import SecurityGroupService
from nodecompute.compute.server_floating_ips import ServerFloatingIps
from nodecompute.compute.server_security_groups import ServerSecurityGroups
from nodecompute.compute.subnets import SubnetService
from nodecompute.config import Config
from nodecompute.db.store import Store
from nodecompute.domain.models import AuthContext, Clock


@dataclass(frozen=True)
class NetworkServices:
    networks: NetworkService
    subnets: SubnetService
    ports: PortService
    security_groups: SecurityGroupService
    server_groups: ServerSecurityGroups  # what the server side asks of the groups (server create, #1508-#1510)
    quotas: NetworkQuotaService
    host: HostSync
    firewall: Firewall
    routers: RouterService
    interfaces: RouterInterfaceService
    floating_ips: FloatingIpService
    auto_topology: AutoTopologyService
    server_floating_ips: ServerFloatingIps  # what servers' floating IP actions and addresses use (#1406-#1407)

    @classmethod
    def make(cls, store: Store, cfg: Config, net: Any, clock: Clock,
             metadata_listeners: MetadataListeners | None = None) -> NetworkServices:
        """Services over `net`, a hostnet.HostNet (or a stand-in with its methods); with `metadata_listeners` the
        DHCP and router namespaces get the metadata service's sockets."""
        quotas = NetworkQuotaService(store, cfg)
        host = HostSync(store, net, cfg)
        firewall = Firewall(store, net, enabled=cfg.network.security_groups)
        core = NetworkCore(store, cfg, host, quotas, clock, firewall)
        host.listeners = core.l3.listeners = metadata_listeners
        networks, subnets, ports, routers = NetworkService(core), SubnetService(core), PortService(core), \
            RouterService(core)
        interfaces = RouterInterfaceService(core, routers, subnets, ports)
        floating_ips = FloatingIpService(core)
        return cls(networks, subnets, ports, SecurityGroupService(core), ServerSecurityGroups(core), quotas, host,
                   firewall, routers, interfaces, floating_ips,
                   AutoTopologyService(core, networks, subnets, routers, interfaces),
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
