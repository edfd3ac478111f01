"""Server rows, their metadata and injected files."""
from __future__ import annotations

import dataclasses
import json
import sqlite3
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlite_utils import Database

from nodecompute.domain import states
from nodecompute.domain.errors import InstanceNotFound, MetadataItemNotFound, NotFound
from nodecompute.domain.models import isotime, parse_isotime
from nodecompute.db import server_nics, volume_attachments
from nodecompute.domain.server_models import (AttachedVolume, DeviceTag, InjectedFileSpec, LocalDisk, Server,
                                              ServerFault, ServerNic, server_from_fields)


IN_JSON = "(SELECT value FROM json_each(?))"  # `x IN` a JSON array of values: one argument however many there are
_EMPTY_JSON = {"{}": dict, "[]": list}


def _json(text: str) -> Any:
    """json.loads, without the decoder for the empty object or list most rows hold."""
    empty = _EMPTY_JSON.get(text)
    return empty() if empty is not None else json.loads(text)


def _dt(text: str | None) -> datetime | None:
    return parse_isotime(text) if text else None


def _server(row: dict[str, Any], metadata: dict[str, str], tags: tuple[str, ...] = (),
            nics: tuple[ServerNic, ...] = (), volumes: tuple[AttachedVolume, ...] = ()) -> Server:
    fault = None
    if row["fault_code"] is not None:
        fault = ServerFault(code=row["fault_code"], message=row["fault_message"] or "",
                            created=parse_isotime(row["fault_created"]), details=row["fault_details"])
    return server_from_fields(dict(
        uuid=row["uuid"], serial=row["serial"], name=row["name"], project_id=row["project_id"],
        user_id=row["user_id"], hostname=row["hostname"], flavorid=row["flavorid"], flavor_name=row["flavor_name"],
        memory_mb=row["memory_mb"], vcpus=row["vcpus"], root_gb=row["root_gb"], root_disk_bytes=row["root_disk_bytes"],
        ephemeral_gb=row["ephemeral_gb"], swap=row["swap"], image_id=row["image_id"],
        root_is_volume=bool(row["root_is_volume"]),
        image_sha256=row["image_sha256"], key_name=row["key_name"],
        key_data=row["key_data"], config_drive=bool(row["config_drive"]), access_ipv4=row["access_ipv4"],
        access_ipv6=row["access_ipv6"], disk_config=row["disk_config"], availability_zone=row["availability_zone"],
        vm_state=row["vm_state"], task_state=row["task_state"], power_state=row["power_state"],
        progress=row["progress"], launch_index=row["launch_index"], reservation_id=row["reservation_id"],
        host=row["host"], locked=bool(row["locked"]), scheduler_hints=_json(row["scheduler_hints"]),
        fault=fault, created_at=parse_isotime(row["created_at"]), updated_at=parse_isotime(row["updated_at"]),
        launched_at=_dt(row["launched_at"]), terminated_at=_dt(row["terminated_at"]),
        deleted_at=_dt(row["deleted_at"]), deleted=bool(row["deleted"]), metadata=metadata,
        description=row["description"], tags=tags, flavor_extra_specs=_json(row["flavor_extra_specs"]),
        user_data=bytes(row["user_data"]) if row["user_data"] is not None else None,
        device_tags=tuple(DeviceTag(**item) for item in _json(row["device_tags"])),
        guest_channels=tuple(_json(row["guest_channels"])),
        extra_keys=tuple((name, key) for name, key in _json(row["extra_keys"])), nics=nics, locked_by=row["locked_by"],
        locked_reason=row["locked_reason"], pinned_availability_zone=row["pinned_availability_zone"],
        image_properties=_json(row["image_properties"]), volumes=volumes, server_groups=(),
        local_disks=_local_disks(row["local_disks"]), root_disk_tag=row["root_disk_tag"],
    ))


def _local_disks(text: str | None) -> tuple[LocalDisk, ...] | None:
    return None if text is None else tuple(LocalDisk(**item) for item in json.loads(text))


def _tags_for(db: Database, uuids: list[str]) -> dict[str, tuple[str, ...]]:
    out: dict[str, list[str]] = {u: [] for u in uuids}
    for uuid, tag in db.execute(f"SELECT server_uuid, tag FROM server_tags WHERE server_uuid IN {IN_JSON} ORDER BY tag",
                                [json.dumps(uuids)]).fetchall():
        out[uuid].append(tag)
    return {uuid: tuple(tags) for uuid, tags in out.items()}


