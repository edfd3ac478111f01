"""The external network as configuration ([network] external_*): at every start its rows are made, or brought in
line with the configuration, before the host side is restored.

It is a network of the bootstrap admin project with `router:external` true and `shared` false (every project sees
it and takes floating IPs and router gateways from it; only an admin attaches ports to it directly, as Neutron's
policy has it), one subnet without DHCP whose gateway is the upstream router's address and whose allocation pools
are the configured pool. Its cidr cannot change, nor can it go, while router gateways or floating IPs hold
addresses on it: the daemon then refuses to start and says so.
"""
from __future__ import annotations

import ipaddress
import uuid
from dataclasses import replace
from datetime import datetime
from typing import Any

from nodecompute.compute import ipam
from nodecompute.config import Config, ConfigError
from nodecompute.config_network import pool_ranges
from nodecompute.db import identity as identity_db
from nodecompute.db import networks as networks_db
from nodecompute.db import ports as ports_db
from nodecompute.db.store import Store
from nodecompute.domain.models import isotime
from nodecompute.domain.network_models import AllocationPool, Network, Subnet
from nodecompute.identity.accounts import ADMIN_PROJECT


def _wanted(cfg: Config, project_id: str, network_id: str, subnet_id: str,
            now: datetime) -> tuple[Network, Subnet]:
    conf = cfg.network
    net = ipaddress.IPv4Network(conf.external_cidr)
    gateway = conf.external_gateway or ipam.default_gateway(net)
    pools = tuple(AllocationPool(first, last) for first, last in pool_ranges(conf.external_pool)) \
        or ipam.default_pools(net, gateway)
    network = Network(id=network_id, project_id=project_id, name=conf.external_name, shared=False, external=True,
                      is_default=conf.external_default, mtu=conf.mtu, created_at=now, updated_at=now)
    subnet = Subnet(id=subnet_id, project_id=project_id, network_id=network_id, cidr=str(net),
                    name=f"{conf.external_name}-subnet", gateway_ip=gateway, allocation_pools=pools,
                    enable_dhcp=False, created_at=now, updated_at=now)
    return network, subnet


def _in_use(db: Any, network_id: str) -> int:
    return len(ports_db.list_ports(db, network_id=network_id))


def _sync(db: Any, cfg: Config, at: datetime) -> tuple[str | None, Network | None]:
    """Inside one write: the rows as configured. Returns (id of a network to remove from the host, the network)."""
    existing = networks_db.external_network(db)
    if not cfg.network.external_cidr:
        if existing is None:
            return None, None
        if _in_use(db, existing.id):
            raise ConfigError(f"[network] external_cidr: empty, but the external network {existing.id} still holds "
                              f"{_in_use(db, existing.id)} router gateways and floating IPs: remove them first")
        _delete(db, existing.id)
        return existing.id, None
    project = identity_db.find_project(db, ADMIN_PROJECT)
    network, subnet = _wanted(cfg, project.id, existing.id if existing else str(uuid.uuid4()), str(uuid.uuid4()), at)
    if existing is None:
        networks_db.insert_network(db, network)
        networks_db.insert_subnet(db, subnet)
        return None, network
    now = isotime(at)
    changes = {k: getattr(network, k) for k in ("name", "shared", "is_default", "mtu")
               if getattr(network, k) != getattr(existing, k)}
    if changes:
        networks_db.update_network(db, existing.id, changes, now)
    _sync_subnet(db, existing.id, subnet, now)
    return None, networks_db.get_network(db, existing.id)


def _sync_subnet(db: Any, network_id: str, wanted: Subnet, now: str) -> None:
    subnets = networks_db.list_subnets(db, network_id)
    same = [s for s in subnets if s.cidr == wanted.cidr]
    if subnets and not same and _in_use(db, network_id):
        raise ConfigError(f"[network] external_cidr: {wanted.cidr}, but router gateways and floating IPs still hold "
                          f"addresses of {subnets[0].cidr} on the external network {network_id}: remove them first")
    for old in subnets:
        if old not in same:
            networks_db.delete_subnet(db, old.id)
    if not same:
        networks_db.insert_subnet(db, wanted)
        return
    subnet = same[0]
    if wanted.gateway_ip != subnet.gateway_ip:
        owner = ports_db.ip_owner(db, subnet.id, wanted.gateway_ip)
        if owner is not None:
            raise ConfigError(f"[network] external_gateway: {wanted.gateway_ip} is held by port {owner}")
    changes = {"gateway_ip": wanted.gateway_ip, "allocation_pools": wanted.allocation_pools, "name": wanted.name}
    if replace(subnet, **changes) != subnet:
        networks_db.update_subnet(db, subnet.id, changes, now)


def _delete(db: Any, network_id: str) -> None:
    for subnet in networks_db.list_subnets(db, network_id):
        networks_db.delete_subnet(db, subnet.id)
    networks_db.delete_network(db, network_id)


async def ensure_external_network(store: Store, cfg: Config, host: Any, now: datetime) -> Network | None:
    """The configured external network's rows and bridge (`host`: the networking service's HostSync)."""
    gone, network = await store.write(_sync, cfg, now)
    if gone is not None:
        await host.remove(Network(id=gone, project_id=""), [], [])
    return network
