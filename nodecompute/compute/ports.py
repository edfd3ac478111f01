"""Ports (#2807-#2808): a MAC under fa:16:3e unique on the cloud, fixed addresses from the network's subnets, the
project's default security group unless others are asked (none with port security off), and a DHCP host entry for
each address so that a guest with the port's MAC gets the port's address.

A project sees its own ports and the ports on its networks; an admin every port. The network's DHCP port is
managed with its subnets: it is listed like any port but cannot be deleted or readdressed through this API; router
legs and floating IP ports belong to their router or floating IP the same way. Only an admin (or the owner) makes a
port on the external network. Deleting a port disassociates its floating IPs.

`bind(port_id, tap, host)` is the seam the server side calls as the port's tap is made and before the guest
sends anything: the port is recorded as plugged on that tap (ACTIVE, bound to the host) and its filtering is in the
kernel when it returns; `unbind` takes it out again. Every change to a port's addresses, MAC, groups or port
security, and its deletion, brings the firewall in line (compute/firewall.py).
"""
from __future__ import annotations

import dataclasses
import functools
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from nodecompute.compute.addresses import allocate, new_mac
from nodecompute.compute.default_group import ensure_default
from nodecompute.compute.network_quotas import check_room
from nodecompute.compute.networks import NetworkCore
from nodecompute.db import networks as networks_db
from nodecompute.db import ports as ports_db
from nodecompute.db import routers as routers_db
from nodecompute.db import security_groups as security_groups_db
from nodecompute.domain.errors import InternalError
from nodecompute.domain.models import AuthContext, isotime
from nodecompute.domain.network_errors import (BadRequest, InvalidInput, MacAddressInUse, PolicyNotAuthorized,
                                               PortInUse, PortNotFound, PortSecurityAndIPRequiredForSecurityGroups,
                                               PortSecurityPortHasSecurityGroup, SecurityGroupNotFound,
                                               ServicePortInUse)
from nodecompute.domain.network_models import (DHCP_OWNER, FLOATINGIP_OWNER, NETWORK_OWNER_PREFIX,
                                               ROUTER_GATEWAY_OWNER, ROUTER_INTERFACE_OWNER, Binding, Network, Port,
                                               PortPlug, PortRequest)

TAP_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,14}$")  # an interface name nftables can name a chain after

DHCP_PORT_FIELDS = frozenset({"name", "description", "admin_state_up"})  # what an update may change on it
RESERVED_OWNERS = (DHCP_OWNER, ROUTER_INTERFACE_OWNER, ROUTER_GATEWAY_OWNER, FLOATINGIP_OWNER)


def _visible_ports(ctx: AuthContext) -> Callable[[Any], list[Port]]:
    """The read of the ports `ctx` may see: every port for an admin."""
    return functools.partial(ports_db.list_ports, project_id=None if ctx.is_admin else ctx.project_id)


@dataclass(frozen=True)
class Recorded:
    """A server's port: what is written with the port's row (`write(db, port)`, in its transaction) and whom to tell
    once it is (`written()`), before the port's host side (its DHCP entry) is applied."""
    write: Callable[[Any, Port], None] | None = None
    written: Callable[[], None] | None = None


