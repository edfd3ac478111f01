"""Networks (#2803-#2804): who sees what, create/update/delete with the host side kept in step.

Visibility is Neutron's default policy: a project sees its own networks and the shared ones, an admin every
network; a network a caller may not see answers NetworkNotFound. Every mutation of networks, subnets and ports
holds one lock from its checks to its host update, so no port can slip onto a network being deleted and the host
is changed in the order the database was.

A network's host side (its bridge, and its DHCP once it has a DHCP subnet) is made right after its rows are
written; a failed host step undoes the rows. A delete tears the host side down first and removes the rows after,
so a crash in between leaves a network that the next start rebuilds, never an unrecorded bridge.
"""
from __future__ import annotations

import asyncio
import logging
import uuid
from typing import Any

from nodecompute.compute.default_group import ensure_default
from nodecompute.compute.firewall import Firewall
from nodecompute.compute.network_host import HostSync
from nodecompute.compute.network_quotas import NetworkQuotaService, check_room
from nodecompute.compute.router_host import RouterHost
from nodecompute.config import Config
from nodecompute.db import networks as networks_db
from nodecompute.db import ports as ports_db
from nodecompute.db.store import Store
from nodecompute.domain.errors import InternalError
from nodecompute.domain.models import AuthContext, Clock, isotime
from nodecompute.domain.network_errors import (InvalidInput, InvalidSharedSetting, NetworkInUse, NetworkNotFound,
                                               PolicyNotAuthorized)
from nodecompute.domain.network_models import Network

log = logging.getLogger(__name__)


class NetworkCore:
    """What the network, subnet and port services share: the store, the host side, the quotas and the lock."""

    def __init__(self, store: Store, cfg: Config, host: HostSync, quotas: NetworkQuotaService, clock: Clock,
                 firewall: Firewall) -> None:
        self.store = store
        self.cfg = cfg
        self.host = host
        self.quotas = quotas
        self.l3 = RouterHost(store, host.net)  # the routers' host side
        self.clock = clock
        self.firewall = firewall
        self.lock = asyncio.Lock()

    def network(self, ctx: AuthContext, network_id: str) -> Network:
        """The network if the caller may see it (its own, shared or external, or any for an admin)."""
        network = self.store.read(networks_db.get_network, network_id)
        if network is None or not (ctx.is_admin or network.project_id == ctx.project_id or network.shared
                                   or network.external):
            raise NetworkNotFound(net_id=network_id)
        return network

    def owned_network(self, ctx: AuthContext, network_id: str, rule: str) -> Network:
        """The network if the caller owns it (or is admin): a shared network of another project is a 403."""
        network = self.network(ctx, network_id)
        if not ctx.is_admin and network.project_id != ctx.project_id:
            raise PolicyNotAuthorized(rule=f"rule:{rule}")
        return network

    async def apply_or_undo(self, network_id: str, undo: Any, *, firewall: bool = True) -> None:
        """Bring the host in line with the network's rows; when that fails, run `undo` (a write that restores
        the rows), bring the host back in line with them, and answer 500. The firewall follows the rows, unless
        the change cannot touch its model (`firewall` False: a port made or given that is not plugged yet)."""
        try:
            await self.host.apply(network_id)
        except Exception as exc:
            log.error("host networking failed for network %s: %s", network_id, exc)
            await self.store.write(undo)
            try:
                await self.host.apply(network_id)
            except Exception as again:
                log.error("host networking still fails for network %s: %s", network_id, again)
            raise InternalError() from exc
        finally:
            if firewall:
                await self.firewall.sync_logged()

    async def apply_logged(self, network_id: str) -> None:
        """The host after a change that the database already holds for good (a delete): a failure is logged and
        repaired by the next change or the next start."""
        try:
            await self.host.apply(network_id)
        except Exception as exc:
            log.error("host networking failed for network %s (repaired at the next change or start): %s",
                      network_id, exc)
        await self.firewall.sync_logged()


