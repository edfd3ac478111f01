"""SQL for volumes and their attachments (migration 0006). Every function takes the sqlite-utils Database first.

Metadata and image metadata are JSON objects in the row. Status changes are compare-and-set (`move`): the caller's
transaction checks the status it starts from and writes the next one, so two requests never both start an
operation. Lists are read whole (a project holds few volumes: its quota bounds them) and paged by the service.
"""
from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlite_utils import Database

from nodecompute.domain.models import isotime, parse_isotime
from nodecompute.domain.volume_models import VOLUME_STATUSES, Attachment, Volume, may_move

SORT_COLUMNS = {"id", "name", "description", "size", "status", "created_at", "updated_at", "availability_zone",
                "bootable", "user_id", "project_id", "volume_type_id", "snapshot_id", "source_volid"}
_WRITABLE = {"name", "description", "status", "size", "bootable", "metadata", "image_metadata", "previous_status",
             "extend_to", "upload_image_id", "updated_at"}


def _dt(text: str | None):
    return parse_isotime(text) if text else None


def _attachment(row: sqlite3.Row) -> Attachment:
    return Attachment(id=row["id"], volume_id=row["volume_id"], server_id=row["server_id"], device=row["device"],
                      attached_at=_dt(row["attached_at"]), attached_host=row["attached_host"], tag=row["tag"],
                      delete_on_termination=bool(row["delete_on_termination"]), boot_index=row["boot_index"],
                      disk_bus=row["disk_bus"], bdm_uuid=row["bdm_uuid"])


def _volume(row: sqlite3.Row, attachments: tuple[Attachment, ...]) -> Volume:
    return Volume(
        id=row["id"], serial=row["serial"], project_id=row["project_id"], user_id=row["user_id"], name=row["name"],
        description=row["description"], size=row["size"], status=row["status"],
        availability_zone=row["availability_zone"], volume_type_id=row["volume_type_id"],
        volume_type_name=row["type_name"], multiattach=bool(row["multiattach"]), snapshot_id=row["snapshot_id"],
        source_volid=row["source_volid"],
        image_id=row["image_id"], bootable=bool(row["bootable"]), metadata=json.loads(row["metadata"]),
        image_metadata=json.loads(row["image_metadata"]) if row["image_metadata"] else None,
        previous_status=row["previous_status"], extend_to=row["extend_to"], upload_image_id=row["upload_image_id"],
        created_at=parse_isotime(row["created_at"]), updated_at=_dt(row["updated_at"]), attachments=attachments)


_SELECT = ("SELECT volumes.*, volume_types.name AS type_name, "
           "json_extract(volume_types.extra_specs, '$.multiattach') = '<is> True' AS multiattach FROM volumes "
           "JOIN volume_types ON volume_types.id = volumes.volume_type_id")


def _with_attachments(db: Database, rows: list[sqlite3.Row]) -> list[Volume]:
    found: dict[str, list[Attachment]] = {row["id"]: [] for row in rows}
    ids = list(found)
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        sql = f"SELECT * FROM volume_attachments WHERE volume_id IN ({','.join('?' * len(chunk))}) ORDER BY id"
        for row in db.execute(sql, chunk).fetchall():
            found[row["volume_id"]].append(_attachment(row))
    return [_volume(row, tuple(found[row["id"]])) for row in rows]


def get_volume(db: Database, volume_id: str) -> Volume | None:
    rows = db.execute(f"{_SELECT} WHERE volumes.id = ?", [volume_id]).fetchall()
    return _with_attachments(db, rows)[0] if rows else None


def list_volumes(db: Database, project_id: str | None, sort: Iterable[tuple[str, str]]) -> list[Volume]:
    """Every volume of the project (None: of all projects), in the sort order (columns of SORT_COLUMNS, "asc" or
    "desc"), then by id in the last key's direction. The service filters and pages."""
    sort = list(sort)
    assert all(key in SORT_COLUMNS and direction in ("asc", "desc") for key, direction in sort), sort
    order = [f"volumes.{key} {direction.upper()}" for key, direction in sort]
    order.append(f"volumes.id {(sort[-1][1] if sort else 'desc').upper()}")
    where, params = ("WHERE volumes.project_id = ?", [project_id]) if project_id is not None else ("", [])
    sql = f"{_SELECT} {where} ORDER BY {', '.join(order)}"
    return _with_attachments(db, db.execute(sql, params).fetchall())


def insert_volume(db: Database, volume: Volume) -> Volume:
    db.execute(
        "INSERT INTO volumes (id, project_id, user_id, name, description, size, status, availability_zone, "
        "volume_type_id, snapshot_id, source_volid, image_id, bootable, metadata, image_metadata, created_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [volume.id, volume.project_id, volume.user_id, volume.name, volume.description, volume.size, volume.status,
         volume.availability_zone, volume.volume_type_id, volume.snapshot_id, volume.source_volid, volume.image_id,
         int(volume.bootable), json.dumps(volume.metadata),
         json.dumps(volume.image_metadata) if volume.image_metadata is not None else None,
         isotime(volume.created_at)])
    return get_volume(db, volume.id)


