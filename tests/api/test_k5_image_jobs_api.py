"""K5's image import and export through /k5/v1 (#2401-#2407) on the whole app: a vmdk under the object root
imported with its SHA1 becomes an active raw/bare image with the given id (seen at /k5/image), a wrong checksum
ends `failed` with no image, another project's AUTH_ gives 403 40301, credentials not the caller's 400 40010;
the image exported into a container, a cancel after completion 404 40402; bad start/limit 400 40013/40014; K5's
error body, never a Nova fault; an export cancelled while `processing` (held by the [k5] test-only hold), the object root
and job cap from [k5]. (The jobs themselves and restarts: tests/integration/test_k5_image_import.py.)"""
from __future__ import annotations

import asyncio
import base64
import dataclasses
import hashlib
import os
import subprocess
import uuid

from nodecompute.api.k5_image_jobs import image_jobs_key
from nodecompute.api.keys import config_key, identity_key, images_key
from nodecompute.app import create_app, k5_image_jobs, store_key
from nodecompute.config import K5Config
from nodecompute.domain.models import utcnow
from tests.api.helpers import Api, upload_raw_image
from tests.api.k5_examples import assert_like
from tests.api.volume_helpers import make_qcow2

OTHER_PROJECT = "100f1c092038413a8dd6771a455b17f5"
# seed 003's examples (section 1.6.3), checked strictly with tests/api/k5_examples.py
IMPORT_STATUS = {  # L5748
    "import_status": "succeeded", "progress": 100, "name": "sample_image", "disk_format": "raw",
    "container_format": "bare", "is_public": False,
    "location": "/v1/AUTH_790f1c092038413a8dd6771a033b17f5/test_container/test_image.vmdk",
    "id": "14294f46-d9fe-45bb-ba5f-0b93a69c4416", "min_ram": 0, "min_disk": 0, "properties": {},
    "ovf_location": None,  # the example's "/v1/AUTH_.../test_image.ovf": null when the import gave none
    "conversion": True,
    "os_type": "RHEL", "user_name": "testuser", "password": "cGFzc3dvcmQ=", "domain_name": "testdomain"}
EXPORT_STATUS = {  # L6042
    "export_status": "succeeded", "progress": 100, "image_id": "14294f46-d9fe-45bb-ba5f-0b93a69c4416",
    "image_name": "CentOS", "storage_container": "/v1/AUTH_100f1c092038413a8dd6771a455b17f5/test_container",
    "request_time": "2016-04-22T00:10:24Z"}
# a body for each POST route (tests/api/test_tenant_isolation.py sends them; K5's routes are outside SAMPLES)
SAMPLES = {
    ("POST", "/v1/imageimport"): [{"name": "i", "location": "/v1/AUTH_PROJECT/c/o.vmdk", "conversion": True,
                                   "id": "14294f46-d9fe-45bb-ba5f-0b93a69c4416", "os_type": "ubuntu",
                                   "user_name": "u", "password": "cA==", "domain_name": "d"}],
    ("POST", "/v1/imageexport"): [{"image_id": "14294f46-d9fe-45bb-ba5f-0b93a69c4416",
                                   "storage_container": "/v1/AUTH_PROJECT/c"}],
    ("POST", "/v1/imageexport/{job_id}/cancel"): [None],
}


