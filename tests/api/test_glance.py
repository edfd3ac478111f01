"""The Glance v2 subset, #801-#808, through HTTP: entity shape, create rules, JSON patch, upload/download of real
qcow2 bytes, deduplicated storage, list filters and paging, roles and tenant isolation."""
from __future__ import annotations

import asyncio
import hashlib
import io
import uuid
from urllib.parse import parse_qs, urlsplit

import pytest

from nodecompute.api.keys import identity_key, images_key, quotas_key
from tests.api.helpers import assert_keystone_error
from tests.api.test_images import OCTETS, PATCH, gl, make_disk, project_id, qcow2  # noqa: F401 (fixtures)

GLANCE_KEYS = {"id", "name", "status", "visibility", "protected", "os_hidden", "checksum", "os_hash_algo",
               "os_hash_value", "size", "virtual_size", "min_disk", "min_ram", "disk_format", "container_format",
               "owner", "tags", "created_at", "updated_at", "self", "file", "schema"}


async def assert_glance_error(resp, code: int, message: str | None = None) -> dict:
    """Glance's webob body: {"code": "404 Not Found", "title": "Not Found", "message": ...}."""
    assert resp.status == code, (resp.status, await resp.text())
    assert resp.headers["Content-Type"].startswith("application/json")
    assert resp.headers["x-openstack-request-id"].startswith("req-")
    body = await resp.json()
    assert set(body) == {"code", "title", "message"}, body
    assert body["code"] == f"{code} {body['title']}" and body["title"], body
    if message is not None:
        assert message in body["message"], (message, body["message"])
    return body


def store_dir(api):
    return api.client.server.app[images_key].files.images_dir


def stored(api) -> list[str]:
    directory = store_dir(api)
    return sorted(p.name for p in directory.iterdir()) if directory.exists() else []


async def patch(gl, token, image_id, *ops, headers=PATCH):
    return await gl.request("PATCH", f"/images/{image_id}", token, headers=headers, json=list(ops))


# #801: versions.

async def test_version_discovery_needs_no_token(api):
    for path, status in (("/image", 300), ("/image/", 300), ("/image/versions", 200)):
        resp = await api.client.get(path)
        assert resp.status == status, path
        versions = (await resp.json())["versions"]
        current = [v for v in versions if v["status"] == "CURRENT"]
        assert len(current) == 1 and current[0]["id"].startswith("v2.")
        assert {v["status"] for v in versions} == {"CURRENT", "SUPPORTED"}
        assert all(urlsplit(v["links"][0]["href"]).path == "/image/v2/" and v["links"][0]["rel"] == "self"
                   for v in versions)
    # 401 comes from the token check in front of every service, in keystonemiddleware's shape.
    await assert_keystone_error(await api.client.get("/image/v2/images"), 401)
    await assert_keystone_error(await api.client.get("/image/v2/nothing", headers={"X-Auth-Token": "x"}), 401)


async def test_image_in_catalog_once_service_exists(api, admin_token):
    resp = await api.client.get("/identity/v3/auth/tokens",
                                headers={"X-Auth-Token": admin_token, "X-Subject-Token": admin_token})
    catalog = (await resp.json())["token"]["catalog"]
    image = [entry for entry in catalog if entry["type"] == "image"]
    assert len(image) == 1 and all(e["url"].endswith("/image") for e in image[0]["endpoints"])


# #803-#804: create and show.

