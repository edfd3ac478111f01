"""Nova's image proxy and image metadata, #701-#710, through HTTP (the Glance API makes the images).

test_glance.py imports the helpers and fixtures defined here.
"""
from __future__ import annotations

import subprocess
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from nodecompute.api import glance
from nodecompute.api.keys import images_key, quotas_key
from nodecompute.app import store_key
from nodecompute.db import identity as identity_db
from tests.api.helpers import Api, assert_fault

PATCH = {"Content-Type": glance.PATCH_TYPE}
OCTETS = {"Content-Type": "application/octet-stream"}


class Glance:
    """Calls /image/v2/... with a token; `create`/`upload` assert success."""

    def __init__(self, api: Api) -> None:
        self.client = api.client

    def request(self, method, path, token=None, headers=None, **kw):
        hdrs = {"X-Auth-Token": token} if token else {}
        hdrs.update(headers or {})
        return self.client.request(method, f"/image/v2{path}", headers=hdrs, **kw)

    async def create(self, token, **body) -> dict:
        resp = await self.request("POST", "/images", token, json=body)
        assert resp.status == 201, await resp.text()
        return await resp.json()

    async def upload(self, token, image_id, data: bytes, status=204):
        resp = await self.request("PUT", f"/images/{image_id}/file", token, headers=OCTETS, data=data)
        assert resp.status == status, await resp.text()
        return resp

    async def show(self, token, image_id) -> dict:
        resp = await self.request("GET", f"/images/{image_id}", token)
        assert resp.status == 200, await resp.text()
        return await resp.json()

    async def active(self, token, data: bytes, **body) -> dict:
        image = await self.create(token, **{"disk_format": "qcow2", **body})
        await self.upload(token, image["id"], data)
        return await self.show(token, image["id"])


@pytest.fixture
def gl(api) -> Glance:
    return Glance(api)


def make_disk(path: Path, fmt: str = "qcow2", size: str = "16M") -> bytes:
    subprocess.run(["qemu-img", "create", "-q", "-f", fmt, str(path), size], check=True,
                   env={"LC_ALL": "C", "PATH": "/usr/bin:/bin"})
    return path.read_bytes()


@pytest.fixture
def qcow2(tmp_path) -> bytes:
    return make_disk(tmp_path / "small.qcow2")


def project_id(api: Api, name: str) -> str:
    return api.client.server.app[store_key].read(identity_db.find_project, name).id


def stored_files(api: Api) -> list[Path]:
    files = api.client.server.app[images_key].files
    return [p for p in files.path_for("0" * 64).parent.rglob("*") if p.is_file()]


# #701-#703: list, detail, show.

async def test_list_summary_detail_and_show_views(api, gl, make_user, qcow2):
    token = await make_user("proj-a", "member")
    image = await gl.active(token, qcow2, name="cirros", min_disk=1, min_ram=64, os_distro="cirros")
    pid = project_id(api, "proj-a")
    resp = await api.get("/images", token)
    assert resp.status == 200
    listed = (await resp.json())["images"]
    assert [set(i) for i in listed] == [{"id", "name", "links"}]
    rels = [(link["rel"], urlsplit(link["href"]).path, link.get("type")) for link in listed[0]["links"]]
    assert rels == [("self", f"/compute/v2.1/images/{image['id']}", None),
                    ("bookmark", f"/compute/images/{image['id']}", None),
                    ("alternate", f"/image/{pid}/images/{image['id']}", "application/vnd.openstack.image")]
    detail = (await (await api.get("/images/detail", token)).json())["images"][0]
    shown = (await (await api.get(f"/images/{image['id']}", token)).json())["image"]
    assert detail == shown
    shown.pop("links")
    assert shown == {"id": image["id"], "name": "cirros", "status": "ACTIVE", "progress": 100, "minDisk": 1,
                     "minRam": 64, "metadata": {"os_distro": "cirros"}, "OS-EXT-IMG-SIZE:size": len(qcow2),
                     "created": image["created_at"], "updated": image["updated_at"]}


async def test_project_in_url_and_legacy_v2_links(api, gl, make_user, qcow2):
    token = await make_user("proj-a", "member")
    image = await gl.active(token, qcow2, name="x")
    pid = project_id(api, "proj-a")
    body = await (await api.get(f"/{pid}/images/{image['id']}", token)).json()
    paths = [urlsplit(link["href"]).path for link in body["image"]["links"]]
    assert paths[:2] == [f"/compute/v2.1/{pid}/images/{image['id']}", f"/compute/{pid}/images/{image['id']}"]
    body = await (await api.get(f"/images/{image['id']}", token, version="v2")).json()
    assert urlsplit(body["image"]["links"][0]["href"]).path == f"/compute/v2/images/{image['id']}"
    await assert_fault(await api.get("/other-project/images", token), 400, "badRequest")


