"""Server rows, their metadata and injected files."""
from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlite_utils import Database

from nodecompute.domain import states
from nodecompute.domain.errors import (BadRequest, InstanceNotFound, MarkerNotFound, MetadataItemNotFound,
                                       NotFound)
from nodecompute.domain.models import isotime, parse_isotime
from nodecompute.db import server_nics, volume_attachments
from nodecompute.domain.server_models import (AttachedVolume, DeviceTag, InjectedFileSpec, Server, ServerFault,
                                              ServerFilters, ServerNic)

SORT_KEYS = {"created_at", "updated_at", "display_name", "uuid", "vm_state", "task_state", "power_state",
             "launched_at", "terminated_at", "hostname", "key_name", "availability_zone", "instance_type_id",
             "image_ref", "project_id", "user_id", "display_description", "host", "node", "launch_index",
             "locked", "progress", "root_device_name", "kernel_id", "ramdisk_id", "config_drive", "id"}
_COLUMN = {"display_name": "name", "uuid": "uuid", "id": "uuid", "instance_type_id": "flavorid",
           "image_ref": "image_id", "node": "host"}
# Filter name -> the column it compares: exactly, or as text with a regex (Nova's exact_match_filter_names and
# _regex_instance_filter; Nova's config_drive column holds "True" or "").
EXACT_FILTERS = {"user_id": "user_id", "vm_state": "vm_state", "task_state": "task_state"}
PATTERN_FILTERS = {
    "availability_zone": "availability_zone", "key_name": "coalesce(key_name, '')",
    "config_drive": "CASE config_drive WHEN 1 THEN 'True' ELSE '' END", "created_at": "created_at",
    "launched_at": "coalesce(launched_at, '')", "terminated_at": "coalesce(terminated_at, '')",
    "power_state": "CAST(power_state AS TEXT)", "progress": "CAST(coalesce(progress, 0) AS TEXT)",
    "hostname": "hostname",
}
_SORTABLE_COLUMNS = {"created_at", "updated_at", "name", "uuid", "vm_state", "task_state", "power_state",
                     "launched_at", "terminated_at", "hostname", "key_name", "availability_zone", "flavorid",
                     "image_id", "project_id", "user_id", "host", "launch_index", "locked", "progress",
                     "config_drive"}


def _dt(text: str | None) -> datetime | None:
    return parse_isotime(text) if text else None


def _server(row: sqlite3.Row, metadata: dict[str, str], tags: tuple[str, ...] = (),
            nics: tuple[ServerNic, ...] = (), volumes: tuple[AttachedVolume, ...] = ()) -> Server:
    fault = None
    if row["fault_code"] is not None:
        fault = ServerFault(code=row["fault_code"], message=row["fault_message"] or "",
                            created=parse_isotime(row["fault_created"]), details=row["fault_details"])
    return Server(
        uuid=row["uuid"], serial=row["serial"], name=row["name"], project_id=row["project_id"],
        user_id=row["user_id"], hostname=row["hostname"], flavorid=row["flavorid"], flavor_name=row["flavor_name"],
        memory_mb=row["memory_mb"], vcpus=row["vcpus"], root_gb=row["root_gb"], root_disk_bytes=row["root_disk_bytes"],
        ephemeral_gb=row["ephemeral_gb"], swap=row["swap"], image_id=row["image_id"],
        image_sha256=row["image_sha256"], key_name=row["key_name"],
        key_data=row["key_data"], config_drive=bool(row["config_drive"]), access_ipv4=row["access_ipv4"],
        access_ipv6=row["access_ipv6"], disk_config=row["disk_config"], availability_zone=row["availability_zone"],
        vm_state=row["vm_state"], task_state=row["task_state"], power_state=row["power_state"],
        progress=row["progress"], launch_index=row["launch_index"], reservation_id=row["reservation_id"],
        host=row["host"], locked=bool(row["locked"]), scheduler_hints=json.loads(row["scheduler_hints"]),
        fault=fault, created_at=parse_isotime(row["created_at"]), updated_at=parse_isotime(row["updated_at"]),
        launched_at=_dt(row["launched_at"]), terminated_at=_dt(row["terminated_at"]),
        deleted_at=_dt(row["deleted_at"]), deleted=bool(row["deleted"]), metadata=metadata,
        description=row["description"], tags=tags, flavor_extra_specs=json.loads(row["flavor_extra_specs"]),
        user_data=bytes(row["user_data"]) if row["user_data"] is not None else None,
        device_tags=tuple(DeviceTag(**item) for item in json.loads(row["device_tags"])),
        guest_channels=tuple(json.loads(row["guest_channels"])), nics=nics, locked_by=row["locked_by"],
        locked_reason=row["locked_reason"], pinned_availability_zone=row["pinned_availability_zone"],
        image_properties=json.loads(row["image_properties"]), volumes=volumes,
    )


