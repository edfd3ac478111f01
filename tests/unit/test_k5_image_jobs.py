"""K5 import/export jobs: codes and messages, the state machine, restart rule, paging, documents, request checks,
and the service's admission, retention and lists on an in-memory store with a fake clock (no conversion runs)."""
from __future__ import annotations

import base64
import dataclasses
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from nodecompute.compute import image_jobs as jobs
from nodecompute.compute.image_job_errors import ExportCode, ExportFailure, ImportCode, ImportFailure, K5JobError
from nodecompute.compute.image_job_requests import parse_export_request, parse_import_request
from nodecompute.compute.image_job_runner import ImageJobs, JobSettings
from nodecompute.compute.image_job_store import InMemoryJobStore, JobNotFound
from nodecompute.compute.image_jobs import (CANCELED, CANCELLING, EXPORT, FAILED, IMPORT, PROCESSING, QUEUED,
                                            SUCCEEDED, ExportJob, ImportJob, ImportRequest, TransitionError)
from nodecompute.domain.image_models import ACTIVE, Image
from nodecompute.storage.image_files import ImageFiles
from nodecompute.storage.object_paths import ObjectRoot

P = "790f1c092038413a8dd6771a033b17f5"
OTHER = "100f1c092038413a8dd6771a455b17f5"
IMAGE_ID = "14294f46-d9fe-45bb-ba5f-0b93a69c4416"
T0 = datetime(2016, 4, 22, 0, 10, 24)
LOCATION = f"/v1/AUTH_{P}/test_container/test_image.vmdk"


class FakeClock:
    def __init__(self, now: datetime = T0) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


def import_body(**changes: object) -> dict:
    body = {"name": "sample_image", "location": LOCATION, "id": IMAGE_ID, "conversion": True, "os_type": "RHEL",
            "user_name": "testuser", "password": "cGFzc3dvcmQ=", "domain_name": "testdomain"}
    body.update(changes)
    return {k: v for k, v in body.items() if v is not ...}


def an_import(status: str = QUEUED, job_id: str = "i1", **changes: object) -> ImportJob:
    job = ImportJob(id=job_id, project_id=P, status=status, created_at=T0, updated_at=T0,
                    request=parse_import_request(import_body(), P))
    return dataclasses.replace(job, **changes)


def an_export(status: str = QUEUED, job_id: str = "e1", **changes: object) -> ExportJob:
    job = ExportJob(id=job_id, project_id=P, status=status, created_at=T0, updated_at=T0, image_id=IMAGE_ID,
                    image_name="CentOS", storage_container=f"/v1/AUTH_{P}/test_container")
    return dataclasses.replace(job, **changes)


def code_of(call, *args, **kwargs) -> tuple[int, str, str]:
    with pytest.raises(K5JobError) as raised:
        call(*args, **kwargs)
    return raised.value.status, raised.value.code.code, raised.value.message


# Codes and messages, word for word from the document's tables (doc 1.6.3.1-7).

SEED_IMPORT = {
    "40001": "Required parameter 'name' is not specified.", "40002": "Required parameter 'location' is not specified.",
    "40003": "Required parameter 'id' is not specified.", "40004": "Required parameter 'conversion' is not specified.",
    "40005": "Required parameter 'os_type' is not specified.", "40006": "Parameter 'os_type' has invalid value.",
    "40007": "Required parameter 'user_name' is not specified.",
    "40008": "Required parameter 'password' is not specified.",
    "40009": "Required parameter 'domain_name' is not specified.",
    "40010": "Parameter 'user_name' or 'password' or 'domain_name' has invalid value.",
    "40301": "You cannot execute this API.", "40401": "Invalid import_id.", "50001": "Internal server error.",
    "50002": "Internal server error.", "50003": "Internal server error.", "50301": "Too many requests.",
}
SEED_EXPORT = {
    "40001": "Required parameter 'image_id' is not specified.", "40002": "Parameter 'image_id' has invalid value.",
    "40003": "Required parameter 'storage_container' is not specified.",
    "40004": "Parameter 'storage_container' has invalid value.", "40005": "Project id does not exist.",
    "40007": "Request body does not exist.", "40008": "Request body is not a json format.",
    "40010": "Export_id is already accepted cancelling.", "40011": "The size of the export image is too large.",
    "40012": "Glance access error. Parameter has invalid value.",
    "40013": "Query parameter 'start' has invalid value.", "40014": "Query parameter 'limit' has invalid value.",
    "40015": "The same request already exists.", "40016": "The exported file already exists.",
    "40017": "The uploaded file by image id does not exist in the object storage.",
    "40301": "You cannot execute this API.", "40401": "Invalid export_id.", "40402": "Export_id was already finished.",
    "50001": "Internal server error.", "50002": "Internal server error.", "50003": "Internal server error.",
    "50301": "Too many requests.",
}


