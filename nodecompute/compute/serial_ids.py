"""Integer serials in place of public ids (the helion dialect: servers by serial or UUID in paths, D10; security
groups, rules and floating IPs shown and taken by integer id, D54, D55)."""
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