async def test_create_and_show_entity(api, gl, make_user):
    token = await make_user("proj-a", "member")
    resp = await gl.request("POST", "/images", token, json={"name": "cirros", "disk_format": "qcow2",
                                                             "os_distro": "cirros", "tags": ["a", "b", "a"]})
    assert resp.status == 201
    image = await resp.json()
    assert resp.headers["Location"] == f"/v2/images/{image['id']}"
    assert set(image) == GLANCE_KEYS | {"os_distro"}
    assert uuid.UUID(image["id"])
    assert image["owner"] == project_id(api, "proj-a")
    assert {k: image[k] for k in ("status", "visibility", "protected", "os_hidden", "container_format",
                                  "size", "checksum", "min_disk", "min_ram", "tags", "os_distro")} == {
        "status": "queued", "visibility": "shared", "protected": False, "os_hidden": False,
        "container_format": "bare", "size": None, "checksum": None, "min_disk": 0, "min_ram": 0,
        "tags": ["a", "b"], "os_distro": "cirros"}
    assert image["self"] == f"/v2/images/{image['id']}" and image["file"] == f"/v2/images/{image['id']}/file"
    assert image["schema"] == "/v2/schemas/image" and image["created_at"].endswith("Z")
    assert await gl.show(token, image["id"]) == image
    fixed = str(uuid.uuid4())
    assert (await gl.create(token, id=fixed, name=None))["id"] == fixed
    await assert_glance_error(await gl.request("POST", "/images", token, json={"id": fixed}), 409, fixed)
    await assert_glance_error(await gl.request("GET", f"/images/{uuid.uuid4()}", token), 404, "No image found")


@pytest.mark.parametrize("body, code, message", [
    ({"min_disk": -1}, 400, "Provided object does not match schema 'image'"),
    ({"min_ram": "10"}, 400, "min_ram"),
    ({"visibility": "everyone"}, 400, "everyone"),
    ({"disk_format": "vmdk"}, 400, "vmdk"),
    ({"container_format": "ovf"}, 400, "ovf"),
    ({"protected": "yes"}, 400, None),
    ({"name": "x" * 256}, 400, None),
    ({"id": "not-a-uuid"}, 400, None),
    ({"tags": "a"}, 400, None),
    ({"custom": 5}, 400, None),
    ({"status": "active"}, 403, "Attribute 'status' is read-only."),
    ({"checksum": "x"}, 403, "read-only"),
    ({"self": "/x"}, 403, "read-only"),
    ({"deleted": True}, 403, "Attribute 'deleted' is reserved."),
    ({"nodecompute:tags": "x"}, 403, "reserved"),
    ({"os_glance_foo": "bar"}, 403, "Attribute 'os_glance_foo' is reserved."),  # Glance's own namespace
    ({"visibility": "public"}, 403, "publicize_image"),
    ({"owner": "someone-else"}, 403, "someone-else"),
])
async def test_create_rejects(api, gl, make_user, body, code, message):
    token = await make_user("proj-a", "member")
    await assert_glance_error(await gl.request("POST", "/images", token, json=body), code, message)


async def test_create_roles_and_admin_rights(api, gl, make_user, admin_token):
    reader = await make_user("proj-a", "reader")
    await assert_glance_error(await gl.request("POST", "/images", reader, json={"name": "r"}), 403, "add_image")
    public = await gl.create(admin_token, name="pub", visibility="public", owner=project_id(api, "proj-a"))
    assert public["visibility"] == "public" and public["owner"] == project_id(api, "proj-a")
    await assert_glance_error(await gl.request("POST", "/images", reader, data=b"[1]",
                                               headers={"Content-Type": "application/json"}), 403)
    member = await make_user("proj-a", "member")
    await assert_glance_error(await gl.request("POST", "/images", member, data=b"{nope",
                                               headers={"Content-Type": "application/json"}), 400)


# #807-#808: data.

async def test_upload_download_real_qcow2(api, gl, make_user, qcow2):
    token = await make_user("proj-a", "member")
    image = await gl.create(token, name="cirros", disk_format="qcow2")
    resp = await gl.request("GET", f"/images/{image['id']}/file", token)
    assert resp.status == 204
    await gl.upload(token, image["id"], qcow2)
    shown = await gl.show(token, image["id"])
    assert {k: shown[k] for k in ("status", "size", "virtual_size", "disk_format", "checksum", "os_hash_algo",
                                  "os_hash_value")} == {
        "status": "active", "size": len(qcow2), "virtual_size": 16 << 20, "disk_format": "qcow2",
        "checksum": hashlib.md5(qcow2).hexdigest(), "os_hash_algo": "sha512",
        "os_hash_value": hashlib.sha512(qcow2).hexdigest()}
    assert stored(api) == [hashlib.sha256(qcow2).hexdigest()]
    resp = await gl.request("GET", f"/images/{image['id']}/file", token)
    assert resp.status == 200
    assert resp.headers["Content-Type"] == "application/octet-stream"
    assert resp.headers["Content-MD5"] == hashlib.md5(qcow2).hexdigest()
    assert await resp.read() == qcow2
    await assert_glance_error(await gl.upload(token, image["id"], qcow2, status=409), 409,
                              "transition from active to saving")