@pytest.mark.parametrize("enum, seed", [(ImportCode, SEED_IMPORT), (ExportCode, SEED_EXPORT)])
def test_every_documented_code_is_there_with_its_message_and_status(enum, seed):
    for code, message in seed.items():
        assert (code, message) in {(m.code, m.message) for m in enum}, code
    for member in enum:
        assert member.status == int(member.code[:3])  # "the HTTP status followed by a two-digit number"


def test_error_bodies_use_each_apis_own_key():
    assert K5JobError(ImportCode.NAME_MISSING).body() == {
        "error_code": "40001", "message": "Required parameter 'name' is not specified."}
    assert K5JobError(ExportCode.FINISHED).body() == {
        "error_code": "40402", "error_message": "Export_id was already finished."}
    assert K5JobError(ImportCode.PARAMETER_INVALID, name="min_ram").body() == {
        "error_code": "40011", "message": "Parameter 'min_ram' has invalid value."}
    assert K5JobError(ExportCode.TOO_MANY).status == 503


def test_export_failure_messages_are_the_documented_list():
    assert {ExportFailure.NOT_FOUND, ExportFailure.NOT_VALID, ExportFailure.STOPPED, ExportFailure.CANCEL_STOPPED,
            ExportFailure.TOO_LONG, ExportFailure.DOWNLOAD, ExportFailure.UPLOAD} == {
        "Specified id is not found.", "Specified id is not valid image.", "Export process has stopped unexpectedly.",
        "Cancel process has stopped unexpectedly.", "Export process takes too long time.",
        "VMexport process is failed (fail to download image)", "VMexport process is failed (fail to upload image)"}


# The state machine.

NOW = T0 + timedelta(minutes=5)


@pytest.mark.parametrize("make, before, move, after", [
    (an_import, QUEUED, jobs.start, PROCESSING),
    (an_import, PROCESSING, jobs.complete, SUCCEEDED),
    (an_import, PROCESSING, jobs.requeue, QUEUED),
    (an_export, QUEUED, jobs.start, PROCESSING),
    (an_export, PROCESSING, jobs.complete, SUCCEEDED),
    (an_export, PROCESSING, jobs.requeue, QUEUED),
    (an_export, QUEUED, jobs.request_cancel, CANCELLING),
    (an_export, PROCESSING, jobs.request_cancel, CANCELLING),
    (an_export, CANCELLING, jobs.finish_cancel, CANCELED),
    (an_export, CANCELLING, jobs.complete, CANCELED),  # the cancel wins over a conversion that just finished
])
def test_allowed_moves(make, before, move, after):
    moved = move(make(before), NOW)
    assert (moved.status, moved.updated_at) == (after, NOW)
    assert moved.finished_at == (NOW if after in (SUCCEEDED, CANCELED) else None)
    assert moved.progress == (100 if after == SUCCEEDED else moved.progress)


