"""Glance v2 image members (#809-#814) through HTTP: the owner shares a `shared` image, the member accepts or
rejects it, a third project sees nothing; every fault in Glance's words; the list's member_status and visibility
filters; a member boots the image on libvirt's test driver. K5's D61 (a `rejected` member still lists the image):
test_k5_rejected_member_still_lists_the_image."""
from __future__ import annotations

import pytest

from nodecompute.domain import states
from tests.api.helpers import upload_raw_image
from tests.api.test_glance import assert_glance_error, patch
from tests.api.test_images import gl, project_id  # noqa: F401 (fixtures)
from tests.api.test_server_actions_part1 import Cloud, cloud  # noqa: F401 (the fixture)

MEMBER_KEYS = {"created_at", "updated_at", "image_id", "member_id", "status", "schema"}


@pytest.fixture
async def share(api, gl, make_user):  # noqa: F811
    """Owner A's shared image, member B (pending), other C; tokens and project ids."""
    tokens = {who: await make_user(f"proj-{who}", "member") for who in ("a", "b", "c")}
    ids = {who: project_id(api, f"proj-{who}") for who in tokens}
    image = await gl.create(tokens["a"], name="to-share", visibility="shared")
    added = await gl.request("POST", f"/images/{image['id']}/members", tokens["a"], json={"member": ids["b"]})
    assert added.status == 200, await added.text()
    return {"image": image["id"], "tokens": tokens, "ids": ids, "added": await added.json()}


async def _members(gl, token, image_id, path=""):  # noqa: F811
    return await gl.request("GET", f"/images/{image_id}/members{path}", token)


async def _listed(gl, token, query=""):  # noqa: F811
    resp = await gl.request("GET", f"/images{query}", token)
    assert resp.status == 200, await resp.text()
    return [i["id"] for i in (await resp.json())["images"]]


async def test_owner_adds_a_pending_member_and_lists_it(gl, share):  # noqa: F811
    image, t, ids = share["image"], share["tokens"], share["ids"]
    member = share["added"]
    assert set(member) == MEMBER_KEYS
    assert (member["image_id"], member["member_id"], member["status"], member["schema"]) == (
        image, ids["b"], "pending", "/v2/schemas/member")
    assert member["created_at"].endswith("Z") and member["updated_at"].endswith("Z")
    listed = await _members(gl, t["a"], image)
    assert listed.status == 200
    assert await listed.json() == {"members": [member], "schema": "/v2/schemas/members"}
    shown = await _members(gl, t["a"], image, f"/{ids['b']}")
    assert (shown.status, await shown.json()) == (200, member)


async def test_a_member_sees_itself_only_and_a_stranger_nothing(gl, share):  # noqa: F811
    image, t, ids = share["image"], share["tokens"], share["ids"]
    again = await gl.request("POST", f"/images/{image}/members", t["a"], json={"member": "proj-other"})
    assert again.status == 200, await again.text()
    seen = await _members(gl, t["b"], image)
    assert [m["member_id"] for m in (await seen.json())["members"]] == [ids["b"]]
    await assert_glance_error(await _members(gl, t["b"], image, "/proj-other"), 404, "not found")
    shown = await gl.request("GET", f"/images/{image}", t["b"])  # pending still shows the image
    assert shown.status == 200 and (await shown.json())["visibility"] == "shared"
    for path in ("", f"/{ids['b']}"):
        await assert_glance_error(await _members(gl, t["c"], image, path), 404, image)
    await assert_glance_error(await gl.request("GET", f"/images/{image}", t["c"]), 404)


