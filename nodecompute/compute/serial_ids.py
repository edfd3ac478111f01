"""Integer serials in place of public ids (the helion dialect: servers, flavors and volumes by serial or public id
in paths, D10; flavors shown by serial; security groups, rules and floating IPs shown and taken by integer id,
D54, D55)."""
from __future__ import annotations

from collections.abc import Iterable

from nodecompute.db import public_serials as serials_db
from nodecompute.db.store import Store

MAX_DIGITS = 18


def _serial(ref: str | int) -> int | None:
    text = str(ref)
    return int(text) if text.isdigit() and len(text) <= MAX_DIGITS else None


class SerialIds:
    def __init__(self, store: Store) -> None:
        self.store = store

    def public_id(self, table: str, ref: str) -> str:
        """`ref` itself, unless it is a serial of a live row of `table`: then that row's public id."""
        serial = _serial(ref)
        if serial is None:
            return ref
        return self.store.read(serials_db.public_id, table, serial) or ref

    def id_of_serial(self, kind: str, ref: str | int) -> str | None:
        """The id a given serial stands for (None: no such serial, or not a serial)."""
        serial = _serial(ref)
        return None if serial is None else self.store.read(serials_db.id_of, kind, serial)

    async def serials_of(self, kind: str, ids: Iterable[str]) -> dict[str, int]:
        """Each id's serial, giving one (for good) to an id seen for the first time."""
        wanted = [i for i in ids if isinstance(i, str)]
        known = self.store.read(serials_db.serials_of, kind, wanted)
        if len(known) == len(set(wanted)):
            return known
        return await self.store.write(serials_db.give_serials, kind, wanted)

    def flavor_id(self, ref: str | int) -> str:
        """The flavorid of the flavor whose serial `ref` is; else `ref` itself (a flavorid)."""
        serial = _serial(ref)
        found = self.store.read(serials_db.flavor_by_serial, serial) if serial is not None else None
        return found if found is not None else str(ref)

    def flavor_serials(self) -> dict[str, int]:
        """flavorid -> serial of every flavor."""
        return self.store.read(serials_db.flavor_serials)

    def volume_id(self, ref: str) -> str:
        """The id of the volume whose serial `ref` is; else `ref` itself."""
        serial = _serial(ref)
        found = self.store.read(serials_db.volume_by_serial, serial) if serial is not None else None
        return found if found is not None else ref
