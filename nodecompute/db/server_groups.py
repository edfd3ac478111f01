"""Server groups and their members (os-server-groups). A member is listed while its server is not deleted (Nova
shows only not-deleted members). Functions take a sqlite-utils Database first; times come in as arguments."""
from __future__ import annotations

import json
import sqlite3
from datetime import datetime

from sqlite_utils import Database

from nodecompute.domain import states
from nodecompute.domain.host_models import ServerGroup
from nodecompute.domain.models import isotime, parse_isotime

_LIVE_MEMBERS = ("SELECT m.server_uuid FROM server_group_members m JOIN servers s ON s.uuid = m.server_uuid"
                 " WHERE m.group_uuid = ? AND s.deleted = 0 ORDER BY s.serial")


def _group(db: Database, row: sqlite3.Row) -> ServerGroup:
    members = tuple(r[0] for r in db.execute(_LIVE_MEMBERS, [row["uuid"]]).fetchall())
    return ServerGroup(uuid=row["uuid"], name=row["name"], policy=row["policy"], rules=json.loads(row["rules"]),
                       project_id=row["project_id"], user_id=row["user_id"], members=members,
                       created_at=parse_isotime(row["created_at"]))


def insert_group(db: Database, values: dict, *, now: datetime) -> ServerGroup:
    db.execute("INSERT INTO server_groups (uuid, name, policy, rules, project_id, user_id, created_at)"
               " VALUES (?,?,?,?,?,?,?)", [values["uuid"], values["name"], values["policy"],
                                          json.dumps(values["rules"]), values["project_id"], values["user_id"],
                                          isotime(now)])
    return get_group(db, values["uuid"])


def get_group(db: Database, uuid: str) -> ServerGroup | None:
    row = db.execute("SELECT * FROM server_groups WHERE uuid = ?", [uuid]).fetchone()
    return _group(db, row) if row else None


def list_groups(db: Database, project_id: str | None) -> list[ServerGroup]:
    """A project's groups (every project's with None), oldest first."""
    if project_id is None:
        rows = db.execute("SELECT * FROM server_groups ORDER BY id").fetchall()
    else:
        rows = db.execute("SELECT * FROM server_groups WHERE project_id = ? ORDER BY id", [project_id]).fetchall()
    return [_group(db, row) for row in rows]


def count_groups(db: Database, project_id: str) -> int:
    return db.execute("SELECT count(*) FROM server_groups WHERE project_id = ?", [project_id]).fetchone()[0]


def delete_group(db: Database, uuid: str) -> None:
    db.execute("DELETE FROM server_group_members WHERE group_uuid = ?", [uuid])
    db.execute("DELETE FROM server_groups WHERE uuid = ?", [uuid])


def add_members(db: Database, group_uuid: str, server_uuids: list[str]) -> None:
    for server_uuid in server_uuids:
        db.execute("INSERT OR IGNORE INTO server_group_members (group_uuid, server_uuid) VALUES (?, ?)",
                   [group_uuid, server_uuid])


def group_of(db: Database, server_uuid: str) -> ServerGroup | None:
    row = db.execute("SELECT g.* FROM server_groups g JOIN server_group_members m ON m.group_uuid = g.uuid"
                     " WHERE m.server_uuid = ?", [server_uuid]).fetchone()
    return _group(db, row) if row else None


def placed_members_before(db: Database, group_uuid: str, host: str, serial: int) -> int:
    """Members already on `host` when the server of `serial` is placed: live, requested before it, and not ERROR
    from a failed scheduling (never launched) - Nova's group hosts for the anti-affinity filter."""
    return db.execute("SELECT count(*) FROM server_group_members m JOIN servers s ON s.uuid = m.server_uuid"
                      " WHERE m.group_uuid = ? AND s.deleted = 0 AND s.host = ? AND s.serial < ?"
                      " AND NOT (s.vm_state = ? AND s.launched_at IS NULL)",
                      [group_uuid, host, serial, states.ERROR]).fetchone()[0]