async def test_only_the_member_changes_its_status(gl, share):  # noqa: F811
    image, t, ids = share["image"], share["tokens"], share["ids"]
    url = f"/images/{image}/members/{ids['b']}"
    await assert_glance_error(await gl.request("PUT", url, t["a"], json={"status": "accepted"}), 403,
                              f"Not allowed to update members for image {image}.")
    await assert_glance_error(await gl.request("PUT", url, t["c"], json={"status": "accepted"}), 404)
    for body, message in (({"status": "maybe"}, 'Status must be "pending", "accepted" or "rejected".'),
                          ({}, "Status not specified"), ({"status": 1}, "Incorrect request"),
                          ([], "must be a JSON object")):
        await assert_glance_error(await gl.request("PUT", url, t["b"], json=body), 400, message)
    for status in ("accepted", "rejected", "pending"):
        resp = await gl.request("PUT", url, t["b"], json={"status": status})
        assert resp.status == 200, await resp.text()
        assert (await resp.json())["status"] == status
    unknown = await gl.request("PUT", f"/images/{image}/members/nobody", t["b"], json={"status": "accepted"})
    await assert_glance_error(unknown, 404, f"nobody not found in the member list of the image {image}.")


async def test_adding_faults_change_nothing(gl, share, admin_token):  # noqa: F811
    image, t, ids = share["image"], share["tokens"], share["ids"]
    url = f"/images/{image}/members"
    await assert_glance_error(await gl.request("POST", url, t["a"], json={"member": ids["b"]}), 409, "duplicated")
    await assert_glance_error(await gl.request("POST", url, t["b"], json={"member": ids["c"]}), 403,
                              "Not allowed to create members")
    await assert_glance_error(await gl.request("POST", url, t["c"], json={"member": ids["c"]}), 404)
    for body, message in (({}, "Member to be added not specified"), ({"member": ""}, "Member can't be empty"),
                          ({"member": 5}, "Expected a member in the form"), (["x"], "must be a JSON object")):
        await assert_glance_error(await gl.request("POST", url, t["a"], json=body), 400, message)
    private = await gl.create(t["a"], name="private", visibility="private")
    await assert_glance_error(await gl.request("POST", f"/images/{private['id']}/members", t["a"],
                                               json={"member": ids["b"]}), 403, "Only shared images have members.")
    listed = await _members(gl, t["a"], private["id"])
    await assert_glance_error(listed, 403, "Only shared images have members.")
    await assert_glance_error(await _members(gl, t["a"], private["id"], f"/{ids['b']}"), 404, "Only shared")
    public = await gl.create(admin_token, name="public", visibility="public")
    await assert_glance_error(await gl.request("POST", f"/images/{public['id']}/members", admin_token,
                                               json={"member": ids["b"]}), 403, "Only shared images have members.")
    listed = await _members(gl, t["a"], image)
    assert [m["member_id"] for m in (await listed.json())["members"]] == [ids["b"]]


async def test_only_the_owner_removes_a_member_and_access_goes(gl, share):  # noqa: F811
    image, t, ids = share["image"], share["tokens"], share["ids"]
    url = f"/images/{image}/members/{ids['b']}"
    await assert_glance_error(await gl.request("DELETE", url, t["b"]), 403, "Not allowed to delete members")
    await assert_glance_error(await gl.request("DELETE", url, t["c"]), 404)
    await assert_glance_error(await gl.request("DELETE", f"/images/{image}/members/nobody", t["a"]), 404)
    gone = await gl.request("DELETE", url, t["a"])
    assert gone.status == 204 and await gone.read() == b""
    await assert_glance_error(await gl.request("GET", f"/images/{image}", t["b"]), 404)
    await assert_glance_error(await _members(gl, t["a"], image, f"/{ids['b']}"), 404)


async def test_a_reader_reads_members_but_changes_none(gl, share, make_user):  # noqa: F811
    image, ids = share["image"], share["ids"]
    reader = await make_user("proj-a", "reader")
    assert (await _members(gl, reader, image)).status == 200
    resp = await gl.request("POST", f"/images/{image}/members", reader, json={"member": "x"})
    await assert_glance_error(resp, 403)
    await assert_glance_error(await gl.request("DELETE", f"/images/{image}/members/{ids['b']}", reader), 403)