@pytest.mark.parametrize("make, before, move", [
    (an_import, SUCCEEDED, jobs.start), (an_import, FAILED, jobs.start), (an_import, QUEUED, jobs.complete),
    (an_import, QUEUED, jobs.requeue), (an_import, SUCCEEDED, jobs.requeue), (an_import, PROCESSING, jobs.start),
    (an_export, SUCCEEDED, jobs.complete), (an_export, CANCELED, jobs.start), (an_export, CANCELLING, jobs.start),
    (an_export, QUEUED, jobs.finish_cancel), (an_export, CANCELED, jobs.finish_cancel),
])
def test_forbidden_moves(make, before, move):
    with pytest.raises(TransitionError):
        move(make(before), NOW)


def test_failing_records_the_message_and_the_time():
    failed = jobs.fail(an_import(PROCESSING), ImportFailure.STOPPED, NOW)
    assert (failed.status, failed.error, failed.finished_at) == (FAILED, ImportFailure.STOPPED, NOW)
    assert jobs.fail(an_export(QUEUED), ExportFailure.NOT_FOUND, NOW).status == FAILED
    assert jobs.fail(an_export(CANCELLING), ExportFailure.UPLOAD, NOW).status == CANCELED
    assert jobs.cancel_failed(an_export(CANCELLING), NOW).error == ExportFailure.CANCEL_STOPPED
    with pytest.raises(TransitionError):
        jobs.fail(an_import(SUCCEEDED), "late", NOW)


def test_only_an_unfinished_export_can_be_cancelled():
    assert code_of(jobs.request_cancel, an_export(CANCELLING), NOW) == (
        400, "40010", "Export_id is already accepted cancelling.")
    for status in (SUCCEEDED, FAILED, CANCELED):
        assert code_of(jobs.request_cancel, an_export(status), NOW) == (404, "40402", "Export_id was already finished.")
    with pytest.raises(TransitionError):
        jobs.request_cancel(an_import(PROCESSING), NOW)


def test_progress_stays_within_0_to_99_until_success_and_only_while_processing():
    job = jobs.start(an_export(), NOW)
    assert job.progress == 0
    assert jobs.set_progress(job, 42.7, NOW).progress == 42
    assert jobs.set_progress(job, 100.0, NOW).progress == 99
    assert jobs.set_progress(job, -3, NOW).progress == 0
    assert jobs.set_progress(an_export(CANCELLING, progress=30), 80, NOW).progress == 30
    assert jobs.complete(jobs.set_progress(job, 100, NOW), NOW).progress == 100


def test_restart_resumes_an_interrupted_job_once_then_fails_it():
    resumed = jobs.recover(an_import(PROCESSING, progress=40), NOW)
    assert (resumed.status, resumed.resumes, resumed.progress, resumed.finished_at) == (QUEUED, 1, 0, None)
    again = jobs.recover(jobs.start(resumed, NOW), NOW)
    assert (again.status, again.error) == (FAILED, "Import process has stopped unexpectedly.")
    failed_export = jobs.recover(an_export(PROCESSING, resumes=1), NOW)
    assert (failed_export.status, failed_export.error) == (FAILED, "Export process has stopped unexpectedly.")
    assert jobs.recover(an_export(PROCESSING), NOW, max_resumes=0).status == FAILED


def test_restart_settles_cancels_keeps_queued_and_times_out_old_exports():
    assert jobs.recover(an_export(CANCELLING), NOW).status == CANCELED
    assert jobs.recover(an_import(QUEUED), NOW) == an_import(QUEUED)
    assert jobs.recover(an_import(SUCCEEDED), NOW) == an_import(SUCCEEDED)
    late = T0 + timedelta(days=7)
    overdue = jobs.recover(an_export(QUEUED), late)
    assert (overdue.status, overdue.error) == (FAILED, "Export process takes too long time.")
    assert jobs.recover(an_export(PROCESSING), late - timedelta(seconds=1)).status == QUEUED
    assert jobs.recover(an_import(QUEUED, created_at=T0 - timedelta(days=30)), late).status == QUEUED