def update_volume(db: Database, volume_id: str, values: dict[str, Any],
                  expected: Iterable[str] | None = None, *, now: datetime) -> Volume | None:
    """Write `values` (and updated_at); with `expected`, only while the status is one of them. None when no row
    matched (gone, or in another status)."""
    values = dict(values)
    assert set(values) <= _WRITABLE, set(values) - _WRITABLE
    if "status" in values and expected is not None:
        _check_moves(tuple(expected), values["status"])
    values.setdefault("updated_at", isotime(now))
    for key in ("metadata", "image_metadata"):
        if key in values and values[key] is not None:
            values[key] = json.dumps(values[key])
    if "bootable" in values:
        values["bootable"] = int(values["bootable"])
    sql = f"UPDATE volumes SET {', '.join(f'{k} = ?' for k in values)} WHERE id = ?"
    params = [*values.values(), volume_id]
    if expected is not None:
        expected = tuple(expected)
        sql += f" AND status IN ({','.join('?' * len(expected))})"
        params.extend(expected)
    if db.execute(sql, params).rowcount == 0:
        return None
    return get_volume(db, volume_id)


def _check_moves(expected: tuple[str, ...], new: str) -> None:
    """A compare-and-set status change must be one of Cinder's moves (domain/volume_models.py TRANSITIONS); the
    statuses Cinder has and one host never does (error_restoring...) are not checked."""
    wrong = [old for old in expected if old in VOLUME_STATUSES and not may_move(old, new)]
    if wrong:
        raise ValueError(f"not a volume status transition: {', '.join(wrong)} -> {new}")


def delete_volume(db: Database, volume_id: str) -> None:
    db.execute("DELETE FROM volumes WHERE id = ?", [volume_id])


def in_status(db: Database, statuses: Iterable[str]) -> list[Volume]:
    """Volumes of every project in one of `statuses` (start-up reconciliation)."""
    statuses = tuple(statuses)
    rows = db.execute(f"{_SELECT} WHERE volumes.status IN ({','.join('?' * len(statuses))})", statuses).fetchall()
    return _with_attachments(db, rows)


def all_ids(db: Database) -> set[str]:
    return {row[0] for row in db.execute("SELECT id FROM volumes").fetchall()}


def type_in_use(db: Database, type_id: str) -> bool:
    return db.execute("SELECT 1 FROM volumes WHERE volume_type_id = ? LIMIT 1", [type_id]).fetchone() is not None


def usage(db: Database, project_id: str) -> dict[str, int]:
    """Cinder's quota usage of a project, counted from the rows: volumes, gigabytes (volumes, an extend in flight
    at its new size, and snapshots), snapshots, and each per type (`volumes_<type name>`...)."""
    counts: dict[str, int] = {"volumes": 0, "gigabytes": 0, "snapshots": 0}

    def add(resource: str, type_name: str, amount: int) -> None:
        counts[resource] = counts.get(resource, 0) + amount
        key = f"{resource}_{type_name}"
        counts[key] = counts.get(key, 0) + amount

    volumes = db.execute(
        "SELECT volume_types.name AS type_name, COUNT(*) AS n, SUM(MAX(size, COALESCE(extend_to, 0))) AS gb "
        "FROM volumes JOIN volume_types ON volume_types.id = volumes.volume_type_id WHERE project_id = ? "
        "GROUP BY volume_types.name", [project_id]).fetchall()
    for row in volumes:
        add("volumes", row["type_name"], row["n"])
        add("gigabytes", row["type_name"], row["gb"])
    snapshots = db.execute(
        "SELECT COALESCE(volume_types.name, '') AS type_name, COUNT(*) AS n, SUM(size) AS gb "
        "FROM volume_snapshots LEFT JOIN volume_types ON volume_types.id = volume_snapshots.volume_type_id "
        "WHERE project_id = ? GROUP BY volume_types.name", [project_id]).fetchall()
    for row in snapshots:
        add("snapshots", row["type_name"], row["n"])
        add("gigabytes", row["type_name"], row["gb"])
    return counts


def insert_attachment(db: Database, attachment: Attachment) -> None:
    db.execute("INSERT INTO volume_attachments (id, volume_id, server_id, device, attached_host, attached_at, tag, "
               "delete_on_termination, boot_index, disk_bus) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
               [attachment.id, attachment.volume_id, attachment.server_id, attachment.device,
                attachment.attached_host, isotime(attachment.attached_at) if attachment.attached_at else None,
                attachment.tag, int(attachment.delete_on_termination), attachment.boot_index, attachment.disk_bus])


def attachment_rows(db: Database, where: str, params: list[Any]) -> list[Attachment]:
    sql = f"SELECT * FROM volume_attachments WHERE {where} ORDER BY rowid"
    return [_attachment(row) for row in db.execute(sql, params).fetchall()]
