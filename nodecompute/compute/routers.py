"""Routers (#2813-#2814): create, update, delete and the external gateway, as Neutron's L3 plugin does them.

A project sees and changes its own routers, an admin every router. A router's gateway is a port of its own on the
external network (project '', device_owner network:router_gateway) holding an address of the pool; `enable_snat`
(Neutron's ext-gw-mode) is true unless an admin asks otherwise, and setting a gateway without it sets it true again,
as Neutron does. Every change holds the networking service's lock; the host follows through compute/router_host.py
(a create undoes its rows when the host step fails; updates and deletes are repaired by the next change or start).
"""
from __future__ import annotations

import ipaddress
import uuid
from typing import Any

from nodecompute.compute.addresses import allocate, new_mac
from nodecompute.compute.network_quotas import check_room
from nodecompute.compute.networks import NetworkCore
from nodecompute.db import networks as networks_db
from nodecompute.db import ports as ports_db
from nodecompute.db import routers as routers_db
from nodecompute.domain.errors import InternalError
from nodecompute.domain.models import AuthContext, isotime
from nodecompute.domain.network_errors import (BadRequest, RouterExternalGatewayInUseByFloatingIp, RouterInUse,
                                               RouterNotFound)
from nodecompute.domain.network_models import (ROUTER_GATEWAY_OWNER, ROUTER_INTERFACE_OWNER, Network, Port, Router,
                                               Subnet)

UNSET = object()


def router_error(message: str) -> BadRequest:
    return BadRequest(f"Bad router request: {message}.")


class RouterService:
    def __init__(self, core: NetworkCore) -> None:
        self.core = core

    def list(self, ctx: AuthContext) -> list[Router]:
        return self.core.store.read(routers_db.list_routers, None if ctx.is_admin else ctx.project_id)

    def get(self, ctx: AuthContext, router_id: str) -> Router:
        router = self.core.store.read(routers_db.get_router, router_id)
        if router is None or not (ctx.is_admin or router.project_id == ctx.project_id):
            raise RouterNotFound(router_id=router_id)
        return router

    async def create(self, ctx: AuthContext, project_id: str, fields: dict[str, Any]) -> Router:
        gateway = fields.get("external_gateway_info")
        now = self.core.clock()
        router = Router(id=str(uuid.uuid4()), project_id=project_id, name=fields.get("name", ""),
                        description=fields.get("description", ""),
                        admin_state_up=fields.get("admin_state_up", True),
                        enable_snat=(gateway or {}).get("enable_snat", True), created_at=now, updated_at=now)
        limit = self.core.quotas.limits(project_id)["router"]

        async with self.core.lock:
            network = self._external(ctx, gateway) if gateway else None

            def insert(db: Any) -> None:
                check_room(limit, routers_db.count_routers(db, project_id), "router")
                routers_db.insert_router(db, router)
                if network is not None:
                    self._add_gateway(db, router, network, gateway)

            await self.core.store.write(insert)
            await self.core.l3.apply_or_undo(router.id, lambda db: _delete_rows(db, router.id, isotime(now)))
        return self.get(ctx, router.id)

    async def update(self, ctx: AuthContext, router_id: str, changes: dict[str, Any]) -> Router:
        async with self.core.lock:
            router = self.get(ctx, router_id)
            gateway = changes.pop("external_gateway_info", UNSET)
            network = self._external(ctx, gateway) if gateway is not UNSET and gateway else None

            def write(db: Any) -> None:
                values = dict(changes)
                if gateway is not UNSET:
                    values["enable_snat"] = (gateway or {}).get("enable_snat", True)
                    self._change_gateway(db, router, network, gateway or {})
                routers_db.update_router(db, router_id, values, isotime(self.core.clock()))

            await self.core.store.write(write)
            await self.core.l3.apply_logged(router_id)
        return self.get(ctx, router_id)

    async def delete(self, ctx: AuthContext, router_id: str) -> None:
        async with self.core.lock:
            self.get(ctx, router_id)
            legs = self.core.store.read(routers_db.router_ports, router_id, ROUTER_INTERFACE_OWNER)
            if legs:
                raise RouterInUse(router_id=router_id,
                                  reason="has ports still attached: " + ", ".join(p.id for p in legs))
            try:
                if self.core.l3.listeners is not None:
                    await self.core.l3.listeners.drop(self.core.host.net.router_namespace(router_id))
                await self.core.host.net.delete_router(router_id)
            except Exception as exc:
                raise InternalError() from exc
            await self.core.store.write(_delete_rows, router_id, isotime(self.core.clock()))

    # the gateway --------------------------------------------------------------------------------------------------

    def _external(self, ctx: AuthContext, gateway: dict[str, Any]) -> Network:
        network = self.core.network(ctx, gateway["network_id"])
        if not network.external:
            raise router_error(f"Network {network.id} is not an external network")
        return network

    def _change_gateway(self, db: Any, router: Router, network: Network | None, gateway: dict[str, Any]) -> None:
        """Inside the write: clear, keep, readdress or replace the router's gateway port."""
        current = router.gateway
        asked = gateway.get("external_fixed_ips") or []
        if current is not None and network is not None and current.network_id == network.id:
            if asked and _addresses_differ(current.fixed_ips, asked):
                port = ports_db.get_port(db, current.port_id)
                self._check_external_ips(db, network, asked)
                ports_db.set_fixed_ips(db, port.id, allocate(db, network, asked, ROUTER_GATEWAY_OWNER,
                                                             mine=port.fixed_ips))
            return
        if current is not None:
            if routers_db.list_floatingips(db, router_id=router.id):
                raise RouterExternalGatewayInUseByFloatingIp(router_id=router.id, net_id=current.network_id)
            routers_db.update_router(db, router.id, {"gw_port_id": None}, isotime(self.core.clock()))
            ports_db.delete_port(db, current.port_id)
        if network is not None:
            self._add_gateway(db, router, network, gateway)

    def _add_gateway(self, db: Any, router: Router, network: Network, gateway: dict[str, Any]) -> None:
        asked = gateway.get("external_fixed_ips") or None
        subnets = networks_db.list_subnets(db, network.id)
        self._check_external_ips(db, network, asked or [])
        check_no_router_overlap(db, router.id, subnets)
        now = self.core.clock()
        port = Port(id=str(uuid.uuid4()), project_id="", network_id=network.id, mac_address=new_mac(db),
                    fixed_ips=allocate(db, network, asked, ROUTER_GATEWAY_OWNER), device_id=router.id,
                    device_owner=ROUTER_GATEWAY_OWNER, status="ACTIVE", host_id=self.core.cfg.host_name,
                    vif_type="bridge", created_at=now, updated_at=now)
        ports_db.insert_port(db, port)
        routers_db.update_router(db, router.id, {"gw_port_id": port.id}, isotime(now))

    @staticmethod
    def _check_external_ips(db: Any, network: Network, asked: list[dict]) -> None:
        gateways = {s.gateway_ip for s in networks_db.list_subnets(db, network.id) if s.gateway_ip}
        for item in asked:
            if item.get("ip_address") in gateways:
                raise router_error(f"External IP {item['ip_address']} is the same as the gateway IP")