class PortService:
    def __init__(self, core: NetworkCore) -> None:
        self.core = core

    def list(self, ctx: AuthContext) -> list[Port]:
        return self.core.store.read(_visible_ports(ctx))

    async def list_off_loop(self, ctx: AuthContext) -> list[Port]:
        """list() on the store's reader thread: a thousand ports are tens of milliseconds of rows made records,
        which the event loop spends answering others meanwhile."""
        return await self.core.store.read_in_thread(_visible_ports(ctx))

    def get(self, ctx: AuthContext, port_id: str) -> Port:
        port = self.core.store.read(ports_db.get_port, port_id)
        if port is not None and not ctx.is_admin and port.project_id != ctx.project_id:
            network = self.core.store.read(networks_db.get_network, port.network_id)
            if network is None or network.project_id != ctx.project_id:
                port = None
        if port is None:
            raise PortNotFound(port_id=port_id)
        return port

    async def create(self, ctx: AuthContext, request: PortRequest, binding: Binding | None = None, *,
                     recorded: Recorded | None = None) -> Port:
        """A new port; with `binding`, made already given to a server (compute/server_ports.py), and `recorded`
        written with its row and told before the host has its DHCP entry (a build's next steps need the rows
        only; if the host side then fails, the row is deleted and this raises as without it)."""
        _check_not_reserved(request.device_owner)
        limit = self.core.quotas.limits(request.project_id)["port"]
        port_id = str(uuid.uuid4())

        def insert(db: Any, network: Network) -> None:
            check_room(limit, ports_db.count_ports(db, request.project_id), "port")
            if request.mac_address is not None and ports_db.mac_in_use(db, request.mac_address):
                raise MacAddressInUse(net_id=network.id, mac=request.mac_address)
            fixed_ips = allocate(db, network, request.fixed_ips, request.device_owner)
            security = network.port_security_enabled if request.port_security_enabled is None \
                else request.port_security_enabled
            now = self.core.clock()
            port = Port(
                id=port_id, project_id=request.project_id, network_id=network.id,
                mac_address=request.mac_address or new_mac(db), name=request.name, description=request.description,
                fixed_ips=fixed_ips, device_id=request.device_id, device_owner=request.device_owner,
                admin_state_up=request.admin_state_up, port_security_enabled=security,
                security_group_ids=self._groups(db, ctx, request, security, now), host_id=request.host_id,
                created_at=now, updated_at=now,
            )
            if binding is not None:
                port = dataclasses.replace(port, **_bound_values(binding))
            ports_db.insert_port(db, port)
            if recorded is not None and recorded.write is not None:
                recorded.write(db, port)

        async with self.core.lock:
            network = self.core.network(ctx, request.network_id)
            if network.external and not ctx.is_admin and network.project_id != ctx.project_id:
                raise PolicyNotAuthorized(rule="rule:create_port")
            _check_owner_only(ctx, network, request)
            await self.core.store.write(insert, network)
            if recorded is not None and recorded.written is not None:
                recorded.written()
            # not plugged (PortService.bind plugs it): not in the firewall's model, which reads plugged ports only
            await self.core.apply_or_undo(network.id, lambda db: ports_db.delete_port(db, port_id), firewall=False)
        return self.get(ctx, port_id)

    def _groups(self, db: Any, ctx: AuthContext, request: PortRequest, security: bool, now) -> tuple[str, ...]:
        asked = request.security_group_ids
        if not security:
            if asked:
                raise PortSecurityAndIPRequiredForSecurityGroups()
            return ()
        if asked is None:
            if request.device_owner.startswith(NETWORK_OWNER_PREFIX):
                return ()
            return (ensure_default(db, request.project_id, now),)
        for group_id in asked:
            owner = security_groups_db.group_project(db, group_id)
            if owner is None or (owner != request.project_id and not ctx.is_admin):
                raise SecurityGroupNotFound(id=group_id)
        return tuple(asked)

    async def update(self, ctx: AuthContext, port_id: str, changes: dict[str, Any]) -> Port:
        async with self.core.lock:
            port = self.get(ctx, port_id)
            if port.is_dhcp and set(changes) - DHCP_PORT_FIELDS:
                raise InvalidInput(error_message=f"The DHCP port {port_id} changes only with its network's subnets")
            if "device_owner" in changes and changes["device_owner"] != port.device_owner:
                _check_not_reserved(changes["device_owner"])
                if port.is_router_port:
                    raise InvalidInput(error_message=f"The port {port_id} belongs to router or floating IP "
                                                     f"{port.device_id}")
            network = self.core.store.read(networks_db.get_network, port.network_id)
            now = self.core.clock()

            def write(db: Any) -> None:
                values = dict(changes)
                if "mac_address" in values and values["mac_address"] != port.mac_address \
                        and ports_db.mac_in_use(db, values["mac_address"]):
                    raise MacAddressInUse(net_id=port.network_id, mac=values["mac_address"])
                if "fixed_ips" in values:
                    owner = values.get("device_owner", port.device_owner)
                    fixed = allocate(db, network, values.pop("fixed_ips"), owner, mine=port.fixed_ips)
                    _check_floating_kept(db, port_id, fixed)
                    ports_db.set_fixed_ips(db, port_id, fixed)
                groups = values.pop("security_groups", None)
                security = values.get("port_security_enabled", port.port_security_enabled)
                if groups is not None:
                    request = PortRequest(port.network_id, port.project_id, security_group_ids=tuple(groups))
                    ports_db.set_security_groups(db, port_id, self._groups(db, ctx, request, security, now))
                elif not security and port.security_group_ids:
                    raise PortSecurityPortHasSecurityGroup()
                ports_db.update_port(db, port_id, values, isotime(now))

            await self.core.store.write(write)
            if {"fixed_ips", "mac_address"} & set(changes):
                await self.core.apply_logged(port.network_id)  # the firewall follows
            elif {"security_groups", "port_security_enabled"} & set(changes):
                await self.core.firewall.sync_logged()
        return self.get(ctx, port_id)

    async def delete(self, ctx: AuthContext, port_id: str) -> None:
        async with self.core.lock:
            port = self.get(ctx, port_id)
            if port.is_dhcp:
                raise ServicePortInUse(port_id=port_id, reason=f"it is the DHCP port of network {port.network_id}, "
                                                               f"which goes with the network's last DHCP subnet")
            if port.is_router_port:
                raise ServicePortInUse(port_id=port_id, reason=f"has device owner {port.device_owner}")

            await self._delete_row(port_id)
            await self.core.apply_logged(port.network_id)

    async def _delete_row(self, port_id: str) -> None:
        """The port's row, its floating IPs disassociated first (their routers' NAT follows)."""
        def delete(db: Any) -> set[str]:
            routers = routers_db.disassociate_port(db, port_id, isotime(self.core.clock()))
            ports_db.delete_port(db, port_id)
            return routers

        for router_id in sorted(await self.core.store.write(delete)):
            await self.core.l3.apply_logged(router_id, floating_only=True)

    # the server side's seam ---------------------------------------------------------------------------------------

    async def bind(self, port_id: str, tap: str, host: str) -> Port:
        """The port is plugged on `tap` (a host interface in its network's bridge) on `host`: recorded (status
        ACTIVE, vif_type bridge) and filtered before this returns. When the filtering cannot be applied the record
        is undone and this fails: the tap must not carry the guest's traffic unfiltered."""
        if not TAP_NAME.match(tap):
            raise ValueError(f"{tap!r} is not an interface name")
        async with self.core.lock:
            port = self.core.store.read(ports_db.get_port, port_id)
            if port is None:
                raise PortNotFound(port_id=port_id)
            before = self.core.store.read(security_groups_db.get_plug, port_id)

            def record(db: Any) -> None:
                owner = security_groups_db.tap_owner(db, tap)
                if owner not in (None, port_id):
                    raise ValueError(f"tap {tap} is already port {owner}'s")
                security_groups_db.plug(db, port_id, port.network_id, tap, host)
                ports_db.update_port(db, port_id, {"status": "ACTIVE", "vif_type": "bridge", "host_id": host},
                                     isotime(self.core.clock()))

            def undo(db: Any) -> None:
                if before is None:
                    security_groups_db.unplug(db, port_id)
                else:
                    security_groups_db.plug(db, port_id, port.network_id, before.tap, before.host)
                ports_db.update_port(db, port_id, {"status": port.status, "vif_type": port.vif_type,
                                                   "host_id": port.host_id}, isotime(self.core.clock()))

            await self.core.store.write(record)
            try:
                await self.core.firewall.sync()
            except Exception as exc:
                await self.core.store.write(undo)
                await self.core.firewall.sync_logged()
                raise InternalError() from exc
        return self.core.store.read(ports_db.get_port, port_id)

    async def unbind(self, port_id: str) -> None:
        """The port's tap is gone (or going): no longer plugged (DOWN, unbound) and out of the firewall."""
        async with self.core.lock:
            if self.core.store.read(security_groups_db.get_plug, port_id) is None:
                return

            def record(db: Any) -> None:
                security_groups_db.unplug(db, port_id)
                ports_db.update_port(db, port_id, {"status": "DOWN", "vif_type": "unbound", "host_id": ""},
                                     isotime(self.core.clock()))

            await self.core.store.write(record)
            await self.core.firewall.sync_logged()

    def plug_of(self, port_id: str) -> PortPlug | None:
        return self.core.store.read(security_groups_db.get_plug, port_id)


    # the device side of a server's ports (compute/server_ports.py; `bind` above is the tap and the firewall) -------

    async def attach_to_server(self, ctx: AuthContext, port_id: str, binding: Binding, *,
                               written: Callable[[], None] | None = None) -> Port:
        """Give an existing port to a server (device id and owner, host, the server's DHCP host name): 409 when
        another device has it. Its tap and filtering come after, through `bind`. `written()` once the port's row is,
        before its host side is applied (as create's `recorded.written`; the caller recorded the port before)."""
        async with self.core.lock:
            port = self.get(ctx, port_id)
            if port.device_id or port.is_dhcp:
                raise PortInUse(port_id=port_id, net_id=port.network_id, device_id=port.device_id or port.device_owner)
            now = isotime(self.core.clock())
            await self.core.store.write(ports_db.update_port, port_id, _bound_values(binding), now)
            if written is not None:
                written()
            await self.core.apply_or_undo(port.network_id, lambda db: ports_db.update_port(
                db, port_id, _unbound_values(), now))
        return self.core.store.read(ports_db.get_port, port_id)

    async def release(self, port_id: str, *, delete: bool) -> None:
        """Take a port from its server (no caller checks: the server's own teardown; `unbind` came first): deleted
        when the server made it, else given back (device, owner, binding and host name cleared, status DOWN).
        Nothing when the port is gone already."""
        port = self.core.store.read(ports_db.get_port, port_id)
        if port is None:
            return
        async with self.core.lock:
            if delete:
                await self._delete_row(port_id)
            else:
                await self.core.store.write(ports_db.update_port, port_id, _unbound_values(),
                                            isotime(self.core.clock()))
            await self.core.apply_logged(port.network_id)