def test_retention_is_seven_days_after_completion():
    done = jobs.complete(jobs.start(an_import(), T0), T0)
    assert not done.expired(T0 + timedelta(days=7) - timedelta(seconds=1))
    assert done.expired(T0 + timedelta(days=7))
    assert not an_import(PROCESSING).expired(T0 + timedelta(days=300))


# Admission.

def test_capacity_counts_imports_and_exports_together():
    active = [an_import(PROCESSING, "a"), an_export(QUEUED, "b"), an_export(CANCELLING, "c")]
    jobs.check_capacity(IMPORT, active, 4)
    assert code_of(jobs.check_capacity, IMPORT, active, 3) == (503, "50301", "Too many requests.")
    assert K5JobError(ExportCode.TOO_MANY).body() == {"error_code": "50301", "error_message": "Too many requests."}
    with pytest.raises(K5JobError) as raised:
        jobs.check_capacity(EXPORT, active, 3)
    assert raised.value.code is ExportCode.TOO_MANY


def test_clashes_with_unfinished_jobs():
    request = parse_import_request(import_body(), P)
    assert code_of(jobs.check_import_clash, request, [an_import(QUEUED, "x")])[1] == "40003"
    jobs.check_import_clash(parse_import_request(import_body(id=IMAGE_ID[:-1] + "7"), P), [an_import(QUEUED)])
    assert code_of(jobs.check_export_clash, an_export(job_id="new"), [an_export(PROCESSING)])[1] == "40015"
    other_container = an_export(job_id="new", storage_container=f"/v1/AUTH_{P}/elsewhere")
    jobs.check_export_clash(other_container, [an_export(PROCESSING)])


# Lists.

@pytest.mark.parametrize("kind, start, limit, expected", [
    (IMPORT, None, None, (0, 100)), (EXPORT, None, None, (0, 200)), (IMPORT, "3", "10", (3, 10)),
    (EXPORT, "0", "0", (0, 0)), (EXPORT, "5", "500", (5, 200)), (IMPORT, "0", "101", (0, 100)),
])
def test_start_and_limit(kind, start, limit, expected):
    assert jobs.parse_page(kind, start, limit) == expected


@pytest.mark.parametrize("start, limit, code", [
    ("-1", None, "40013"), ("x", None, "40013"), ("1.5", None, "40013"), ("", None, "40013"), (" 1", None, "40013"),
    ("\u00b2", None, "40013"), (None, "-5", "40014"), (None, "ten", "40014"), (None, "", "40014"),
    (None, "1e3", "40014"), ("1" * 13, None, "40013"),
])
def test_bad_start_or_limit(start, limit, code):
    for kind in (IMPORT, EXPORT):
        status, found, _ = code_of(jobs.parse_page, kind, start, limit)
        assert (status, found) == (400, code)
    with pytest.raises(K5JobError) as raised:
        jobs.parse_page(IMPORT, start, limit)
    assert set(raised.value.body()) == {"error_code", "message"}


# Documents: the keys of the document's examples, no others.

def test_import_status_document():
    job = an_import(SUCCEEDED, progress=100)
    request = parse_import_request(import_body(ovf_location=LOCATION.replace(".vmdk", ".ovf")), P)
    document = jobs.import_status_view(dataclasses.replace(job, request=request))
    assert document == {
        "import_status": "succeeded", "progress": 100, "name": "sample_image", "disk_format": "raw",
        "container_format": "bare", "is_public": False, "location": LOCATION, "id": IMAGE_ID, "min_ram": 0,
        "min_disk": 0, "properties": {}, "ovf_location": LOCATION.replace(".vmdk", ".ovf"), "conversion": True,
        "os_type": "RHEL", "user_name": "testuser", "password": "cGFzc3dvcmQ=", "domain_name": "testdomain"}
    failed = jobs.import_status_view(an_import(FAILED, error="The SHA1 checksum does not match."))
    assert failed["message"] == "The SHA1 checksum does not match."
    assert jobs.import_list_item(job) == {"import_id": "i1", "import_status": "succeeded",
                                          "status": "/v1/imageimport/i1/status"}


