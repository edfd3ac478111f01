"""K5 image import/export job rows (migration 0025): the record is the compute layer's JSON
(compute/image_job_table.py); these functions only store and find it."""
from __future__ import annotations

from sqlite_utils import Database


def insert(db: Database, job_id: str, kind: str, project_id: str, finished: bool, finished_at: str | None,
           record: str) -> None:
    db.execute("INSERT INTO k5_image_jobs (id, kind, project_id, finished, finished_at, record) "
               "VALUES (?, ?, ?, ?, ?, ?)", [job_id, kind, project_id, int(finished), finished_at, record])


def update(db: Database, job_id: str, finished: bool, finished_at: str | None, record: str) -> None:
    db.execute("UPDATE k5_image_jobs SET finished = ?, finished_at = ?, record = ? WHERE id = ?",
               [int(finished), finished_at, record, job_id])


def get(db: Database, kind: str, job_id: str) -> str | None:
    row = db.execute("SELECT record FROM k5_image_jobs WHERE id = ? AND kind = ?", [job_id, kind]).fetchone()
    return row[0] if row else None


def of_project(db: Database, kind: str, project_id: str) -> list[str]:
    """Newest first."""
    return [row[0] for row in db.execute("SELECT record FROM k5_image_jobs WHERE kind = ? AND project_id = ? "
                                         "ORDER BY seq DESC", [kind, project_id]).fetchall()]


def unfinished(db: Database) -> list[str]:
    """Oldest first."""
    return [row[0] for row in db.execute("SELECT record FROM k5_image_jobs WHERE finished = 0 ORDER BY seq")]


def purge(db: Database, finished_by: str) -> int:
    return db.execute("DELETE FROM k5_image_jobs WHERE finished_at IS NOT NULL AND finished_at <= ?",
                      [finished_by]).rowcount
