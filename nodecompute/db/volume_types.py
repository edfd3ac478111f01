"""SQL for volume types and the projects' block storage quota overrides (migration 0006)."""
from __future__ import annotations

import json
import sqlite3
from datetime import datetime
from typing import Any

from sqlite_utils import Database

from nodecompute.domain.models import isotime, parse_isotime
from nodecompute.domain.volume_models import VolumeType


def _type(row: sqlite3.Row) -> VolumeType:
    return VolumeType(id=row["id"], name=row["name"], description=row["description"],
                      is_public=bool(row["is_public"]), extra_specs=json.loads(row["extra_specs"]),
                      created_at=parse_isotime(row["created_at"]),
                      updated_at=parse_isotime(row["updated_at"]) if row["updated_at"] else None)


def get_type(db: Database, type_id: str) -> VolumeType | None:
    row = db.execute("SELECT * FROM volume_types WHERE id = ?", [type_id]).fetchone()
    return _type(row) if row is not None else None


def find_type(db: Database, name: str) -> VolumeType | None:
    row = db.execute("SELECT * FROM volume_types WHERE name = ?", [name]).fetchone()
    return _type(row) if row is not None else None


def list_types(db: Database, public_only: bool) -> list[VolumeType]:
    where = " WHERE is_public = 1" if public_only else ""
    sql = f"SELECT * FROM volume_types{where} ORDER BY created_at DESC, id DESC"
    return [_type(row) for row in db.execute(sql).fetchall()]


def type_names(db: Database) -> list[str]:
    return [row[0] for row in db.execute("SELECT name FROM volume_types ORDER BY name").fetchall()]


def insert_type(db: Database, volume_type: VolumeType) -> VolumeType | None:
    """None when the name is taken."""
    try:
        db.execute("INSERT INTO volume_types (id, name, description, is_public, extra_specs, created_at) "
                   "VALUES (?, ?, ?, ?, ?, ?)",
                   [volume_type.id, volume_type.name, volume_type.description, int(volume_type.is_public),
                    json.dumps(volume_type.extra_specs), isotime(volume_type.created_at)])
    except sqlite3.IntegrityError:
        return None
    return get_type(db, volume_type.id)


def update_type(db: Database, type_id: str, values: dict[str, Any], now: datetime) -> VolumeType | None:
    """None when the new name is taken."""
    values = dict(values, updated_at=isotime(now))
    if "extra_specs" in values:
        values["extra_specs"] = json.dumps(values["extra_specs"])
    if "is_public" in values:
        values["is_public"] = int(values["is_public"])
    try:
        db.execute(f"UPDATE volume_types SET {', '.join(f'{k} = ?' for k in values)} WHERE id = ?",
                   [*values.values(), type_id])
    except sqlite3.IntegrityError:
        return None
    return get_type(db, type_id)


def delete_type(db: Database, type_id: str) -> None:
    db.execute("DELETE FROM volume_types WHERE id = ?", [type_id])


# block storage quota overrides per project --------------------------------------------------------------------

def project_limits(db: Database, project_id: str) -> dict[str, int]:
    rows = db.execute("SELECT resource, hard_limit FROM volume_quotas WHERE project_id = ?", [project_id])
    return {row["resource"]: row["hard_limit"] for row in rows.fetchall()}


def set_project_limits(db: Database, project_id: str, values: dict[str, int]) -> None:
    db.conn.executemany(
        "INSERT INTO volume_quotas (project_id, resource, hard_limit) VALUES (?, ?, ?) "
        "ON CONFLICT (project_id, resource) DO UPDATE SET hard_limit = excluded.hard_limit",
        [(project_id, resource, limit) for resource, limit in values.items()])


def delete_project_limits(db: Database, project_id: str) -> None:
    db.execute("DELETE FROM volume_quotas WHERE project_id = ?", [project_id])


def rename_type_quotas(db: Database, old_name: str, new_name: str) -> None:
    """A renamed type keeps its per-type quota overrides (volumes_<name>, gigabytes_<name>, snapshots_<name>)."""
    for resource in ("volumes", "gigabytes", "snapshots"):
        db.execute("UPDATE volume_quotas SET resource = ? WHERE resource = ?",
                   [f"{resource}_{new_name}", f"{resource}_{old_name}"])
