"""The K5 seed's documented image examples (seeds/003 sections 1.2.6.11-1.2.6.19, 1.2.6.30-31, 1.8.6.6-1.8.6.11,
the image members 1.8.6.13 and 1.8.6.17), sent through /k5/v2/{tenant_id}/images (the compute proxy) and /k5/image
(Glance v2) against an image the test makes: the status, the keys (the example's plus the D-cells', no others,
tests/api/k5_examples.py), the value types, and every value naming a resource equal to that resource's own. Each
test names the seed lines of its example. Server password (1.8.6.8) is here too, being in the same section."""
from __future__ import annotations

import pytest

from nodecompute.api.keys import identity_key, images_key
from tests.api.k5_examples import assert_like
from tests.api.test_servers_api import _insert, _project_id, api, servers_api  # noqa: F401 (fixtures)

METADATA = {"architecture": "x86_64", "auto_disk_config": "True", "kernel_id": "nokernel", "ramdisk_id": "nokernel"}
HREF = "http://openstack.example.com/v2/openstack/images/70a599e0-31e7-49b7-b260-868f441e862b"
# L9168 (show; list items L8879): L1946/L1667 are the same without the size, L3245/L3305 add `OS-DCF:diskConfig`
# where the image has `auto_disk_config` (as Nova). The size is a string (D52).
IMAGE = {"OS-EXT-IMG-SIZE:size": "74185822", "OS-DCF:diskConfig": "AUTO", "created": "2011-01-01T01:02:03Z",
         "id": "70a599e0-31e7-49b7-b260-868f441e862b",
         "links": [{"href": HREF, "rel": "self"}, {"href": HREF, "rel": "bookmark"},
                   {"href": HREF, "rel": "alternate", "type": "application/vnd.openstack.image"}],
         "metadata": METADATA, "minDisk": 0, "minRam": 0, "name": "fakeimage7", "progress": 100, "status": "ACTIVE",
         "updated": "2011-01-01T01:02:03Z"}
# L9402: a Glance v2 image (list items L9306, PATCH answer L9259)
GLANCE_IMAGE = {"id": "da3b75d9-3f4a-40e7-8a2c-bfab23927dea", "name": "cirros-0.3.0-x86_64-uec-ramdisk",
                "status": "active", "visibility": "private", "size": 2254249,
                "checksum": "2cec138d7dae2aa59038ef8c9aec2390", "tags": ["ping", "pong"],
                "created_at": "2012-08-10T19:23:50Z", "updated_at": "2012-08-10T19:23:50Z",
                "self": "/v2/images/da3b75d9-3f4a-40e7-8a2c-bfab23927dea",
                "file": "/v2/images/da3b75d9-3f4a-40e7-8a2c-bfab23927dea/file", "schema": "/v2/schemas/image"}
# dialects.md section 2 (image v2 at /k5/image, no k5 D-cell on its view) and section 1 rule 1: Glance v2 as
# upstream; these are the keys today's Glance shows that the 2012 example predates.
GLANCE_ADDED = {"disk_format", "container_format", "min_disk", "min_ram", "owner", "protected", "os_hidden",
                "os_hash_algo", "os_hash_value", "virtual_size"} | set(METADATA)  # + the image's properties


@pytest.fixture
async def k5(api, admin_token):  # noqa: F811
    tenant = api.client.server.app[identity_key].validate(admin_token).project_id

    async def call(method, path, status, root=None, **kw):
        root = f"/k5/v2/{tenant}" if root is None else root
        headers = {"X-Auth-Token": admin_token, **kw.pop("headers", {})}
        resp = await api.client.request(method, f"{root}{path}", headers=headers, **kw)
        assert resp.status == status, (method, path, resp.status, await resp.text())
        return await resp.json() if resp.content_length else None

    call.tenant = tenant
    return call


async def _image(api, token, name="fakeimage7"):  # noqa: F811
    app = api.client.server.app
    service, ctx = app[images_key], app[identity_key].validate(token)

    async def chunks():
        yield b"\0" * 4096

    made = await service.create(ctx, {"name": name, "disk_format": "raw", "container_format": "bare"},
                                dict(METADATA), [])
    await service.upload(ctx, made.id, chunks())
    return made.id


@pytest.fixture
async def image(api, admin_token):  # noqa: F811
    """An active image with data (so a checksum, D46) and the example's metadata."""
    return await _image(api, admin_token)


