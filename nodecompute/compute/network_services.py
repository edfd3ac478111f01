"""The networking service as the API sees it: one object per resource (networks, subnets, ports, quotas) over one
shared NetworkCore (networks.py), and the host side they keep in step."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from nodecompute.compute.network_host import HostSync
from nodecompute.compute.network_quotas import NetworkQuotaService
from nodecompute.compute.networks import NetworkCore, NetworkService
from nodecompute.compute.ports import PortService
from nodecompute.compute.subnets import SubnetService
from nodecompute.config import Config
from nodecompute.db.store import Store
from nodecompute.domain.models import Clock


@dataclass(frozen=True)
class NetworkServices:
    networks: NetworkService
    subnets: SubnetService
    ports: PortService
    quotas: NetworkQuotaService
    host: HostSync

    @classmethod
    def make(cls, store: Store, cfg: Config, net: Any, clock: Clock) -> NetworkServices:
        """Services over `net`, a hostnet.HostNet (or a stand-in with its methods)."""
        quotas = NetworkQuotaService(store, cfg)
        host = HostSync(store, net, cfg)
        core = NetworkCore(store, cfg, host, quotas, clock)
        return cls(NetworkService(core), SubnetService(core), PortService(core), quotas, host)
