"""Keypairs: one row per (user, name). Functions take a sqlite-utils Database first."""
from __future__ import annotations

import dataclasses
import sqlite3

from sqlite_utils import Database

from nodecompute.domain.errors import BadRequest, Conflict, NotFound
from nodecompute.domain.models import Keypair, isotime, parse_isotime


class KeypairQuotaReached(Exception):
    """The user already holds as many keypairs as the quota allows (checked inside the insert transaction)."""


def _keypair(row: sqlite3.Row) -> Keypair:
    return Keypair(
        user_id=row["user_id"], name=row["name"], fingerprint=row["fingerprint"], public_key=row["public_key"],
        type=row["type"], created_at=parse_isotime(row["created_at"]), serial=row["serial"],
    )


def not_found(user_id: str, name: str) -> NotFound:
    return NotFound(f"Keypair {name} not found for user {user_id}")


def list_keypairs(db: Database, user_id: str, limit: int | None = None, marker: str | None = None) -> list[Keypair]:
    """The user's keypairs by name; `limit` of them after the one named `marker` (Nova's MarkerNotFound, which its
    API answers with 400, when the user has none of that name)."""
    sql, args = "SELECT * FROM keypairs WHERE user_id = ?", [user_id]
    if marker is not None:
        found = db.execute("SELECT 1 FROM keypairs WHERE user_id = ? AND name = ?", [user_id, marker]).fetchone()
        if found is None:
            raise BadRequest(f"Marker {marker} could not be found.")
        sql, args = sql + " AND name > ?", [*args, marker]
    sql += " ORDER BY name"
    if limit is not None:
        sql, args = sql + " LIMIT ?", [*args, limit]
    return [_keypair(r) for r in db.execute(sql, args).fetchall()]


def get_keypair(db: Database, user_id: str, name: str) -> Keypair:
    row = db.execute("SELECT * FROM keypairs WHERE user_id = ? AND name = ?", [user_id, name]).fetchone()
    if row is None:
        raise not_found(user_id, name)
    return _keypair(row)


def count_keypairs(db: Database, user_id: str) -> int:
    return db.execute("SELECT COUNT(*) FROM keypairs WHERE user_id = ?", [user_id]).fetchone()[0]


def insert_keypair(db: Database, keypair: Keypair, max_count: int) -> Keypair:
    """Insert `keypair` unless the user already holds `max_count` of them (-1: unlimited) or the name is taken.

    Runs inside the writer's transaction, so the count and the insert cannot interleave with another create.
    """
    if max_count >= 0 and count_keypairs(db, keypair.user_id) >= max_count:
        raise KeypairQuotaReached()
    try:
        cursor = db.execute(
            "INSERT INTO keypairs (user_id, name, type, fingerprint, public_key, created_at) VALUES (?, ?, ?, ?, ?, ?)",
            [keypair.user_id, keypair.name, keypair.type, keypair.fingerprint, keypair.public_key,
             isotime(keypair.created_at)],
        )
    except sqlite3.IntegrityError:
        raise Conflict(f"Key pair '{keypair.name}' already exists.") from None
    return dataclasses.replace(keypair, serial=cursor.lastrowid)


def delete_keypair(db: Database, user_id: str, name: str) -> None:
    cursor = db.execute("DELETE FROM keypairs WHERE user_id = ? AND name = ?", [user_id, name])
    if cursor.rowcount == 0:
        raise not_found(user_id, name)