async def test_status_mapping_disk_config_and_server_link(api, gl, make_user, qcow2):
    token = await make_user("proj-a", "member")
    queued = await gl.create(token, name="empty", auto_disk_config="True", instance_uuid="abc-123")
    view = (await (await api.get(f"/images/{queued['id']}", token)).json())["image"]
    assert (view["status"], view["progress"], view["OS-EXT-IMG-SIZE:size"]) == ("SAVING", 25, None)
    assert view["OS-DCF:diskConfig"] == "AUTO"
    assert view["server"]["id"] == "abc-123"
    assert urlsplit(view["server"]["links"][0]["href"]).path == "/compute/v2.1/servers/abc-123"
    manual = await gl.create(token, name="m", auto_disk_config="False")
    view = (await (await api.get(f"/images/{manual['id']}", token)).json())["image"]
    assert view["OS-DCF:diskConfig"] == "MANUAL" and "server" not in view
    plain = (await (await api.get(f"/images/{(await gl.active(token, qcow2))['id']}", token)).json())["image"]
    assert "OS-DCF:diskConfig" not in plain and "server" not in plain


async def test_list_filters(api, gl, make_user, qcow2):
    token = await make_user("proj-a", "member")
    big = await gl.active(token, qcow2, name="big", min_disk=10, min_ram=1024, image_type="snapshot",
                          instance_uuid="11111111-2222-3333-4444-555555555555")
    small = await gl.active(token, qcow2, name="small")
    empty = await gl.create(token, name="empty")

    async def ids(query):
        resp = await api.get(f"/images/detail{query}", token)
        assert resp.status == 200, await resp.text()
        return {i["id"] for i in (await resp.json())["images"]}

    assert await ids("") == {big["id"], small["id"], empty["id"]}
    assert await ids("?name=small") == {small["id"]}
    assert await ids("?name=smal") == set()  # exact, not a regex (unlike servers)
    assert await ids("?status=ACTIVE") == {big["id"], small["id"]}
    assert await ids("?status=queued") == {empty["id"]}
    assert await ids("?minDisk=5") == {big["id"]}
    assert await ids("?minRam=1024") == {big["id"]}
    assert await ids("?type=snapshot") == {big["id"]}
    assert await ids("?server=http://h/compute/v2.1/servers/11111111-2222-3333-4444-555555555555") == {big["id"]}
    assert await ids("?property-image_type=snapshot&name=big") == {big["id"]}
    await assert_fault(await api.get("/images?minDisk=-1", token), 400, "badRequest", "minDisk")
    await assert_fault(await api.get("/images?minRam=abc", token), 400, "badRequest", "minRam")


async def test_pagination_and_images_links(api, gl, make_user, qcow2):
    token = await make_user("proj-a", "member")
    created = [(await gl.create(token, name=f"img{n}"))["id"] for n in range(5)]
    newest_first = created[::-1]
    resp = await api.get("/images?limit=2", token)
    body = await resp.json()
    assert [i["id"] for i in body["images"]] == newest_first[:2]
    next_href = body["images_links"][0]["href"]
    assert body["images_links"][0]["rel"] == "next"
    assert parse_qs(urlsplit(next_href).query) == {"limit": ["2"], "marker": [newest_first[1]]}
    body = await (await api.get(f"/images/detail?limit=2&marker={newest_first[1]}", token)).json()
    assert [i["id"] for i in body["images"]] == newest_first[2:4]
    assert urlsplit(body["images_links"][0]["href"]).path == "/compute/v2.1/images/detail"
    body = await (await api.get(f"/images?limit=2&marker={newest_first[3]}", token)).json()
    assert [i["id"] for i in body["images"]] == newest_first[4:] and "images_links" not in body
    body = await (await api.get("/images?limit=0", token)).json()
    assert len(body["images"]) == 5 and "images_links" not in body
    await assert_fault(await api.get("/images?marker=nope", token), 400, "badRequest", "marker [nope] not found")
    await assert_fault(await api.get("/images?limit=-1", token), 400, "badRequest")
    await assert_fault(await api.get("/images?limit=two", token), 400, "badRequest")