def _tags_for(db: Database, uuids: list[str]) -> dict[str, tuple[str, ...]]:
    out: dict[str, list[str]] = {u: [] for u in uuids}
    for start in range(0, len(uuids), 500):
        chunk = uuids[start:start + 500]
        marks = ",".join("?" * len(chunk))
        for r in db.execute(f"SELECT server_uuid, tag FROM server_tags WHERE server_uuid IN ({marks}) ORDER BY tag",
                            chunk).fetchall():
            out[r["server_uuid"]].append(r["tag"])
    return {uuid: tuple(tags) for uuid, tags in out.items()}


def _servers(db: Database, rows: list[sqlite3.Row]) -> list[Server]:
    uuids = [r["uuid"] for r in rows]
    metadata, tags, nics = _metadata_for(db, uuids), _tags_for(db, uuids), server_nics.nics_for(db, uuids)
    volumes = volume_attachments.volumes_of(db, uuids)
    return [_server(r, metadata[r["uuid"]], tags[r["uuid"]], nics[r["uuid"]], volumes[r["uuid"]]) for r in rows]


def _metadata_for(db: Database, uuids: list[str]) -> dict[str, dict[str, str]]:
    out: dict[str, dict[str, str]] = {u: {} for u in uuids}
    for start in range(0, len(uuids), 500):
        chunk = uuids[start:start + 500]
        marks = ",".join("?" * len(chunk))
        for r in db.execute(f"SELECT server_uuid, key, value FROM server_metadata WHERE server_uuid IN ({marks})"
                            " ORDER BY key", chunk).fetchall():
            out[r["server_uuid"]][r["key"]] = r["value"]
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
                   image_properties=json.dumps(row.get("image_properties", {})))
        cols = ",".join(row)
        db.execute(f"INSERT INTO servers ({cols}) VALUES ({','.join('?' * len(row))})", list(row.values()))
        for key, value in metadata.items():
            db.execute("INSERT INTO server_metadata VALUES (?, ?, ?)", [row["uuid"], key, value])
        for position, spec in enumerate(files):
            db.execute("INSERT INTO server_files VALUES (?, ?, ?, ?)", [row["uuid"], position, spec.path, spec.contents])
        for tag in tags:
            db.execute("INSERT INTO server_tags VALUES (?, ?)", [row["uuid"], tag])
    return [get_server(db, row["uuid"]) for row in rows]


def get_server(db: Database, uuid: str, *, include_deleted: bool = False) -> Server:
    row = db.execute("SELECT * FROM servers WHERE uuid = ?", [uuid]).fetchone()
    if row is None or (row["deleted"] and not include_deleted):
        raise InstanceNotFound(instance_id=uuid)
    return _servers(db, [row])[0]


def find_server(db: Database, uuid: str) -> Server | None:
    try:
        return get_server(db, uuid, include_deleted=True)
    except NotFound:
        return None


def server_files(db: Database, uuid: str) -> list[InjectedFileSpec]:
    rows = db.execute("SELECT path, contents FROM server_files WHERE server_uuid = ? ORDER BY position", [uuid])
    return [InjectedFileSpec(path=r["path"], contents=bytes(r["contents"])) for r in rows.fetchall()]


def user_data(db: Database, uuid: str) -> bytes | None:
    row = db.execute("SELECT user_data FROM servers WHERE uuid = ?", [uuid]).fetchone()
    return bytes(row["user_data"]) if row and row["user_data"] is not None else None