async def test_upload_detects_format_and_rejects_bad_input(api, gl, make_user, qcow2, tmp_path):
    token = await make_user("proj-a", "member")
    raw = await gl.create(token, name="raw")  # no disk_format: detected
    await gl.upload(token, raw["id"], b"\0" * 65536)
    assert (await gl.show(token, raw["id"]))["disk_format"] == "raw"
    image = await gl.create(token, name="q", disk_format="qcow2")
    before = stored(api)
    await assert_glance_error(await gl.upload(token, image["id"], b"garbage, not a disk" * 100, status=400), 400)
    vmdk = make_disk(tmp_path / "d.vmdk", "vmdk", "1M")
    plain = await gl.create(token, name="v")
    await assert_glance_error(await gl.upload(token, plain["id"], vmdk, status=400), 400, "vmdk")
    assert (await gl.show(token, image["id"]))["status"] == "queued"
    assert (await gl.show(token, plain["id"]))["status"] == "queued"
    assert stored(api) == before  # nothing kept, no temp file left behind
    resp = await gl.request("PUT", f"/images/{image['id']}/file", token, data=qcow2,
                            headers={"Content-Type": "application/json"})
    await assert_glance_error(resp, 415)
    await gl.upload(token, image["id"], qcow2)  # the failed attempts left it uploadable
    assert (await gl.show(token, image["id"]))["status"] == "active"


async def test_upload_over_the_size_cap(api, gl, make_user, qcow2):
    token = await make_user("proj-a", "member")
    api.client.server.app[images_key].size_cap = 4096
    image = await gl.create(token, name="big", disk_format="qcow2")

    async def body():
        for _ in range(64):
            yield b"\0" * 1024

    resp = await gl.request("PUT", f"/images/{image['id']}/file", token, headers=OCTETS, data=body())
    await assert_glance_error(resp, 413)
    resp = await gl.request("PUT", f"/images/{image['id']}/file", token, headers=OCTETS, data=b"\0" * 8192)
    await assert_glance_error(resp, 413)
    assert (await gl.show(token, image["id"]))["status"] == "queued"
    assert stored(api) == []


async def _held_upload(gl, token, image_id, data: bytes) -> tuple[asyncio.Task, asyncio.Event]:
    """An upload of `data` whose first KiB has arrived (the image is saving) and whose rest waits for the event."""
    release = asyncio.Event()

    async def slow_body():
        yield data[:1024]
        await release.wait()
        yield data[1024:]

    upload = asyncio.create_task(gl.request("PUT", f"/images/{image_id}/file", token, headers=OCTETS,
                                            data=slow_body()))
    for _ in range(200):
        if (await gl.show(token, image_id))["status"] == "saving":
            break
        await asyncio.sleep(0.01)
    assert (await gl.show(token, image_id))["status"] == "saving"
    return upload, release


async def test_upload_in_progress_blocks_a_second_upload(api, gl, make_user, qcow2):
    token = await make_user("proj-a", "member")
    image = await gl.create(token, name="slow", disk_format="qcow2")
    upload, release = await _held_upload(gl, token, image["id"], qcow2)
    await assert_glance_error(await gl.upload(token, image["id"], qcow2, status=409), 409, "saving to saving")
    release.set()
    assert (await upload).status == 204
    assert (await gl.show(token, image["id"]))["status"] == "active"


