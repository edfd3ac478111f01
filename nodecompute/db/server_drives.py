"""A server's own config drive form (migration 0025): format and layout, for the servers a dialect chose one for."""
from __future__ import annotations

from collections.abc import Iterable

from sqlite_utils import Database


def set_drives(db: Database, uuids: Iterable[str], drive_format: str, layout: str) -> None:
    db.conn.executemany("INSERT OR REPLACE INTO server_config_drives VALUES (?, ?, ?)",
                        [(uuid, drive_format, layout) for uuid in uuids])


def drive_of(db: Database, uuid: str) -> tuple[str, str] | None:
    """(format, layout) of the server's drive, or None (the host's format, Nova's tree)."""
    row = db.execute("SELECT format, layout FROM server_config_drives WHERE server_uuid = ?", [uuid]).fetchone()
    return None if row is None else (row["format"], row["layout"])
