"""Integer serials for the dialects that show them (Cyclades, D10/D11): a path's serial to the resource's public id,
and the serials a view shows for the ids it holds (the rows give their serials as they are inserted); and the
administrative suspension of a server that the same dialect shows (D14, D25)."""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from nodecompute.db import firewall_profiles as firewall_profiles_db, instance_actions as actions_db
from nodecompute.db import public_serials as serials_db
from nodecompute.db.store import Store
from nodecompute.domain.action_models import InstanceAction
from nodecompute.domain.errors import PolicyNotAuthorized
from nodecompute.domain.models import AuthContext, isotime, utcnow


@dataclass(frozen=True)
class ServerSerial:
    uuid: str
    deleted: bool


@dataclass(frozen=True)
class ViewSerials:
    """What a view needs beside the resources: flavor, network and port serials by public id."""

    flavors: dict[str, int] = field(default_factory=dict)
    networks: dict[str, int] = field(default_factory=dict)
    ports: dict[str, int] = field(default_factory=dict)
    suspended: frozenset[str] = frozenset()  # the uuids of the servers an admin suspended
    profiles: dict[str, str] = field(default_factory=dict)  # port id -> firewall profile, where not DISABLED
    actions: dict[str, list[InstanceAction]] = field(default_factory=dict)  # server uuid -> its actions, newest first


class PublicSerials:
    def __init__(self, store: Store) -> None:
        self.store = store

    def server(self, serial: int) -> ServerSerial | None:
        found = self.store.read(serials_db.server_by_serial, serial)
        return None if found is None else ServerSerial(*found)

    def flavor(self, serial: int) -> str | None:
        return self.store.read(serials_db.flavor_by_serial, serial)

    def network(self, serial: int) -> str | None:
        return self.store.read(serials_db.id_of, serials_db.NETWORK, serial)

    def port(self, serial: int) -> str | None:
        return self.store.read(serials_db.id_of, serials_db.PORT, serial)

    def floating_ip(self, serial: int) -> str | None:
        return self.store.read(serials_db.id_of, serials_db.FLOATING_IP, serial)

    def floating_ip_serials(self, ids: Iterable[str]) -> dict[str, int]:
        return self.store.read(serials_db.serials_of, serials_db.FLOATING_IP, ids)

    def volume(self, serial: int) -> str | None:
        return self.store.read(serials_db.volume_by_serial, serial)

    def volume_serials(self, ids: Iterable[str]) -> dict[str, int]:
        return self.store.read(serials_db.volume_serials, ids)

    def server_serials(self, uuids: Iterable[str]) -> dict[str, int]:
        return self.store.read(serials_db.server_serials, uuids)

    def network_serials(self, ids: Iterable[str]) -> dict[str, int]:
        return self.store.read(serials_db.serials_of, serials_db.NETWORK, ids)

    def for_views(self, network_ids: Iterable[str] = (), port_ids: Iterable[str] = (),
                  server_ids: Iterable[str] = ()) -> ViewSerials:
        port_ids, server_ids = list(port_ids), list(server_ids)
        return ViewSerials(flavors=self.store.read(serials_db.flavor_serials),
                           networks=self.store.read(serials_db.serials_of, serials_db.NETWORK, network_ids),
                           ports=self.store.read(serials_db.serials_of, serials_db.PORT, port_ids),
                           suspended=frozenset(self.store.read(serials_db.suspended_of, server_ids)),
                           profiles=self.store.read(firewall_profiles_db.profiles, port_ids),
                           actions=self.store.read(actions_db.actions_of, server_ids))

    def suspended(self, server_uuid: str) -> bool:
        return bool(self.store.read(serials_db.suspended_of, [server_uuid]))

    async def set_suspended(self, ctx: AuthContext, server_uuid: str, suspended: bool) -> None:
        """The administrative suspension (admins only; the caller checked the server exists)."""
        if not ctx.is_admin:
            raise PolicyNotAuthorized(action="cyclades:servers:suspend")
        await self.store.write(serials_db.set_suspended, server_uuid, suspended, isotime(utcnow()))