async def test_an_image_deleted_while_its_data_comes_in_is_gone_with_its_data(api, gl, make_user, qcow2):
    """Glance deletes an image in any status; the upload then answers 410 and keeps nothing (Tempest's
    test_delete_saving_image deletes a snapshot while it saves)."""
    token = await make_user("proj-a", "member")
    image = await gl.create(token, name="deleted-while-saving", disk_format="qcow2")
    upload, release = await _held_upload(gl, token, image["id"], qcow2)
    assert (await gl.request("DELETE", f"/images/{image['id']}", token)).status == 204
    await assert_glance_error(await gl.request("GET", f"/images/{image['id']}", token), 404)
    release.set()
    await assert_glance_error(await upload, 410, f"Image {image['id']} could not be found after upload.")
    assert stored(api) == []


async def test_upload_broken_off_requeues_and_keeps_nothing(api, gl, make_user, qcow2):
    token = await make_user("proj-a", "member")
    image = await gl.create(token, name="cut", disk_format="qcow2")
    ctx = api.client.server.app[identity_key].validate(token)

    async def broken():
        yield qcow2[:4096]
        raise ConnectionResetError("client went away")

    with pytest.raises(ConnectionResetError):
        await api.client.server.app[images_key].upload(ctx, image["id"], broken())
    assert (await gl.show(token, image["id"]))["status"] == "queued"
    assert stored(api) == []


async def test_uploads_cut_by_a_restart_are_requeued(api, gl, make_user):
    token = await make_user("proj-a", "member")
    service = api.client.server.app[images_key]
    image = await gl.create(token, name="interrupted")
    other = await gl.create(token, name="untouched")
    await service.store.write(lambda db: db.execute("UPDATE images SET status = 'saving' WHERE id = ?",
                                                    [image["id"]]))
    assert (await gl.show(token, image["id"]))["status"] == "saving"
    assert await service.requeue_interrupted_uploads() == 1
    assert (await gl.show(token, image["id"]))["status"] == "queued"
    assert (await gl.show(token, other["id"]))["updated_at"] == other["updated_at"]


async def test_upload_streams_past_the_request_body_limit(api, gl, make_user, tmp_path):
    token = await make_user("proj-a", "member")
    data = make_disk(tmp_path / "big.raw", "raw", "3M")  # far above client_max_size (114688)
    image = await gl.create(token, name="big", disk_format="raw")
    resp = await gl.request("PUT", f"/images/{image['id']}/file", token, headers=OCTETS, data=io.BytesIO(data))
    assert resp.status == 204, await resp.text()
    assert (await gl.show(token, image["id"]))["size"] == 3 << 20


async def test_identical_uploads_share_bytes_until_last_delete(api, gl, make_user, admin_token, qcow2):
    token = await make_user("proj-a", "member")
    first = await gl.active(token, qcow2, name="one")
    second = await gl.active(admin_token, qcow2, name="two", visibility="public")
    digest = hashlib.sha256(qcow2).hexdigest()
    assert stored(api) == [digest]
    assert first["checksum"] == second["checksum"]
    assert (await gl.request("DELETE", f"/images/{first['id']}", token)).status == 204
    assert stored(api) == [digest]
    resp = await gl.request("GET", f"/images/{second['id']}/file", token)
    assert resp.status == 200 and await resp.read() == qcow2
    assert (await gl.request("DELETE", f"/images/{second['id']}", admin_token)).status == 204
    assert stored(api) == []


# #806: delete.

async def test_delete_rules(api, gl, make_user, admin_token, qcow2):
    member = await make_user("proj-a", "member")
    reader = await make_user("proj-a", "reader")
    other = await make_user("proj-b", "member")
    image = await gl.active(member, qcow2, name="p", protected=True)
    await assert_glance_error(await gl.request("DELETE", f"/images/{image['id']}", reader), 403)
    await assert_glance_error(await gl.request("DELETE", f"/images/{image['id']}", other), 404)
    await assert_glance_error(await gl.request("DELETE", f"/images/{image['id']}", member), 403, "protected")
    assert (await patch(gl, member, image["id"], {"op": "replace", "path": "/protected", "value": False})).status == 200
    public = await gl.active(admin_token, qcow2, name="pub", visibility="public")
    await assert_glance_error(await gl.request("DELETE", f"/images/{public['id']}", other), 403)
    assert (await gl.request("DELETE", f"/images/{image['id']}", member)).status == 204
    await assert_glance_error(await gl.request("GET", f"/images/{image['id']}", member), 404)
    await assert_glance_error(await gl.request("DELETE", f"/images/{image['id']}", member), 404)
    assert image["id"] not in {i["id"] for i in (await (await gl.request("GET", "/images", admin_token)).json())[
        "images"]}


