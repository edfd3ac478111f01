"""Interface attachments (#1301-#1304, Nova's attach_interfaces): a server's ports listed and shown, and one port
attached (hot-plugged into a running guest, added to a stopped one's definition) or detached.

An attach makes or binds the port and records it (server_ports.py), makes its tap, then adds the NIC to the domain;
when the domain refuses, the port is released again, so a failure leaves no port, record or tap. A detach removes
the NIC from the guest (waiting for it to let go), then the tap and the port. Both hold the server's lock, so they
never interleave with an action or a delete of the same server.
"""
from __future__ import annotations

import dataclasses
import logging

from nodecompute.compute.guests import Guests
from nodecompute.compute.requested_networks import NicRequest, plan_networks
from nodecompute.compute.server_access import check_writable, visible_server
from nodecompute.compute.server_ports import ServerPorts
from nodecompute.compute.server_tasks import ServerTasks
from nodecompute.db import ports as ports_db
from nodecompute.db import servers as servers_db
from nodecompute.db.store import Store
from nodecompute.domain import states
from nodecompute.domain.errors import BadRequest, ComputeError, InstanceInvalidState, NotFound
from nodecompute.domain.models import AuthContext
from nodecompute.domain.network_models import Port
from nodecompute.domain.server_models import CreateRequest, NetworkRequest, Server, ServerNic
from nodecompute.virt import nic_devices

log = logging.getLogger(__name__)

ATTACHABLE = (states.ACTIVE, states.PAUSED_VM, states.STOPPED, states.SUSPENDED_VM)  # Nova's, less shelved


class InterfaceNotFound(NotFound):
    pass


class InterfaceAttachFailed(ComputeError):
    """Nova's 500 whose message the user sees."""

    code = 500
    msg_fmt = "Failed to attach network adapter device to %(instance_uuid)s"


class InterfaceDetachFailed(ComputeError):
    code = 500
    msg_fmt = "Failed to detach network adapter device from %(instance_uuid)s"


class InterfaceService:
    def __init__(self, store: Store, ports: ServerPorts, guests: Guests, tasks: ServerTasks) -> None:
        self.store = store
        self.ports = ports
        self.guests = guests
        self.tasks = tasks

    def list(self, ctx: AuthContext, server_id: str) -> list[tuple[ServerNic, Port]]:
        server = visible_server(self.store, ctx, server_id)
        return [(nic, port) for nic in server.nics if (port := self._port(nic.port_id)) is not None]

    def get(self, ctx: AuthContext, server_id: str, port_id: str) -> tuple[ServerNic, Port]:
        server = visible_server(self.store, ctx, server_id)
        for nic, port in ((n, self._port(n.port_id)) for n in server.nics if n.port_id == port_id):
            if port is not None:
                return nic, port
        if self.ports.enabled and self._port(port_id) is None:
            raise InterfaceNotFound(f"Port {port_id} could not be found.")
        raise InterfaceNotFound(f"Instance {server_id} does not have a port with id {port_id}")

    async def attach(self, ctx: AuthContext, server_id: str, *, port_id: str | None = None,
                     net_id: str | None = None, fixed_ip: str | None = None,
                     tag: str | None = None) -> tuple[ServerNic, Port]:
        server = self._changeable(ctx, server_id, "attach_interface")
        nic = self._request(ctx, server, port_id, net_id, fixed_ip, tag)
        async with self.tasks.lock(server.uuid):
            port = await self.ports.plug_one(ctx, server, nic)
            attached = ServerNic(port_id=port.id, network_id=port.network_id, network_name="", mac=port.mac_address,
                                 made_by_server=not nic.port_id)
            try:
                server = self.store.read(servers_db.get_server, server.uuid)
                attached = next(n for n in server.nics if n.port_id == port.id)
                await self.ports.interfaces(_only(server, attached))
                await nic_devices.attach_interface(self.guests.hv, server.instance_name,
                                                   self.ports.interface_spec(attached))
            except Exception as exc:
                log.error("attaching port %s to server %s failed: %s", port.id, server.uuid, exc)
                await self.ports.unplug(attached)
                raise InterfaceAttachFailed(instance_uuid=server.uuid) from exc
        return self.get(ctx, server.uuid, port.id)

    async def detach(self, ctx: AuthContext, server_id: str, port_id: str) -> None:
        server = self._changeable(ctx, server_id, "detach_interface")
        nic, _port = self.get(ctx, server.uuid, port_id)
        async with self.tasks.lock(server.uuid):
            try:
                await nic_devices.detach_interface(self.guests.hv, server.instance_name, nic.mac)
            except Exception as exc:
                log.error("detaching port %s from server %s failed: %s", port_id, server.uuid, exc)
                raise InterfaceDetachFailed(instance_uuid=server.uuid) from exc
            await self.ports.unplug(nic)

    # ----- helpers ---------------------------------------------------------------------------------------------

    def _changeable(self, ctx: AuthContext, server_id: str, action: str) -> Server:
        server = visible_server(self.store, ctx, server_id)
        check_writable(ctx, server)
        if server.vm_state not in ATTACHABLE or server.task_state is not None:
            attr, state = ("task_state", server.task_state) if server.task_state else ("vm_state", server.vm_state)
            raise InstanceInvalidState(action=action, uuid=server.uuid, attr=attr, state=state)
        return server

    def _request(self, ctx: AuthContext, server: Server, port_id: str | None, net_id: str | None,
                 fixed_ip: str | None, tag: str | None) -> NicRequest:
        if port_id and net_id:
            raise BadRequest("Must not input both network_id and port_id")
        if fixed_ip and not net_id:
            raise BadRequest("Must input network_id when request IP address")
        if not self.ports.enabled:
            raise BadRequest("Networking is off on this host: no interface can be attached.")
        try:  # Nova's attach answers 404 for these (create answers 400)
            if port_id:
                self.ports.port(ctx, port_id)
            if net_id:
                self.ports.network(ctx, net_id)
        except NotFound:
            raise InterfaceNotFound(f"Port id {port_id} could not be found." if port_id
                                    else f"Network {net_id} could not be found.") from None
        networks = (NetworkRequest(uuid=net_id, port=port_id, fixed_ip=fixed_ip, tag=tag),) if port_id or net_id \
            else None
        plan = plan_networks(CreateRequest("", "", "", networks=networks), ctx, self.ports)
        if not plan.nics:
            raise BadRequest(f"Unable to automatically allocate a network for project {ctx.project_id}")
        return plan.nics[0]

    def _port(self, port_id: str) -> Port | None:
        return self.store.read(ports_db.get_port, port_id)


def _only(server: Server, nic: ServerNic) -> Server:
    return dataclasses.replace(server, nics=(nic,))