def test_export_status_document():
    assert jobs.export_status_view(an_export(SUCCEEDED, progress=100)) == {
        "export_status": "succeeded", "progress": 100, "image_id": IMAGE_ID, "image_name": "CentOS",
        "storage_container": f"/v1/AUTH_{P}/test_container", "request_time": "2016-04-22T00:10:24Z"}
    assert jobs.export_status_view(an_export(FAILED, error=ExportFailure.NOT_VALID))["error_message"] == (
        "Specified id is not valid image.")
    assert "error_message" not in jobs.export_status_view(an_export(CANCELED))
    assert jobs.export_list_item(an_export()) == {
        "export_id": "e1", "export_status": "queued", "status": "/v1/imageexport/e1/status", "image_id": IMAGE_ID,
        "request_time": "2016-04-22T00:10:24Z"}


def test_the_password_stays_out_of_reprs():
    assert "cGFzc3dvcmQ=" not in repr(an_import())


# Request bodies.

@pytest.mark.parametrize("missing, code", [
    ("name", "40001"), ("location", "40002"), ("id", "40003"), ("conversion", "40004"), ("os_type", "40005"),
    ("user_name", "40007"), ("password", "40008"), ("domain_name", "40009"),
])
def test_each_missing_import_parameter(missing, code):
    for gone in (..., None):
        assert code_of(parse_import_request, import_body(**{missing: gone}), P)[:2] == (400, code)


def test_missing_parameters_are_reported_in_the_tables_order():
    assert code_of(parse_import_request, {}, P)[1] == "40001"
    assert code_of(parse_import_request, "not an object", P)[1] == "40001"
    assert code_of(parse_import_request, import_body(name=..., password=...), P)[1] == "40001"
    assert code_of(parse_import_request, import_body(os_type="bsd", domain_name=...), P)[1] == "40009"


@pytest.mark.parametrize("changes, code, message", [
    ({"name": ""}, "40001", "Parameter 'name' has invalid value."),
    ({"location": "https://example.com/disk.vmdk"}, "40002", "Parameter 'location' has invalid value."),
    ({"location": "http://169.254.169.254/latest"}, "40002", "Parameter 'location' has invalid value."),
    ({"location": f"/v1/AUTH_{P}/c/../../x"}, "40002", "Parameter 'location' has invalid value."),
    ({"location": f"/v1/AUTH_{OTHER}/c/o.vmdk"}, "40301", "You cannot execute this API."),
    ({"ovf_location": f"/v1/AUTH_{OTHER}/c/o.ovf"}, "40301", "You cannot execute this API."),
    ({"ovf_location": "file:///etc/passwd"}, "40002", "Parameter 'ovf_location' has invalid value."),
    ({"id": "not-a-uuid"}, "40003", "Parameter 'id' has invalid value."),
    ({"id": IMAGE_ID + "0"}, "40003", "Parameter 'id' has invalid value."),
    ({"conversion": False}, "40004", "Parameter 'conversion' has invalid value."),
    ({"os_type": "windows95"}, "40006", "Parameter 'os_type' has invalid value."),
    ({"os_type": 7}, "40006", "Parameter 'os_type' has invalid value."),
    ({"password": "not base64!"}, "40010", SEED_IMPORT["40010"]),
    ({"user_name": ""}, "40010", SEED_IMPORT["40010"]),
    ({"domain_name": 5}, "40010", SEED_IMPORT["40010"]),
    ({"disk_format": "vmdk"}, "40011", "Parameter 'disk_format' has invalid value."),
    ({"container_format": "ovf"}, "40011", "Parameter 'container_format' has invalid value."),
    ({"min_ram": -1}, "40011", "Parameter 'min_ram' has invalid value."),
    ({"min_disk": True}, "40011", "Parameter 'min_disk' has invalid value."),
    ({"property-os_distro": 3}, "40011", "Parameter 'property-os_distro' has invalid value."),
    ({"property-": "x"}, "40011", "Parameter 'property-' has invalid value."),
    ({"property-nodecompute:tags": "x"}, "40011", "Parameter 'property-*' has invalid value."),
    ({"checksum": 12}, "40011", "Parameter 'checksum' has invalid value."),
])
def test_bad_import_values(changes, code, message):
    assert code_of(parse_import_request, import_body(**changes), P)[1:] == (code, message)


