"""The networking service as the API sees it: one object per resource (networks, subnets, ports, security groups,
quotas) over one shared NetworkCore (networks.py), and the host side they keep in step (bridges and DHCP: HostSync;
security groups and anti-spoofing: Firewall)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from nodecompute.compute.firewall import Firewall
from nodecompute.compute.network_host import HostSync
from nodecompute.compute.network_quotas import NetworkQuotaService
from nodecompute.compute.networks import NetworkCore, NetworkService
from nodecompute.compute.ports import PortService
from nodecompute.compute.security_groups import SecurityGroupService
from nodecompute.compute.server_security_groups import ServerSecurityGroups
from nodecompute.compute.subnets import SubnetService
from nodecompute.config import Config
from nodecompute.db.store import Store
from nodecompute.domain.models import Clock


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

    @classmethod
    def make(cls, store: Store, cfg: Config, net: Any, clock: Clock) -> NetworkServices:
        """Services over `net`, a hostnet.HostNet (or a stand-in with its methods)."""
        quotas = NetworkQuotaService(store, cfg)
        host = HostSync(store, net, cfg)
        firewall = Firewall(store, net, enabled=cfg.network.security_groups)
        core = NetworkCore(store, cfg, host, quotas, clock, firewall)
        return cls(NetworkService(core), SubnetService(core), PortService(core), SecurityGroupService(core),
                   ServerSecurityGroups(core), quotas, host, firewall)