def _addresses_differ(current: tuple, asked: list[dict]) -> bool:
    """Neutron's _check_for_external_ip_change: other subnets, or other addresses where addresses are asked."""
    if {f["subnet_id"] for f in asked if f.get("subnet_id")} != {f.subnet_id for f in current}:
        return True
    wanted = {f["ip_address"] for f in asked if f.get("ip_address")}
    return wanted != {f.ip_address for f in current}


def router_subnets(db: Any, router_id: str) -> list[Subnet]:
    """The subnets a router is on: its interfaces' and, for its gateway, every subnet of the external network."""
    found: dict[str, Subnet] = {}
    for port in routers_db.router_ports(db, router_id):
        if port.device_owner == ROUTER_GATEWAY_OWNER:
            found.update((s.id, s) for s in networks_db.list_subnets(db, port.network_id))
        elif port.device_owner == ROUTER_INTERFACE_OWNER:
            for fixed in port.fixed_ips:
                subnet = networks_db.get_subnet(db, fixed.subnet_id)
                if subnet is not None:
                    found[subnet.id] = subnet
    return list(found.values())


def check_no_router_overlap(db: Any, router_id: str, new: list[Subnet]) -> None:
    """Neutron's _check_for_dup_router_subnets: no second leg on a subnet, no two overlapping cidrs."""
    have = router_subnets(db, router_id)
    for subnet in new:
        if any(s.id == subnet.id for s in have):
            raise router_error(f"Router already has a port on subnet {subnet.id}")
    for old in have:
        for subnet in new:
            if ipaddress.IPv4Network(old.cidr).overlaps(ipaddress.IPv4Network(subnet.cidr)):
                raise router_error(f"Cidr {subnet.cidr} of subnet {subnet.id} overlaps with cidr {old.cidr} of "
                                   f"subnet {old.id}")


def _delete_rows(db: Any, router_id: str, now: str) -> None:
    """The router, its gateway port (its interfaces are gone or never were) and its floating IPs' NAT."""
    router = routers_db.get_router(db, router_id)
    if router is None:
        return
    if router.gw_port_id is not None:
        routers_db.update_router(db, router_id, {"gw_port_id": None}, now)
        ports_db.delete_port(db, router.gw_port_id)
    for port in routers_db.router_ports(db, router_id):
        ports_db.delete_port(db, port.id)
    routers_db.delete_router(db, router_id)
