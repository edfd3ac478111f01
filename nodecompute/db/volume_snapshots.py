"""SQL for volume snapshots (migration 0006). Every function takes the sqlite-utils Database first."""
from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlite_utils import Database

from nodecompute.domain.models import isotime, parse_isotime
from nodecompute.domain.volume_models import Snapshot

SORT_COLUMNS = {"id", "name", "description", "size", "status", "created_at", "updated_at", "volume_id", "project_id",
                "user_id", "progress"}
_WRITABLE = {"name", "description", "status", "progress", "metadata", "updated_at"}


def _snapshot(row: sqlite3.Row) -> Snapshot:
    return Snapshot(
        id=row["id"], serial=row["serial"], project_id=row["project_id"], user_id=row["user_id"],
        volume_id=row["volume_id"], name=row["name"], description=row["description"], size=row["size"],
        status=row["status"], volume_type_id=row["volume_type_id"], progress=row["progress"],
        metadata=json.loads(row["metadata"]), created_at=parse_isotime(row["created_at"]),
        updated_at=parse_isotime(row["updated_at"]) if row["updated_at"] else None)


def get_snapshot(db: Database, snapshot_id: str) -> Snapshot | None:
    row = db.execute("SELECT * FROM volume_snapshots WHERE id = ?", [snapshot_id]).fetchone()
    return _snapshot(row) if row is not None else None


def list_snapshots(db: Database, project_id: str | None, sort: Iterable[tuple[str, str]]) -> list[Snapshot]:
    """Every snapshot of the project (None: of all projects) in the sort order, then by id (see list_volumes)."""
    sort = list(sort)
    assert all(key in SORT_COLUMNS and direction in ("asc", "desc") for key, direction in sort), sort
    order = [f"{key} {direction.upper()}" for key, direction in sort]
    order.append(f"id {(sort[-1][1] if sort else 'desc').upper()}")
    where, params = ("WHERE project_id = ?", [project_id]) if project_id is not None else ("", [])
    sql = f"SELECT * FROM volume_snapshots {where} ORDER BY {', '.join(order)}"
    return [_snapshot(row) for row in db.execute(sql, params).fetchall()]


def of_volume(db: Database, volume_id: str) -> list[Snapshot]:
    rows = db.execute("SELECT * FROM volume_snapshots WHERE volume_id = ? ORDER BY created_at", [volume_id])
    return [_snapshot(row) for row in rows.fetchall()]


def insert_snapshot(db: Database, snapshot: Snapshot) -> Snapshot:
    db.execute(
        "INSERT INTO volume_snapshots (id, volume_id, project_id, user_id, name, description, size, status, "
        "progress, volume_type_id, metadata, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [snapshot.id, snapshot.volume_id, snapshot.project_id, snapshot.user_id, snapshot.name,
         snapshot.description, snapshot.size, snapshot.status, snapshot.progress, snapshot.volume_type_id,
         json.dumps(snapshot.metadata), isotime(snapshot.created_at)])
    return get_snapshot(db, snapshot.id)


def update_snapshot(db: Database, snapshot_id: str, values: dict[str, Any],
                    expected: Iterable[str] | None = None, *, now: datetime) -> Snapshot | None:
    """Write `values` (and updated_at); with `expected`, only while the status is one of them."""
    values = dict(values)
    assert set(values) <= _WRITABLE, set(values) - _WRITABLE
    values.setdefault("updated_at", isotime(now))
    if "metadata" in values:
        values["metadata"] = json.dumps(values["metadata"])
    sql = f"UPDATE volume_snapshots SET {', '.join(f'{k} = ?' for k in values)} WHERE id = ?"
    params = [*values.values(), snapshot_id]
    if expected is not None:
        expected = tuple(expected)
        sql += f" AND status IN ({','.join('?' * len(expected))})"
        params.extend(expected)
    if db.execute(sql, params).rowcount == 0:
        return None
    return get_snapshot(db, snapshot_id)


def delete_snapshot(db: Database, snapshot_id: str) -> None:
    db.execute("DELETE FROM volume_snapshots WHERE id = ?", [snapshot_id])


def in_status(db: Database, statuses: Iterable[str]) -> list[Snapshot]:
    statuses = tuple(statuses)
    sql = f"SELECT * FROM volume_snapshots WHERE status IN ({','.join('?' * len(statuses))})"
    return [_snapshot(row) for row in db.execute(sql, statuses).fetchall()]


def all_ids(db: Database) -> set[str]:
    return {row[0] for row in db.execute("SELECT id FROM volume_snapshots").fetchall()}