def test_a_good_import_request():
    body = import_body(os_type="rhel", conversion="true", min_ram="512", min_disk=2, disk_format="raw",
                       container_format="bare", checksum="A" * 40, **{"property-os_distro": "centos"},
                       unknown_key="ignored")
    request = parse_import_request(body, P)
    assert (request.os_type, request.conversion, request.min_ram, request.min_disk) == ("rhel", True, 512, 2)
    assert (request.properties, request.checksum, request.ovf_location) == ({"os_distro": "centos"}, "A" * 40, None)
    assert base64.b64decode(request.password) == b"password"


def test_export_request_bodies():
    container = f"/v1/AUTH_{P}/test_container"
    good = parse_export_request(f'{{"image_id": "{IMAGE_ID}", "storage_container": "{container}"}}'.encode(), P)
    assert (good.image_id, good.storage_container, good.container.container) == (IMAGE_ID, container,
                                                                                  "test_container")
    cases = [(None, "40007"), (b"", "40007"), (b"  ", "40007"), (b"{", "40008"), (b"[]", "40008"),
             (b"\xff", "40008"), ({}, "40001"), ({"image_id": 5}, "40002"), ({"image_id": "x"}, "40002"),
             ({"image_id": IMAGE_ID}, "40003"),
             ({"image_id": IMAGE_ID, "storage_container": "https://example.com/c"}, "40004"),
             ({"image_id": IMAGE_ID, "storage_container": f"{container}/obj"}, "40004"),
             ({"image_id": IMAGE_ID, "storage_container": f"/v1/AUTH_{OTHER}/c"}, "40301")]
    for raw, code in cases:
        assert code_of(parse_export_request, raw, P)[1] == code, raw


# The service on an in-memory store: admission, retention and lists (nothing here reaches a conversion).

class FakeCatalog:
    def __init__(self) -> None:
        self.images: dict[str, Image] = {}

    def add(self, image_id: str, owner: str = P, virtual_size: int = 1 << 30) -> Image:
        image = Image(id=image_id, name="CentOS", owner=owner, visibility="private", status=ACTIVE,
                      created_at=T0, updated_at=T0, disk_format="raw", virtual_size=virtual_size,
                      content_sha256="0" * 64)
        self.images[image_id] = image
        return image

    def image_exists(self, image_id: str) -> bool:
        return image_id in self.images

    def find(self, project_id: str, image_id: str) -> Image | None:
        image = self.images.get(image_id)
        return image if image is not None and image.visible_to(project_id) else None

    def content_path(self, image: Image) -> Path | None:
        return None

    async def create_with_content(self, image, stored):
        raise AssertionError("no conversion runs in these tests")


@pytest.fixture
def clock():
    return FakeClock()


@pytest.fixture
def service(tmp_path, clock):
    root = ObjectRoot(tmp_path / "root")
    (root.root / P / "test_container").mkdir(parents=True)
    (root.root / P / "test_container" / "test_image.vmdk").write_bytes(b"vmdk")
    return ImageJobs(InMemoryJobStore(), FakeCatalog(), ImageFiles(tmp_path / "data"), root,
                     JobSettings(max_active=3), clock=clock)


async def seed(service: ImageJobs, job) -> None:
    await service.store.admit(job, lambda active: None)


