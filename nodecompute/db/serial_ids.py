"""Public ids by integer serial (dialects.md section 2: servers, flavors, volumes ... carry a serial, which the
vendor dialects accept in paths, D10), and the serials given to the resources whose rows have none
(`public_serials`: security groups, rules, floating IPs)."""
from __future__ import annotations

from collections.abc import Iterable

from sqlite_utils import Database

# table -> its public id column (rows with their own serial column)
PUBLIC_ID = {"servers": "uuid"}


def public_id(db: Database, table: str, serial: int) -> str | None:
    """The public id of the live row with that serial, if any."""
    row = db.execute(f"SELECT {PUBLIC_ID[table]} FROM {table} WHERE serial = ? AND deleted = 0", [serial]).fetchone()
    return row[0] if row is not None else None


def id_of_serial(db: Database, kind: str, serial: int) -> str | None:
    row = db.execute("SELECT id FROM public_serials WHERE kind = ? AND serial = ?", [kind, serial]).fetchone()
    return row[0] if row is not None else None


def known_serials(db: Database, kind: str, ids: Iterable[str]) -> dict[str, int]:
    wanted = list(dict.fromkeys(ids))
    if not wanted:
        return {}
    marks = ", ".join("?" for _ in wanted)
    rows = db.execute(f"SELECT id, serial FROM public_serials WHERE kind = ? AND id IN ({marks})", [kind, *wanted])
    return {row[0]: row[1] for row in rows.fetchall()}


def give_serials(db: Database, kind: str, ids: Iterable[str]) -> dict[str, int]:
    """The serial of each id, given now to those without one."""
    wanted = list(dict.fromkeys(ids))
    db.conn.executemany("INSERT OR IGNORE INTO public_serials (kind, id) VALUES (?, ?)", [(kind, i) for i in wanted])
    return known_serials(db, kind, wanted)