def servers_from_rows(db: Database, rows: list[sqlite3.Row]) -> list[Server]:
    """Servers from their rows, with their metadata, tags and NICs (a few queries for all of them)."""
    if not rows:
        return []
    keys = rows[0].keys()  # a Row finds a column by name in a linear, case-blind scan: a dict finds it by hash
    records = [dict(zip(keys, row)) for row in rows]
    uuids = [r["uuid"] for r in records]
    metadata, tags, nics = _metadata_for(db, uuids), _tags_for(db, uuids), server_nics.nics_for(db, uuids)
    volumes = volume_attachments.volumes_of(db, uuids)
    return [_server(r, metadata[r["uuid"]], tags[r["uuid"]], nics[r["uuid"]], volumes[r["uuid"]]) for r in records]


def _metadata_for(db: Database, uuids: list[str]) -> dict[str, dict[str, str]]:
    out: dict[str, dict[str, str]] = {u: {} for u in uuids}
    for uuid, key, value in db.execute(f"SELECT server_uuid, key, value FROM server_metadata WHERE server_uuid IN "
                                       f"{IN_JSON} ORDER BY key", [json.dumps(uuids)]).fetchall():
        out[uuid][key] = value
    return out


def insert_servers(db: Database, rows: list[dict[str, Any]], metadata: dict[str, str],
                   files: Iterable[InjectedFileSpec], tags: Iterable[str] = ()) -> list[Server]:
    """Insert the rows of one create request (all or nothing: the caller holds the transaction)."""
    files, tags = list(files), sorted(set(tags))
    for row in rows:
        row = dict(row, scheduler_hints=json.dumps(row.get("scheduler_hints", {})),
                   flavor_extra_specs=json.dumps(row.get("flavor_extra_specs", {})),
                   device_tags=json.dumps([vars(tag) for tag in row.get("device_tags", ())]),
                   guest_channels=json.dumps(list(row.get("guest_channels", ()))),
                   extra_keys=json.dumps([list(pair) for pair in row.get("extra_keys", ())]),
                   image_properties=json.dumps(row.get("image_properties", {})),
                   local_disks=None if row.get("local_disks") is None
                   else json.dumps([disk.as_dict() for disk in row["local_disks"]]))
        cols = ",".join(row)
        db.execute(f"INSERT INTO servers ({cols}) VALUES ({','.join('?' * len(row))})", list(row.values()))
        for key, value in metadata.items():
            db.execute("INSERT INTO server_metadata VALUES (?, ?, ?)", [row["uuid"], key, value])
        _insert_files(db, row["uuid"], files)
        for tag in tags:
            db.execute("INSERT INTO server_tags VALUES (?, ?)", [row["uuid"], tag])
    return [get_server(db, row["uuid"]) for row in rows]


def _insert_files(db: Database, uuid: str, files: Iterable[InjectedFileSpec]) -> None:
    for position, spec in enumerate(files):
        db.execute("INSERT INTO server_files (server_uuid, position, path, contents, owner, file_group, mode)"
                   " VALUES (?, ?, ?, ?, ?, ?, ?)",
                   [uuid, position, spec.path, spec.contents, spec.owner, spec.group, spec.mode])


def get_server(db: Database, uuid: str, *, include_deleted: bool = False) -> Server:
    row = db.execute("SELECT * FROM servers WHERE uuid = ?", [uuid]).fetchone()
    if row is None or (row["deleted"] and not include_deleted):
        raise InstanceNotFound(instance_id=uuid)
    groups = tuple(r[0] for r in db.execute("SELECT group_uuid FROM server_group_members WHERE server_uuid = ?",
                                            [uuid]).fetchall())
    return dataclasses.replace(servers_from_rows(db, [row])[0], server_groups=groups)


def find_server(db: Database, uuid: str) -> Server | None:
    try:
        return get_server(db, uuid, include_deleted=True)
    except NotFound:
        return None


