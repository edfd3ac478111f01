"""K5 image import and export with real qemu-img, a real image service (SQLite) and the in-memory job store:
the test guest as a vmdk imported and exported, a wrong checksum, a hostile vmdk, a foreign project, a cancelled
export held half-way by the test-only throttle, and restarts that resume or fail a job left `processing`."""
from __future__ import annotations

import asyncio
import copy
import dataclasses
import hashlib
import os
import subprocess
from pathlib import Path

import pytest

from nodecompute.compute.image_job_errors import K5JobError
from nodecompute.compute.image_job_runner import ImageJobs, JobSettings, ServiceCatalog
from nodecompute.compute.image_job_store import InMemoryJobStore
from nodecompute.compute.image_jobs import IMPORT, ExportJob
from nodecompute.compute.images import ImageService
from nodecompute.domain.models import AuthContext, utcnow
from nodecompute.db import images as images_db
from nodecompute.db.store import Store
from nodecompute.storage.image_files import ImageFiles
from nodecompute.storage.image_import import import_temp
from nodecompute.storage.object_paths import ObjectRoot
from tests.integration.cloud import GUEST_IMAGE

pytestmark = pytest.mark.integration

P = "790f1c092038413a8dd6771a033b17f5"
OTHER = "100f1c092038413a8dd6771a455b17f5"
IMAGE_ID = "14294f46-d9fe-45bb-ba5f-0b93a69c4416"
LOCATION = f"/v1/AUTH_{P}/test_container/guest.vmdk"
CONTAINER = f"/v1/AUTH_{P}/exports"


def run(*argv: str) -> str:
    return subprocess.run(argv, check=True, capture_output=True, text=True).stdout


def identical(a: Path, a_format: str, b: Path, b_format: str) -> bool:
    done = subprocess.run(["qemu-img", "compare", "-f", a_format, "-F", b_format, str(a), str(b)],
                          capture_output=True, text=True)
    return done.returncode == 0


@pytest.fixture(scope="module")
def guest_vmdk(tmp_path_factory) -> tuple[Path, str]:
    assert GUEST_IMAGE.exists(), "images/build.sh builds the test guest"
    vmdk = tmp_path_factory.mktemp("vmdk") / "guest.vmdk"
    run("qemu-img", "convert", "-f", "qcow2", "-O", "vmdk", str(GUEST_IMAGE), str(vmdk))
    return vmdk, hashlib.sha1(vmdk.read_bytes()).hexdigest()


class HoldAt:
    """The test-only throttle: holds the conversion (qemu-img stopped) once it reports `percent`."""

    def __init__(self, percent: float) -> None:
        self.percent = percent
        self.reached = asyncio.Event()
        self.released = asyncio.Event()

    def hold(self, percent: float):
        if percent >= self.percent and not self.released.is_set():
            self.reached.set()
            return self.released.wait()
        return None


@dataclasses.dataclass
class World:
    root: ObjectRoot
    files: ImageFiles
    service: ImageService
    catalog: ServiceCatalog

    def jobs(self, store=None, throttle=None, **settings) -> ImageJobs:
        return ImageJobs(InMemoryJobStore() if store is None else store, self.catalog, self.files, self.root,
                         JobSettings(**settings), throttle=throttle)

    def leftovers(self) -> list[str]:
        """Temp files in the image store's directory and the root's staging directory."""
        store = [n for n in os.listdir(self.files.images_dir) if n.startswith(".")] \
            if self.files.images_dir.exists() else []
        staging = os.listdir(self.root.staging_dir) if self.root.staging_dir.exists() else []
        return store + staging

    def stored_image(self, image_id: str):
        return self.service.store.read(images_db.get_image, image_id)


@pytest.fixture
async def world(cfg, tmp_path, guest_vmdk):
    root = ObjectRoot(tmp_path / "import-root")
    for directory in (root.root / P / "test_container", root.root / P / "exports",
                      root.root / OTHER / "test_container"):
        directory.mkdir(parents=True)
    os.link(guest_vmdk[0], root.root / P / "test_container" / "guest.vmdk")
    os.link(guest_vmdk[0], root.root / OTHER / "test_container" / "guest.vmdk")
    store = Store(cfg.db_path)
    await store.open()
    files = ImageFiles(cfg.data_dir)
    service = ImageService(store, files, cfg, clock=utcnow)
    yield World(root, files, service, ServiceCatalog(service))
    await store.close()


