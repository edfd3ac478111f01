"""Migration records (domain/migration_models.py): a resize's row, its status changes, the lists os-migrations
shows (newest first, Nova's order: created_at desc, id desc); and a shelved server's image (compute/shelve.py)."""
from __future__ import annotations

import json
import sqlite3
from datetime import datetime
from typing import Any

from sqlite_utils import Database

from nodecompute.domain.errors import BadRequest
from nodecompute.domain.migration_models import Migration, MigrationFilters
from nodecompute.db.changed_between import add_changed_between
from nodecompute.domain.models import isotime, parse_isotime


def _migration(row: sqlite3.Row) -> Migration:
    values = dict(row)
    values["old_flavor"] = json.loads(values["old_flavor"])
    values["new_flavor"] = json.loads(values["new_flavor"])
    values["created_at"] = parse_isotime(values["created_at"])
    values["updated_at"] = parse_isotime(values["updated_at"])
    return Migration(**values)


def insert_migration(db: Database, values: dict[str, Any], *, now: datetime) -> Migration:
    at = isotime(now)
    row = {**values, "old_flavor": json.dumps(values["old_flavor"]), "new_flavor": json.dumps(values["new_flavor"]),
           "created_at": at, "updated_at": at}
    names = ", ".join(row)
    db.execute(f"INSERT INTO server_migrations ({names}) VALUES ({', '.join('?' * len(row))})", list(row.values()))
    return get_migration(db, values["uuid"])


def get_migration(db: Database, uuid: str) -> Migration:
    return _migration(db.execute("SELECT * FROM server_migrations WHERE uuid = ?", [uuid]).fetchone())


def latest_for_server(db: Database, server_uuid: str, statuses: tuple[str, ...]) -> Migration | None:
    """The server's newest migration in one of `statuses` (Nova's get_by_instance_and_status)."""
    row = db.execute(f"SELECT * FROM server_migrations WHERE server_uuid = ? AND status IN"
                     f" ({','.join('?' * len(statuses))}) ORDER BY id DESC LIMIT 1",
                     [server_uuid, *statuses]).fetchone()
    return _migration(row) if row else None


def set_status(db: Database, uuid: str, status: str, *, now: datetime,
               expected: tuple[str, ...] | None = None) -> bool:
    """Set the status (compare-and-set with `expected`); False when the record had another status."""
    sql, args = "UPDATE server_migrations SET status = ?, updated_at = ? WHERE uuid = ?", [status, isotime(now), uuid]
    if expected:
        sql += f" AND status IN ({','.join('?' * len(expected))})"
        args.extend(expected)
    return db.execute(sql, args).rowcount > 0


def set_destination(db: Database, uuid: str, compute: str | None, node: str | None, host: str | None, *,
                    now: datetime) -> None:
    """The destination a claim fills in (Nova's resource tracker: dest_compute, dest_node, dest_host)."""
    db.execute("UPDATE server_migrations SET dest_compute = ?, dest_node = ?, dest_host = ?, updated_at = ?"
               " WHERE uuid = ?", [compute, node, host, isotime(now), uuid])


def finished_before(db: Database, before: datetime) -> list[Migration]:
    """Resizes of live servers waiting for a confirmation since before `before` (Nova's _poll_unconfirmed_resizes)."""
    rows = db.execute("SELECT m.* FROM server_migrations m JOIN servers s ON s.uuid = m.server_uuid WHERE"
                      " s.deleted = 0 AND m.status = 'finished' AND m.updated_at < ? ORDER BY m.id",
                      [isotime(before)]).fetchall()
    return [_migration(row) for row in rows]


def list_migrations(db: Database, filters: MigrationFilters) -> list[Migration]:
    where, args = ["1 = 1"], []
    for column, value in (("status", filters.status), ("server_uuid", filters.instance_uuid),
                          ("migration_type", filters.migration_type), ("source_compute", filters.source_compute),
                          ("user_id", filters.user_id), ("project_id", filters.project_id)):
        if value is not None:
            where.append(f"{column} = ?")
            args.append(value)
    if filters.host is not None:
        where.append("(source_compute = ? OR dest_compute = ?)")
        args.extend([filters.host, filters.host])
    add_changed_between(where, args, filters.changes_since, filters.changes_before)
    if filters.marker is not None:
        marker = db.execute("SELECT id FROM server_migrations WHERE uuid = ?", [filters.marker]).fetchone()
        if marker is None:
            raise BadRequest(f"Marker {filters.marker} could not be found.")
        where.append("id < ?")
        args.append(marker["id"])
    sql = f"SELECT * FROM server_migrations WHERE {' AND '.join(where)} ORDER BY created_at DESC, id DESC"
    if filters.limit is not None:
        sql += f" LIMIT {int(filters.limit)}"
    return [_migration(row) for row in db.execute(sql, args).fetchall()]


# ----- shelved servers: their image and host (Nova's shelved_image_id / shelved_at / shelved_host) --------------------

def set_shelved(db: Database, server_uuid: str, image_id: str, host: str | None, *, now: datetime) -> None:
    db.execute("INSERT OR REPLACE INTO server_shelves VALUES (?, ?, ?, ?)", [server_uuid, image_id, isotime(now), host])


def shelved(db: Database, server_uuid: str) -> dict | None:
    row = db.execute("SELECT * FROM server_shelves WHERE server_uuid = ?", [server_uuid]).fetchone()
    return dict(row) if row else None


def shelved_before(db: Database, before: datetime) -> list[str]:
    """The servers shelved (not offloaded) before `before` (Nova's _poll_shelved_instances)."""
    rows = db.execute("SELECT s.server_uuid FROM server_shelves s JOIN servers v ON v.uuid = s.server_uuid"
                      " WHERE v.deleted = 0 AND v.vm_state = 'shelved' AND v.task_state IS NULL AND s.shelved_at < ?",
                      [isotime(before)]).fetchall()
    return [row["server_uuid"] for row in rows]


def clear_shelved(db: Database, server_uuid: str) -> None:
    db.execute("DELETE FROM server_shelves WHERE server_uuid = ?", [server_uuid])
