"""The password each server's guest posted to the metadata service (table server_passwords, one row at most)."""
from __future__ import annotations

from sqlite_utils import Database


def get_password(db: Database, server_uuid: str) -> str | None:
    row = db.execute("SELECT password FROM server_passwords WHERE server_uuid = ?", [server_uuid]).fetchone()
    return row["password"] if row is not None else None


def set_password_once(db: Database, server_uuid: str, password: str) -> bool:
    """Store the password unless one is stored; False (nothing changed) when one was already there."""
    done = db.execute("INSERT OR IGNORE INTO server_passwords (server_uuid, password) VALUES (?, ?)",
                      [server_uuid, password])
    return done.rowcount == 1


def clear_password(db: Database, server_uuid: str) -> None:
    db.execute("DELETE FROM server_passwords WHERE server_uuid = ?", [server_uuid])
