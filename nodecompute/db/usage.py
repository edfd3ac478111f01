"""Servers' lifetimes for os-simple-tenant-usage: the servers (deleted ones included, until purged) that were
running at some point of a period, as Nova's InstanceList.get_active_by_window_joined finds them."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlite_utils import Database

from nodecompute.domain.errors import BadRequest
from nodecompute.domain.models import isotime, parse_isotime


@dataclass(frozen=True)
class ServerLife:
    uuid: str
    name: str
    project_id: str
    flavor_name: str
    memory_mb: int
    vcpus: int
    local_gb: int  # root + ephemeral, as Nova counts them
    vm_state: str
    launched_at: datetime
    terminated_at: datetime | None


def active_in_window(db: Database, start: datetime, stop: datetime, project_id: str | None = None,
                     limit: int | None = None, marker: str | None = None) -> list[ServerLife]:
    """Launched before `stop` and not terminated before `start`, in request order; `limit` of them after the
    server `marker` (400 "marker [...] not found" when it is none of them, as Nova answers)."""
    sql = ("SELECT * FROM servers WHERE launched_at IS NOT NULL AND launched_at < ?"
           " AND (terminated_at IS NULL OR terminated_at > ?)")
    args: list = [isotime(stop), isotime(start)]
    if project_id is not None:
        sql, args = sql + " AND project_id = ?", [*args, project_id]
    if marker is not None:
        found = db.execute(sql + " AND uuid = ?", [*args, marker]).fetchone()
        if found is None:
            raise BadRequest(f"marker [{marker}] not found")
        sql, args = sql + " AND serial > ?", [*args, found["serial"]]
    sql += " ORDER BY serial"
    if limit is not None:
        sql, args = sql + " LIMIT ?", [*args, limit]
    return [ServerLife(uuid=r["uuid"], name=r["name"], project_id=r["project_id"], flavor_name=r["flavor_name"],
                       memory_mb=r["memory_mb"], vcpus=r["vcpus"], local_gb=r["root_gb"] + r["ephemeral_gb"],
                       vm_state=r["vm_state"], launched_at=parse_isotime(r["launched_at"]),
                       terminated_at=parse_isotime(r["terminated_at"]) if r["terminated_at"] else None)
            for r in db.execute(sql, args).fetchall()]
