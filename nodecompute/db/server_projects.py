"""A server's move to another project (the Cyclades `reassign` action, #328): the server row and its ports."""
from __future__ import annotations

from sqlite_utils import Database


def move_server(db: Database, uuid: str, project_id: str, now: str) -> None:
    db.execute("UPDATE servers SET project_id = ?, updated_at = ? WHERE uuid = ?", [project_id, now, uuid])
    db.execute("UPDATE ports SET project_id = ?, updated_at = ? WHERE device_id = ?", [project_id, now, uuid])
