"""The networking quotas (Neutron's quota API): per-project overrides and the live usage counts."""
from __future__ import annotations

from sqlite_utils import Database

# resource -> the table whose rows of the project count against it
USAGE_TABLES = {"network": "networks", "subnet": "subnets", "port": "ports", "router": "routers",
                "floatingip": "floatingips", "security_group": "security_groups",
                "security_group_rule": "security_group_rules"}


def project_limits(db: Database, project_id: str) -> dict[str, int]:
    rows = db.execute("SELECT resource, hard_limit FROM network_quotas WHERE project_id = ?", [project_id])
    return {r["resource"]: r["hard_limit"] for r in rows.fetchall()}


def all_project_limits(db: Database) -> dict[str, dict[str, int]]:
    found: dict[str, dict[str, int]] = {}
    for r in db.execute("SELECT project_id, resource, hard_limit FROM network_quotas ORDER BY project_id"):
        found.setdefault(r["project_id"], {})[r["resource"]] = r["hard_limit"]
    return found


def set_project_limits(db: Database, project_id: str, values: dict[str, int]) -> None:
    db.conn.executemany(
        "INSERT INTO network_quotas (project_id, resource, hard_limit) VALUES (?, ?, ?) "
        "ON CONFLICT (project_id, resource) DO UPDATE SET hard_limit = excluded.hard_limit",
        [(project_id, resource, limit) for resource, limit in values.items()],
    )


def delete_project_limits(db: Database, project_id: str) -> None:
    db.execute("DELETE FROM network_quotas WHERE project_id = ?", [project_id])


def usage(db: Database, project_id: str) -> dict[str, int]:
    return {resource: db.execute(f"SELECT COUNT(*) FROM {table} WHERE project_id = ?", [project_id]).fetchone()[0]
            for resource, table in USAGE_TABLES.items()}