def list_servers(db: Database, f: ServerFilters) -> list[Server]:
    where, args = [], []
    if not f.all_tenants or f.project_id:
        where.append("project_id = ?")
        args.append(f.project_id)
    if f.changes_since is not None:
        where.append("updated_at >= ?")
        args.append(isotime(f.changes_since))
    if f.changes_before is not None:
        where.append("updated_at <= ?")
        args.append(isotime(f.changes_before))
    if f.changes_since is None and f.changes_before is None:  # either lists the recently deleted too (Nova)
        where.append("deleted = 0")
    if f.locked is not None:
        where.append("locked = ?")
        args.append(int(f.locked))
    for name, value in f.exact:
        where.append(f"{EXACT_FILTERS[name]} = ?")
        args.append(value)
    for name, pattern in f.patterns:
        where.append(f"{PATTERN_FILTERS[name]} REGEXP ?")
        args.append(pattern)
    for clause, value in (("name REGEXP ?", f.name), ("image_id = ?", f.image), ("flavorid = ?", f.flavor),
                          ("reservation_id = ?", f.reservation_id)):
        if value:
            where.append(clause)
            args.append(value)
    if f.statuses:
        clauses = []
        for status in f.statuses:
            for vm_state, task in states.vm_states_for_status(status):
                if task is None:
                    overridden = list(states.STATUS_MAP[vm_state][1])
                    marks = ",".join("?" * len(overridden))
                    extra = f" AND (task_state IS NULL OR task_state NOT IN ({marks}))" if overridden else ""
                    clauses.append(f"(vm_state = ?{extra})")
                    args.extend([vm_state, *overridden])
                else:
                    clauses.append("(vm_state = ? AND task_state = ?)")
                    args.extend([vm_state, task])
        where.append("(" + " OR ".join(clauses) + ")" if clauses else "0")
    _tag_filters(f, where, args)
    order = []
    for key, direction in f.sort:
        column = _COLUMN.get(key, key)
        if column not in _SORTABLE_COLUMNS:
            raise BadRequest(f"Invalid sort_key: {key}")
        order.append(f"{column} {'ASC' if direction == 'asc' else 'DESC'}")
    order.append("serial DESC")
    sql = f"SELECT * FROM servers WHERE {' AND '.join(where)} ORDER BY {', '.join(order)}"
    rows = db.execute(sql, args).fetchall()
    if f.marker is not None:
        ids = [r["uuid"] for r in rows]
        if f.marker not in ids:
            raise MarkerNotFound(marker=f.marker)
        rows = rows[ids.index(f.marker) + 1:]
    return _servers(db, rows[:f.limit])


_HAS_TAG = "EXISTS (SELECT 1 FROM server_tags t WHERE t.server_uuid = servers.uuid AND t.tag = ?)"


def _tag_filters(f: ServerFilters, where: list[str], args: list[Any]) -> None:
    """Nova's tag filters (2.26): `tags` all of them, `tags-any` one of them, `not-tags` not all of them,
    `not-tags-any` none of them."""
    for tags, joiner, negate in ((f.tags, " AND ", False), (f.tags_any, " OR ", False),
                                 (f.not_tags, " AND ", True), (f.not_tags_any, " OR ", True)):
        if tags:
            clause = "(" + joiner.join([_HAS_TAG] * len(tags)) + ")"
            where.append(f"NOT {clause}" if negate else clause)
            args.extend(tags)


def list_all_live(db: Database) -> list[Server]:
    return _servers(db, db.execute("SELECT * FROM servers WHERE deleted = 0 ORDER BY serial").fetchall())


def update_server(db: Database, uuid: str, values: dict[str, Any], *, now: datetime,
                  expected_task_state: tuple[str | None, ...] | None = None) -> Server | None:
    """Set columns (updated_at = now); with expected_task_state, only if the task_state is one of those
    (compare-and-set).

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
    db.execute("UPDATE servers SET user_data = NULL, key_data = NULL WHERE uuid = ?", [uuid])


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
    """What live, non-ERROR servers hold, counting only those requested up to `up_to_serial` (the scheduler's queue
    order: a server is placed beside every earlier one, never refused for one that came after it). Disk in bytes:
    root, ephemeral and swap."""
    row = db.execute("SELECT coalesce(sum(vcpus), 0) AS cores, coalesce(sum(memory_mb), 0) AS ram,"
                     " coalesce(sum(root_disk_bytes + ephemeral_gb * 1073741824 + swap * 1048576), 0) AS disk"
                     " FROM servers WHERE deleted = 0 AND vm_state != ? AND serial <= ?",
                     [states.ERROR, up_to_serial]).fetchone()
    return {"cores": row["cores"], "ram": row["ram"], "disk": row["disk"]}


def image_sha256_in_use(db: Database) -> set[str]:
    rows = db.execute("SELECT DISTINCT image_sha256 FROM servers WHERE deleted = 0 AND image_sha256 IS NOT NULL")
    return {r["image_sha256"] for r in rows.fetchall()}