# #805: JSON patch.

async def test_patch_changes_attributes_properties_and_tags(api, gl, make_user, admin_token):
    token = await make_user("proj-a", "member")
    image = await gl.create(token, name="old", color="red")
    resp = await patch(gl, token, image["id"],
                       {"op": "replace", "path": "/name", "value": "new"},
                       {"op": "add", "path": "/min_disk", "value": 3},
                       {"op": "replace", "path": "/min_ram", "value": 128},
                       {"op": "add", "path": "/shape", "value": "round"},
                       {"op": "add", "path": "/color", "value": "blue"},
                       {"op": "add", "path": "/tags", "value": ["x", "y"]},
                       {"op": "add", "path": "/a~1b", "value": "slash"},
                       {"op": "replace", "path": "/disk_format", "value": "raw"})
    assert resp.status == 200, await resp.text()
    body = await resp.json()
    assert {k: body[k] for k in ("name", "min_disk", "min_ram", "shape", "color", "tags", "a/b", "disk_format")} == {
        "name": "new", "min_disk": 3, "min_ram": 128, "shape": "round", "color": "blue", "tags": ["x", "y"],
        "a/b": "slash", "disk_format": "raw"}
    resp = await patch(gl, token, image["id"], {"op": "remove", "path": "/shape"})
    assert "shape" not in await resp.json()
    assert await gl.show(token, image["id"]) == await resp.json()
    resp = await patch(gl, admin_token, image["id"], {"op": "replace", "path": "/visibility", "value": "public"})
    assert (await resp.json())["visibility"] == "public"


@pytest.mark.parametrize("op, code, message", [
    ({"op": "replace", "path": "/status", "value": "active"}, 403, "Attribute 'status' is read-only."),
    ({"op": "replace", "path": "/size", "value": 1}, 403, "read-only"),
    ({"op": "add", "path": "/deleted", "value": "x"}, 403, "reserved"),
    ({"op": "add", "path": "/nodecompute:tags", "value": "x"}, 403, "reserved"),
    ({"op": "add", "path": "/os_glance_foo", "value": "bar"}, 403, "Attribute 'os_glance_foo' is reserved."),
    ({"op": "remove", "path": "/name"}, 403, "may not be removed"),
    ({"op": "replace", "path": "/visibility", "value": "public"}, 403, "publicize_image"),
    ({"op": "replace", "path": "/missing", "value": "x"}, 409, "does not exist"),
    ({"op": "remove", "path": "/missing"}, 409, "does not exist"),
    ({"op": "replace", "path": "/min_disk", "value": "big"}, 400, "schema"),
    ({"op": "replace", "path": "/visibility", "value": "community"}, 400, None),
    ({"op": "add", "path": "/prop", "value": 1}, 400, None),
    ({"op": "add", "path": "/a/b", "value": "x"}, 400, "Nested paths"),
    ({"op": "add", "path": "name", "value": "x"}, 400, "does not start with"),
    ({"op": "move", "path": "/name", "value": "x"}, 400, "Invalid operation"),
    ({"op": "add", "path": "/name"}, 400, "value"),
    ({"path": "/name", "value": "x"}, 400, None),
])
async def test_patch_rejects(api, gl, make_user, op, code, message):
    token = await make_user("proj-a", "member")
    image = await gl.create(token, name="n")
    await assert_glance_error(await patch(gl, token, image["id"], op), code, message)
    assert await gl.show(token, image["id"]) == image