def import_body(sha1: str | None, **changes: object) -> dict:
    body = {"name": "guest", "location": LOCATION, "id": IMAGE_ID, "conversion": True, "os_type": "ubuntu",
            "user_name": "testuser", "password": "cGFzc3dvcmQ=", "domain_name": "testdomain", "checksum": sha1,
            "min_disk": 1, "property-os_distro": "debian"}
    body.update(changes)
    return body


async def test_import_makes_a_raw_image_equal_to_the_source(world, guest_vmdk):
    jobs = world.jobs()
    job = await jobs.submit_import(P, import_body(guest_vmdk[1]))
    assert (await jobs.import_status(P, job.id))["import_status"] in ("queued", "processing")
    await jobs.wait_idle()
    status = await jobs.import_status(P, job.id)
    assert (status["import_status"], status["progress"], status["id"]) == ("succeeded", 100, IMAGE_ID)
    image = world.stored_image(IMAGE_ID)
    assert (image.status, image.disk_format, image.container_format, image.owner) == ("active", "raw", "bare", P)
    assert (image.name, image.min_disk, image.properties, image.visibility) == ("guest", 1, {"os_distro": "debian"},
                                                                               "private")
    stored = world.files.path_for(image.content_sha256)
    assert image.virtual_size == image.size == stored.stat().st_size == 32 << 20
    assert identical(stored, "raw", GUEST_IMAGE, "qcow2")
    assert world.leftovers() == []
    assert (await jobs.list_imports(P))["imports"] == [
        {"import_id": job.id, "import_status": "succeeded", "status": f"/v1/imageimport/{job.id}/status"}]


async def test_a_wrong_checksum_fails_and_leaves_no_image(world):
    jobs = world.jobs()
    job = await jobs.submit_import(P, import_body("0" * 40))
    await jobs.wait_idle()
    status = await jobs.import_status(P, job.id)
    assert (status["import_status"], status["message"]) == (
        "failed", "The SHA1 checksum of the VM image file does not match 'checksum'.")
    assert world.stored_image(IMAGE_ID) is None
    assert not world.files.images_dir.exists() or os.listdir(world.files.images_dir) == []


async def test_a_vmdk_naming_another_file_fails_and_reads_nothing(world):
    descriptor = (b'# Disk DescriptorFile\nversion=1\nCID=fffffffe\nparentCID=ffffffff\n'
                  b'createType="monolithicFlat"\nRW 8 FLAT "/etc/passwd" 0\n')
    (world.root.root / P / "test_container" / "evil.vmdk").write_bytes(descriptor)
    jobs = world.jobs()
    job = await jobs.submit_import(P, import_body(None, location=LOCATION.replace("guest", "evil")))
    await jobs.wait_idle()
    status = await jobs.import_status(P, job.id)
    assert status["import_status"] == "failed"
    assert "monolithicFlat" in status["message"]
    assert world.stored_image(IMAGE_ID) is None and world.leftovers() == []


async def test_a_location_under_another_projects_account_is_refused(world):
    jobs = world.jobs()
    with pytest.raises(K5JobError) as raised:
        await jobs.submit_import(P, import_body(None, location=LOCATION.replace(P, OTHER)))
    assert (raised.value.status, raised.value.body()) == (
        403, {"error_code": "40301", "message": "You cannot execute this API."})
    assert (await jobs.list_imports(P))["imports"] == []


async def test_an_import_over_an_existing_id_fails_and_keeps_the_existing_image(world, guest_vmdk):
    jobs = world.jobs(max_running=1)
    first = await jobs.submit_import(P, import_body(guest_vmdk[1]))
    await jobs.wait_idle()
    with pytest.raises(K5JobError) as raised:  # refused up front once the image exists
        await jobs.submit_import(P, import_body(guest_vmdk[1]))
    assert raised.value.body() == {"error_code": "40003", "message": "Parameter 'id' has invalid value."}
    assert (await jobs.import_status(P, first.id))["import_status"] == "succeeded"
    assert world.stored_image(IMAGE_ID).status == "active"