async def test_import_and_export_through_k5(api, admin_token, tmp_path):
    app = api.client.server.app
    project = app[identity_key].validate(admin_token).project_id
    root = app[config_key].data_dir / "objects"
    (root / project / "uploads").mkdir(parents=True)
    (root / project / "exports").mkdir(parents=True)
    vmdk = root / project / "uploads" / "guest.vmdk"
    source = make_qcow2(tmp_path / "guest.qcow2", "8M")
    subprocess.run(["qemu-img", "convert", "-f", "qcow2", "-O", "vmdk", str(source), str(vmdk)], check=True)
    sha1 = hashlib.sha1(vmdk.read_bytes()).hexdigest()
    jobs = app[image_jobs_key]

    async def call(method: str, path: str, status: int, token: str | None = admin_token, **kw) -> dict | None:
        headers = {"X-Auth-Token": token} if token else {}
        resp = await api.client.request(method, f"/k5/v1{path}", headers=headers, **kw)
        assert resp.status == status, (method, path, resp.status, await resp.text())
        return await resp.json() if resp.content_length else None

    def body(**changes) -> dict:
        return {"name": "imported", "location": f"/v1/AUTH_{project}/uploads/guest.vmdk", "id": str(uuid.uuid4()),
                "conversion": True, "os_type": "ubuntu", "user_name": "admin",
                "password": base64.b64encode(b"admin-secret").decode(), "domain_name": "Default",
                "checksum": sha1, **changes}

    good = body()
    made = await call("POST", "/imageimport", 201, json=good)
    assert_like(made, {"import_id": "6bf65660-70ee-4a75-b61a-36ac040c289c"})  # L5653
    await jobs.wait_idle()
    status = await call("GET", f"/imageimport/{made['import_id']}/status", 200)
    assert_like(status, IMPORT_STATUS)
    assert (status["import_status"], status["id"], status["progress"]) == ("succeeded", good["id"], 100)
    image = await (await api.client.get(f"/k5/image/v2/images/{good['id']}",
                                        headers={"X-Auth-Token": admin_token})).json()
    assert (image["status"], image["disk_format"], image["container_format"]) == ("active", "raw", "bare")

    wrong = body(checksum="0" * 40)
    failed = await call("POST", "/imageimport", 201, json=wrong)
    await jobs.wait_idle()
    assert (await call("GET", f"/imageimport/{failed['import_id']}/status", 200))["import_status"] == "failed"
    resp = await api.client.get(f"/k5/image/v2/images/{wrong['id']}", headers={"X-Auth-Token": admin_token})
    assert resp.status == 404

    elsewhere = await call("POST", "/imageimport", 403,
                           json=body(location=f"/v1/AUTH_{OTHER_PROJECT}/uploads/guest.vmdk"))
    assert elsewhere["error_code"] == "40301" and set(elsewhere) == {"error_code", "message"}
    stranger = await call("POST", "/imageimport", 400, json=body(password=base64.b64encode(b"nope").decode()))
    assert stranger["error_code"] == "40010"
    assert (await call("POST", "/imageimport", 400, data=b"not json"))["error_code"] == "40001"
    await call("POST", "/imageimport", 401, token=None, json=good)
    listed = (await call("GET", "/imageimport", 200))["imports"]
    assert {item["import_id"] for item in listed} == {made["import_id"], failed["import_id"]}
    assert_like({"imports": listed}, {"imports": [{  # L5846
        "import_id": "6bf65660-70ee-4a75-b61a-36ac040c289c", "import_status": "succeeded",
        "status": "/v1/imageimport/6bf65660-70ee-4a75-b61a-36ac040c289c/status"}]})
    assert {item["status"] for item in listed} == {f"/v1/imageimport/{made['import_id']}/status",
                                                   f"/v1/imageimport/{failed['import_id']}/status"}
    assert (await call("GET", "/imageimport?start=x", 400))["error_code"] == "40013"
    assert (await call("GET", f"/imageimport/{uuid.uuid4()}/status", 404))["error_code"] == "40401"

    exported = await call("POST", "/imageexport", 202, json={"image_id": good["id"],
                                                             "storage_container": f"/v1/AUTH_{project}/exports"})
    assert_like(exported, {"export_id": "2df79018-758e-11e6-8797-6b9192ea4ac2"})  # L5937
    await jobs.wait_idle()
    status = await call("GET", f"/imageexport/{exported['export_id']}/status", 200)
    assert_like(status, EXPORT_STATUS)
    assert (status["export_status"], status["image_id"], status["image_name"], status["storage_container"]) == (
        "succeeded", good["id"], "imported", f"/v1/AUTH_{project}/exports")
    assert [path.name for path in (root / project / "exports").iterdir()] == [f"{good['id']}.vmdk"]
    finished = await call("POST", f"/imageexport/{exported['export_id']}/cancel", 404)
    assert finished == {"error_code": "40402", "error_message": "Export_id was already finished."}
    assert (await call("GET", "/imageexport?limit=-1", 400))["error_code"] == "40014"
    exports = await call("GET", "/imageexport", 200)
    assert_like(exports, {"exports": [{  # L6135
        "export_id": "6bf65660-70ee-4a75-b61a-36ac040c289c", "export_status": "succeeded",
        "status": "/v1/imageexport/6bf65660-70ee-4a75-b61a-36ac040c289c/status",
        "image_id": "ce050928-bdc2-4c15-95dc-be6fbc7d6d83", "request_time": "2016-04-25T00:10:24Z"}]})
    assert [(item["export_id"], item["image_id"], item["status"]) for item in exports["exports"]] == [
        (exported["export_id"], good["id"], f"/v1/imageexport/{exported['export_id']}/status")]
    assert (await call("POST", "/imageexport", 400, data=b"{"))["error_code"] == "40008"