async def test_patch_media_type_body_and_state(api, gl, make_user, qcow2):
    token = await make_user("proj-a", "member")
    image = await gl.active(token, qcow2, name="n")
    op = {"op": "replace", "path": "/name", "value": "x"}
    await assert_glance_error(await patch(gl, token, image["id"], op, headers={"Content-Type": "application/json"}),
                              415)
    resp = await gl.request("PATCH", f"/images/{image['id']}", token, headers=PATCH, data=b"{bad")
    await assert_glance_error(resp, 400)
    resp = await gl.request("PATCH", f"/images/{image['id']}", token, headers=PATCH, json={"op": "add"})
    await assert_glance_error(resp, 400)
    await assert_glance_error(await patch(gl, token, image["id"],
                                          {"op": "replace", "path": "/disk_format", "value": "raw"}), 403)


async def test_patch_roles_isolation_and_property_limit(api, gl, make_user, admin_token):
    member = await make_user("proj-a", "member")
    reader = await make_user("proj-a", "reader")
    other = await make_user("proj-b", "member")
    private = await gl.create(member, name="mine")
    public = await gl.create(admin_token, name="pub", visibility="public")
    op = {"op": "replace", "path": "/name", "value": "x"}
    await assert_glance_error(await patch(gl, reader, private["id"], op), 403)
    await assert_glance_error(await patch(gl, other, private["id"], op), 404)
    await assert_glance_error(await patch(gl, other, public["id"], op), 403)
    await api.client.server.app[quotas_key].update_project(project_id(api, "proj-a"),
                                                                       {"metadata_items": 1})
    assert (await patch(gl, member, private["id"], {"op": "add", "path": "/a", "value": "1"})).status == 200
    await assert_glance_error(await patch(gl, member, private["id"], {"op": "add", "path": "/b", "value": "2"}),
                              413, "Attempted: 2, Maximum: 1")
    await assert_glance_error(await gl.request("POST", "/images", member, json={"a": "1", "b": "2"}), 413)


# #802: list.

async def test_list_filters(api, gl, make_user, admin_token, qcow2):
    token = await make_user("proj-a", "member")
    pid = project_id(api, "proj-a")
    small = await gl.active(token, qcow2, name="small", tags=["t1"], os_distro="cirros")
    raw = await gl.create(token, name="raw-one", disk_format="raw")
    await gl.upload(token, raw["id"], b"\0" * (1 << 20))
    queued = await gl.create(token, name="queued", tags=["t1", "t2"])
    public = await gl.create(admin_token, name="pub", visibility="public")

    async def names(query):
        resp = await gl.request("GET", f"/images{query}", token)
        assert resp.status == 200, await resp.text()
        return sorted(i["name"] for i in (await resp.json())["images"])

    assert await names("") == ["pub", "queued", "raw-one", "small"]
    assert await names("?name=small") == ["small"]
    assert await names("?name=in:small,pub") == ["pub", "small"]
    assert await names(f"?id=in:{small['id']},{queued['id']}") == ["queued", "small"]
    assert await names(f"?id={public['id']}") == ["pub"]
    assert await names("?status=queued") == ["pub", "queued"]
    assert await names("?visibility=public") == ["pub"]
    assert await names("?visibility=private") == []
    assert await names("?visibility=shared") == ["queued", "raw-one", "small"]  # Glance's default since 2.5
    assert await names(f"?owner={pid}") == ["queued", "raw-one", "small"]
    assert await names(f"?size_min={len(qcow2) + 1}") == ["raw-one"]
    assert await names(f"?size_max={len(qcow2)}") == ["small"]
    assert await names("?tag=t1") == ["queued", "small"]
    assert await names("?tag=t1&tag=t2") == ["queued"]
    assert await names("?os_distro=cirros") == ["small"]
    assert await names("?member_status=all&os_hidden=false") == ["pub", "queued", "raw-one", "small"]
    assert await names("?os_hidden=true") == []
    for bad in ("?size_min=x", "?visibility=bogus", "?sort_key=checksum", "?sort_dir=up", "?limit=-1",
                "?limit=x", "?marker=nope", "?sort=name:sideways", "?sort=name&sort_key=name"):
        await assert_glance_error(await gl.request("GET", f"/images{bad}", token), 400)


