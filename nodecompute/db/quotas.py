"""Quota overrides (per quota class and per project) and the live usage counts quotas are checked against."""
from __future__ import annotations

from sqlite_utils import Database


def class_limits(db: Database, class_name: str) -> dict[str, int]:
    rows = db.execute("SELECT resource, hard_limit FROM quota_classes WHERE class_name = ?", [class_name]).fetchall()
    return {r["resource"]: r["hard_limit"] for r in rows}


def project_limits(db: Database, project_id: str) -> dict[str, int]:
    rows = db.execute("SELECT resource, hard_limit FROM project_quotas WHERE project_id = ?", [project_id]).fetchall()
    return {r["resource"]: r["hard_limit"] for r in rows}


def set_class_limits(db: Database, class_name: str, values: dict[str, int]) -> None:
    db.conn.executemany(
        "INSERT INTO quota_classes (class_name, resource, hard_limit) VALUES (?, ?, ?) "
        "ON CONFLICT (class_name, resource) DO UPDATE SET hard_limit = excluded.hard_limit",
        [(class_name, resource, limit) for resource, limit in values.items()],
    )


def set_project_limits(db: Database, project_id: str, values: dict[str, int]) -> None:
    db.conn.executemany(
        "INSERT INTO project_quotas (project_id, resource, hard_limit) VALUES (?, ?, ?) "
        "ON CONFLICT (project_id, resource) DO UPDATE SET hard_limit = excluded.hard_limit",
        [(project_id, resource, limit) for resource, limit in values.items()],
    )


def delete_project_limits(db: Database, project_id: str) -> None:
    db.execute("DELETE FROM project_quotas WHERE project_id = ?", [project_id])


def server_usage(db: Database, project_id: str, user_id: str | None = None) -> dict[str, int]:
    """instances, cores and ram held by the project's (or one of its users') servers that are not deleted."""
    sql = ("SELECT COUNT(*) AS instances, COALESCE(SUM(vcpus), 0) AS cores, COALESCE(SUM(memory_mb), 0) AS ram "
           "FROM servers WHERE project_id = ? AND deleted = 0")
    args = [project_id]
    if user_id is not None:
        sql += " AND user_id = ?"
        args.append(user_id)
    row = db.execute(sql, args).fetchone()
    return {"instances": row["instances"], "cores": row["cores"], "ram": row["ram"]}


def project_exists(db: Database, project_id: str) -> bool:
    return db.execute("SELECT 1 FROM projects WHERE id = ?", [project_id]).fetchone() is not None
