"""K5 image import and export jobs: a pure state machine, the status and list documents, paging and retention.

Statuses are K5's, lowercase (the one table that writes `Failed` is a typo, dialects.md section 6):

    import  queued -> processing -> succeeded | failed
    export  queued -> processing -> succeeded | failed, and queued | processing -> cancelling -> canceled

A job may go from processing back to queued (K5 says an export "may go back and forth"; here that happens when the
daemon stops or restarts under it). A finished job (succeeded, failed, canceled) is kept, with the credentials an
import request carries, for RETENTION after it finished; then it is gone (404 40401) and purged.

Restart rule (`recover`): a job found `processing` when the daemon starts was interrupted. It is resumed from
scratch (back to `queued`; the temp files it left are removed), once: a job interrupted a second time fails with
"... process has stopped unexpectedly.", so a job that kills the daemon cannot do it forever. A `cancelling` job
becomes `canceled`, a `queued` one stays queued, and an export older than EXPORT_TIMEOUT fails with K5's "Export
process takes too long time.".
"""
from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from nodecompute.domain.models import zulu
from nodecompute.compute.image_job_errors import ExportCode, ExportFailure, ImportCode, ImportFailure, K5JobError

IMPORT, EXPORT = "import", "export"
QUEUED, PROCESSING, SUCCEEDED, FAILED = "queued", "processing", "succeeded", "failed"
CANCELLING, CANCELED = "cancelling", "canceled"
IMPORT_STATUSES = (SUCCEEDED, FAILED, PROCESSING, QUEUED)
EXPORT_STATUSES = (*IMPORT_STATUSES, CANCELLING, CANCELED)
FINISHED = frozenset({SUCCEEDED, FAILED, CANCELED})
RETENTION = timedelta(days=7)
EXPORT_TIMEOUT = timedelta(days=7)
LIST_CAPS = {IMPORT: 100, EXPORT: 200}
MAX_RESUMES = 1
DIGITS = re.compile(r"[0-9]{1,12}")

_NEXT = {
    IMPORT: {QUEUED: {PROCESSING, FAILED}, PROCESSING: {QUEUED, SUCCEEDED, FAILED}},
    EXPORT: {QUEUED: {PROCESSING, CANCELLING, FAILED},
             PROCESSING: {QUEUED, SUCCEEDED, FAILED, CANCELLING},
             CANCELLING: {CANCELED, FAILED}},
}
_CODES = {IMPORT: ImportCode, EXPORT: ExportCode}
_STOPPED = {IMPORT: ImportFailure.STOPPED, EXPORT: ExportFailure.STOPPED}


class TransitionError(Exception):
    """A move the state machine does not allow: a bug, or a race the caller handles."""


@dataclass(frozen=True, kw_only=True)
class ImportRequest:
    """A checked `POST /v1/imageimport` body. The password stays Base64, as sent (and as status echoes it)."""

    name: str
    location: str
    image_id: str
    os_type: str
    user_name: str
    password: str = field(repr=False)
    domain_name: str
    disk_format: str = "raw"
    container_format: str = "bare"
    checksum: str | None = field(default=None, repr=False)
    min_ram: int = 0
    min_disk: int = 0
    properties: dict[str, str] = field(default_factory=dict)
    ovf_location: str | None = None
    conversion: bool = True


@dataclass(frozen=True, kw_only=True)
class Job:
    kind: str
    id: str
    project_id: str
    status: str
    created_at: datetime
    updated_at: datetime
    progress: int = 0
    error: str | None = None
    finished_at: datetime | None = None
    resumes: int = 0

    @property
    def finished(self) -> bool:
        return self.status in FINISHED

    def expired(self, now: datetime) -> bool:
        return self.finished_at is not None and self.finished_at + RETENTION <= now


@dataclass(frozen=True, kw_only=True)
class ImportJob(Job):
    kind: str = IMPORT
    request: ImportRequest


@dataclass(frozen=True, kw_only=True)
class ExportJob(Job):
    kind: str = EXPORT
    image_id: str
    image_name: str | None = None
    storage_container: str
    format: str = "vmdk"


# Transitions: each returns the changed job, or raises TransitionError (K5JobError where the API answers it).

def _move(job: Job, status: str, now: datetime, **changes: object) -> Job:
    if status not in _NEXT[job.kind].get(job.status, ()):
        raise TransitionError(f"{job.kind} job {job.id}: {job.status} -> {status} is not allowed")
    return dataclasses.replace(job, status=status, updated_at=now,
                               finished_at=now if status in FINISHED else None, **changes)


def start(job: Job, now: datetime) -> Job:
    return _move(job, PROCESSING, now, progress=0, error=None)


def set_progress(job: Job, percent: float, now: datetime) -> Job:
    """0-99 while processing (100 only with success); unchanged in any other status."""
    value = max(0, min(99, int(percent)))
    if job.status != PROCESSING or value == job.progress:
        return job
    return dataclasses.replace(job, progress=value, updated_at=now)


def complete(job: Job, now: datetime) -> Job:
    """The work is done: succeeded; for an export whose cancel arrived meanwhile, canceled (the cancel wins)."""
    if job.status == CANCELLING:
        return _move(job, CANCELED, now)
    return _move(job, SUCCEEDED, now, progress=100)