async def test_list_sorting_and_paging(api, gl, make_user):
    token = await make_user("proj-a", "member")
    made = [await gl.create(token, name=name) for name in ("c", "a", "d", "b", "e")]
    body = await (await gl.request("GET", "/images", token)).json()
    assert [i["name"] for i in body["images"]] == ["e", "b", "d", "a", "c"]  # newest first
    assert body["first"] == "/v2/images" and "next" not in body and body["schema"] == "/v2/schemas/images"
    body = await (await gl.request("GET", "/images?sort_key=name&sort_dir=asc&limit=2", token)).json()
    assert [i["name"] for i in body["images"]] == ["a", "b"]
    assert parse_qs(urlsplit(body["first"]).query) == {"sort_key": ["name"], "sort_dir": ["asc"], "limit": ["2"]}
    seen = [i["name"] for i in body["images"]]
    while "next" in body:
        assert urlsplit(body["next"]).path == "/v2/images"
        body = await (await gl.request("GET", body["next"][len("/v2"):], token)).json()
        seen += [i["name"] for i in body["images"]]
    assert seen == ["a", "b", "c", "d", "e"]
    body = await (await gl.request("GET", "/images?sort=name:desc&limit=3", token)).json()
    assert [i["name"] for i in body["images"]] == ["e", "d", "c"]
    assert parse_qs(urlsplit(body["next"]).query)["marker"] == [body["images"][-1]["id"]]
    body = await (await gl.request("GET", f"/images?marker={made[2]['id']}", token)).json()
    assert [i["name"] for i in body["images"]] == ["a", "c"]  # after 'd' in newest-first order
    body = await (await gl.request("GET", "/images?limit=5000", token)).json()
    assert len(body["images"]) == 5


async def test_list_isolation(api, gl, make_user, admin_token):
    token_a = await make_user("proj-a", "member")
    token_b = await make_user("proj-b", "reader")
    private = await gl.create(token_a, name="a-private")
    public = await gl.create(admin_token, name="public", visibility="public")
    body = await (await gl.request("GET", "/images", token_b)).json()
    assert [i["id"] for i in body["images"]] == [public["id"]]
    body = await (await gl.request("GET", "/images", admin_token)).json()
    assert {i["id"] for i in body["images"]} == {private["id"], public["id"]}
    for method, suffix in (("GET", ""), ("GET", "/file"), ("PUT", "/file")):
        resp = await gl.request(method, f"/images/{private['id']}{suffix}", token_b, headers=OCTETS, data=b"x")
        await assert_glance_error(resp, 403 if method == "PUT" else 404)  # a reader is refused before lookup
    await assert_glance_error(await gl.request("GET", f"/images?marker={private['id']}", token_b), 400)
    other_member = await make_user("proj-b", "member")
    resp = await gl.request("PUT", f"/images/{private['id']}/file", other_member, headers=OCTETS, data=b"x")
    await assert_glance_error(resp, 404)


async def test_an_images_tasks_are_listed_for_whoever_sees_it(api, gl, make_user):
    """GET /v2/images/{id}/tasks (Glance 2.12; Tempest waits on it after a snapshot): no image here is made by an
    import task, so the list is empty; an image the caller cannot see is 404, and a token is needed."""
    owner = await make_user("proj-a", "member")
    stranger = await make_user("proj-b", "member")
    image = await gl.create(owner, name="no-tasks")
    resp = await gl.request("GET", f"/images/{image['id']}/tasks", owner)
    assert (resp.status, await resp.json()) == (200, {"tasks": []})
    await assert_glance_error(await gl.request("GET", f"/images/{image['id']}/tasks", stranger), 404)
    await assert_glance_error(await gl.request("GET", f"/images/{uuid.uuid4()}/tasks", owner), 404)
    assert (await api.client.get(f"/image/v2/images/{image['id']}/tasks")).status == 401