async def test_changes_since_lists_deleted_images(api, gl, make_user, qcow2):
    token = await make_user("proj-a", "member")
    before = (datetime.utcnow() - timedelta(seconds=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
    image = await gl.active(token, qcow2, name="doomed")
    assert (await api.delete(f"/images/{image['id']}", token)).status == 204
    assert (await (await api.get("/images/detail", token)).json())["images"] == []
    for since in (before, before.replace("Z", "+00:00"), before[:-1], before.replace("Z", "Z+00:00")):
        resp = await api.get("/images/detail", token, params={"changes-since": since})
        images = (await resp.json())["images"]
        assert [(i["id"], i["status"]) for i in images] == [(image["id"], "DELETED")], since
    future = (datetime.utcnow() + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%S")
    assert (await (await api.get(f"/images?changes-since={future}", token)).json())["images"] == []
    await assert_fault(await api.get("/images?changes-since=yesterday", token), 400, "badRequest")
    await assert_fault(await api.get(f"/images/{image['id']}", token), 404, "itemNotFound", "Image not found.")


async def test_tenant_isolation(api, gl, make_user, admin_token, qcow2):
    token_a = await make_user("proj-a", "member")
    token_b = await make_user("proj-b", "member")
    private = await gl.active(token_a, qcow2, name="mine")
    public = await gl.active(admin_token, qcow2, name="shared", visibility="public")
    seen_b = {i["id"] for i in (await (await api.get("/images", token_b)).json())["images"]}
    assert seen_b == {public["id"]}
    seen_admin = {i["id"] for i in (await (await api.get("/images", admin_token)).json())["images"]}
    assert seen_admin == {private["id"], public["id"]}
    await assert_fault(await api.get(f"/images/{private['id']}", token_b), 404, "itemNotFound", "Image not found.")
    await assert_fault(await api.get(f"/images/{private['id']}/metadata", token_b), 404, "itemNotFound")
    await assert_fault(await api.delete(f"/images/{private['id']}", token_b), 404, "itemNotFound")
    await assert_fault(await api.get(f"/images?marker={private['id']}", token_b), 400, "badRequest")
    await assert_fault(await api.delete(f"/images/{public['id']}", token_b), 403, "forbidden",
                       "You are not allowed to delete the image.")
    await assert_fault(await api.post(f"/images/{public['id']}/metadata", token_b, json={"metadata": {"a": "b"}}),
                       403, "forbidden", f"Not authorized for image {public['id']}.")
    await assert_fault(await api.delete(f"/images/{public['id']}/metadata/x", token_b), 403, "forbidden")


# #704: delete.

async def test_delete_roles_protection_and_missing(api, gl, make_user, qcow2):
    member = await make_user("proj-a", "member")
    reader = await make_user("proj-a", "reader")
    image = await gl.active(member, qcow2, name="keep", protected=True)
    await assert_fault(await api.delete(f"/images/{image['id']}", reader), 403, "forbidden",
                       "Policy doesn't allow image:delete to be performed.")
    await assert_fault(await api.delete(f"/images/{image['id']}", member), 403, "forbidden",
                       "You are not allowed to delete the image.")
    resp = await gl.request("PATCH", f"/images/{image['id']}", member, headers=PATCH,
                            json=[{"op": "replace", "path": "/protected", "value": False}])
    assert resp.status == 200
    assert (await api.delete(f"/images/{image['id']}", member)).status == 204
    await assert_fault(await api.delete(f"/images/{image['id']}", member), 404, "itemNotFound", "Image not found.")
    await assert_fault(await api.get("/images/does-not-exist", reader), 404, "itemNotFound")


# #705-#710: image metadata.

async def test_metadata_list_merge_replace(api, gl, make_user):
    token = await make_user("proj-a", "member")
    image = await gl.create(token, name="m", os_distro="cirros")
    path = f"/images/{image['id']}/metadata"
    assert await (await api.get(path, token)).json() == {"metadata": {"os_distro": "cirros"}}
    resp = await api.post(path, token, json={"metadata": {"hw_disk_bus": "virtio", "os_distro": "debian"}})
    assert resp.status == 200
    assert await resp.json() == {"metadata": {"os_distro": "debian", "hw_disk_bus": "virtio"}}
    resp = await api.put(path, token, json={"metadata": {"only": "this"}})
    assert resp.status == 200 and await resp.json() == {"metadata": {"only": "this"}}
    assert (await gl.show(token, image["id"]))["only"] == "this"
    assert "os_distro" not in await gl.show(token, image["id"])
    await assert_fault(await api.post(path, token, json={"metadata": {"bad/key": "x"}}), 400, "badRequest")
    await assert_fault(await api.post(path, token, json={"metadata": {"k": "v" * 256}}), 400, "badRequest")
    await assert_fault(await api.post(path, token, json={"meta": {"k": "v"}}), 400, "badRequest")
    await assert_fault(await api.put(path, token, data=b"{not json", headers={"Content-Type": "application/json"}),
                       400, "badRequest", "Malformed request body")
    await assert_fault(await api.post(path, token, json={"metadata": {"status": "active"}}), 403, "forbidden",
                       "Attribute 'status' is read-only.")
    # /v2 ignores unknown top-level keys instead of rejecting them.
    resp = await api.post(path, token, json={"metadata": {"a": "1"}, "extra": 1}, version="v2")
    assert resp.status == 200 and (await resp.json())["metadata"]["a"] == "1"


async def test_metadata_items(api, gl, make_user):
    token = await make_user("proj-a", "member")
    image = await gl.create(token, name="m", color="blue")
    path = f"/images/{image['id']}/metadata"
    assert await (await api.get(f"{path}/color", token)).json() == {"meta": {"color": "blue"}}
    await assert_fault(await api.get(f"{path}/size", token), 404, "itemNotFound")
    resp = await api.put(f"{path}/shape", token, json={"meta": {"shape": "round"}})
    assert resp.status == 200 and await resp.json() == {"meta": {"shape": "round"}}
    assert (await (await api.get(path, token)).json())["metadata"] == {"color": "blue", "shape": "round"}
    await assert_fault(await api.put(f"{path}/shape", token, json={"meta": {"other": "x"}}), 400, "badRequest",
                       "Request body and URI mismatch")
    await assert_fault(await api.put(f"{path}/shape", token, json={"meta": {"shape": "a", "b": "c"}}), 400,
                       "badRequest")
    await assert_fault(await api.put(f"{path}/shape", token, json={"meta": {}}), 400, "badRequest")
    assert (await api.delete(f"{path}/color", token)).status == 204
    await assert_fault(await api.delete(f"{path}/color", token), 404, "itemNotFound", "Invalid metadata key")
    assert (await (await api.get(path, token)).json())["metadata"] == {"shape": "round"}
    await assert_fault(await api.get("/images/nope/metadata/x", token), 404, "itemNotFound", "Image not found.")


async def test_metadata_roles(api, gl, make_user):
    member = await make_user("proj-a", "member")
    reader = await make_user("proj-a", "reader")
    image = await gl.create(member, name="m", color="blue")
    path = f"/images/{image['id']}/metadata"
    assert (await api.get(path, reader)).status == 200
    for resp in (await api.post(path, reader, json={"metadata": {"a": "b"}}),
                 await api.put(path, reader, json={"metadata": {"a": "b"}}),
                 await api.put(f"{path}/a", reader, json={"meta": {"a": "b"}}),
                 await api.delete(f"{path}/color", reader)):
        await assert_fault(resp, 403, "forbidden")
    assert (await (await api.get(path, member)).json())["metadata"] == {"color": "blue"}


async def test_metadata_items_quota(api, gl, make_user):
    token = await make_user("proj-a", "member")
    await api.client.server.app[quotas_key].update_project(project_id(api, "proj-a"), {"metadata_items": 2})
    image = await gl.create(token, name="q", one="1")
    path = f"/images/{image['id']}/metadata"
    assert (await api.post(path, token, json={"metadata": {"two": "2"}})).status == 200
    await assert_fault(await api.post(path, token, json={"metadata": {"three": "3"}}), 403, "forbidden",
                       "Image metadata limit exceeded")
    await assert_fault(await api.put(f"{path}/three", token, json={"meta": {"three": "3"}}), 403, "forbidden")
    await assert_fault(await api.put(path, token, json={"metadata": {"a": "1", "b": "2", "c": "3"}}), 403,
                       "forbidden")
    assert (await api.put(path, token, json={"metadata": {"a": "1", "b": "2"}})).status == 200
    assert (await api.post(path, token, json={"metadata": {"a": "changed"}})).status == 200


async def test_unauthenticated(api):
    resp = await api.get("/images")
    assert resp.status == 401