def fail(job: Job, message: str, now: datetime) -> Job:
    """Failed with `message`; an export being cancelled ends canceled instead (nothing of it is left either way)."""
    if job.status == CANCELLING:
        return _move(job, CANCELED, now)
    return _move(job, FAILED, now, error=message)


def requeue(job: Job, now: datetime) -> Job:
    """Processing -> queued: the daemon stopped under the job, which starts again from scratch."""
    return _move(job, QUEUED, now, progress=0)


def request_cancel(job: Job, now: datetime) -> Job:
    """`POST /v1/imageexport/{id}/cancel`: 40010 when already cancelling, 40402 when finished."""
    if job.kind != EXPORT:
        raise TransitionError("only an export can be cancelled")
    if job.status == CANCELLING:
        raise K5JobError(ExportCode.CANCEL_ACCEPTED)
    if job.finished:
        raise K5JobError(ExportCode.FINISHED)
    return _move(job, CANCELLING, now)


def finish_cancel(job: Job, now: datetime) -> Job:
    return _move(job, CANCELED, now)


def cancel_failed(job: Job, now: datetime) -> Job:
    return _move(job, FAILED, now, error=ExportFailure.CANCEL_STOPPED)


def recover(job: Job, now: datetime, *, max_resumes: int = MAX_RESUMES,
            export_timeout: timedelta = EXPORT_TIMEOUT) -> Job:
    """What an unfinished job becomes when the daemon starts (see the module's restart rule)."""
    if job.finished:
        return job
    if job.status == CANCELLING:
        return finish_cancel(job, now)
    if job.kind == EXPORT and job.created_at + export_timeout <= now:
        return _move(job, FAILED, now, error=ExportFailure.TOO_LONG)
    if job.status == PROCESSING:
        if job.resumes >= max_resumes:
            return _move(job, FAILED, now, error=_STOPPED[job.kind])
        return dataclasses.replace(requeue(job, now), resumes=job.resumes + 1)
    return job


# Admission: checked against the unfinished jobs (of both kinds) in the same transaction that adds a job.

def check_capacity(kind: str, active: Sequence[Job], max_active: int) -> None:
    """503 50301 when `max_active` jobs (imports and exports together) are unfinished already."""
    if len(active) >= max_active:
        raise K5JobError(_CODES[kind].TOO_MANY)


def check_import_clash(request: ImportRequest, active: Sequence[Job]) -> None:
    """An unfinished import already creates that image id: 40003."""
    if any(isinstance(job, ImportJob) and job.request.image_id == request.image_id for job in active):
        raise K5JobError(ImportCode.ID_INVALID)


def check_export_clash(new: ExportJob, active: Sequence[Job]) -> None:
    """The same image to the same container is being exported already: 40015."""
    for job in active:
        if (isinstance(job, ExportJob) and job.project_id == new.project_id and job.image_id == new.image_id
                and job.storage_container.rstrip("/") == new.storage_container.rstrip("/")):
            raise K5JobError(ExportCode.SAME_REQUEST)


# Lists: newest first; `start` is an index into that order (0, the newest, by default), `limit` a count.

def parse_page(kind: str, start: str | None, limit: str | None) -> tuple[int, int]:
    """(first index, count) from the query; 40013/40014 when not a non-negative integer. A page holds at most the
    kind's cap (100 imports, 200 exports: a larger `limit` is accepted and capped, as K5 says of exports)."""
    codes = _CODES[kind]
    if start is not None and not DIGITS.fullmatch(start):
        raise K5JobError(codes.START_INVALID)
    if limit is not None and not DIGITS.fullmatch(limit):
        raise K5JobError(codes.LIMIT_INVALID)
    cap = LIST_CAPS[kind]
    return int(start or 0), cap if limit is None else min(int(limit), cap)


def page(jobs: Sequence[Job], first: int, count: int) -> list[Job]:
    return list(jobs[first:first + count])


# Documents, with K5's keys (doc §1.6.3.2-3, §1.6.3.5-6).

def import_status_view(job: ImportJob) -> dict[str, object]:
    r = job.request
    document: dict[str, object] = {
        "import_status": job.status, "progress": job.progress, "name": r.name, "disk_format": r.disk_format,
        "container_format": r.container_format, "is_public": False, "location": r.location, "id": r.image_id,
        "min_ram": r.min_ram, "min_disk": r.min_disk, "properties": dict(r.properties),
        "ovf_location": r.ovf_location, "conversion": r.conversion, "os_type": r.os_type, "user_name": r.user_name,
        "password": r.password, "domain_name": r.domain_name,
    }
    if job.status == FAILED:
        document["message"] = job.error
    return document


def import_list_item(job: ImportJob) -> dict[str, str]:
    return {"import_id": job.id, "import_status": job.status, "status": f"/v1/imageimport/{job.id}/status"}


def export_status_view(job: ExportJob) -> dict[str, object]:
    document: dict[str, object] = {
        "export_status": job.status, "progress": job.progress, "image_id": job.image_id,
        "image_name": job.image_name, "storage_container": job.storage_container,
        "request_time": zulu(job.created_at),
    }
    if job.status == FAILED:
        document["error_message"] = job.error
    return document


def export_list_item(job: ExportJob) -> dict[str, str]:
    return {"export_id": job.id, "export_status": job.status, "status": f"/v1/imageexport/{job.id}/status",
            "image_id": job.image_id, "request_time": zulu(job.created_at)}