async def test_finished_jobs_and_their_credentials_go_seven_days_after_completion(service, clock):
    await seed(service, an_import(SUCCEEDED, "old", progress=100, finished_at=T0))
    await seed(service, an_export(CANCELED, "oldx", finished_at=T0 + timedelta(hours=1)))
    clock.advance(days=7, seconds=-1)
    assert (await service.import_status(P, "old"))["password"] == "cGFzc3dvcmQ="
    clock.advance(seconds=1)
    with pytest.raises(K5JobError) as raised:
        await service.import_status(P, "old")
    assert raised.value.body() == {"error_code": "40401", "message": "Invalid import_id."}
    assert (await service.list_imports(P)) == {"imports": []}
    assert await service.store.get(IMPORT, "old") is None  # purged: the credentials are gone with the record
    assert (await service.export_status(P, "oldx"))["export_status"] == "canceled"
    clock.advance(hours=1)
    assert await service.purge() == 1
    assert len(service.store) == 0


async def test_unfinished_jobs_are_never_purged(service, clock):
    await seed(service, an_import(PROCESSING, "running"))
    clock.advance(days=365)
    assert await service.purge() == 0
    assert (await service.import_status(P, "running"))["import_status"] == "processing"


async def test_status_of_unknown_or_other_projects_jobs_is_40401(service):
    await seed(service, an_export(QUEUED, "theirs", project_id=OTHER))
    for call, job_id in ((service.import_status, "nope"), (service.export_status, "nope"),
                         (service.export_status, "theirs"), (service.cancel_export, "theirs")):
        with pytest.raises(K5JobError) as raised:
            await call(P, job_id)
        assert raised.value.code.code == "40401"
    with pytest.raises(K5JobError) as raised:
        await service.import_status(P, "theirs")  # an export id is no import id
    assert raised.value.code is ImportCode.NOT_FOUND


async def test_lists_are_newest_first_capped_and_scoped(service, clock):
    for n in range(130):
        await seed(service, an_import(SUCCEEDED, f"i{n:03}", finished_at=clock.now))
        await seed(service, an_export(SUCCEEDED, f"e{n:03}", finished_at=clock.now))
        await seed(service, an_export(SUCCEEDED, f"e{n:03}b", finished_at=clock.now))
    await seed(service, an_import(SUCCEEDED, "elsewhere", project_id=OTHER, finished_at=clock.now))
    imports = (await service.list_imports(P))["imports"]
    assert [i["import_id"] for i in imports] == [f"i{n:03}" for n in range(129, 29, -1)]
    exports = (await service.list_exports(P, limit="500"))["exports"]
    assert len(exports) == 200 and exports[0]["export_id"] == "e129b" and exports[1]["export_id"] == "e129"
    page = (await service.list_imports(P, start="2", limit="3"))["imports"]
    assert [i["import_id"] for i in page] == ["i127", "i126", "i125"]
    assert (await service.list_imports(P, start="1000"))["imports"] == []
    with pytest.raises(K5JobError) as raised:
        await service.list_exports(P, start="-1")
    assert raised.value.body() == {"error_code": "40013", "error_message": "Query parameter 'start' has invalid value."}
    with pytest.raises(K5JobError) as raised:
        await service.list_imports(P, limit="x")
    assert raised.value.body() == {"error_code": "40014", "message": "Query parameter 'limit' has invalid value."}


async def test_too_many_unfinished_jobs_gives_503_and_adds_nothing(service):
    for n in range(3):
        await seed(service, an_export(PROCESSING, f"busy{n}", image_id=f"{n}" * 8 + IMAGE_ID[8:]))
    service.catalog.add(IMAGE_ID)
    with pytest.raises(K5JobError) as raised:
        await service.submit_import(P, import_body(id="aaaaaaaa" + IMAGE_ID[8:]))
    assert (raised.value.status, raised.value.body()) == (503, {"error_code": "50301", "message": "Too many requests."})
    with pytest.raises(K5JobError) as raised:
        await service.submit_export(P, {"image_id": IMAGE_ID, "storage_container": f"/v1/AUTH_{P}/test_container"})
    assert raised.value.body() == {"error_code": "50301", "error_message": "Too many requests."}
    assert len(service.store) == 3


