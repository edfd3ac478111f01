"""ServerPorts: a server's NICs, between the server service and the networking service.

- `plan` checks a create request's networks and security groups before any row is written (requested_networks.py);
  `networks: "auto"` on a project with no network boots on its auto-allocated topology when a default external
  network is configured.
- `plug` (the build's NETWORKING step) makes or binds each port (device id, `compute:<zone>` owner, binding host,
  the server's host name for DHCP, status ACTIVE) and records it in server_interfaces, one at a time, so a failure
  midway is unwound by `unplug_all` like a delete.
- `interfaces` makes each port's tap in its network's bridge (the host side, hostnet) while it plugs the port on it
  (`PortService.bind`: its security groups are in the kernel before the guest sends anything) and answers the
  domain's NICs: libvirt gets them as `type='ethernet'` on those taps. Called by every define (build, hard reboot).
- `unplug_all` (server delete, failed build): tap removed, then the port deleted when the server made it, else
  unbound. `attach`/`detach` do the same for one port of a running or stopped server (hot-plug through virt).
- `reconcile` at start: the records and compute ports of servers that are gone are released.

With networking off (`network` None) servers have no NICs and everything here is a no-op, so an unprivileged
daemon keeps serving servers without networks.
"""
from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from typing import Any

from nodecompute.compute import network_data as netdata
from nodecompute.compute.ports import Recorded
from nodecompute.compute.requested_networks import NetworkPlan, NicRequest, plan_networks, with_groups
from nodecompute.config import Config
from nodecompute.db import networks as networks_db
from nodecompute.db import ports as ports_db
from nodecompute.db import server_nics as nics_db
from nodecompute.db import servers as servers_db
from nodecompute.db.store import Store
from nodecompute.domain.errors import BadRequest, ComputeError, SecurityGroupNameNotFound
from nodecompute.domain.models import AuthContext, Clock
from nodecompute.domain.network_errors import AutoAllocationFailure
from nodecompute.domain.network_models import COMPUTE_OWNER_PREFIX, Binding, Port, PortRequest
from nodecompute.domain.server_models import CreateRequest, Server, ServerNic
from nodecompute.threads import finish_all
from nodecompute.virt.domain_xml import InterfaceSpec

log = logging.getLogger(__name__)