async def test_export_writes_a_vmdk_and_a_second_one_is_refused(world, guest_vmdk):
    jobs = world.jobs()
    await jobs.submit_import(P, import_body(guest_vmdk[1]))
    await jobs.wait_idle()
    export = await jobs.submit_export(P, {"image_id": IMAGE_ID, "storage_container": CONTAINER})
    await jobs.wait_idle()
    status = await jobs.export_status(P, export.id)
    assert (status["export_status"], status["progress"], status["image_name"]) == ("succeeded", 100, "guest")
    written = world.root.root / P / "exports" / f"{IMAGE_ID}.vmdk"
    assert run("qemu-img", "info", "--output=json", str(written)).count('"format": "vmdk"') == 1
    assert identical(written, "vmdk", GUEST_IMAGE, "qcow2")
    assert world.leftovers() == []
    with pytest.raises(K5JobError) as raised:
        await jobs.submit_export(P, {"image_id": IMAGE_ID, "storage_container": CONTAINER})
    assert raised.value.body() == {"error_code": "40016", "error_message": "The exported file already exists."}
    with pytest.raises(K5JobError) as raised:
        await jobs.cancel_export(P, export.id)
    assert (raised.value.status, raised.value.code.code) == (404, "40402")


async def test_cancelling_an_export_while_processing_leaves_no_file(world, guest_vmdk):
    hold = HoldAt(20)
    jobs = world.jobs(throttle=hold)
    await jobs.submit_import(P, import_body(guest_vmdk[1]))
    await asyncio.wait_for(hold.reached.wait(), 30)
    hold.released.set()  # let the import through; hold the export
    await jobs.wait_idle()
    jobs.throttle = hold = HoldAt(20)
    export = await jobs.submit_export(P, {"image_id": IMAGE_ID, "storage_container": CONTAINER})
    await asyncio.wait_for(hold.reached.wait(), 30)
    status = await jobs.export_status(P, export.id)
    assert (status["export_status"], status["progress"] >= 20) == ("processing", True)
    assert world.leftovers() == [f"{export.id}.part"]  # half-written, qemu-img stopped
    cancelled = await jobs.cancel_export(P, export.id)
    assert cancelled.status == "cancelling"
    assert (await jobs.export_status(P, export.id))["export_status"] == "cancelling"
    with pytest.raises(K5JobError) as raised:
        await jobs.cancel_export(P, export.id)
    assert raised.value.body() == {"error_code": "40010", "error_message": "Export_id is already accepted cancelling."}
    await asyncio.wait_for(jobs.wait_idle(), 30)
    assert (await jobs.export_status(P, export.id))["export_status"] == "canceled"
    assert os.listdir(world.root.root / P / "exports") == []
    assert world.leftovers() == []
    with pytest.raises(K5JobError) as raised:
        await jobs.cancel_export(P, export.id)
    assert raised.value.code.code == "40402"


async def test_exports_wait_queued_behind_a_running_job_and_fail_when_their_image_went(world, guest_vmdk):
    for name in ("exports2", "exports3"):
        (world.root.root / P / name).mkdir()
    jobs = world.jobs(max_running=1)
    await jobs.submit_import(P, import_body(guest_vmdk[1]))
    await jobs.wait_idle()
    jobs.throttle = hold = HoldAt(20)
    second = await jobs.submit_import(P, import_body(guest_vmdk[1], id="aaaaaaaa" + IMAGE_ID[8:]))
    await asyncio.wait_for(hold.reached.wait(), 30)
    waiting = await jobs.submit_export(P, {"image_id": IMAGE_ID, "storage_container": CONTAINER})
    unstarted = await jobs.submit_export(P, {"image_id": IMAGE_ID, "storage_container": CONTAINER + "2"})
    assert (await jobs.cancel_export(P, unstarted.id)).status == "cancelling"  # before its task ever ran
    blocked = await jobs.submit_export(P, {"image_id": IMAGE_ID, "storage_container": CONTAINER + "3"})
    with pytest.raises(K5JobError) as raised:
        await jobs.submit_export(P, {"image_id": IMAGE_ID, "storage_container": CONTAINER})
    assert raised.value.code.code == "40015"
    for _ in range(3):
        await asyncio.sleep(0)  # the tasks start and wait for the one slot, which the held import has
    assert (await jobs.export_status(P, blocked.id))["export_status"] == "queued"
    assert (await jobs.cancel_export(P, blocked.id)).status == "cancelling"
    now = utcnow()
    owner = AuthContext(user_id="u", user_name="u", project_id=P, project_name="p", roles=("member",),
                        expires_at=now, issued_at=now, audit_id="a")
    await world.service.delete(owner, IMAGE_ID)
    hold.released.set()
    await asyncio.wait_for(jobs.wait_idle(), 30)
    assert (await jobs.import_status(P, second.id))["import_status"] == "succeeded"
    statuses = {e["export_id"]: e["export_status"] for e in (await jobs.list_exports(P))["exports"]}
    assert statuses == {waiting.id: "failed", unstarted.id: "canceled", blocked.id: "canceled"}
    assert (await jobs.export_status(P, waiting.id))["error_message"] == "Specified id is not found."
    for name in ("exports", "exports2", "exports3"):
        assert os.listdir(world.root.root / P / name) == []
    assert world.leftovers() == []