def server_files(db: Database, uuid: str) -> list[InjectedFileSpec]:
    rows = db.execute("SELECT path, contents, owner, file_group, mode FROM server_files WHERE server_uuid = ?"
                      " ORDER BY position", [uuid])
    return [InjectedFileSpec(path=r["path"], contents=bytes(r["contents"]), owner=r["owner"], group=r["file_group"],
                             mode=r["mode"]) for r in rows.fetchall()]


def user_data(db: Database, uuid: str) -> bytes | None:
    row = db.execute("SELECT user_data FROM servers WHERE uuid = ?", [uuid]).fetchone()
    return bytes(row["user_data"]) if row and row["user_data"] is not None else None


def list_all_live(db: Database) -> list[Server]:
    return servers_from_rows(db, db.execute("SELECT * FROM servers WHERE deleted = 0 ORDER BY serial").fetchall())


def update_server(db: Database, uuid: str, values: dict[str, Any], *, now: datetime,
                  expected_task_state: tuple[str | None, ...] | None = None,
                  expected_vm_state: str | None = None) -> Server | None:
    """Set columns (updated_at = now); with expected_task_state, only if the task_state is one of those, and
    with expected_vm_state only if the vm_state is that one (compare-and-set).

    Returns the updated server, or None when the compare-and-set found another state.
    """
    values = dict(values)
    values.setdefault("updated_at", isotime(now))
    sets = ", ".join(f"{k} = ?" for k in values)
    args = list(values.values()) + [uuid]
    sql = f"UPDATE servers SET {sets} WHERE uuid = ? AND deleted = 0"
    if expected_task_state is not None:
        allowed = [t for t in expected_task_state if t is not None]
        cond = ["task_state IS NULL"] if None in expected_task_state else []
        if allowed:
            cond.append(f"task_state IN ({','.join('?' * len(allowed))})")
            args.extend(allowed)
        sql += " AND (" + " OR ".join(cond) + ")"
    if expected_vm_state is not None:
        sql += " AND vm_state = ?"
        args.append(expected_vm_state)
    if db.execute(sql, args).rowcount == 0:
        return None
    return get_server(db, uuid)


def set_fault(db: Database, uuid: str, code: int, message: str, details: str | None = None, *,
              now: datetime) -> None:
    at = isotime(now)
    db.execute("UPDATE servers SET vm_state = ?, task_state = NULL, fault_code = ?, fault_message = ?,"
               " fault_details = ?, fault_created = ?, updated_at = ? WHERE uuid = ?",
               [states.ERROR, code, message, details, at, at, uuid])


def mark_deleted(db: Database, uuid: str, *, now: datetime) -> None:
    at = isotime(now)
    db.execute("UPDATE servers SET deleted = 1, vm_state = ?, task_state = NULL, power_state = 0, deleted_at = ?,"
               " terminated_at = ?, updated_at = ? WHERE uuid = ?", [states.DELETED, at, at, at, uuid])
    db.execute("DELETE FROM server_files WHERE server_uuid = ?", [uuid])
    db.execute("DELETE FROM server_tags WHERE server_uuid = ?", [uuid])  # as Nova's instance_destroy
    db.execute("DELETE FROM server_passwords WHERE server_uuid = ?", [uuid])
    db.execute("UPDATE servers SET user_data = NULL, key_data = NULL, extra_keys = '[]' WHERE uuid = ?", [uuid])


def soft_deleted_before(db: Database, before: datetime) -> list[Server]:
    """SOFT_DELETED servers with no task, deleted before `before` (the reclaim's candidates)."""
    rows = db.execute("SELECT uuid FROM servers WHERE deleted = 0 AND vm_state = ? AND task_state IS NULL"
                      " AND deleted_at < ? ORDER BY serial", [states.SOFT_DELETED, isotime(before)]).fetchall()
    return [get_server(db, r["uuid"]) for r in rows]


def purge_deleted(db: Database, before: datetime) -> int:
    """Deleted rows past retention go, with their instance action record."""
    db.execute("DELETE FROM instance_actions WHERE server_uuid IN (SELECT uuid FROM servers WHERE deleted = 1"
               " AND deleted_at < ?)", [isotime(before)])
    return db.execute("DELETE FROM servers WHERE deleted = 1 AND deleted_at < ?", [isotime(before)]).rowcount


