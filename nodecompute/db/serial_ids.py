"""Public ids by integer serial (dialects.md section 2: every server, flavor, volume ... also has a serial, which
the vendor dialects accept in paths, D10)."""
from __future__ import annotations

from sqlite_utils import Database

# table -> its public id column
PUBLIC_ID = {"servers": "uuid"}


def public_id(db: Database, table: str, serial: int) -> str | None:
    """The public id of the live row with that serial, if any."""
    row = db.execute(f"SELECT {PUBLIC_ID[table]} FROM {table} WHERE serial = ? AND deleted = 0", [serial]).fetchone()
    return row[0] if row is not None else None
