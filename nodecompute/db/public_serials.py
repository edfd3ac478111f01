"""Integer serials next to public ids (dialects.md section 2): servers and flavors carry theirs in their own rows,
networks, ports and floating IPs in `public_serials` (migration 0022, as their rows are inserted), security groups
and their rules there too, on first sight (`give_serials`). Lookups both ways, in bulk where a list needs them; and
the servers an admin suspended (migration 0023)."""
from __future__ import annotations

from collections.abc import Iterable

from sqlite_utils import Database

NETWORK = "network"
PORT = "port"
FLOATING_IP = "floatingip"
# table -> its public id column (rows with their own serial column)
PUBLIC_ID = {"servers": "uuid"}


def server_by_serial(db: Database, serial: int) -> tuple[str, bool] | None:
    """(uuid, deleted) of the server row with that serial, deleted rows included until they are purged."""
    row = db.execute("SELECT uuid, deleted FROM servers WHERE serial = ?", [serial]).fetchone()
    return None if row is None else (row["uuid"], bool(row["deleted"]))


def flavor_by_serial(db: Database, serial: int) -> str | None:
    row = db.execute("SELECT flavorid FROM flavors WHERE serial = ?", [serial]).fetchone()
    return None if row is None else row["flavorid"]


def flavor_serials(db: Database) -> dict[str, int]:
    """flavorid -> serial of every flavor (a small table)."""
    return {row["flavorid"]: row["serial"] for row in db.execute("SELECT flavorid, serial FROM flavors")}


def serials_of(db: Database, kind: str, ids: Iterable[str]) -> dict[str, int]:
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    marks = ",".join("?" * len(wanted))
    rows = db.execute(f"SELECT id, serial FROM public_serials WHERE kind = ? AND id IN ({marks})", [kind, *wanted])
    return {row["id"]: row["serial"] for row in rows}


def id_of(db: Database, kind: str, serial: int) -> str | None:
    row = db.execute("SELECT id FROM public_serials WHERE kind = ? AND serial = ?", [kind, serial]).fetchone()
    return None if row is None else row["id"]


def suspended_of(db: Database, uuids: Iterable[str]) -> set[str]:
    """Those of `uuids` an admin suspended (migration 0023)."""
    wanted = sorted(set(uuids))
    if not wanted:
        return set()
    marks = ",".join("?" * len(wanted))
    return {row[0] for row in db.execute(f"SELECT server_uuid FROM suspended_servers WHERE server_uuid IN ({marks})",
                                         wanted)}


def set_suspended(db: Database, uuid: str, suspended: bool, now: str) -> None:
    if suspended:
        db.execute("INSERT OR IGNORE INTO suspended_servers VALUES (?, ?)", [uuid, now])
    else:
        db.execute("DELETE FROM suspended_servers WHERE server_uuid = ?", [uuid])


def volume_by_serial(db: Database, serial: int) -> str | None:
    row = db.execute("SELECT id FROM volumes WHERE serial = ?", [serial]).fetchone()
    return None if row is None else row["id"]


def volume_serials(db: Database, ids: Iterable[str]) -> dict[str, int]:
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    marks = ",".join("?" * len(wanted))
    return {row["id"]: row["serial"] for row in db.execute(f"SELECT id, serial FROM volumes WHERE id IN ({marks})",
                                                           wanted)}


def server_serials(db: Database, uuids: Iterable[str]) -> dict[str, int]:
    wanted = sorted(set(uuids))
    if not wanted:
        return {}
    marks = ",".join("?" * len(wanted))
    return {row["uuid"]: row["serial"] for row in db.execute(
        f"SELECT uuid, serial FROM servers WHERE uuid IN ({marks})", wanted)}


def public_id(db: Database, table: str, serial: int) -> str | None:
    """The public id of the live row of `table` with that serial, if any."""
    row = db.execute(f"SELECT {PUBLIC_ID[table]} FROM {table} WHERE serial = ? AND deleted = 0", [serial]).fetchone()
    return row[0] if row is not None else None


def give_serials(db: Database, kind: str, ids: Iterable[str]) -> dict[str, int]:
    """The serial of each id, given now to those without one."""
    wanted = sorted(set(ids))
    db.conn.executemany("INSERT OR IGNORE INTO public_serials (kind, id) VALUES (?, ?)", [(kind, i) for i in wanted])
    return serials_of(db, kind, wanted)
