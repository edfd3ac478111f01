"""OS-DCF:diskConfig as Nova's compute API sets it (domain/disk_config.py), on libvirt's test driver through the whole
app: a create takes the request's or the image's (`auto_disk_config` read as oslo's bool_from_string), a rebuild
without one takes the new image's, a resize makes it AUTO only when asked (Tempest's test_disk_config), and AUTO for
an image that says `auto_disk_config=disabled` is Nova's 400 AutoDiskConfigDisabledByImage with nothing changed."""
from __future__ import annotations

import pytest

from nodecompute.api.keys import identity_key, images_key
from nodecompute.app import store_key
from nodecompute.db import servers as servers_db
from tests.api.test_server_actions_part1 import Cloud, cloud  # noqa: F401 (the fixture)


async def _image(cloud: Cloud, **properties: str) -> str:
    ctx = cloud.app[identity_key].validate(cloud.member)
    images = cloud.app[images_key]
    image = await images.create(ctx, {"name": "dcf", "disk_format": "raw", "container_format": "bare"},
                                properties, [])

    async def chunks():
        yield b"\0" * (1 << 20)

    await images.upload(ctx, image.id, chunks())
    return image.id


async def _create(cloud: Cloud, image_id: str, **extra) -> tuple[int, dict]:
    body = {"server": {"name": "vm", "imageRef": image_id, "flavorRef": "42", "networks": "none", **extra}}
    resp = await cloud.call("POST", "/servers", cloud.member, body)
    await cloud.idle()
    return resp.status, await resp.json()


async def _disk_config(cloud: Cloud, server_id: str) -> str:
    resp = await cloud.call("GET", f"/servers/{server_id}", cloud.member)
    return (await resp.json())["server"]["OS-DCF:diskConfig"]


def _disabled(image_id: str) -> dict:
    return {"code": 400, "message": f"Requested image {image_id} has automatic disk resize disabled."}


@pytest.fixture
async def big(cloud):  # noqa: F811
    for flavor_id, disk in (("dcf-big", 2), ("dcf-bigger", 3)):
        body = {"flavor": {"name": flavor_id, "ram": 256, "vcpus": 2, "disk": disk, "id": flavor_id}}
        resp = await cloud.call("POST", "/flavors", cloud.admin, body)
        assert resp.status == 200, await resp.text()
    return cloud


async def test_a_create_takes_the_requests_or_the_images_disk_config(cloud):  # noqa: F811
    for value, expected in (("yes", "AUTO"), ("True", "AUTO"), (" 1 ", "AUTO"), ("false", "MANUAL"),
                            ("disabled", "MANUAL")):
        status, body = await _create(cloud, await _image(cloud, auto_disk_config=value))
        assert status == 202, body
        assert await _disk_config(cloud, body["server"]["id"]) == expected, value
    status, body = await _create(cloud, await _image(cloud, auto_disk_config="true"), **{"OS-DCF:diskConfig": "MANUAL"})
    assert await _disk_config(cloud, body["server"]["id"]) == "MANUAL"


async def test_auto_for_an_image_that_disables_it_is_refused_and_makes_nothing(cloud):  # noqa: F811
    image_id = await _image(cloud, auto_disk_config="Disabled")
    before = len(cloud.app[store_key].read(servers_db.list_all_live))
    status, body = await _create(cloud, image_id, **{"OS-DCF:diskConfig": "AUTO"})
    assert (status, body) == (400, {"badRequest": _disabled(image_id)})
    assert len(cloud.app[store_key].read(servers_db.list_all_live)) == before


async def test_a_rebuild_without_one_takes_the_new_images(cloud):  # noqa: F811
    status, body = await _create(cloud, cloud.image, **{"OS-DCF:diskConfig": "AUTO"})
    server_id = body["server"]["id"]
    await cloud.act(server_id, {"rebuild": {"imageRef": cloud.image}})
    assert await _disk_config(cloud, server_id) == "MANUAL"  # the image has no auto_disk_config
    auto = await _image(cloud, auto_disk_config="true")
    await cloud.act(server_id, {"rebuild": {"imageRef": auto}})
    assert await _disk_config(cloud, server_id) == "AUTO"
    await cloud.act(server_id, {"rebuild": {"imageRef": auto, "OS-DCF:diskConfig": "MANUAL"}})
    assert await _disk_config(cloud, server_id) == "MANUAL"
    disabled = await _image(cloud, auto_disk_config="disabled")
    resp = await cloud.call("POST", f"/servers/{server_id}/action", cloud.member,
                            {"rebuild": {"imageRef": disabled, "OS-DCF:diskConfig": "AUTO"}})
    assert (resp.status, await resp.json()) == (400, {"badRequest": _disabled(disabled)})
    row = cloud.row(server_id)
    assert (row.image_id, row.task_state, row.disk_config) == (auto, None, "MANUAL")


async def test_a_resize_makes_it_auto_only_when_asked(big):  # noqa: F811
    cloud = big
    status, body = await _create(cloud, cloud.image)
    server_id = body["server"]["id"]
    await cloud.act(server_id, {"resize": {"flavorRef": "dcf-big", "OS-DCF:diskConfig": "AUTO"}})
    await cloud.act(server_id, {"confirmResize": None}, status=204)
    assert await _disk_config(cloud, server_id) == "AUTO"
    await cloud.act(server_id, {"resize": {"flavorRef": "dcf-bigger"}})  # not asked: MANUAL again (Nova)
    await cloud.act(server_id, {"revertResize": None})
    assert (cloud.row(server_id).flavorid, await _disk_config(cloud, server_id)) == ("dcf-big", "MANUAL")


async def test_a_resize_to_auto_of_a_server_whose_image_disables_it_is_refused(big):  # noqa: F811
    cloud = big
    image_id = await _image(cloud, auto_disk_config="disabled")
    status, body = await _create(cloud, image_id)
    server_id = body["server"]["id"]
    resp = await cloud.call("POST", f"/servers/{server_id}/action", cloud.member,
                            {"resize": {"flavorRef": "dcf-big", "OS-DCF:diskConfig": "AUTO"}})
    assert (resp.status, await resp.json()) == (400, {"badRequest": _disabled(image_id)})
    row = cloud.row(server_id)
    assert (row.flavorid, row.task_state, row.vm_state, row.disk_config) == ("42", None, "active", "MANUAL")
    await cloud.act(server_id, {"resize": {"flavorRef": "dcf-big", "OS-DCF:diskConfig": "MANUAL"}})
    assert cloud.row(server_id).flavorid == "dcf-big"