def _bound_values(binding: Binding) -> dict[str, Any]:
    return {"device_id": binding.device_id, "device_owner": binding.device_owner, "host_id": binding.host_id,
            "hostname": binding.hostname, "vif_type": binding.vif_type, "status": "ACTIVE"}


def _unbound_values() -> dict[str, Any]:
    return {"device_id": "", "device_owner": "", "host_id": "", "hostname": "", "vif_type": "unbound",
            "status": "DOWN"}


def _check_not_reserved(owner: str) -> None:
    if owner in RESERVED_OWNERS:
        raise InvalidInput(error_message=f"device_owner {owner} is reserved for the ports the network, its routers "
                                         f"and floating IPs make")


def _check_floating_kept(db: Any, port_id: str, fixed: tuple) -> None:
    """Neutron: a port's fixed address with a floating IP stays while the floating IP is associated."""
    kept = {f.ip_address for f in fixed}
    for fip in routers_db.list_floatingips(db, port_id=port_id):
        if fip.fixed_ip_address not in kept:
            raise BadRequest(f"Bad port request: Cannot update the fixed_ips of the port {port_id}, because its "
                             f"original fixed_ip has been associated to a floating ip.")


def _check_owner_only(ctx: AuthContext, network: Network, request: PortRequest) -> None:
    """On another project's shared network, a port's MAC and addresses are the network owner's (or an admin's)
    to choose (Neutron's policy)."""
    if ctx.is_admin or network.project_id == ctx.project_id:
        return
    if request.mac_address is not None:
        raise PolicyNotAuthorized(rule="(rule:create_port and rule:create_port:mac_address)")
    if any("ip_address" in f for f in request.fixed_ips or ()):
        raise PolicyNotAuthorized(rule="(rule:create_port and rule:create_port:fixed_ips:ip_address)")
