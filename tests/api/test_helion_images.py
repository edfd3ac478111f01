"""Helion's compute image proxy (issue 24 slice 4; dialects.md D46, D52): `OS-EXT-IMG-SIZE:size` an integer
(seed 002 line 8381), image metadata writes and delete 403 for a project that does not own the image."""
from __future__ import annotations

from nodecompute.api.keys import identity_key
from tests.api.helpers import assert_fault, upload_raw_image


async def test_image_size_and_metadata_for_owners_only(api, admin_token, make_user):
    app = api.client.server.app
    image = await upload_raw_image(app, admin_token, size=4096)
    resp = await api.client.patch(f"/image/v2/images/{image}", headers={
        "X-Auth-Token": admin_token, "Content-Type": "application/openstack-images-v2.1-json-patch"},
        json=[{"op": "replace", "path": "/visibility", "value": "public"}])
    assert resp.status == 200, await resp.text()
    owner = app[identity_key].validate(admin_token).project_id
    other = await make_user("helion-img", "member")
    other_project = app[identity_key].validate(other).project_id

    def helion(method, project, token, path, **kw):
        return api.client.request(method, f"/helion/v2/{project}{path}", headers={"X-Auth-Token": token}, **kw)

    shown = (await (await helion("GET", owner, admin_token, f"/images/{image}")).json())["image"]
    assert shown["OS-EXT-IMG-SIZE:size"] == 4096
    assert (await helion("GET", other_project, other, f"/images/{image}/metadata")).status == 200
    for method, path, body in (("POST", "/metadata", {"metadata": {"k": "v"}}),
                               ("PUT", "/metadata", {"metadata": {"k": "v"}}),
                               ("PUT", "/metadata/k", {"meta": {"k": "v"}}),
                               ("DELETE", "/metadata/k", None), ("DELETE", "", None)):
        resp = await helion(method, other_project, other, f"/images/{image}{path}", json=body)
        await assert_fault(resp, 403, "forbidden")
    resp = await helion("POST", owner, admin_token, f"/images/{image}/metadata", json={"metadata": {"k": "v"}})
    assert resp.status == 200 and (await resp.json())["metadata"]["k"] == "v"


async def test_metadata_item_takes_meta_or_a_metadata_wrapper_of_that_key(api, admin_token):
    """Seed 002 line 3770 (image item PUT, `meta`) and 2405 (server item PUT sends `metadata`): section 6 takes
    both when the wrapper holds exactly the URL's key."""
    image = await upload_raw_image(api.client.server.app, admin_token)
    project = api.client.server.app[identity_key].validate(admin_token).project_id
    path = f"/helion/v2/{project}/images/{image}/metadata/k"
    for body in ({"meta": {"k": "v1"}}, {"metadata": {"k": "v2"}}):
        resp = await api.client.put(path, headers={"X-Auth-Token": admin_token}, json=body)
        assert resp.status == 200, await resp.text()
        assert await resp.json() == {"meta": body[next(iter(body))]}
    resp = await api.client.put(path, headers={"X-Auth-Token": admin_token}, json={"metadata": {"k": "a", "j": "b"}})
    await assert_fault(resp, 400, "badRequest")


async def test_too_many_metadata_items_are_413_over_limit(api, admin_token, cfg):
    """D15: a metadata count over the limit is 413 overLimit (openstack: 403), server and image alike."""
    image = await upload_raw_image(api.client.server.app, admin_token)
    project = api.client.server.app[identity_key].validate(admin_token).project_id
    many = {"metadata": {f"k{n}": "v" for n in range(cfg.quota.metadata_items + 1)}}
    resp = await api.client.post(f"/helion/v2/{project}/images/{image}/metadata",
                                 headers={"X-Auth-Token": admin_token}, json=many)
    await assert_fault(resp, 413, "overLimit")
    await assert_fault(await api.post(f"/images/{image}/metadata", admin_token, json=many), 403, "forbidden")