async def test_import_requests_are_checked_against_the_files_images_and_credentials(service):
    service.catalog.add(IMAGE_ID)
    assert (await _refusal(service.submit_import(P, import_body())))[1] == "40003"  # the id is taken
    missing = import_body(id="aaaaaaaa" + IMAGE_ID[8:], location=LOCATION.replace("test_image", "nope"))
    assert (await _refusal(service.submit_import(P, missing)))[1] == "40002"
    fresh = import_body(id="aaaaaaaa" + IMAGE_ID[8:])
    assert (await _refusal(service.submit_import(P, fresh, credentials_ok=lambda request: False)))[1] == "40010"

    async def denied(request: ImportRequest) -> bool:
        return request.user_name != "testuser"

    assert (await _refusal(service.submit_import(P, fresh, credentials_ok=denied)))[1] == "40010"
    assert (await _refusal(service.submit_import(OTHER, fresh)))[:2] == (403, "40301")
    assert len(service.store) == 0


async def test_export_requests_are_checked_against_images_and_the_container(service, tmp_path):
    container = f"/v1/AUTH_{P}/test_container"
    assert (await _refusal(service.submit_export(P, {"image_id": IMAGE_ID, "storage_container": container})))[1] == (
        "40002")  # no such image
    service.catalog.add(IMAGE_ID, owner=OTHER)
    assert (await _refusal(service.submit_export(P, {"image_id": IMAGE_ID, "storage_container": container})))[1] == (
        "40002")  # not visible to the caller
    big = "bbbbbbbb" + IMAGE_ID[8:]
    service.catalog.add(big, virtual_size=1 << 41)
    assert (await _refusal(service.submit_export(P, {"image_id": big, "storage_container": container})))[1] == "40011"
    mine = service.catalog.add("cccccccc" + IMAGE_ID[8:])
    nowhere = f"/v1/AUTH_{P}/no_such_container"
    assert (await _refusal(service.submit_export(P, {"image_id": mine.id, "storage_container": nowhere})))[1] == (
        "40004")
    (service.root.root / P / "test_container" / f"{mine.id}.vmdk").write_bytes(b"there")
    assert (await _refusal(service.submit_export(P, {"image_id": mine.id, "storage_container": container})))[1] == (
        "40016")
    await seed(service, an_export(PROCESSING, "same", image_id="dddddddd" + IMAGE_ID[8:]))
    service.catalog.add("dddddddd" + IMAGE_ID[8:])
    same = {"image_id": "dddddddd" + IMAGE_ID[8:], "storage_container": container + "/"}
    assert (await _refusal(service.submit_export(P, same)))[1] == "40015"
    assert len(service.store) == 1


async def test_cancel_of_a_finished_or_cancelling_export(service):
    await seed(service, an_export(SUCCEEDED, "done", finished_at=T0))
    await seed(service, an_export(CANCELLING, "going"))
    assert (await _refusal(service.cancel_export(P, "done"))) == (404, "40402", "Export_id was already finished.")
    assert (await _refusal(service.cancel_export(P, "going")))[:2] == (400, "40010")


async def test_the_in_memory_store_changes_nothing_when_a_change_raises():
    store = InMemoryJobStore()
    await store.admit(an_export(CANCELLING), lambda active: None)
    with pytest.raises(K5JobError):
        await store.update(EXPORT, "e1", lambda job: jobs.request_cancel(job, NOW))
    assert (await store.get(EXPORT, "e1")).updated_at == T0
    with pytest.raises(JobNotFound):
        await store.update(IMPORT, "e1", lambda job: job)
    with pytest.raises(K5JobError):
        await store.admit(an_import(job_id="i9"), lambda active: jobs.check_capacity(IMPORT, active, 1))
    assert await store.get(IMPORT, "i9") is None


async def _refusal(call) -> tuple[int, str, str]:
    with pytest.raises(K5JobError) as raised:
        await call
    return raised.value.status, raised.value.code.code, raised.value.message
