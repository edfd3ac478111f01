"""K5 image import and export as a service: requests checked and admitted, one asyncio task per job doing the work.

What the K5 routes will call (`submit_import`, `import_status`, `list_imports`, `submit_export`, `export_status`,
`list_exports`, `cancel_export`) answers with documents or raises K5JobError. The daemon calls `resume()` at start
and `close()` at stop.

A job's task waits for one of `max_running` slots (the job stays `queued` meanwhile), moves it to `processing` and
drives the storage functions (storage.image_import), reporting progress into the job. At most `max_active` jobs,
imports and exports together, are unfinished at once; one more is refused with 503 50301. Cancelling an export
marks it `cancelling` and cancels its task: qemu-img is killed, the temp file removed, then the job is `canceled`
(shielded: a second cancel cannot cut that short). Once a conversion is complete, publishing it (registering the
image, linking the export into its container) and marking the job runs to the end even when cancelled, so no image
row or file is left without its job saying so. `close()` cancels the tasks the same way and puts their jobs back to
`queued`; `resume()` applies the restart rule of image_jobs.recover and starts every queued job again.
"""
from __future__ import annotations

import asyncio
import inspect
import logging
import uuid
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any, Protocol, TypeVar

from nodecompute.domain import errors
from nodecompute.compute import image_jobs as jobs
from nodecompute.compute.image_job_errors import ExportCode, ExportFailure, ImportCode, ImportFailure, K5JobError
from nodecompute.compute.image_job_requests import parse_export_request, parse_import_request
from nodecompute.compute.image_job_store import JobNotFound, JobStore
from nodecompute.compute.image_jobs import EXPORT, IMPORT, ExportJob, ImportJob, ImportRequest, Job
from nodecompute.domain.image_models import ACTIVE, Image
from nodecompute.compute.images import ImageService, new_image
from nodecompute.domain.models import utcnow
from nodecompute.db import images as images_db
from nodecompute.storage import image_import as transfer
from nodecompute.storage.errors import DiskError, InvalidImage, StorageError
from nodecompute.storage.image_files import ImageFiles, StoredImage
from nodecompute.storage.object_paths import ObjectRoot, parse_container_path, parse_object_path

log = logging.getLogger(__name__)
T = TypeVar("T")
CredentialsCheck = Callable[[ImportRequest], Awaitable[bool] | bool]


@dataclass(frozen=True)
class JobSettings:
    max_active: int = 4  # unfinished jobs, imports and exports together; one more: 503 50301
    max_running: int = 1  # conversions at once (each is a disk-bound qemu-img)
    max_resumes: int = jobs.MAX_RESUMES
    export_timeout_s: float = jobs.EXPORT_TIMEOUT.total_seconds()
    export_format: str = "vmdk"
    max_virtual_size: int = transfer.MAX_VIRTUAL_SIZE


class ImageCatalog(Protocol):
    """The image service as the jobs need it."""

    def image_exists(self, image_id: str) -> bool:
        """Any image row with that id, deleted ones included (an id is never reused)."""

    def find(self, project_id: str, image_id: str) -> Image | None:
        """The image if the project may see it."""

    def content_path(self, image: Image) -> Path | None: ...

    async def create_with_content(self, image: Image, stored: StoredImage) -> Image:
        """Register stored bytes as `image`; errors.Conflict when the id is in use."""


class ServiceCatalog:
    """ImageCatalog over the daemon's ImageService."""

    def __init__(self, service: ImageService) -> None:
        self.service = service

    def image_exists(self, image_id: str) -> bool:
        return self.service.store.read(images_db.image_exists, image_id)

    def find(self, project_id: str, image_id: str) -> Image | None:
        image = self.service.store.read(images_db.get_image, image_id)
        return image if image is not None and image.visible_to(project_id) else None

    def content_path(self, image: Image) -> Path | None:
        if image.status != ACTIVE or not image.content_sha256:
            return None
        return self.service.files.path_for(image.content_sha256)

    async def create_with_content(self, image: Image, stored: StoredImage) -> Image:
        return await self.service.create_with_content(image, stored)