def _own(k5, shown, image_id):
    assert (shown["id"], shown["name"], shown["status"], shown["metadata"]) == (
        image_id, "fakeimage7", "ACTIVE", METADATA)
    assert (shown["OS-EXT-IMG-SIZE:size"], shown["OS-DCF:diskConfig"]) == ("4096", "AUTO")
    assert shown["links"][0]["href"].endswith(f"/k5/v2/{k5.tenant}/images/{image_id}")
    assert [link["rel"] for link in shown["links"]] == ["self", "bookmark", "alternate"]


async def test_images_detail_l1667_l3305_l8879(k5, image):
    listed = await k5("GET", "/images/detail", 200)
    assert_like(listed, {"images": [IMAGE]})
    _own(k5, next(i for i in listed["images"] if i["id"] == image), image)


async def test_image_show_l1946_l3245_l9168(k5, image):
    shown = await k5("GET", f"/images/{image}", 200)
    assert_like(shown, {"image": IMAGE})
    _own(k5, shown["image"], image)


async def test_image_metadata_show_l2032(k5, image):
    assert await k5("GET", f"/images/{image}/metadata", 200) == {"metadata": METADATA}


async def test_image_metadata_replace_l2068_l2084(k5, image):
    sent = {"metadata": {"auto_disk_config": "True", "Label": "Changed"}}
    assert await k5("PUT", f"/images/{image}/metadata", 200, json=sent) == sent
    assert await k5("GET", f"/images/{image}/metadata", 200) == sent


async def test_image_metadata_update_l2123_l2136(k5, image):
    sent = {"metadata": {"kernel_id": "False", "Label": "UpdatedImage"}}
    answer = {"metadata": {"Label": "UpdatedImage", "architecture": "x86_64", "auto_disk_config": "True",
                           "kernel_id": "False", "ramdisk_id": "nokernel"}}  # L2136
    assert await k5("POST", f"/images/{image}/metadata", 200, json=sent) == answer
    assert await k5("GET", f"/images/{image}/metadata", 200) == answer


async def test_image_metadata_item_show_l2170(k5, image):
    # the example shows the whole metadata under `meta`; the URI names one key, and the answer is that one (Nova)
    assert await k5("GET", f"/images/{image}/metadata/architecture", 200) == {"meta": {"architecture": "x86_64"}}


async def test_image_metadata_item_put_l2211_l2226(k5, image):
    # the example sends two keys to a URI naming one; Nova takes one key equal to the URI's (dialects.md section 1
    # rule 4 falls back to Nova where the seed contradicts itself): the example's pair is refused, one key is set
    await k5("PUT", f"/images/{image}/metadata/Label", 400, json={"meta": {"auto_disk_config": "True",
                                                                          "Label": "Changed"}})
    assert await k5("PUT", f"/images/{image}/metadata/Label", 200, json={"meta": {"Label": "Changed"}}) == {
        "meta": {"Label": "Changed"}}
    assert (await k5("GET", f"/images/{image}/metadata", 200))["metadata"] == {**METADATA, "Label": "Changed"}


async def test_server_password_l9228(k5, api):  # noqa: F811
    server = await _insert(api, _project_id(api, "admin"))
    shown = await k5("GET", f"/servers/{server.uuid}/os-server-password", 200)
    assert_like(shown, {"password": "xlozO3wLCBRWAA2yDjCCVx8vwNPypxnypmRYDa/zErlQ+EzPe1S/Gz6nfmC5"})


async def test_glance_list_l9306_and_show_l9402(k5, image, api, admin_token):  # noqa: F811
    newer = await _image(api, admin_token, "fakeimage8")
    listed = await k5("GET", "/v2/images?limit=1", 200, root="/k5/image")  # a page of one, so `next` (L9356)
    assert_like(listed, {"images": [GLANCE_IMAGE], "first": "/v2/images?limit=3",
                         "next": "/v2/images?limit=3&marker=e6421c88-b1ed-4407-8824-b57298249091",
                         "schema": "/v2/schemas/images"}, {"$.images[]": GLANCE_ADDED})
    shown = await k5("GET", f"/v2/images/{image}", 200, root="/k5/image")
    assert_like(shown, GLANCE_IMAGE, {"$": GLANCE_ADDED})
    assert [i["id"] for i in listed["images"]] == [newer] and listed["next"].endswith(f"marker={newer}")
    assert (await k5("GET", f"/v2/images?marker={newer}", 200, root="/k5/image"))["images"] == [shown]
    assert (shown["id"], shown["self"], shown["file"], shown["size"]) == (
        image, f"/v2/images/{image}", f"/v2/images/{image}/file", 4096)