async def test_the_list_shows_an_accepted_share_and_follows_member_status(gl, share):  # noqa: F811
    image, t, ids = share["image"], share["tokens"], share["ids"]
    assert image not in await _listed(gl, t["b"])  # pending: not listed by default
    assert await _listed(gl, t["b"], "?member_status=pending") == [image]
    assert await _listed(gl, t["b"], "?member_status=all&visibility=shared") == [image]
    assert await _listed(gl, t["a"], "?visibility=shared") == [image]  # the owner's own shared image
    await gl.request("PUT", f"/images/{image}/members/{ids['b']}", t["b"], json={"status": "accepted"})
    assert image in await _listed(gl, t["b"])
    assert await _listed(gl, t["b"], "?visibility=shared") == [image]
    assert await _listed(gl, t["b"], "?visibility=private") == []
    await gl.request("PUT", f"/images/{image}/members/{ids['b']}", t["b"], json={"status": "rejected"})
    assert image not in await _listed(gl, t["b"])  # Glance: rejected hides it from the list ...
    assert await _listed(gl, t["b"], "?member_status=rejected") == [image]
    shown = await gl.request("GET", f"/images/{image}", t["b"])  # ... not from show
    assert shown.status == 200
    assert image not in await _listed(gl, t["c"], "?member_status=all")
    await assert_glance_error(await gl.request("GET", "/images?member_status=maybe", t["b"]), 400,
                              "Invalid status: maybe")


async def test_a_member_may_not_change_the_image(gl, share):  # noqa: F811
    image, t = share["image"], share["tokens"]
    resp = await patch(gl, t["b"], image, {"op": "replace", "path": "/name", "value": "mine"})
    await assert_glance_error(resp, 403)
    await assert_glance_error(await gl.request("DELETE", f"/images/{image}", t["b"]), 403)


async def test_member_schemas(gl, share):  # noqa: F811
    for name in ("member", "members"):
        resp = await gl.request("GET", f"/schemas/{name}", share["tokens"]["c"])
        assert resp.status == 200
        assert (await resp.json())["name"] == name
    member = (await (await gl.request("GET", "/schemas/member", share["tokens"]["c"])).json())
    assert set(member["properties"]) == MEMBER_KEYS
    assert member["properties"]["status"]["enum"] == ["pending", "accepted", "rejected"]


async def test_a_member_boots_the_shared_image(cloud: Cloud):  # noqa: F811
    owner = await cloud.user("sharer", "member", "carol")
    image_id = await upload_raw_image(cloud.app, owner)
    boot = {"server": {"name": "shared", "imageRef": image_id, "flavorRef": "42", "networks": "none"}}
    refused = await cloud.call("POST", "/servers", cloud.member, boot)
    assert refused.status == 400, await refused.text()  # not shared yet: Nova's "Can not find requested image"
    headers = {"X-Auth-Token": owner, "Content-Type": "application/openstack-images-v2.1-json-patch"}
    made = await cloud.api.client.patch(f"/image/v2/images/{image_id}", headers=headers,
                                        json=[{"op": "replace", "path": "/visibility", "value": "shared"}])
    assert made.status == 200, await made.text()
    demo = project_id(cloud.api, "demo")
    added = await cloud.api.client.post(f"/image/v2/images/{image_id}/members", headers={"X-Auth-Token": owner},
                                        json={"member": demo})
    assert added.status == 200, await added.text()
    booted = await cloud.call("POST", "/servers", cloud.member, boot)
    assert booted.status == 202, await booted.text()
    await cloud.idle()
    assert cloud.row((await booted.json())["server"]["id"]).vm_state == states.ACTIVE