async def _run_to_end(work: Coroutine[Any, Any, T]) -> T:
    """Await `work` to its end even if we are cancelled meanwhile; the cancellation is raised afterwards."""
    task = asyncio.ensure_future(work)
    try:
        return await asyncio.shield(task)
    except asyncio.CancelledError:
        await asyncio.wait([task])
        raise


class ImageJobs:
    def __init__(self, store: JobStore, catalog: ImageCatalog, files: ImageFiles, root: ObjectRoot,
                 settings: JobSettings = JobSettings(), *, clock: Callable[[], datetime] = utcnow,
                 new_id: Callable[[], str] = lambda: str(uuid.uuid4()),
                 throttle: transfer.Throttle | None = None) -> None:
        self.store, self.catalog, self.files, self.root = store, catalog, files, root
        self.settings, self.clock, self.new_id = settings, clock, new_id
        self.throttle = throttle  # test-only: holds conversions at chosen progress points
        self._slots = asyncio.Semaphore(settings.max_running)
        self._tasks: dict[str, asyncio.Task] = {}
        self._started: set[str] = set()  # jobs whose task has begun (a task cancelled before that runs no code)

    # Requests.

    async def submit_import(self, project_id: str, body: object, *,
                            credentials_ok: CredentialsCheck | None = None) -> ImportJob:
        """201's job; `credentials_ok` checks user_name/password/domain_name against the caller (40010 if not)."""
        request = parse_import_request(body, project_id)
        if credentials_ok is not None:
            verdict = credentials_ok(request)
            if not (await verdict if inspect.isawaitable(verdict) else verdict):
                raise K5JobError(ImportCode.CREDENTIALS_INVALID)
        try:
            with self.root.opened_object(parse_object_path(request.location, project_id)):
                pass
        except StorageError:
            raise K5JobError(ImportCode.LOCATION_INVALID) from None
        if self.catalog.image_exists(request.image_id):
            raise K5JobError(ImportCode.ID_INVALID)
        now = self.clock()
        job = ImportJob(id=self.new_id(), project_id=project_id, status=jobs.QUEUED, created_at=now,
                        updated_at=now, request=request)
        return await self._admit(job, partial(jobs.check_import_clash, request))

    async def submit_export(self, project_id: str, raw_body: object) -> ExportJob:
        """202's job."""
        request = parse_export_request(raw_body, project_id)
        image = self.catalog.find(project_id, request.image_id)
        if image is None:
            raise K5JobError(ExportCode.IMAGE_ID_INVALID)
        if (image.virtual_size or 0) > self.settings.max_virtual_size:
            raise K5JobError(ExportCode.TOO_LARGE)
        name = transfer.export_name(image.id, self.settings.export_format)
        try:
            exists = self.root.object_exists(request.container, name)
        except StorageError:
            raise K5JobError(ExportCode.CONTAINER_INVALID) from None
        if exists:
            raise K5JobError(ExportCode.FILE_EXISTS)
        now = self.clock()
        job = ExportJob(id=self.new_id(), project_id=project_id, status=jobs.QUEUED, created_at=now,
                        updated_at=now, image_id=image.id, image_name=image.name,
                        storage_container=request.storage_container, format=self.settings.export_format)
        return await self._admit(job, lambda active: jobs.check_export_clash(job, active))

    async def _admit(self, job: Job, clash: Callable[[Any], None]) -> Any:
        def check(active: Any) -> None:
            clash(active)
            jobs.check_capacity(job.kind, active, self.settings.max_active)

        await self.purge()
        await self.store.admit(job, check)
        self._launch(job)
        return job

    async def _visible(self, kind: str, project_id: str, job_id: str) -> Any:
        job = await self.store.get(kind, job_id)
        if job is None or job.project_id != project_id or job.expired(self.clock()):
            raise K5JobError(ImportCode.NOT_FOUND if kind == IMPORT else ExportCode.NOT_FOUND)
        return job

    async def import_status(self, project_id: str, import_id: str) -> dict[str, object]:
        return jobs.import_status_view(await self._visible(IMPORT, project_id, import_id))

    async def export_status(self, project_id: str, export_id: str) -> dict[str, object]:
        return jobs.export_status_view(await self._visible(EXPORT, project_id, export_id))

    async def list_imports(self, project_id: str, start: str | None = None, limit: str | None = None) -> dict:
        first, count = jobs.parse_page(IMPORT, start, limit)
        await self.purge()
        listed = jobs.page(await self.store.list(IMPORT, project_id), first, count)
        return {"imports": [jobs.import_list_item(job) for job in listed]}

    async def list_exports(self, project_id: str, start: str | None = None, limit: str | None = None) -> dict:
        first, count = jobs.parse_page(EXPORT, start, limit)
        await self.purge()
        listed = jobs.page(await self.store.list(EXPORT, project_id), first, count)
        return {"exports": [jobs.export_list_item(job) for job in listed]}

    async def cancel_export(self, project_id: str, export_id: str) -> ExportJob:
        """200's job, now `cancelling`; it becomes `canceled` once its work has stopped and left nothing."""
        await self._visible(EXPORT, project_id, export_id)
        try:
            job = await self.store.update(EXPORT, export_id, lambda j: jobs.request_cancel(j, self.clock()))
        except JobNotFound:
            raise K5JobError(ExportCode.NOT_FOUND) from None
        task = self._tasks.get(export_id)
        if task is not None and not task.done():
            task.cancel()
        if task is None or task.done() or export_id not in self._started:
            await self._settle(EXPORT, export_id)
        return job

    # Lifecycle.

    async def purge(self) -> int:
        """Forget the jobs, credentials included, that finished more than the retention ago."""
        return await self.store.purge(self.clock() - jobs.RETENTION)

    async def resume(self) -> list[Job]:
        """At daemon start: recover every unfinished job, remove what interrupted ones left, restart the queued."""
        await self.purge()
        started = []
        for found in await self.store.unfinished():
            job = await self.store.update(found.kind, found.id, partial(
                jobs.recover, now=self.clock(), max_resumes=self.settings.max_resumes,
                export_timeout=timedelta(seconds=self.settings.export_timeout_s)))
            transfer.remove_leftovers(self.files, self.root, job.id)
            if job.status == jobs.QUEUED:
                self._launch(job)
                started.append(job)
        return started

    async def close(self) -> None:
        """At daemon stop: cancel every job's task; their jobs go back to `queued` for the next start."""
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def wait_idle(self) -> None:
        """Until every job task has ended (tests, and an orderly stop)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks.values()), return_exceptions=True)

    # The work, one task per job.

    def _launch(self, job: Job) -> None:
        task = asyncio.create_task(self._run(job.kind, job.id), name=f"k5-{job.kind}-{job.id}")
        self._tasks[job.id] = task
        task.add_done_callback(lambda _done, job_id=job.id: self._forget(job_id))

    def _forget(self, job_id: str) -> None:
        self._tasks.pop(job_id, None)
        self._started.discard(job_id)

    def _start_if_queued(self, job: Job) -> Job:
        return jobs.start(job, self.clock()) if job.status == jobs.QUEUED else job

    async def _run(self, kind: str, job_id: str) -> None:
        self._started.add(job_id)
        try:
            async with self._slots:
                job = await self.store.update(kind, job_id, self._start_if_queued)
                if job.status == jobs.PROCESSING:
                    await (self._import(job) if kind == IMPORT else self._export(job))
                else:
                    await self._settle(kind, job_id)
        except asyncio.CancelledError:
            await asyncio.shield(self._settle(kind, job_id))
            raise
        except JobNotFound:
            return  # purged under us: nothing left to report to
        except Exception:
            log.exception("%s job %s failed unexpectedly", kind, job_id)
            message = ImportFailure.INTERNAL if kind == IMPORT else ExportFailure.STOPPED
            await asyncio.shield(self._fail(kind, job_id, message))

    async def _settle(self, kind: str, job_id: str) -> None:
        """After the task stopped: temp files go; a cancelling job is canceled, a processing one queued again."""
        try:
            transfer.remove_leftovers(self.files, self.root, job_id)
            removed = True
        except OSError:
            log.exception("%s job %s: its temp files could not be removed", kind, job_id)
            removed = False
        now = self.clock()

        def settle(job: Job) -> Job:
            if job.status == jobs.CANCELLING:
                return jobs.finish_cancel(job, now) if removed else jobs.cancel_failed(job, now)
            return jobs.requeue(job, now) if job.status == jobs.PROCESSING else job

        try:
            await self.store.update(kind, job_id, settle)
        except JobNotFound:
            pass

    async def _fail(self, kind: str, job_id: str, message: str) -> None:
        await self.store.update(kind, job_id, lambda j: jobs.fail(j, message, self.clock()))

    def _progress(self, job: Job) -> Callable[[float], Awaitable[None]]:
        shown = [job.progress]

        async def report(percent: float) -> None:
            if int(percent) > shown[0]:
                shown[0] = int(percent)
                await self.store.update(job.kind, job.id, lambda j: jobs.set_progress(j, percent, self.clock()))

        return report

    async def _import(self, job: ImportJob) -> None:
        request = job.request
        if self._imported_before(job):
            await self.store.update(IMPORT, job.id, lambda j: jobs.complete(j, self.clock()))
            return
        try:
            with self.root.opened_object(parse_object_path(request.location, job.project_id)) as source:
                stored = await transfer.import_vmdk(
                    source, self.files, job_id=job.id, checksum=request.checksum, progress=self._progress(job),
                    throttle=self.throttle, max_virtual_size=self.settings.max_virtual_size)
        except InvalidImage as exc:
            return await self._fail(IMPORT, job.id, str(exc))
        except StorageError as exc:
            log.warning("import job %s: %s", job.id, exc)
            unavailable = not isinstance(exc, DiskError)
            return await self._fail(IMPORT, job.id,
                                    ImportFailure.NOT_AVAILABLE if unavailable else ImportFailure.CONVERSION)
        await _run_to_end(self._register(job, stored))

    def _imported_before(self, job: ImportJob) -> bool:
        """A resumed import whose image exists already, made by this job before the daemon died under it."""
        if not job.resumes or not self.catalog.image_exists(job.request.image_id):
            return False
        image = self.catalog.find(job.project_id, job.request.image_id)
        return (image is not None and image.owner == job.project_id and image.status == ACTIVE
                and image.created_at >= job.created_at)

    async def _register(self, job: ImportJob, stored: StoredImage) -> None:
        r = job.request
        fields = {"id": r.image_id, "name": r.name, "disk_format": "raw", "container_format": "bare",
                  "min_disk": r.min_disk, "min_ram": r.min_ram, "visibility": "private"}
        try:
            await self.catalog.create_with_content(new_image(job.project_id, fields, r.properties, [], self.clock()),
                                                   stored)
        except errors.Conflict:
            return await self._fail(IMPORT, job.id, ImportFailure.ID_IN_USE.format(image_id=r.image_id))
        await self.store.update(IMPORT, job.id, lambda j: jobs.complete(j, self.clock()))

    async def _export(self, job: ExportJob) -> None:
        image = self.catalog.find(job.project_id, job.image_id)
        if image is None:
            return await self._fail(EXPORT, job.id, ExportFailure.NOT_FOUND)
        source = self.catalog.content_path(image) if image.owner == job.project_id else None
        if source is None or image.disk_format is None:
            return await self._fail(EXPORT, job.id, ExportFailure.NOT_VALID)
        try:
            async with asyncio.timeout(self.settings.export_timeout_s):
                temp = await transfer.convert_for_export(
                    source, image.disk_format, self.root, job_id=job.id, fmt=job.format,
                    progress=self._progress(job), throttle=self.throttle)
        except TimeoutError:
            return await self._fail(EXPORT, job.id, ExportFailure.TOO_LONG)
        except (StorageError, OSError) as exc:
            log.warning("export job %s: %s", job.id, exc)
            failure = ExportFailure.UPLOAD if source.exists() else ExportFailure.DOWNLOAD
            return await self._fail(EXPORT, job.id, failure)
        await _run_to_end(self._publish(job, temp))

    async def _publish(self, job: ExportJob, temp: Path) -> None:
        container = parse_container_path(job.storage_container, job.project_id)
        name = transfer.export_name(job.image_id, job.format)
        try:
            transfer.publish_export(self.root, container, name, temp)
        except (StorageError, OSError) as exc:
            log.warning("export job %s: %s", job.id, exc)
            return await self._fail(EXPORT, job.id, ExportFailure.UPLOAD)
        done = await self.store.update(EXPORT, job.id, lambda j: jobs.complete(j, self.clock()))
        if done.status == jobs.CANCELED:
            transfer.withdraw_export(self.root, container, name)