async def crashed_while_processing(world: World, body: dict) -> tuple[InMemoryJobStore, str]:
    """A job store as a daemon killed mid-import leaves it (job `processing`), and the partial temp file."""
    hold = HoldAt(30)
    store = InMemoryJobStore()
    jobs = world.jobs(store=store, throttle=hold)
    job = await jobs.submit_import(P, body)
    await asyncio.wait_for(hold.reached.wait(), 30)
    assert (await store.get(IMPORT, job.id)).status == "processing"
    persisted = copy.deepcopy(store)  # what a persistent store held when the daemon died
    partial = import_temp(world.files, job.id)
    left = partial.read_bytes()
    await jobs.close()  # this process's own cleanup; the dead daemon's leftovers are put back below
    partial.write_bytes(left)
    return persisted, job.id


async def test_a_restart_resumes_an_interrupted_import_from_scratch(world, guest_vmdk):
    store, job_id = await crashed_while_processing(world, import_body(guest_vmdk[1]))
    assert world.leftovers() == [import_temp(world.files, job_id).name]
    jobs = world.jobs(store=store)
    resumed = await jobs.resume()
    assert [job.id for job in resumed] == [job_id]
    assert world.leftovers() == []  # the dead run's partial file went before the new run started
    await jobs.wait_idle()
    job = await store.get(IMPORT, job_id)
    assert (job.status, job.resumes, job.progress) == ("succeeded", 1, 100)
    image = world.stored_image(IMAGE_ID)
    assert identical(world.files.path_for(image.content_sha256), "raw", GUEST_IMAGE, "qcow2")
    assert world.leftovers() == []


async def test_a_job_interrupted_twice_fails_with_a_reason(world, guest_vmdk):
    store, job_id = await crashed_while_processing(world, import_body(guest_vmdk[1]))
    await store.update(IMPORT, job_id, lambda job: dataclasses.replace(job, resumes=1))  # resumed once already
    jobs = world.jobs(store=store)
    assert await jobs.resume() == []
    status = await jobs.import_status(P, job_id)
    assert (status["import_status"], status["message"]) == ("failed", "Import process has stopped unexpectedly.")
    assert world.stored_image(IMAGE_ID) is None and world.leftovers() == []


async def test_a_clean_stop_puts_the_job_back_and_the_next_start_finishes_it(world, guest_vmdk):
    hold = HoldAt(20)
    store = InMemoryJobStore()
    jobs = world.jobs(store=store, throttle=hold)
    job = await jobs.submit_import(P, import_body(guest_vmdk[1]))
    await asyncio.wait_for(hold.reached.wait(), 30)
    await jobs.close()
    stopped = await store.get(IMPORT, job.id)
    assert (stopped.status, stopped.resumes, stopped.progress, world.leftovers()) == ("queued", 0, 0, [])
    restarted = world.jobs(store=store)
    assert [j.id for j in await restarted.resume()] == [job.id]
    await restarted.wait_idle()
    assert (await store.get(IMPORT, job.id)).status == "succeeded"


async def test_a_restart_ends_a_cancelling_export_as_canceled_and_removes_its_temp(world):
    store = InMemoryJobStore()
    now = utcnow()
    job = ExportJob(id="e-restart", project_id=P, status="cancelling", created_at=now, updated_at=now,
                    image_id=IMAGE_ID, storage_container=CONTAINER)
    await store.admit(job, lambda active: None)
    world.root.ensure_staging_dir()
    (world.root.staging_dir / "e-restart.part").write_bytes(b"half an export")
    jobs = world.jobs(store=store)
    assert await jobs.resume() == []
    assert (await jobs.export_status(P, job.id))["export_status"] == "canceled"
    assert world.leftovers() == [] and os.listdir(world.root.root / P / "exports") == []