class NetworkService:
    def __init__(self, core: NetworkCore) -> None:
        self.core = core

    def list(self, ctx: AuthContext) -> list[Network]:
        return self.core.store.read(networks_db.list_networks, None if ctx.is_admin else ctx.project_id)

    def get(self, ctx: AuthContext, network_id: str) -> Network:
        return self.core.network(ctx, network_id)

    async def create(self, ctx: AuthContext, project_id: str, fields: dict[str, Any]) -> Network:
        if fields.get("router:external"):
            raise InvalidInput(error_message="router:external is read-only on this cloud: the external network is "
                                             "configuration")
        now = self.core.clock()
        network = Network(
            id=str(uuid.uuid4()), project_id=project_id, name=fields.get("name", ""),
            description=fields.get("description", ""), admin_state_up=fields.get("admin_state_up", True),
            shared=fields.get("shared", False), mtu=fields.get("mtu") or self.core.cfg.network.mtu,
            port_security_enabled=fields.get("port_security_enabled", True), created_at=now, updated_at=now,
        )
        limit = self.core.quotas.limits(project_id)["network"]

        def insert(db: Any) -> None:
            check_room(limit, networks_db.count_networks(db, project_id), "network")
            networks_db.insert_network(db, network)
            if project_id == ctx.project_id or ctx.is_admin:
                ensure_default(db, project_id, now)  # as Neutron, before the network's first port

        async with self.core.lock:
            await self.core.store.write(insert)
            await self.core.apply_or_undo(network.id, lambda db: networks_db.delete_network(db, network.id))
        return self.get(ctx, network.id)

    async def update(self, ctx: AuthContext, network_id: str, changes: dict[str, Any]) -> Network:
        if changes.get("router:external"):
            raise InvalidInput(error_message="router:external is read-only on this cloud")
        changes = {k: v for k, v in changes.items() if k != "router:external"}
        async with self.core.lock:
            network = self.core.owned_network(ctx, network_id, "update_network")
            if network.external and set(changes) - {"description", "router:external"}:
                raise InvalidInput(error_message=f"the external network {network_id} is configuration ([network] "
                                                 f"external_*): only its description changes through the API")
            if changes.get("shared") is False and network.shared:
                self._check_unshare(network)
            await self.core.store.write(networks_db.update_network, network_id, changes, isotime(self.core.clock()))
            if "mtu" in changes and changes["mtu"] != network.mtu:
                await self.core.apply_logged(network_id)
        return self.get(ctx, network_id)

    def _check_unshare(self, network: Network) -> None:
        ports = self.core.store.read(lambda db: ports_db.list_ports(db, network_id=network.id))
        if any(p.project_id != network.project_id for p in ports):
            raise InvalidSharedSetting(network=network.name or network.id)

    async def delete(self, ctx: AuthContext, network_id: str) -> None:
        async with self.core.lock:
            network = self.core.owned_network(ctx, network_id, "delete_network")
            if network.external:
                raise NetworkInUse(net_id=network_id, reason="It is the external network of this cloud's "
                                                             "configuration ([network] external_cidr)")
            ports = self.core.store.read(lambda db: ports_db.list_ports(db, network_id=network_id))
            if any(not p.is_dhcp for p in ports):  # a server's ports too: the server goes first (Nova: 409)
                raise NetworkInUse(net_id=network_id)
            subnets = self.core.store.read(networks_db.list_subnets, network_id)
            try:
                await self.core.host.remove(network, subnets, ports)
            except Exception as exc:
                log.error("could not remove network %s from the host: %s", network_id, exc)
                raise InternalError() from exc
            await self.core.store.write(_delete_rows, network_id)


def _delete_rows(db: Any, network_id: str) -> None:
    for port in ports_db.list_ports(db, network_id=network_id):
        ports_db.delete_port(db, port.id)
    for subnet in networks_db.list_subnets(db, network_id):
        networks_db.delete_subnet(db, subnet.id)
    networks_db.delete_network(db, network_id)