class ServerPorts:
    def __init__(self, store: Store, cfg: Config, network: Any, clock: Clock) -> None:
        self.store = store
        self.cfg = cfg
        self.net = network  # compute.network_services.NetworkServices, or None when networking is off
        self.clock = clock

    @property
    def enabled(self) -> bool:
        return self.net is not None

    # ----- planning (requested_networks.NetworkLookup) ---------------------------------------------------------

    async def plan(self, ctx: AuthContext, req: CreateRequest) -> NetworkPlan:
        """The NICs of a create request, with the security groups it names (ids or names of the project's groups,
        resolved before anything is written) on each port the server will make."""
        if not self.enabled:
            return plan_networks(req, ctx, None)
        plan = plan_networks(req, ctx, self)
        if req.networks == "auto" and not plan.nics and self._can_auto_allocate():
            plan = await self._auto_allocated(ctx, plan)
        if not req.security_groups:
            return plan
        await self.net.security_groups.ensure_default(ctx, ctx.project_id)
        for name in req.security_groups:  # Nova's create check (_check_requested_secgroups) and its text
            try:
                self.net.server_groups.resolve(ctx.project_id, (name,))
            except BadRequest:
                raise SecurityGroupNameNotFound(name=name, project_id=ctx.project_id) from None
        return with_groups(plan, self.net.server_groups.resolve(ctx.project_id, req.security_groups))

    def _can_auto_allocate(self) -> bool:
        """A default external network is configured (without one, "auto" on a project with no network keeps
        booting without a NIC, as the stock CLI's plain `server create` sends "auto")."""
        try:
            self.net.auto_topology.default_external_network()
        except AutoAllocationFailure:
            return False
        return True

    async def _auto_allocated(self, ctx: AuthContext, plan: NetworkPlan) -> NetworkPlan:
        """Nova's get-me-a-network: the project's auto-allocated topology (made once), Nova's 400 when it fails."""
        try:
            network_id = await self.net.ensure_auto_topology(ctx, ctx.project_id)
        except ComputeError:
            raise BadRequest(f"Unable to automatically allocate a network for project {ctx.project_id}") from None
        return dataclasses.replace(plan, nics=(NicRequest(network_id=network_id),))

    def usable_networks(self, ctx: AuthContext) -> list[Any]:
        visible = self.store.read(networks_db.list_networks, ctx.project_id)
        return [n for n in visible if not n.external and (n.project_id == ctx.project_id or n.shared)]

    def network(self, ctx: AuthContext, network_id: str) -> Any:
        return self.net.networks.get(ctx, network_id)

    def port(self, ctx: AuthContext, port_id: str) -> Port:
        return self.net.ports.get(ctx, port_id)

    def subnets(self, network_id: str) -> list[Any]:
        return self.store.read(networks_db.list_subnets, network_id)

    def ip_owner(self, subnet_id: str, ip: str) -> str | None:
        port_id = self.store.read(ports_db.ip_owner, subnet_id, ip)
        if port_id is None:
            return None
        port = self.store.read(ports_db.get_port, port_id)
        return port.device_id if port is not None else ""

    # ----- plugging --------------------------------------------------------------------------------------------

    def binding(self, server: Server) -> Binding:
        return Binding(device_id=server.uuid, device_owner=COMPUTE_OWNER_PREFIX + server.availability_zone,
                       host_id=self.cfg.host_name, hostname=server.hostname)

    async def plug(self, ctx: AuthContext, server: Server, nics: tuple[NicRequest, ...],
                   recorded: Callable[[], None] | None = None) -> None:
        """Each port made or bound and recorded as the server's, one at a time; `recorded()` once the last one's
        rows are written, before its host side (DHCP entry) is applied: a build writes its config drive meanwhile."""
        for index, nic in enumerate(nics):
            await self.plug_one(ctx, server, nic, recorded if index == len(nics) - 1 else None)

    async def plug_one(self, ctx: AuthContext, server: Server, nic: NicRequest,
                       recorded: Callable[[], None] | None = None) -> Port:
        if nic.port_id:  # recorded first, so a crash right after the bind never leaves it unaccounted for
            await self.store.write(nics_db.add, server.uuid, nic.port_id, nic.tag, False)
            try:
                return await self.net.ports.attach_to_server(ctx, nic.port_id, self.binding(server),
                                                             written=recorded)
            except Exception:  # not bound (taken meanwhile, gone): the undo must not unbind another's port
                await self.store.write(nics_db.remove, nic.port_id)
                raise
        request = PortRequest(network_id=nic.network_id, project_id=server.project_id,
                              fixed_ips=({"ip_address": nic.fixed_ip},) if nic.fixed_ip else None,
                              device_id=server.uuid, device_owner=COMPUTE_OWNER_PREFIX + server.availability_zone,
                              host_id=self.cfg.host_name, security_group_ids=nic.security_group_ids)
        made: list[str] = []

        def record(db: Any, port: Port) -> None:  # in the port's own transaction
            nics_db.add(db, server.uuid, port.id, nic.tag, True)
            made.append(port.id)

        try:
            return await self.net.ports.create(ctx, request, self.binding(server),
                                               recorded=Recorded(write=record, written=recorded))
        except Exception:  # the record is gone again when the port's host side failed (its row went too)
            for port_id in made:
                await self.store.write(nics_db.remove, port_id)
            raise

    async def interfaces(self, server: Server) -> list[InterfaceSpec]:
        """The domain's NICs, each on its tap (made here when missing) and filtered; none while networking is off (a
        daemon restarted without privileges defines its guests without their NICs rather than not at all)."""
        plugged = self._plugged(server)
        await finish_all(*(self._tap_filtered(nic, port) for nic, port in plugged))
        return [self.interface_spec(nic) for nic, _port in plugged]

    async def make_taps(self, server: Server) -> None:
        """The NICs' taps only (a build, which binds the ports beside them: `bind_all`)."""
        await finish_all(*(self.net.host.ensure_tap(port, nic.mtu) for nic, port in self._plugged(server)))

    async def bind_all(self, server: Server) -> None:
        """The NICs' ports plugged on their taps and filtered (a build, which makes the taps beside: `make_taps`)."""
        await finish_all(*(self._bind(nic) for nic, _port in self._plugged(server)))

    def _plugged(self, server: Server) -> list[tuple[ServerNic, Port]]:
        if not self.enabled:
            return []
        return [(nic, port) for nic in server.nics
                if (port := self.store.read(ports_db.get_port, nic.port_id)) is not None]

    async def _tap_filtered(self, nic: ServerNic, port: Port) -> None:
        """The NIC's tap made while its port's filtering is loaded (the rules name the tap, they need not find it):
        both are in place before the guest runs. Each runs to its end, so a failure's undo (`unplug`) finds both."""
        await finish_all(self.net.host.ensure_tap(port, nic.mtu), self._bind(nic))

    async def _bind(self, nic: ServerNic) -> None:
        await self.net.ports.bind(nic.port_id, nic.tap, self.cfg.host_name)

    def interface_specs(self, server: Server) -> list[InterfaceSpec]:
        """The domain's NICs as `interfaces` answers them, without making their taps (a build defines its domain
        while they are made)."""
        return [self.interface_spec(nic) for nic, _port in self._plugged(server)]

    @staticmethod
    def interface_spec(nic: ServerNic) -> InterfaceSpec:
        return InterfaceSpec(mac=nic.mac, tap=nic.tap, mtu=nic.mtu, pci_slot=netdata.nic_pci_slot(nic))

    async def unplug(self, nic: ServerNic) -> None:
        """Out of the firewall, then its tap, then its port (deleted or given back), then its record: each step
        idempotent."""
        if self.enabled:
            await self.net.ports.unbind(nic.port_id)
            await self.net.host.delete_tap(nic.tap)
            await self.net.ports.release(nic.port_id, delete=nic.made_by_server)
        await self.store.write(nics_db.remove, nic.port_id)

    async def unplug_all(self, server_uuid: str) -> None:
        nics = self.store.read(nics_db.nics_for, [server_uuid])[server_uuid]
        for nic in nics:
            await self.unplug(nic)
        for _server, port_id, made in self.store.read(nics_db.recorded):  # records whose port went meanwhile
            if _server == server_uuid:
                await self.unplug(ServerNic(port_id=port_id, network_id="", network_name="", mac="",
                                            made_by_server=made))

    # ----- the guest's view ----------------------------------------------------------------------------------------

    def network_data(self, server: Server) -> dict:
        subnet_ids = {subnet_id for nic in server.nics for subnet_id, _ip in nic.fixed_ips}
        subnets = {s.id: s for s in self.store.read(networks_db.list_subnets) if s.id in subnet_ids}
        return netdata.network_data(server.nics, subnets)

    # ----- start-up ------------------------------------------------------------------------------------------------

    async def reconcile(self) -> None:
        """Release what servers that are gone still hold: recorded NICs, and ports bound to them (a crash between
        a port's creation and its record)."""
        if not self.enabled:
            return
        live = self.store.read(nics_db.live_server_uuids)
        released = 0
        for server_uuid, port_id, made in self.store.read(nics_db.recorded):
            if server_uuid not in live:
                await self.unplug(ServerNic(port_id=port_id, network_id="", network_name="", mac="",
                                            made_by_server=made))
                released += 1
        recorded = {port_id for _s, port_id, _m in self.store.read(nics_db.recorded)}
        for port in self.store.read(ports_db.list_ports):
            if port.device_owner.startswith(COMPUTE_OWNER_PREFIX) and port.id not in recorded \
                    and self._deleted_server(port.device_id):
                await self.unplug(ServerNic(port_id=port.id, network_id=port.network_id, network_name="",
                                            mac=port.mac_address, made_by_server=True))
                released += 1
        if released:
            log.warning("released %d ports of servers that are gone", released)

    def _deleted_server(self, server_uuid: str) -> bool:
        """A server of this cloud that is deleted (not any device id a user wrote on a port)."""
        server = self.store.read(servers_db.find_server, server_uuid) if server_uuid else None
        return server is not None and server.deleted
