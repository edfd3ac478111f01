"""What the server side asks of the security groups, over the ports whose device_id is the server: the groups for
`security_groups` on server create (`resolve`), a server's groups (#1508, `of_server`), and the addSecurityGroup /
removeSecurityGroup actions (#1509-#1510, `add`/`remove`). Nova's Neutron driver in its lookups and messages
(nova/network/neutron.py `_get_security_group_ids`, nova/network/security_group_api.py `add_to_instance`,
`remove_from_instance`); the faults are the ones Nova's API answers (the compute face renders them), so a handler
only parses the body and calls one of these. Port changes hold the networking core's lock and end with the
firewall in line with the rows, as every other change does.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from nodecompute.compute.networks import NetworkCore
from nodecompute.db import ports as ports_db
from nodecompute.db import security_groups as security_groups_db
from nodecompute.domain.errors import BadRequest, Conflict, NotFound
from nodecompute.domain.models import AuthContext, isotime
from nodecompute.domain.network_models import Port, SecurityGroup

CANNOT_APPLY = ("Network requires port_security_enabled and subnet associated in order to apply security groups.")


def _ports_of(db: Any, server_id: str) -> list[Port]:
    return [port for port in ports_db.list_ports(db) if port.device_id == server_id]


class ServerSecurityGroups:
    def __init__(self, core: NetworkCore) -> None:
        self.core = core

    def _groups(self, project_id: str) -> list[SecurityGroup]:
        return self.core.store.read(security_groups_db.list_groups, project_id)

    def resolve(self, project_id: str, requested: Sequence[str]) -> tuple[str, ...]:
        """The ids of the groups a server create names (each an id or a name of the project's groups): 400 for one
        that is not there, 409 for a name two groups share."""
        groups = self._groups(project_id)
        found = []
        for wanted in requested:
            by_name = [g.id for g in groups if g.name == wanted]
            if any(g.id == wanted for g in groups):
                found.append(wanted)
            elif len(by_name) > 1:
                raise Conflict(f"Multiple security groups found matching '{wanted}'. Use an ID to be more specific.")
            elif by_name:
                found.append(by_name[0])
            else:
                raise BadRequest(f"Security group {wanted} not found.")
        return tuple(found)

    def of_server(self, server_id: str) -> list[SecurityGroup]:
        """The groups on the server's ports, each once, oldest first (none without ports)."""
        ports = self.core.store.read(_ports_of, server_id)
        ids = {group_id for port in ports for group_id in port.security_group_ids}
        return self.core.store.read(security_groups_db.list_groups, None, ids) if ids else []

    def _find(self, ctx: AuthContext, name: str) -> str:
        """neutronclient's find by id, then by name in the caller's project (404 / 409 as Nova maps them)."""
        group = self.core.store.read(security_groups_db.get_group, name)
        if group is not None and (ctx.is_admin or group.project_id == ctx.project_id):
            return group.id
        by_name = [g.id for g in self._groups(ctx.project_id) if g.name == name]
        if len(by_name) > 1:
            raise Conflict(f"Multiple security_group matches found for name '{name}', use an ID to be more specific.")
        if not by_name:
            raise NotFound(f"Security group {name} is not found for project {ctx.project_id}")
        return by_name[0]

    def _server_ports(self, server_id: str) -> list[Port]:
        ports = self.core.store.read(_ports_of, server_id)
        if not ports:
            raise NotFound(f"instance_id {server_id} could not be found as device id on any ports")
        return ports

    async def add(self, ctx: AuthContext, server_id: str, name: str) -> None:
        """The group on every port of the server; nothing changes when one port cannot take it."""
        async with self.core.lock:
            group_id = self._find(ctx, name)
            ports = self._server_ports(server_id)
            for port in ports:
                if not (port.port_security_enabled and port.fixed_ips):
                    raise BadRequest(CANNOT_APPLY)
                if group_id in port.security_group_ids:
                    raise BadRequest(f"Invalid input for security_groups. Reason: Duplicate items in the list: "
                                     f"'{group_id}'.")
            await self._write({port.id: port.security_group_ids + (group_id,) for port in ports})

    async def remove(self, ctx: AuthContext, server_id: str, name: str) -> None:
        """The group off every port of the server that has it: 404 when none has it."""
        async with self.core.lock:
            group_id = self._find(ctx, name)
            ports = [p for p in self._server_ports(server_id) if group_id in p.security_group_ids]
            if not ports:
                raise NotFound(f"Security group {name} not associated with the instance {server_id}")
            await self._write({port.id: tuple(g for g in port.security_group_ids if g != group_id)
                               for port in ports})

    async def _write(self, groups_by_port: dict[str, tuple[str, ...]]) -> None:
        now = isotime(self.core.clock())

        def write(db: Any) -> None:
            for port_id, group_ids in groups_by_port.items():
                ports_db.set_security_groups(db, port_id, group_ids)
                ports_db.update_port(db, port_id, {}, now)

        await self.core.store.write(write)
        await self.core.firewall.sync_logged()
