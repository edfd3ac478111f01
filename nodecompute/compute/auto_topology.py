"""Auto-allocation (Neutron's auto-allocated topology, what Nova's `networks: "auto"` boots on): a project with no
network of its own gets `auto_allocated_network` with `auto_allocated_subnet_v4` and `auto_allocated_router`,
whose gateway is on the default external network ([network] external_default), once; later calls answer the same
network. Without subnet pools, the subnet is the first free /26 of `[network] subnet_ranges` (DevStack's default
pool hands out /26s) that overlaps no subnet of the cloud. A failure half-way removes what was made.
"""
from __future__ import annotations

import asyncio
import ipaddress
import logging
from typing import Any

from nodecompute.db import networks as networks_db
from nodecompute.db import routers as routers_db
from nodecompute.domain.errors import ComputeError
from nodecompute.domain.models import AuthContext
from nodecompute.domain.network_errors import AutoAllocationFailure, NotAuthorized

log = logging.getLogger(__name__)
PREFIXLEN = 26
NETWORK_NAME, SUBNET_NAME, ROUTER_NAME = "auto_allocated_network", "auto_allocated_subnet_v4", "auto_allocated_router"


class AutoTopologyService:
    def __init__(self, core: Any, networks: Any, subnets: Any, routers: Any, interfaces: Any) -> None:
        """Over the services of networks, subnets, routers and router interfaces (compute.network_services)."""
        self.core, self.store = core, core.store
        self.networks, self.subnets, self.routers, self.interfaces = networks, subnets, routers, interfaces
        self.lock = asyncio.Lock()  # one build at a time (its steps take the networking lock themselves)

    @staticmethod
    def project(ctx: AuthContext, project_id: str) -> str:
        """The project asked about: the caller's (also for Neutron's literal 'None'), any for an admin."""
        project_id = ctx.project_id if project_id == "None" else project_id
        if project_id != ctx.project_id and not ctx.is_admin:
            raise NotAuthorized()
        return project_id

    def default_external_network(self) -> str:
        found = [n for n in self.store.read(networks_db.list_networks) if n.external and n.is_default]
        if not found:
            raise AutoAllocationFailure(reason="No default router:external network")
        return found[0].id

    def check_requirements(self, ctx: AuthContext, project_id: str) -> dict[str, str]:
        """Neutron's dry run: what a later call needs is there (a default external network, room for a subnet)."""
        self.default_external_network()
        if self._free_cidr() is None:
            raise AutoAllocationFailure(reason="No default subnetpools defined")
        return {"id": "dry-run=pass", "project_id": project_id}

    async def ensure(self, ctx: AuthContext, project_id: str) -> str:
        """The id of the project's auto-allocated network, made with its subnet and router on first call."""
        async with self.lock:
            found = self.store.read(routers_db.auto_topology, project_id)
            if found is not None:
                return found[0]
            external = self.default_external_network()
            return await self._build(ctx, project_id, external)

    async def _build(self, ctx: AuthContext, project_id: str, external: str) -> str:
        made: dict[str, Any] = {}
        try:
            network = await self.networks.create(ctx, project_id, {"name": NETWORK_NAME,
                                                                             "admin_state_up": False})
            made["network"] = network.id
            cidr = self._free_cidr()
            if cidr is None:
                raise AutoAllocationFailure(reason="Unable to provide project private network")
            subnet = await self.subnets.create(ctx, project_id, {
                "network_id": network.id, "cidr": cidr, "ip_version": 4, "name": SUBNET_NAME})
            router = await self.routers.create(ctx, project_id, {
                "name": ROUTER_NAME, "external_gateway_info": {"network_id": external}})
            made["router"] = router.id
            await self.interfaces.add(ctx, router.id, subnet.id, None)
            made["interface"] = subnet.id
            await self.store.write(routers_db.insert_auto_topology, project_id, network.id, router.id)
            await self.networks.update(ctx, network.id, {"admin_state_up": True})
            return network.id
        except ComputeError:
            await self._cleanup(ctx, made)
            raise

    def _free_cidr(self) -> str | None:
        used = [ipaddress.IPv4Network(s.cidr) for s in self.store.read(networks_db.list_subnets)]
        for allowed in self.core.cfg.network.subnet_ranges:
            pool = ipaddress.IPv4Network(allowed)
            if pool.prefixlen > PREFIXLEN:
                continue
            for candidate in pool.subnets(new_prefix=PREFIXLEN):
                if not any(candidate.overlaps(u) for u in used):
                    return str(candidate)
        return None

    async def delete(self, ctx: AuthContext, project_id: str) -> None:
        """Remove the project's auto-allocated network, subnet and router (nothing when it has none)."""
        async with self.lock:
            found = self.store.read(routers_db.auto_topology, project_id)
            if found is None:
                return
            network_id, router_id = found
            subnets = self.store.read(networks_db.list_subnets, network_id)
            made = {"network": network_id, "router": router_id}
            if subnets and router_id:
                made["interface"] = subnets[0].id
            await self._cleanup(ctx, made, strict=True)

    async def _cleanup(self, ctx: AuthContext, made: dict[str, Any], strict: bool = False) -> None:
        steps = []
        if "interface" in made:
            steps.append(lambda: self.interfaces.remove(ctx, made["router"], made["interface"], None))
        if made.get("router"):
            steps.append(lambda: self.routers.delete(ctx, made["router"]))
        if "network" in made:
            steps.append(lambda: self.networks.delete(ctx, made["network"]))
        for step in steps:
            try:
                await step()
            except ComputeError as exc:
                if strict:
                    raise
                log.error("could not undo part of an auto-allocated topology: %s", exc)
