"""Subnets (#2805-#2806): IPv4 only, inside the configured ranges, with Neutron's defaults (the first address as
gateway, the rest as one pool) and checks. A DHCP subnet gives the network its DHCP port and dnsmasq; the last
one going takes them away."""
from __future__ import annotations

from datetime import datetime

import ipaddress
import uuid
from typing import Any

from nodecompute.compute import ipam
from nodecompute.compute.addresses import sync_dhcp_port
from nodecompute.compute.network_quotas import check_room
from nodecompute.compute.networks import NetworkCore
from nodecompute.db import networks as networks_db
from nodecompute.db import ports as ports_db
from nodecompute.domain.models import AuthContext, isotime
from nodecompute.domain.network_errors import GatewayIpInUse, InvalidInput, SubnetInUse, SubnetNotFound
from nodecompute.domain.network_models import Network, Subnet

UNSET = object()


class SubnetService:
    def __init__(self, core: NetworkCore) -> None:
        self.core = core

    def list(self, ctx: AuthContext) -> list[Subnet]:
        if ctx.is_admin:
            return self.core.store.read(networks_db.list_subnets)
        return self.core.store.read(networks_db.list_visible_subnets, ctx.project_id)

    def get(self, ctx: AuthContext, subnet_id: str) -> Subnet:
        subnet = self.core.store.read(networks_db.get_subnet, subnet_id)
        if subnet is not None and not ctx.is_admin and subnet.project_id != ctx.project_id:
            network = self.core.store.read(networks_db.get_network, subnet.network_id)
            if network is None or not (network.shared or network.external):
                subnet = None
        if subnet is None:
            raise SubnetNotFound(subnet_id=subnet_id)
        return subnet

    def _build(self, project_id: str, fields: dict[str, Any]) -> Subnet:
        if fields.get("ip_version", 4) != 4:
            raise InvalidInput(error_message=ipam.IPV6_REFUSED)
        net = ipam.parse_cidr(fields["cidr"])
        ipam.check_in_ranges(net, self.core.cfg.network.subnet_ranges)
        asked = fields.get("gateway_ip", UNSET)
        gateway = ipam.default_gateway(net) if asked is UNSET else ipam.check_gateway(net, asked)
        pools = fields.get("allocation_pools")
        if pools is None:
            pools = ipam.default_pools(net, gateway)
        ipam.check_pools(net, pools, gateway)
        subnet_id = str(uuid.uuid4())
        now = self.core.clock()
        return Subnet(
            id=subnet_id, project_id=project_id, network_id=fields["network_id"], cidr=str(net),
            name=fields.get("name", ""), description=fields.get("description", ""), gateway_ip=gateway,
            allocation_pools=tuple(pools),
            dns_nameservers=ipam.check_nameservers(subnet_id, fields.get("dns_nameservers") or ()),
            host_routes=ipam.check_host_routes(subnet_id, fields.get("host_routes") or ()),
            enable_dhcp=fields.get("enable_dhcp", True), created_at=now, updated_at=now,
        )

    async def create(self, ctx: AuthContext, project_id: str, fields: dict[str, Any]) -> Subnet:
        subnet = self._build(project_id, fields)
        limit = self.core.quotas.limits(project_id)["subnet"]
        host_name = self.core.cfg.host_name

        def insert(db: Any) -> None:
            network = networks_db.get_network(db, subnet.network_id)
            check_room(limit, networks_db.count_subnets(db, project_id), "subnet")
            ipam.check_no_overlap(ipaddress.IPv4Network(subnet.cidr), subnet.network_id,
                                  [s.cidr for s in networks_db.list_subnets(db, subnet.network_id)])
            networks_db.insert_subnet(db, subnet)
            networks_db.update_network(db, subnet.network_id, {}, isotime(subnet.created_at))
            sync_dhcp_port(db, network, host_name, subnet.created_at)

        def undo(db: Any) -> None:
            _remove_subnet(db, networks_db.get_network(db, subnet.network_id), subnet.id, host_name,
                           self.core.clock())

        async with self.core.lock:
            _not_external(self.core.owned_network(ctx, subnet.network_id, "create_subnet"))
            await self.core.store.write(insert)
            await self.core.apply_or_undo(subnet.network_id, undo)
        return self.get(ctx, subnet.id)

    async def update(self, ctx: AuthContext, subnet_id: str, changes: dict[str, Any]) -> Subnet:
        async with self.core.lock:
            subnet = self._owned(ctx, subnet_id, "update_subnet")
            net = ipaddress.IPv4Network(subnet.cidr)
            gateway = ipam.check_gateway(net, changes["gateway_ip"]) if "gateway_ip" in changes else subnet.gateway_ip
            pools = changes.get("allocation_pools", subnet.allocation_pools)
            if "allocation_pools" in changes and pools is None:
                pools = ipam.default_pools(net, gateway)
            ipam.check_pools(net, pools, gateway)
            values = dict(changes, allocation_pools=tuple(pools))
            if "dns_nameservers" in changes:
                values["dns_nameservers"] = ipam.check_nameservers(subnet_id, changes["dns_nameservers"] or ())
            if "host_routes" in changes:
                values["host_routes"] = ipam.check_host_routes(subnet_id, changes["host_routes"] or ())
            host_name = self.core.cfg.host_name

            def write(db: Any) -> None:
                if gateway and gateway != subnet.gateway_ip:
                    owner = ports_db.ip_owner(db, subnet_id, gateway)
                    if owner is not None:
                        raise GatewayIpInUse(ip_address=gateway, port_id=owner)
                now = self.core.clock()
                networks_db.update_subnet(db, subnet_id, values, isotime(now))
                sync_dhcp_port(db, networks_db.get_network(db, subnet.network_id), host_name, now)

            await self.core.store.write(write)
            await self.core.apply_logged(subnet.network_id)
        return self.get(ctx, subnet_id)

    def _owned(self, ctx: AuthContext, subnet_id: str, rule: str) -> Subnet:
        subnet = self.get(ctx, subnet_id)
        _not_external(self.core.owned_network(ctx, subnet.network_id, rule))
        return subnet

    async def delete(self, ctx: AuthContext, subnet_id: str) -> None:
        async with self.core.lock:
            subnet = self._owned(ctx, subnet_id, "delete_subnet")
            users = self.core.store.read(ports_db.ports_on_subnet, subnet_id)
            if any(not p.is_dhcp for p in users):
                raise SubnetInUse(subnet_id=subnet_id)
            network = self.core.store.read(networks_db.get_network, subnet.network_id)
            await self.core.store.write(_remove_subnet, network, subnet_id, self.core.cfg.host_name,
                                        self.core.clock())
            await self.core.apply_logged(subnet.network_id)


def _not_external(network: Network) -> None:
    if network.external:
        raise InvalidInput(error_message=f"the subnet of the external network {network.id} is configuration "
                                         f"([network] external_*)")


def _remove_subnet(db: Any, network: Network, subnet_id: str, host_name: str, now: datetime) -> None:
    """Delete the subnet, the DHCP port's address on it (and the DHCP port with the last DHCP subnet)."""
    for port in ports_db.ports_on_subnet(db, subnet_id):
        ports_db.set_fixed_ips(db, port.id, tuple(f for f in port.fixed_ips if f.subnet_id != subnet_id))
    networks_db.delete_subnet(db, subnet_id)
    networks_db.update_network(db, network.id, {}, isotime(now))
    sync_dhcp_port(db, network, host_name, now)
