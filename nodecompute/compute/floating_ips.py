"""Floating IPs (#2816-#2817, and Nova's proxies #1401-#1405 over the same calls): an address of the external
network's pool held by a port of its own (network:floatingip), associated to a port's fixed address through the
router that joins that port's subnet to the external network.

A project sees and changes its own floating IPs, an admin every one. While associated, the router's namespace holds
the address on its gateway leg and a DNAT/SNAT pair for it (compute/router_host.py); a floating IP is ACTIVE while
associated and DOWN otherwise. Deleting the associated port disassociates it (compute/ports.py).
"""
from __future__ import annotations

import uuid
from dataclasses import replace
from typing import Any, NamedTuple

from nodecompute.compute.addresses import allocate, new_mac
from nodecompute.compute.network_quotas import check_room
from nodecompute.compute.networks import NetworkCore
from nodecompute.db import networks as networks_db
from nodecompute.db import ports as ports_db
from nodecompute.db import routers as routers_db
from nodecompute.domain.models import AuthContext, isotime
from nodecompute.domain.network_errors import (BadRequest, ExternalGatewayForFloatingIPNotFound, FloatingIPNotFound,
                                               FloatingIPPortAlreadyAssociated, PortNotFound)
from nodecompute.domain.network_models import (FLOATINGIP_OWNER, NETWORK_OWNER_PREFIX, ROUTER_INTERFACE_OWNER,
                                               FloatingIp, Port)

UNSET = object()


class Association(NamedTuple):
    port_id: str | None
    fixed_ip_address: str | None
    router_id: str | None

    @property
    def status(self) -> str:
        return "ACTIVE" if self.port_id else "DOWN"


NONE = Association(None, None, None)


def fip_error(message: str) -> BadRequest:
    return BadRequest(f"Bad floatingip request: {message}.")


class FloatingIpService:
    def __init__(self, core: NetworkCore) -> None:
        self.core = core

    def list(self, ctx: AuthContext) -> list[FloatingIp]:
        if ctx.is_admin:
            return self.core.store.read(routers_db.list_floatingips)
        return self.core.store.read(lambda db: routers_db.list_floatingips(db, project_id=ctx.project_id))

    def get(self, ctx: AuthContext, floatingip_id: str) -> FloatingIp:
        fip = self.core.store.read(routers_db.get_floatingip, floatingip_id)
        if fip is None or not (ctx.is_admin or fip.project_id == ctx.project_id):
            raise FloatingIPNotFound(floatingip_id=floatingip_id)
        return fip

    def port_details(self, fip: FloatingIp) -> Port | None:
        """The associated port (Neutron's fip-port-details), read with the floating IP."""
        return self.core.store.read(ports_db.get_port, fip.port_id) if fip.port_id else None

    async def create(self, ctx: AuthContext, project_id: str, fields: dict[str, Any]) -> FloatingIp:
        if fields.get("fixed_ip_address") and not fields.get("port_id"):
            raise fip_error("fixed_ip_address cannot be specified without a port_id")
        limit = self.core.quotas.limits(project_id)["floatingip"]
        fip_id, now = str(uuid.uuid4()), self.core.clock()

        async with self.core.lock:
            network = self.core.network(ctx, fields["floating_network_id"])
            if not network.external:
                raise fip_error(f"Network {network.id} is not a valid external network")
            if not network.subnet_ids:
                raise fip_error(f"Network {network.id} does not contain any IPv4 subnet")
            requested = _requested_address(fields)

            def insert(db: Any) -> Association:
                check_room(limit, routers_db.count_floatingips(db, project_id), "floatingip")
                port = Port(id=str(uuid.uuid4()), project_id="", network_id=network.id, mac_address=new_mac(db),
                            fixed_ips=allocate(db, network, requested, FLOATINGIP_OWNER), device_id=fip_id,
                            device_owner=FLOATINGIP_OWNER, status="N/A", created_at=now, updated_at=now)
                ports_db.insert_port(db, port)
                fip = FloatingIp(id=fip_id, project_id=project_id, floating_network_id=network.id,
                                 floating_ip_address=port.fixed_ips[0].ip_address, floating_port_id=port.id,
                                 description=fields.get("description", ""), created_at=now, updated_at=now)
                found = association(db, ctx, fip, fields.get("port_id"), fields.get("fixed_ip_address")) \
                    if fields.get("port_id") else NONE
                routers_db.insert_floatingip(db, replace(fip, port_id=found.port_id, router_id=found.router_id,
                                                         fixed_ip_address=found.fixed_ip_address,
                                                         status=found.status))
                return found

            found = await self.core.store.write(insert)
            if found.router_id:
                await self.core.l3.apply_or_undo(found.router_id, lambda db: _delete_rows(db, fip_id),
                                                 floating_only=True)
        return self.get(ctx, fip_id)

    async def update(self, ctx: AuthContext, floatingip_id: str, fields: dict[str, Any]) -> FloatingIp:
        async with self.core.lock:
            fip = self.get(ctx, floatingip_id)
            if fields.get("fixed_ip_address") and not fields.get("port_id"):
                raise fip_error("fixed_ip_address cannot be specified without a port_id")
            before = Association(fip.port_id, fip.fixed_ip_address, fip.router_id)

            def write(db: Any) -> Association:
                port_id = fields.get("port_id", UNSET)
                if port_id is UNSET:  # an update without port_id keeps (and checks again) the association
                    found = association(db, ctx, fip, fip.port_id, fip.fixed_ip_address) if fip.port_id else NONE
                else:
                    found = association(db, ctx, fip, port_id, fields.get("fixed_ip_address")) if port_id else NONE
                changes = {"fixed_port_id": found.port_id, "fixed_ip_address": found.fixed_ip_address,
                           "router_id": found.router_id, "status": found.status}
                if "description" in fields:
                    changes["description"] = fields["description"]
                routers_db.update_floatingip(db, floatingip_id, changes, isotime(self.core.clock()))
                return found

            found = await self.core.store.write(write)
            await self._follow(floatingip_id, before, found)
        return self.get(ctx, floatingip_id)

    async def _follow(self, floatingip_id: str, before: Association, after: Association) -> None:
        """The host after an association change: the new router's NAT (undone on failure), the old one's."""
        if after.router_id and after != before:
            restore = {"fixed_port_id": before.port_id, "fixed_ip_address": before.fixed_ip_address,
                       "router_id": before.router_id, "status": before.status}
            await self.core.l3.apply_or_undo(
                after.router_id, lambda db: routers_db.update_floatingip(db, floatingip_id, restore,
                                                                         isotime(self.core.clock())),
                floating_only=True)
        if before.router_id and before.router_id != after.router_id:
            await self.core.l3.apply_logged(before.router_id, floating_only=True)

    async def delete(self, ctx: AuthContext, floatingip_id: str) -> None:
        async with self.core.lock:
            fip = self.get(ctx, floatingip_id)
            await self.core.store.write(_delete_rows, floatingip_id)
            if fip.router_id:
                await self.core.l3.apply_logged(fip.router_id, floating_only=True)

    def external_networks(self, ctx: AuthContext) -> list:
        """The pools (Nova's word): the external networks, which every project sees."""
        return [n for n in self.core.store.read(networks_db.list_networks) if n.external]