async def test_malformed_bodies_get_k5s_error_body(api, admin_token):
    app = api.client.server.app
    cancel = f"/k5/v1/imageexport/{uuid.uuid4()}/cancel"
    for path in ("/k5/v1/imageimport", "/k5/v1/imageexport", cancel):
        for sent in (b"", b"[]", b'"x"', b"{}", b"{", b'{"name": 5, "location": [], "image_id": {}}',
                     b'{"image_id": "00000000-0000-0000-0000-000000000001", "storage_container": 5}'):
            resp = await api.client.post(path, data=sent, headers={"X-Auth-Token": admin_token,
                                                                   "Content-Type": "application/json"})
            answer = await resp.json()
            assert 400 <= resp.status < 500, (path, sent, resp.status, answer)
            assert set(answer) in ({"error_code", "message"}, {"error_code", "error_message"}), answer
    assert await app[image_jobs_key].list_imports(app[identity_key].validate(admin_token).project_id) == {
        "imports": []}


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


async def test_a_job_survives_a_restart_in_its_table(api, admin_token, tmp_path):
    """The daemon stops during an import (its job back to `queued` in the table, no partial file): the next
    start's jobs (a new runner on the same table) find it, resume it and it succeeds; the export list is read
    from the table too."""
    app = api.client.server.app
    project = app[identity_key].validate(admin_token).project_id
    root = app[config_key].data_dir / "objects"
    (root / project / "uploads").mkdir(parents=True)
    vmdk = root / project / "uploads" / "guest.vmdk"
    source = make_qcow2(tmp_path / "guest.qcow2", "8M")
    subprocess.run(["qemu-img", "convert", "-f", "qcow2", "-O", "vmdk", str(source), str(vmdk)], check=True)
    jobs = app[image_jobs_key]
    held = jobs.throttle = HoldAt(0.0)
    image_id = str(uuid.uuid4())
    resp = await api.client.post("/k5/v1/imageimport", headers={"X-Auth-Token": admin_token}, json={
        "name": "restarted", "location": f"/v1/AUTH_{project}/uploads/guest.vmdk", "id": image_id,
        "conversion": True, "os_type": "ubuntu", "user_name": "admin",
        "password": base64.b64encode(b"admin-secret").decode(), "domain_name": "Default"})
    assert resp.status == 201, await resp.text()
    import_id = (await resp.json())["import_id"]
    await asyncio.wait_for(held.reached.wait(), 30)
    assert (await jobs.import_status(project, import_id))["import_status"] == "processing"
    await jobs.close()  # the daemon stops
    assert (await jobs.import_status(project, import_id))["import_status"] == "queued"

    again = k5_image_jobs(app[config_key], app[store_key], app[images_key], utcnow)  # the next start
    assert [job.id for job in await again.resume()] == [import_id]
    await again.wait_idle()
    status = await again.import_status(project, import_id)
    assert (status["import_status"], status["id"], status["progress"]) == ("succeeded", image_id, 100)
    assert app[images_key].get(app[identity_key].validate(admin_token), image_id).status == "active"
    images_dir = app[images_key].files.images_dir  # no partial file left anywhere
    assert [name for name in os.listdir(images_dir) if name.startswith(".")] == []
    assert not again.root.staging_dir.exists() or os.listdir(again.root.staging_dir) == []


