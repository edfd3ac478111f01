"""Flavor rows, the projects a private flavor is shared with, and flavor extra specs.

Every function takes a sqlite-utils Database first. `project_id=None` on a lookup means "no access filter" (an
admin); otherwise a flavor is visible when it is public or shared with that project (Nova's
``_flavor_get_query_from_db``).
"""
from __future__ import annotations

from datetime import datetime

import sqlite3
from dataclasses import replace
from typing import Any

from sqlite_utils import Database

from nodecompute.domain.flavor_models import (
    FlavorAccessExists, FlavorAccessNotFound, FlavorExists, FlavorExtraSpecNotFound, FlavorIdExists, FlavorNotFound,
    FlavorQuery,
)
from nodecompute.domain.errors import MarkerNotFound
from nodecompute.domain.models import Flavor, isotime

# SQL expression each API sort key orders by. Columns Nova has and we do not (updated_at, vcpu_weight) are NULL
# for every unmodified Nova flavor, so they sort as a constant (ties broken by serial, as Nova breaks them by id).
SORT_COLUMNS = {
    "created_at": "created_at", "description": "COALESCE(description, '')", "disabled": "disabled",
    "ephemeral_gb": "ephemeral_gb", "flavorid": "flavorid", "id": "serial", "is_public": "is_public",
    "memory_mb": "memory_mb", "name": "name", "root_gb": "root_gb", "rxtx_factor": "rxtx_factor", "swap": "swap",
    "updated_at": "0", "vcpu_weight": "0", "vcpus": "vcpus",
}
_VISIBLE = "(is_public = 1 OR flavorid IN (SELECT flavorid FROM flavor_projects WHERE project_id = ?))"


def _flavor(row: sqlite3.Row) -> Flavor:
    return Flavor(
        flavorid=row["flavorid"], name=row["name"], memory_mb=row["memory_mb"], vcpus=row["vcpus"],
        root_gb=row["root_gb"], ephemeral_gb=row["ephemeral_gb"], swap=row["swap"], rxtx_factor=row["rxtx_factor"],
        is_public=bool(row["is_public"]), disabled=bool(row["disabled"]), description=row["description"],
        serial=row["serial"],
    )


def _access_filter(project_id: str | None) -> tuple[str, list[Any]]:
    return ("", []) if project_id is None else (f" AND {_VISIBLE}", [project_id])


def find_flavor(db: Database, flavorid: str, project_id: str | None = None) -> Flavor | None:
    extra, args = _access_filter(project_id)
    row = db.execute(f"SELECT * FROM flavors WHERE flavorid = ?{extra}", [flavorid, *args]).fetchone()
    return _flavor(row) if row else None


def get_flavor(db: Database, flavorid: str, project_id: str | None = None) -> Flavor:
    flavor = find_flavor(db, flavorid, project_id)
    if flavor is None:
        raise FlavorNotFound(flavor_id=flavorid)
    return flavor


def _list_conditions(q: FlavorQuery) -> tuple[list[str], list[Any]]:
    where: list[str] = []
    args: list[Any] = []
    if not q.is_admin:
        where += [_VISIBLE, "disabled = 0"]
        args.append(q.project_id)
    elif q.is_public is True:
        where.append(_VISIBLE)
        args.append(q.project_id)
    elif q.is_public is False:
        where.append("is_public = 0")
    if q.min_ram is not None:
        where.append("memory_mb >= ?")
        args.append(q.min_ram)
    if q.min_disk is not None:
        where.append("root_gb >= ?")
        args.append(q.min_disk)
    if q.name is not None:
        where.append("name REGEXP ?")
        args.append(q.name)
    return where, args


def _marker_position(db: Database, q: FlavorQuery, column: str) -> tuple[Any, int]:
    """(sort value, serial) of the marker flavor; it must exist and be visible to the caller."""
    extra, args = _access_filter(None if q.is_admin else q.project_id)
    row = db.execute(f"SELECT {column} AS sort_value, serial FROM flavors WHERE flavorid = ?{extra}",
                     [q.marker, *args]).fetchone()
    if row is None:
        raise MarkerNotFound(marker=q.marker)
    return row["sort_value"], row["serial"]


def list_flavors(db: Database, q: FlavorQuery) -> list[Flavor]:
    """One page, ordered by (sort key, serial) in the requested direction, starting after the marker."""
    column = SORT_COLUMNS[q.sort_key]
    op, direction = (">", "ASC") if q.sort_dir == "asc" else ("<", "DESC")
    where, args = _list_conditions(q)
    if q.marker is not None:
        value, serial = _marker_position(db, q, column)
        where.append(f"({column} {op} ? OR ({column} = ? AND serial {op} ?))")
        args += [value, value, serial]
    sql = f"SELECT * FROM flavors WHERE {' AND '.join(where) or '1'} ORDER BY {column} {direction}, serial {direction}"
    if q.limit is not None:
        sql += " LIMIT ?"
        args.append(q.limit)
    return [_flavor(row) for row in db.execute(sql, args).fetchall()]


