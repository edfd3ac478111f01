"""K5's compute image proxy (D52, D46, D14): `OS-EXT-IMG-SIZE:size` a string, the `type` filter (BASE, SERVER,
ALL), metadata changes on an image without a checksum 409, image metadata denied by role 500."""
from __future__ import annotations

import pytest

from nodecompute.api.keys import identity_key, images_key
from tests.api.helpers import assert_fault


def _k5(api, method, path, token, **kw):
    return api.client.request(method, f"/k5/v2{path}", headers={"X-Auth-Token": token}, **kw)


@pytest.fixture
async def images(api, admin_token):
    """A base image (with data, so a checksum), a server snapshot (with data), and a queued image (no checksum)."""
    app = api.client.server.app
    service, ctx = app[images_key], app[identity_key].validate(admin_token)

    async def chunks():
        yield b"\0" * 4096

    made = {}
    for name, properties, data in (("base", {}, True), ("snap", {"image_type": "snapshot"}, True),
                                   ("empty", {}, False)):
        image = await service.create(ctx, {"name": name, "disk_format": "raw", "container_format": "bare"},
                                     properties, [])
        if data:
            await service.upload(ctx, image.id, chunks())
        made[name] = image.id
    return made


async def _ids(api, token, query=""):
    resp = await _k5(api, "GET", f"/images/detail{query}", token)
    assert resp.status == 200, await resp.text()
    return {image["id"]: image for image in (await resp.json())["images"]}


async def test_size_is_a_string_and_the_type_filter(api, admin_token, images):
    listed = await _ids(api, admin_token)
    assert set(images.values()) <= set(listed)
    assert listed[images["base"]]["OS-EXT-IMG-SIZE:size"] == "4096"
    shown = (await (await _k5(api, "GET", f"/images/{images['base']}", admin_token)).json())["image"]
    assert shown["OS-EXT-IMG-SIZE:size"] == "4096"
    core = (await (await api.get(f"/images/{images['base']}", admin_token)).json())["image"]
    assert core["OS-EXT-IMG-SIZE:size"] == 4096
    assert images["snap"] in await _ids(api, admin_token, "?type=SERVER")
    assert images["base"] not in await _ids(api, admin_token, "?type=SERVER")
    base = await _ids(api, admin_token, "?type=base")
    assert images["base"] in base and images["snap"] not in base
    assert set(await _ids(api, admin_token, "?type=ALL")) == set(listed)
    # a page of one still finds the next base image past a server snapshot
    # (newest first: empty, snap, base)
    after = await _ids(api, admin_token, f"?type=BASE&limit=1&marker={images['empty']}")
    assert list(after) == [images["base"]]
    await assert_fault(await _k5(api, "GET", "/images/detail?type=snapshot", admin_token), 400, "badRequest")


async def test_metadata_needs_a_checksum(api, admin_token, images, make_user):
    body = {"metadata": {"k": "v"}}
    await assert_fault(await _k5(api, "POST", f"/images/{images['empty']}/metadata", admin_token, json=body), 409,
                       "conflictingRequest")
    await assert_fault(await _k5(api, "PUT", f"/images/{images['empty']}/metadata/k", admin_token,
                                 json={"meta": {"k": "v"}}), 409, "conflictingRequest")
    resp = await _k5(api, "POST", f"/images/{images['base']}/metadata", admin_token, json=body)
    assert resp.status == 200 and (await resp.json())["metadata"]["k"] == "v"
    # the openstack face changes it
    assert (await api.post(f"/images/{images['empty']}/metadata", admin_token, json=body)).status == 200
    reader = await make_user("admin", "reader")
    await assert_fault(await _k5(api, "DELETE", f"/images/{images['base']}/metadata/k", reader), 500,
                       "cloudServersFault")