def replace_metadata(db: Database, uuid: str, metadata: dict[str, str], *, now: datetime) -> None:
    db.execute("DELETE FROM server_metadata WHERE server_uuid = ?", [uuid])
    merge_metadata(db, uuid, metadata, now=now)


def rebuild_server(db: Database, uuid: str, values: dict[str, Any], metadata: dict[str, str] | None,
                   files: Iterable[InjectedFileSpec], *, now: datetime) -> Server | None:
    """A rebuild's compare-and-set from no task (values carry the task), with its metadata (None: kept) and the
    files its config drive gets (a rebuild injects only its own): all or nothing. None when a task is running."""
    if update_server(db, uuid, values, now=now, expected_task_state=(None,)) is None:
        return None
    if metadata is not None:
        db.execute("DELETE FROM server_metadata WHERE server_uuid = ?", [uuid])
        merge_metadata(db, uuid, metadata, now=now)
    db.execute("DELETE FROM server_files WHERE server_uuid = ?", [uuid])
    _insert_files(db, uuid, files)
    return get_server(db, uuid)


def merge_metadata(db: Database, uuid: str, metadata: dict[str, str], *, now: datetime) -> None:
    for key, value in metadata.items():
        db.execute("INSERT OR REPLACE INTO server_metadata VALUES (?, ?, ?)", [uuid, key, value])
    db.execute("UPDATE servers SET updated_at = ? WHERE uuid = ?", [isotime(now), uuid])


def delete_metadata_key(db: Database, uuid: str, key: str, *, now: datetime) -> None:
    if db.execute("DELETE FROM server_metadata WHERE server_uuid = ? AND key = ?", [uuid, key]).rowcount == 0:
        raise MetadataItemNotFound()
    db.execute("UPDATE servers SET updated_at = ? WHERE uuid = ?", [isotime(now), uuid])


def replace_tags(db: Database, uuid: str, tags: Iterable[str]) -> tuple[str, ...]:
    db.execute("DELETE FROM server_tags WHERE server_uuid = ?", [uuid])
    for tag in sorted(set(tags)):
        db.execute("INSERT INTO server_tags VALUES (?, ?)", [uuid, tag])
    return server_tags(db, uuid)


def add_tag(db: Database, uuid: str, tag: str) -> None:
    db.execute("INSERT OR IGNORE INTO server_tags VALUES (?, ?)", [uuid, tag])


def delete_tag(db: Database, uuid: str, tag: str) -> bool:
    """False when the server has no such tag."""
    return db.execute("DELETE FROM server_tags WHERE server_uuid = ? AND tag = ?", [uuid, tag]).rowcount > 0


def server_tags(db: Database, uuid: str) -> tuple[str, ...]:
    return _tags_for(db, [uuid])[uuid]


def usage(db: Database, project_id: str) -> dict[str, int]:
    row = db.execute("SELECT count(*) AS n, coalesce(sum(vcpus), 0) AS cores, coalesce(sum(memory_mb), 0) AS ram"
                     " FROM servers WHERE project_id = ? AND deleted = 0", [project_id]).fetchone()
    return {"instances": row["n"], "cores": row["cores"], "ram": row["ram"]}


def host_usage(db: Database, up_to_serial: int) -> dict[str, int]:
    """What live servers hold (not ERROR, not shelved-offloaded: those have no guest here), counting only those
    requested up to `up_to_serial` (the scheduler's queue order: a server is placed beside every earlier one, never
    refused for one that came after it). Disk in bytes: root, ephemeral and swap."""
    row = db.execute("SELECT coalesce(sum(vcpus), 0) AS cores, coalesce(sum(memory_mb), 0) AS ram,"
                     " coalesce(sum(root_disk_bytes + ephemeral_gb * 1073741824 + swap * 1048576), 0) AS disk"
                     " FROM servers WHERE deleted = 0 AND vm_state NOT IN (?, ?) AND serial <= ?",
                     [states.ERROR, states.SHELVED_OFFLOADED, up_to_serial]).fetchone()
    return {"cores": row["cores"], "ram": row["ram"], "disk": row["disk"]}


def image_sha256_in_use(db: Database) -> set[str]:
    rows = db.execute("SELECT DISTINCT image_sha256 FROM servers WHERE deleted = 0 AND image_sha256 IS NOT NULL")
    return {r["image_sha256"] for r in rows.fetchall()}
