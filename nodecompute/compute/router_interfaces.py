"""Router interfaces (#2815): add_router_interface and remove_router_interface, by subnet or by port, with
Neutron's checks and answers.

By subnet, the router gets a new port holding the subnet's gateway address (owned by the router's project); by
port, an unbound port of the caller's becomes the router's leg. Removing by subnet or port deletes that port, unless
a floating IP still needs it. The leg appears in the router's namespace with the address it holds.
"""
from __future__ import annotations

import ipaddress
import uuid
from typing import Any

from nodecompute.compute.addresses import allocate, new_mac
from nodecompute.compute.network_quotas import check_room
from nodecompute.compute.networks import NetworkCore
from nodecompute.compute.routers import RouterService, check_no_router_overlap, router_error
from nodecompute.compute.subnets import SubnetService
from nodecompute.db import networks as networks_db
from nodecompute.db import ports as ports_db
from nodecompute.db import routers as routers_db
from nodecompute.domain.models import AuthContext, isotime
from nodecompute.domain.network_errors import (PolicyNotAuthorized, PortInUse, RouterInterfaceInUseByFloatingIP,
                                               RouterInterfaceNotFound, RouterInterfaceNotFoundForSubnet,
                                               SubnetMismatchForPort)
from nodecompute.domain.network_models import ROUTER_INTERFACE_OWNER, Port, Router, RouterInterface, Subnet