async def test_k5_rejected_member_still_lists_and_uses_the_image(api, gl, share):  # noqa: F811
    """D61: at /k5/image a `rejected` member still lists the shared image (only removing the member revokes it);
    the core's face hides it; a pending one is listed by neither; a volume is made from it through /k5."""
    from nodecompute.api.keys import block_storage_key

    image, t, ids = share["image"], share["tokens"], share["ids"]

    async def k5_listed(token, query=""):
        resp = await api.client.get(f"/k5/image/v2/images{query}", headers={"X-Auth-Token": token})
        assert resp.status == 200, await resp.text()
        return [i["id"] for i in (await resp.json())["images"]]

    assert image not in await k5_listed(t["b"])  # pending
    await gl.request("PUT", f"/images/{image}/members/{ids['b']}", t["b"], json={"status": "rejected"})
    assert image in await k5_listed(t["b"])
    assert image not in await _listed(gl, t["b"])
    assert await k5_listed(t["b"], "?member_status=accepted") == []  # an explicit filter is still Glance's
    assert image not in await k5_listed(t["c"])
    owned = await upload_raw_image(api.client.server.app, t["a"])
    made = await patch(gl, t["a"], owned, {"op": "replace", "path": "/visibility", "value": "shared"})
    assert made.status == 200, await made.text()
    added = await gl.request("POST", f"/images/{owned}/members", t["a"], json={"member": ids["b"]})
    assert added.status == 200, await added.text()
    await gl.request("PUT", f"/images/{owned}/members/{ids['b']}", t["b"], json={"status": "rejected"})
    volume = await api.client.post(f"/k5/volume/v2/{ids['b']}/volumes", headers={"X-Auth-Token": t["b"]},
                                   json={"volume": {"size": 1, "imageRef": owned}})
    assert volume.status == 202, await volume.text()
    await api.client.server.app[block_storage_key].wait_idle()
    shown = await api.client.get(f"/k5/volume/v2/{ids['b']}/volumes/{(await volume.json())['volume']['id']}",
                                 headers={"X-Auth-Token": t["b"]})
    assert (await shown.json())["volume"]["status"] == "available"


async def test_the_member_quota_is_413(gl, share, monkeypatch):  # noqa: F811
    from nodecompute.compute import image_members

    monkeypatch.setattr(image_members, "MAX_MEMBERS", 1)
    image, t = share["image"], share["tokens"]
    resp = await gl.request("POST", f"/images/{image}/members", t["a"], json={"member": "one-too-many"})
    await assert_glance_error(resp, 413, "Maximum: 1")
    listed = await _members(gl, t["a"], image)
    assert len((await listed.json())["members"]) == 1


async def test_making_the_image_private_again_takes_access_away(gl, share):  # noqa: F811
    image, t, ids = share["image"], share["tokens"], share["ids"]
    await gl.request("PUT", f"/images/{image}/members/{ids['b']}", t["b"], json={"status": "accepted"})
    made = await patch(gl, t["a"], image, {"op": "replace", "path": "/visibility", "value": "private"})
    assert made.status == 200, await made.text()
    await assert_glance_error(await gl.request("GET", f"/images/{image}", t["b"]), 404)
    assert image not in await _listed(gl, t["b"], "?member_status=all")
    resp = await gl.request("DELETE", f"/images/{image}/members/{ids['b']}", t["a"])
    await assert_glance_error(resp, 403, f"Not allowed to delete members for image {image}.")


async def test_an_image_made_without_a_visibility_is_shared_and_takes_members(api, gl, make_user):  # noqa: F811
    """Glance's default since image API 2.5: `shared` (Tempest's member tests add a member to such an image)."""
    owner, other = await make_user("proj-a", "member"), await make_user("proj-b", "member")
    image = await gl.create(owner, name="default")
    assert image["visibility"] == "shared"
    assert (await gl.request("GET", f"/images/{image['id']}", other)).status == 404  # nobody else sees it yet
    added = await gl.request("POST", f"/images/{image['id']}/members", owner,
                             json={"member": project_id(api, "proj-b")})
    assert added.status == 200, await added.text()