def _requested_address(fields: dict[str, Any]) -> list[dict] | None:
    """The floating IP's address as asked (a subnet of the external network, an address), for allocate()."""
    item = {}
    if fields.get("subnet_id"):
        item["subnet_id"] = fields["subnet_id"]
    if fields.get("floating_ip_address"):
        item["ip_address"] = fields["floating_ip_address"]
    return [item] if item else None


def _delete_rows(db: Any, floatingip_id: str) -> None:
    fip = routers_db.get_floatingip(db, floatingip_id)
    if fip is not None:
        routers_db.delete_floatingip(db, floatingip_id)
        ports_db.delete_port(db, fip.floating_port_id)


def association(db: Any, ctx: AuthContext, fip: FloatingIp, port_id: str, fixed_ip: str | None) -> Association:
    """Inside the write: the port, fixed address and router of associating `fip` to `port_id` (Neutron's
    _get_assoc_data and _check_and_get_fip_assoc, with their faults)."""
    port = ports_db.get_port(db, port_id)
    if port is None or not _visible(db, ctx, port):
        raise PortNotFound(port_id=port_id)
    if port.project_id != fip.project_id and not ctx.is_admin:
        raise fip_error(f"Cannot process floating IP association with Port {port_id}, since that port is owned by a "
                        f"different project")
    if port.device_owner.startswith(NETWORK_OWNER_PREFIX):
        raise fip_error(f"Port {port_id} is unable to be assigned a floating IP")
    if fixed_ip:
        subnet_id = next((f.subnet_id for f in port.fixed_ips if f.ip_address == fixed_ip), None)
        if subnet_id is None:
            raise fip_error(f"Port {port_id} does not have fixed ip {fixed_ip}")
    else:
        if not port.fixed_ips:
            raise fip_error(f"Cannot add floating IP to port {port_id} that has no fixed IPv4 addresses")
        if len(port.fixed_ips) > 1:
            raise fip_error(f"Port {port_id} has multiple fixed IPv4 addresses.  Must provide a specific IPv4 "
                            f"address when assigning a floating IP")
        fixed_ip, subnet_id = port.fixed_ips[0].ip_address, port.fixed_ips[0].subnet_id
    router_id = router_for(db, port, subnet_id, fip.floating_network_id)
    if port_id != fip.port_id:
        taken = [f for f in routers_db.list_floatingips(db, port_id=port_id)
                 if f.floating_network_id == fip.floating_network_id and f.fixed_ip_address == fixed_ip
                 and f.id != fip.id]
        if taken:
            raise FloatingIPPortAlreadyAssociated(port_id=port_id, fip_id=fip.id,
                                                  floating_ip_address=fip.floating_ip_address, fixed_ip=fixed_ip,
                                                  net_id=fip.floating_network_id)
    return Association(port_id, fixed_ip, router_id)


def _visible(db: Any, ctx: AuthContext, port: Port) -> bool:
    if ctx.is_admin or port.project_id == ctx.project_id:
        return True
    network = networks_db.get_network(db, port.network_id)
    return network is not None and network.project_id == ctx.project_id


def router_for(db: Any, port: Port, subnet_id: str, external_network_id: str) -> str:
    """Neutron's get_router_for_floatingip: a router with a leg on the subnet and its gateway on the external
    network, the one whose leg holds the subnet's gateway address first."""
    subnet = networks_db.get_subnet(db, subnet_id)
    first = None
    for leg in ports_db.ports_on_subnet(db, subnet_id):
        if leg.device_owner != ROUTER_INTERFACE_OWNER or leg.network_id != port.network_id:
            continue
        router = routers_db.get_router(db, leg.device_id)
        if router is None or router.gateway is None or router.gateway.network_id != external_network_id:
            continue
        if any(f.subnet_id == subnet_id and f.ip_address == subnet.gateway_ip for f in leg.fixed_ips):
            return router.id
        first = first or router.id
    if first is None:
        raise ExternalGatewayForFloatingIPNotFound(subnet_id=subnet_id, external_network_id=external_network_id,
                                                   port_id=port.id)
    return first