class RouterInterfaceService:
    def __init__(self, core: NetworkCore, routers: RouterService, subnets: SubnetService, ports: Any) -> None:
        self.core = core
        self.routers = routers
        self.subnets = subnets
        self.ports = ports  # compute.ports.PortService

    async def add(self, ctx: AuthContext, router_id: str, subnet_id: str | None,
                  port_id: str | None) -> RouterInterface:
        async with self.core.lock:
            router = self.routers.get(ctx, router_id)
            if port_id is not None:
                port, undo = await self._adopt_port(ctx, router, port_id)
            else:
                port, undo = await self._new_port(ctx, router, subnet_id)
            await self.core.l3.apply_or_undo(router.id, undo)
            await self.core.apply_logged(port.network_id)
        return _interface(router, port)

    async def _new_port(self, ctx: AuthContext, router: Router, subnet_id: str) -> tuple[Port, Any]:
        subnet = self.subnets.get(ctx, subnet_id)
        if not subnet.gateway_ip:
            raise router_error("Subnet for router interface must have a gateway IP")
        network = self.core.store.read(networks_db.get_network, subnet.network_id)
        if subnet.project_id != ctx.project_id and not ctx.is_admin:
            if network.external:
                raise PolicyNotAuthorized(rule="rule:create_port")
            raise router_error(f"Cannot add interface to router because subnet {subnet.id} is not owned by project "
                               f"making the request")
        limit = self.core.quotas.limits(router.project_id)["port"]
        now = self.core.clock()
        port_id = str(uuid.uuid4())

        def insert(db: Any) -> Port:
            check_no_router_overlap(db, router.id, [subnet])
            check_room(limit, ports_db.count_ports(db, router.project_id), "port")
            fixed = allocate(db, network, [{"subnet_id": subnet.id, "ip_address": subnet.gateway_ip}],
                             ROUTER_INTERFACE_OWNER)
            port = Port(id=port_id, project_id=router.project_id, network_id=network.id, mac_address=new_mac(db),
                        fixed_ips=fixed, device_id=router.id, device_owner=ROUTER_INTERFACE_OWNER, status="ACTIVE",
                        port_security_enabled=network.port_security_enabled, host_id=self.core.cfg.host_name,
                        vif_type="bridge", created_at=now, updated_at=now)
            ports_db.insert_port(db, port)
            routers_db.update_router(db, router.id, {}, isotime(now))
            return port

        port = await self.core.store.write(insert)
        return port, lambda db: ports_db.delete_port(db, port_id)

    async def _adopt_port(self, ctx: AuthContext, router: Router, port_id: str) -> tuple[Port, Any]:
        port = self.ports.get(ctx, port_id)
        if port.device_id:
            raise PortInUse(port_id=port.id, net_id=port.network_id, device_id=port.device_id)
        if not port.fixed_ips:
            raise router_error("Router port must have at least one fixed IP")
        subnets = [self.core.store.read(networks_db.get_subnet, f.subnet_id) for f in port.fixed_ips]
        if len({s.id for s in subnets}) > 1:
            raise router_error("Cannot have multiple IPv4 subnets on router port")
        _check_in_pools_or_owner(ctx, port, subnets)
        now = isotime(self.core.clock())
        before = {"device_id": port.device_id, "device_owner": port.device_owner, "status": port.status,
                  "host_id": port.host_id, "vif_type": port.vif_type}

        def write(db: Any) -> Port:
            check_no_router_overlap(db, router.id, subnets)
            ports_db.update_port(db, port.id, {"device_id": router.id, "device_owner": ROUTER_INTERFACE_OWNER,
                                               "status": "ACTIVE", "host_id": self.core.cfg.host_name,
                                               "vif_type": "bridge"}, now)
            routers_db.update_router(db, router.id, {}, now)
            return ports_db.get_port(db, port.id)

        adopted = await self.core.store.write(write)
        return adopted, lambda db: ports_db.update_port(db, port.id, before, now)

    async def remove(self, ctx: AuthContext, router_id: str, subnet_id: str | None,
                     port_id: str | None) -> RouterInterface:
        async with self.core.lock:
            router = self.routers.get(ctx, router_id)
            legs = self.core.store.read(routers_db.router_ports, router.id, ROUTER_INTERFACE_OWNER)
            if port_id is not None:
                port = next((p for p in legs if p.id == port_id), None)
                if port is None:
                    raise RouterInterfaceNotFound(router_id=router.id, port_id=port_id)
                if subnet_id is not None and subnet_id not in {f.subnet_id for f in port.fixed_ips}:
                    raise SubnetMismatchForPort(port_id=port_id, subnet_id=subnet_id)
            else:
                subnet = self.subnets.get(ctx, subnet_id)
                port = next((p for p in legs if subnet.id in {f.subnet_id for f in p.fixed_ips}), None)
                if port is None:
                    raise RouterInterfaceNotFoundForSubnet(router_id=router.id, subnet_id=subnet.id)
            subnets = [self.core.store.read(networks_db.get_subnet, f.subnet_id) for f in port.fixed_ips]
            for subnet in subnets:
                self._check_not_used_by_floating_ips(router.id, subnet)

            def write(db: Any) -> None:
                ports_db.delete_port(db, port.id)
                routers_db.update_router(db, router.id, {}, isotime(self.core.clock()))

            await self.core.store.write(write)
            await self.core.l3.apply_logged(router.id)
            await self.core.apply_logged(port.network_id)
        return _interface(router, port)

    def _check_not_used_by_floating_ips(self, router_id: str, subnet: Subnet) -> None:
        cidr = ipaddress.IPv4Network(subnet.cidr)
        users = set(p.id for p in self.core.store.read(ports_db.ports_on_subnet, subnet.id))
        for fip in self.core.store.read(lambda db: routers_db.list_floatingips(db, router_id=router_id)):
            if fip.fixed_ip_address and ipaddress.IPv4Address(fip.fixed_ip_address) in cidr and fip.port_id in users:
                raise RouterInterfaceInUseByFloatingIP(router_id=router_id, subnet_id=subnet.id)


def _check_in_pools_or_owner(ctx: AuthContext, port: Port, subnets: list[Subnet]) -> None:
    """Neutron: a non-admin's port outside the allocation pools needs the subnet to be the caller's."""
    if ctx.is_admin:
        return
    for fixed, subnet in zip(port.fixed_ips, subnets):
        ip = int(ipaddress.IPv4Address(fixed.ip_address))
        in_pool = any(int(ipaddress.IPv4Address(p.start)) <= ip <= int(ipaddress.IPv4Address(p.end))
                      for p in subnet.allocation_pools)
        if not in_pool and subnet.project_id != ctx.project_id:
            raise router_error(f"Cannot add interface to router because specified port {port.id} has an IP address "
                               f"out of the allocation pool of subnet {subnet.id}, which is not owned by the project "
                               f"making the request")


def _interface(router: Router, port: Port) -> RouterInterface:
    return RouterInterface(router.id, port.project_id, port.id, port.network_id,
                           tuple(dict.fromkeys(f.subnet_id for f in port.fixed_ips)))
