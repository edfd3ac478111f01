"""Where K5 import/export jobs are kept: the interface the runner uses, and an in-memory implementation.

A persistent store (an SQLite table, a later issue) implements the same calls, each one transaction: `admit` checks
and inserts under one write lock, `update` reads, changes and writes back under one. "Newest first" is the reverse of
admission order (a row id there), so jobs admitted within the same clock tick still list in a stable order.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Protocol

from nodecompute.compute.image_jobs import Job


class JobNotFound(Exception):
    pass


class JobStore(Protocol):
    async def admit(self, job: Job, check: Callable[[Sequence[Job]], None]) -> Job:
        """Insert `job` once check(every unfinished job, both kinds) has returned; check raises to refuse it."""

    async def get(self, kind: str, job_id: str) -> Job | None: ...

    async def update(self, kind: str, job_id: str, change: Callable[[Job], Job]) -> Job:
        """Save change(current record) and return it; JobNotFound when absent. What `change` raises goes through
        and nothing is written."""

    async def list(self, kind: str, project_id: str) -> list[Job]:
        """The project's jobs of that kind, newest first."""

    async def unfinished(self) -> list[Job]:
        """Every job not finished, oldest first."""

    async def purge(self, finished_by: datetime) -> int:
        """Drop the jobs (credentials and all) that finished at or before that time; how many."""


class InMemoryJobStore:
    """The JobStore of the tests (and of a daemon until the table exists): a dict in admission order. Every call
    runs without awaiting inside, so each is atomic on the event loop."""

    def __init__(self) -> None:
        self._jobs: dict[str, Job] = {}

    async def admit(self, job: Job, check: Callable[[Sequence[Job]], None]) -> Job:
        if job.id in self._jobs:
            raise ValueError(f"job {job.id} exists")
        check([j for j in self._jobs.values() if not j.finished])
        self._jobs[job.id] = job
        return job

    async def get(self, kind: str, job_id: str) -> Job | None:
        job = self._jobs.get(job_id)
        return job if job is not None and job.kind == kind else None

    async def update(self, kind: str, job_id: str, change: Callable[[Job], Job]) -> Job:
        job = await self.get(kind, job_id)
        if job is None:
            raise JobNotFound(job_id)
        changed = change(job)
        self._jobs[job_id] = changed
        return changed

    async def list(self, kind: str, project_id: str) -> list[Job]:
        return [j for j in reversed(self._jobs.values()) if j.kind == kind and j.project_id == project_id]

    async def unfinished(self) -> list[Job]:
        return [j for j in self._jobs.values() if not j.finished]

    async def purge(self, finished_by: datetime) -> int:
        gone = [i for i, j in self._jobs.items() if j.finished_at is not None and j.finished_at <= finished_by]
        for job_id in gone:
            del self._jobs[job_id]
        return len(gone)

    def __len__(self) -> int:
        return len(self._jobs)