async def test_glance_patch_l9250_l9259_l9276_l9284(k5, image):
    patch = [{"op": "replace", "path": "/name", "value": "Fedora 17"},
             {"op": "replace", "path": "/tags", "value": ["fedora", "beefy"]}]  # L9250
    updated = await k5("PATCH", f"/v2/images/{image}", 200, root="/k5/image", json=patch,
                       headers={"Content-Type": "application/openstack-images-v2.1-json-patch"})
    example = {k: v for k, v in GLANCE_IMAGE.items() if k not in ("size", "checksum")}  # L9259: a queued image
    assert_like(updated, example, {"$": GLANCE_ADDED | {"size", "checksum"}})
    assert (updated["id"], updated["name"], updated["tags"]) == (image, "Fedora 17", ["fedora", "beefy"])
    added = await k5("PATCH", f"/v2/images/{image}", 200, root="/k5/image", json=[  # L9276
        {"op": "add", "path": "/login-user", "value": "kvothe"}],
        headers={"Content-Type": "application/openstack-images-v2.1-json-patch"})
    assert_like(added, example, {"$": GLANCE_ADDED | {"size", "checksum", "login-user"}})
    assert (added["id"], added["login-user"]) == (image, "kvothe")
    removed = await k5("PATCH", f"/v2/images/{image}", 200, root="/k5/image", json=[  # L9284
        {"op": "remove", "path": "/login-user"}],
        headers={"Content-Type": "application/openstack-images-v2.1-json-patch"})
    assert_like(removed, example, {"$": GLANCE_ADDED | {"size", "checksum"}})
    assert (removed["id"], removed["name"], "login-user" in removed) == (image, "Fedora 17", False)


# L9496's answer: the seed prints it as two fragments (the first ending in a stray comma); joined, it is Glance's
# member view. L9665's answer is the same view, `accepted`.
MEMBER = {"created_at": "2013-09-20T19:22:19Z", "image_id": "a96be11e-8536-4910-92cb-de50aa19dfe6",
          "member_id": "8989447062e04a818baf9e073fd04fa7", "schema": "/v2/schemas/member", "status": "pending",
          "updated_at": "2013-09-20T19:25:31Z"}
PATCH_TYPE = {"Content-Type": "application/openstack-images-v2.1-json-patch"}


async def _shared_with_a_member(k5, image, make_user):
    """The image made `shared` (members exist only on shared images: docs/k5.md, D61) and a member project's token."""
    await k5("PATCH", f"/v2/images/{image}", 200, root="/k5/image", headers=PATCH_TYPE,
             json=[{"op": "replace", "path": "/visibility", "value": "shared"}])
    return await make_user("k5-member-project", "member")


async def test_image_member_create_l9496(k5, image, make_user, api):  # noqa: F811
    token = await _shared_with_a_member(k5, image, make_user)
    member = api.client.server.app[identity_key].validate(token).project_id
    made = await k5("POST", f"/v2/images/{image}/members", 200, root="/k5/image", json={"member": member})
    assert_like(made, MEMBER)
    assert (made["image_id"], made["member_id"], made["status"], made["schema"]) == (
        image, member, "pending", "/v2/schemas/member")
    listed = await k5("GET", f"/v2/images/{image}/members", 200, root="/k5/image")
    assert listed["members"] == [made]


async def test_image_member_update_l9665(k5, image, make_user, api):  # noqa: F811
    token = await _shared_with_a_member(k5, image, make_user)
    member = api.client.server.app[identity_key].validate(token).project_id
    await k5("POST", f"/v2/images/{image}/members", 200, root="/k5/image", json={"member": member})
    resp = await api.client.put(f"/k5/image/v2/images/{image}/members/{member}", json={"status": "accepted"},
                                headers={"X-Auth-Token": token})  # the member's own call
    assert resp.status == 200, await resp.text()
    updated = await resp.json()
    assert_like(updated, {**MEMBER, "status": "accepted", "updated_at": "2013-09-20T20:15:31Z"})
    assert (updated["image_id"], updated["member_id"], updated["status"]) == (image, member, "accepted")
    listed = await api.client.get("/k5/image/v2/images", headers={"X-Auth-Token": token})
    assert image in [i["id"] for i in (await listed.json())["images"]]  # accepted: listed for the member


async def test_a_k5_image_made_without_a_visibility_is_private(k5):
    """K5's document shows its images private (Glance before image API 2.5); the openstack face makes them shared."""
    made = await k5("POST", "/v2/images", 201, root="/k5/image", json={"name": "k5-default", "disk_format": "raw",
                                                                       "container_format": "bare"})
    assert made["visibility"] == "private"
