"""Floating IPs as Nova sees them on a server: the addFloatingIp / removeFloatingIp actions (#1406-#1407, up to 2.43)
and the `floating` addresses of a server's bodies, over the same floating IP core as the network face.

A server's ports are the ports whose device_id is its id (as Nova finds them in Neutron). Nova's checks and texts,
with Neutron behind it: a server without ports is "not ready" (400), a fixed address must be one of its ports' (400),
an address the caller's project does not hold is "floating IP not found" (404; removeFloatingIp names the address),
a floating IP on another server moves to this one (Neutron re-associates), and a failure the networking service
reports (no router joining the port's subnet to the external network, the fixed address already holding a floating
IP) is Nova's 400 "Unable to associate floating IP ..." carrying Neutron's message. Removing a floating IP that is
not on this server is 409.
"""
from __future__ import annotations

import ipaddress

from nodecompute.compute.floating_ips import FloatingIpService
from nodecompute.compute.networks import NetworkCore
from nodecompute.db import ports as ports_db
from nodecompute.db import routers as routers_db
from nodecompute.domain.errors import BadRequest, ComputeError, Conflict, NotFound
from nodecompute.domain.models import AuthContext
from nodecompute.domain.network_models import FloatingIp, Port


class ServerFloatingIps:
    def __init__(self, core: NetworkCore, floating_ips: FloatingIpService) -> None:
        self.core, self.floating_ips = core, floating_ips

    def server_ports(self, server_id: str) -> list[Port]:
        return [p for p in self.core.store.read(ports_db.list_ports) if p.device_id == server_id]

    def _by_address(self, ctx: AuthContext, address: str) -> FloatingIp | None:
        found = [f for f in self.core.store.read(routers_db.list_floatingips) if f.floating_ip_address == address
                 and (ctx.is_admin or f.project_id == ctx.project_id)]
        return found[0] if found else None

    async def add(self, ctx: AuthContext, server_id: str, address: str, fixed_address: str | None) -> FloatingIp:
        """addFloatingIp: associate `address` to the server's port holding `fixed_address` (default: the first
        IPv4 fixed address of its ports)."""
        ports = self.server_ports(server_id)
        if not ports:
            raise BadRequest("Instance network is not ready yet")
        fixed = [(port, f.ip_address) for port in ports for f in port.fixed_ips]
        if not fixed:
            raise BadRequest("No fixed IPs associated to instance")
        if fixed_address is not None:
            chosen = [(port, ip) for port, ip in fixed if ip == fixed_address]
            if not chosen:
                raise BadRequest("Specified fixed address not assigned to instance")
        else:
            chosen = [(port, ip) for port, ip in fixed if ipaddress.ip_address(ip).version == 4]
            if not chosen:
                raise BadRequest(f"Unable to associate floating IP {address} to any fixed IPs for instance "
                                 f"{server_id}. Instance has no fixed IPv4 addresses to associate.")
        port, ip = chosen[0]
        fip = self._by_address(ctx, address)
        if fip is None:
            raise NotFound("floating IP not found")
        try:
            return await self.floating_ips.update(ctx, fip.id, {"port_id": port.id, "fixed_ip_address": ip})
        except ComputeError as exc:
            raise BadRequest(f"Unable to associate floating IP {address} to fixed IP {ip} for instance "
                             f"{server_id}. Error: {exc.message}") from None

    async def remove(self, ctx: AuthContext, server_id: str, address: str) -> FloatingIp:
        """removeFloatingIp: disassociate `address`, which must be on one of the server's ports."""
        fip = self._by_address(ctx, address)
        if fip is None:
            raise NotFound(f"Floating IP not found for address {address}.")
        if fip.port_id is None or fip.port_id not in {p.id for p in self.server_ports(server_id)}:
            raise Conflict(f"Floating IP {address} is not associated with instance {server_id}.")
        return await self.floating_ips.update(ctx, fip.id, {"port_id": None})

    def floating_by_fixed(self, server_id: str) -> dict[tuple[str, str], list[str]]:
        """(port id, fixed address) -> the floating addresses on it, for the `floating` entries of the server's
        `addresses` (Nova lists them right after the fixed address they are on)."""
        ports = {p.id for p in self.server_ports(server_id)}
        found: dict[tuple[str, str], list[str]] = {}
        for fip in self.core.store.read(routers_db.list_floatingips):
            if fip.port_id in ports and fip.fixed_ip_address:
                found.setdefault((fip.port_id, fip.fixed_ip_address), []).append(fip.floating_ip_address)
        return found
