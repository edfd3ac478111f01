"""The persistent JobStore of K5's image import/export jobs (image_job_store.py's interface) on the SQLite table of
db/image_jobs.py: each call one transaction (`admit` checks and inserts under the write lock, `update` reads,
changes and writes back under it; what `change` raises rolls it back), so jobs survive a daemon restart and the
runner's `resume` finds them."""
from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from nodecompute.compute.image_job_store import JobNotFound
from nodecompute.compute.image_jobs import EXPORT, IMPORT, ExportJob, ImportJob, ImportRequest, Job
from nodecompute.db import image_jobs as rows
from nodecompute.db.store import Store

_TIMES = ("created_at", "updated_at", "finished_at")


def to_record(job: Job) -> str:
    fields = dataclasses.asdict(job)
    for key in _TIMES:
        if fields[key] is not None:
            fields[key] = fields[key].isoformat()
    return json.dumps(fields)


def from_record(text: str) -> Job:
    fields: dict[str, Any] = json.loads(text)
    for key in _TIMES:
        if fields[key] is not None:
            fields[key] = datetime.fromisoformat(fields[key])
    if fields["kind"] == IMPORT:
        fields["request"] = ImportRequest(**fields["request"])
        return ImportJob(**fields)
    return ExportJob(**fields)


def _finished_at(job: Job) -> str | None:
    return job.finished_at.isoformat() if job.finished_at is not None else None


def _admit_tx(db, job: Job, check: Callable[[Sequence[Job]], None]) -> Job:
    if rows.get(db, IMPORT, job.id) is not None or rows.get(db, EXPORT, job.id) is not None:
        raise ValueError(f"job {job.id} exists")
    check([from_record(text) for text in rows.unfinished(db)])
    rows.insert(db, job.id, job.kind, job.project_id, job.finished, _finished_at(job), to_record(job))
    return job


def _update_tx(db, kind: str, job_id: str, change: Callable[[Job], Job]) -> Job:
    text = rows.get(db, kind, job_id)
    if text is None:
        raise JobNotFound(job_id)
    changed = change(from_record(text))
    rows.update(db, job_id, changed.finished, _finished_at(changed), to_record(changed))
    return changed


class TableJobStore:
    def __init__(self, store: Store) -> None:
        self.store = store

    async def admit(self, job: Job, check: Callable[[Sequence[Job]], None]) -> Job:
        return await self.store.write(_admit_tx, job, check)

    async def get(self, kind: str, job_id: str) -> Job | None:
        text = self.store.read(rows.get, kind, job_id)
        return from_record(text) if text is not None else None

    async def update(self, kind: str, job_id: str, change: Callable[[Job], Job]) -> Job:
        return await self.store.write(_update_tx, kind, job_id, change)

    async def list(self, kind: str, project_id: str) -> list[Job]:
        return [from_record(text) for text in self.store.read(rows.of_project, kind, project_id)]

    async def unfinished(self) -> list[Job]:
        return [from_record(text) for text in self.store.read(rows.unfinished)]

    async def purge(self, finished_by: datetime) -> int:
        return await self.store.write(rows.purge, finished_by.isoformat())
