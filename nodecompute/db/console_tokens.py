"""Console URL tokens: one row per issued token, keyed by its digest (the token itself is never stored).
Functions take a sqlite-utils Database first."""
from __future__ import annotations

from sqlite_utils import Database

from nodecompute.domain.console_tokens import ConsoleToken


def add(db: Database, record: ConsoleToken) -> None:
    db.execute("INSERT INTO console_tokens (digest, server_id, kind, expires_at) VALUES (?, ?, ?, ?)",
               [record.digest, record.server_id, record.kind, record.expires_at])


def find(db: Database, digest: str) -> ConsoleToken | None:
    row = db.execute("SELECT digest, server_id, kind, expires_at FROM console_tokens WHERE digest = ?",
                     [digest]).fetchone()
    return None if row is None else ConsoleToken(row[0], row[1], row[2], row[3])


def revoke_server(db: Database, server_id: str) -> int:
    return db.execute("DELETE FROM console_tokens WHERE server_id = ?", [server_id]).rowcount


def purge_expired(db: Database, now: float) -> int:
    return db.execute("DELETE FROM console_tokens WHERE expires_at <= ?", [now]).rowcount