async def test_an_export_cancelled_while_processing_leaves_no_file(aiohttp_client, cfg, tmp_path):
    """Issue 25's Proof through HTTP, with the test-only hold ([k5] test_hold_conversions: each conversion waits at
    its first report past 0%, qemu-img stopped, a cancel included) and the object root and job cap from [k5]: an export cancelled
    while `processing` answers 200 with no body, its status goes `cancelling` then `canceled`, the container holds
    no file and no temp file stays; a second cancel is 400 40010, one after the end 404 40402."""
    root = tmp_path / "objects-elsewhere"
    cfg = dataclasses.replace(cfg, k5=K5Config(object_root=str(root), image_jobs_max_active=2,
                                               test_hold_conversions=3))
    api = Api(await aiohttp_client(create_app(cfg, with_servers=False)))
    token = await api.token("admin", "admin-secret", "admin")
    app = api.client.server.app
    project = app[identity_key].validate(token).project_id
    (root / project / "exports").mkdir(parents=True)
    image_id = await upload_raw_image(app, token)
    export = {"image_id": image_id, "storage_container": f"/v1/AUTH_{project}/exports"}

    async def call(method: str, path: str, status: int, **kw) -> dict | None:
        resp = await api.client.request(method, f"/k5/v1{path}", headers={"X-Auth-Token": token}, **kw)
        assert resp.status == status, (method, path, resp.status, await resp.text())
        return await resp.json() if resp.content_length else None

    export_id = (await call("POST", "/imageexport", 202, json=export))["export_id"]
    deadline = asyncio.get_running_loop().time() + 30
    while (status := await call("GET", f"/imageexport/{export_id}/status", 200))["export_status"] == "queued":
        assert asyncio.get_running_loop().time() < deadline
        await asyncio.sleep(0.05)
    staging = app[image_jobs_key].root.staging_dir
    assert staging.is_relative_to(root)  # [k5] object_root
    while not (staging / f"{export_id}.part").exists():  # qemu-img wrote it and is held at its first report
        assert asyncio.get_running_loop().time() < deadline
        await asyncio.sleep(0.05)
    assert (await call("GET", f"/imageexport/{export_id}/status", 200))["export_status"] == "processing"
    # the cap of [k5] image_jobs_max_active (2): a second unfinished job is admitted, a third is 503 50301
    (root / project / "exports2").mkdir()
    (root / project / "exports3").mkdir()
    second = await call("POST", "/imageexport", 202, json={**export, "storage_container": export[
        "storage_container"] + "2"})
    full = await call("POST", "/imageexport", 503, json={**export, "storage_container": export[
        "storage_container"] + "3"})
    assert full["error_code"] == "50301"

    assert await call("POST", f"/imageexport/{export_id}/cancel", 200) is None
    assert (await call("GET", f"/imageexport/{export_id}/status", 200))["export_status"] == "cancelling"
    again = await call("POST", f"/imageexport/{export_id}/cancel", 400)
    assert again == {"error_code": "40010", "error_message": "Export_id is already accepted cancelling."}
    await call("POST", f"/imageexport/{second['export_id']}/cancel", 200)
    await asyncio.wait_for(app[image_jobs_key].wait_idle(), 30)
    for job_id in (export_id, second["export_id"]):
        assert (await call("GET", f"/imageexport/{job_id}/status", 200))["export_status"] == "canceled"
    assert os.listdir(root / project / "exports") == [] and os.listdir(root / project / "exports2") == []
    assert os.listdir(staging) == []
    assert (await call("POST", f"/imageexport/{export_id}/cancel", 404))["error_code"] == "40402"