def insert_flavor(db: Database, flavor: Flavor, now: datetime) -> Flavor:
    if db.execute("SELECT 1 FROM flavors WHERE flavorid = ?", [flavor.flavorid]).fetchone():
        raise FlavorIdExists(flavor_id=flavor.flavorid)
    if db.execute("SELECT 1 FROM flavors WHERE name = ?", [flavor.name]).fetchone():
        raise FlavorExists(name=flavor.name)
    cursor = db.execute(
        "INSERT INTO flavors (flavorid, name, memory_mb, vcpus, root_gb, ephemeral_gb, swap, rxtx_factor, is_public,"
        " disabled, description, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [flavor.flavorid, flavor.name, flavor.memory_mb, flavor.vcpus, flavor.root_gb, flavor.ephemeral_gb,
         flavor.swap, flavor.rxtx_factor, int(flavor.is_public), int(flavor.disabled), flavor.description,
         isotime(now)],
    )
    return replace(flavor, serial=cursor.lastrowid)


def delete_flavor(db: Database, flavorid: str) -> None:
    """Delete the flavor; its access rows and extra specs go with it (ON DELETE CASCADE)."""
    if db.execute("DELETE FROM flavors WHERE flavorid = ?", [flavorid]).rowcount == 0:
        raise FlavorNotFound(flavor_id=flavorid)


def flavor_projects(db: Database, flavorid: str) -> list[str]:
    rows = db.execute("SELECT project_id FROM flavor_projects WHERE flavorid = ? ORDER BY rowid", [flavorid])
    return [row["project_id"] for row in rows.fetchall()]


def add_flavor_project(db: Database, flavorid: str, project_id: str) -> list[str]:
    get_flavor(db, flavorid)
    try:
        db.execute("INSERT INTO flavor_projects (flavorid, project_id) VALUES (?, ?)", [flavorid, project_id])
    except sqlite3.IntegrityError:
        raise FlavorAccessExists(flavor_id=flavorid, project_id=project_id) from None
    return flavor_projects(db, flavorid)


def remove_flavor_project(db: Database, flavorid: str, project_id: str) -> list[str]:
    get_flavor(db, flavorid)
    deleted = db.execute("DELETE FROM flavor_projects WHERE flavorid = ? AND project_id = ?", [flavorid, project_id])
    if deleted.rowcount == 0:
        raise FlavorAccessNotFound(flavor_id=flavorid, project_id=project_id)
    return flavor_projects(db, flavorid)


def extra_specs(db: Database, flavorid: str) -> dict[str, str]:
    rows = db.execute("SELECT key, value FROM flavor_extra_specs WHERE flavorid = ? ORDER BY key", [flavorid])
    return {row["key"]: row["value"] for row in rows.fetchall()}


def with_extra_specs(db: Database, flavors: list[Flavor]) -> list[Flavor]:
    """The flavors with their extra specs (one query for them all)."""
    ids = [flavor.flavorid for flavor in flavors]
    found: dict[str, list[tuple[str, str]]] = {flavorid: [] for flavorid in ids}
    marks = ",".join("?" * len(ids))
    for row in db.execute(f"SELECT flavorid, key, value FROM flavor_extra_specs WHERE flavorid IN ({marks})"
                          " ORDER BY key", ids).fetchall():
        found[row["flavorid"]].append((row["key"], row["value"]))
    return [replace(flavor, extra_specs=tuple(found[flavor.flavorid])) for flavor in flavors]


def set_description(db: Database, flavorid: str, description: str | None) -> Flavor:
    if db.execute("UPDATE flavors SET description = ? WHERE flavorid = ?", [description, flavorid]).rowcount == 0:
        raise FlavorNotFound(flavor_id=flavorid)
    return with_extra_specs(db, [get_flavor(db, flavorid)])[0]


def merge_extra_specs(db: Database, flavorid: str, specs: dict[str, str]) -> None:
    """Create or overwrite the given keys; other keys stay."""
    get_flavor(db, flavorid)
    db.conn.executemany(
        "INSERT INTO flavor_extra_specs (flavorid, key, value) VALUES (?, ?, ?)"
        " ON CONFLICT (flavorid, key) DO UPDATE SET value = excluded.value",
        [(flavorid, key, value) for key, value in specs.items()],
    )


def delete_extra_spec(db: Database, flavorid: str, key: str) -> None:
    get_flavor(db, flavorid)
    deleted = db.execute("DELETE FROM flavor_extra_specs WHERE flavorid = ? AND key = ?", [flavorid, key])
    if deleted.rowcount == 0:
        raise FlavorExtraSpecNotFound(flavor_id=flavorid, key=key)
