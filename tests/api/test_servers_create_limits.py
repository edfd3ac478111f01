"""Server create against quotas, injection limits and host capacity (behaviour.md sections 2, 10, 11, 15):
each refusal is a Nova fault and creates nothing (no row, no instance directory, no domain); a multi-create is
clipped to what fits when min_count fits; a host that cannot take the server gives ERROR "No valid host was found".

Runs the whole app on libvirt's test driver (the build path is the real one; tests/integration boots QEMU).
"""
from __future__ import annotations

import base64
import dataclasses
import json
import subprocess

import pytest

from nodecompute.domain.models import utcnow
from nodecompute.api.keys import images_key, servers_key
from nodecompute.app import create_app, store_key
from nodecompute.db import servers as servers_db
from tests.api.helpers import Api, assert_fault
from tests.api.test_servers_api import (  # noqa: F401 (api, servers_api, image_id are fixtures)
    _create_body, _project_id, _wait_idle, api, image_id, servers_api)


async def _set_quota(api: Api, admin_token: str, project_id: str, **values) -> None:
    resp = await api.put(f"/os-quota-sets/{project_id}", admin_token, json={"quota_set": values})
    assert resp.status == 200, await resp.text()


async def _nothing_created(api: Api, token: str, cfg) -> None:
    resp = await api.get("/servers/detail", token)
    assert (await resp.json())["servers"] == []
    instances = cfg.instances_dir
    assert not instances.exists() or [p.name for p in instances.iterdir() if p.name != "_base"] == []
    assert api.client.server.app[store_key].read(servers_db.list_all_live) == []


@pytest.mark.parametrize("quota, body, message", [
    ({"instances": 1}, {"min_count": 2, "max_count": 2},
     "Quota exceeded for instances: Requested 2, but already used 0 of 1 instances"),
    ({"cores": 1}, {"min_count": 2, "max_count": 3},
     "Quota exceeded for cores: Requested 2, but already used 0 of 1 cores"),
    ({"ram": 200}, {"min_count": 2},
     "Quota exceeded for ram: Requested 256, but already used 0 of 200 ram"),
])
async def test_quota_refusal_creates_nothing(api, make_user, admin_token, cfg, image_id, quota, body, message):
    token = await make_user("proj-a", "member")
    await _set_quota(api, admin_token, _project_id(api, "proj-a"), **quota)
    resp = await api.post("/servers", token, json=_create_body(imageRef=image_id, **body))
    await assert_fault(resp, 403, "forbidden", message)
    await _nothing_created(api, token, cfg)


async def test_quota_counts_existing_servers(api, make_user, admin_token, image_id):
    token = await make_user("proj-a", "member")
    await _set_quota(api, admin_token, _project_id(api, "proj-a"), instances=1)
    assert (await api.post("/servers", token, json=_create_body(imageRef=image_id))).status == 202
    await _wait_idle(api)
    await assert_fault(await api.post("/servers", token, json=_create_body(imageRef=image_id, name="second")), 403,
                       "forbidden", "Quota exceeded for instances: Requested 1, but already used 1 of 1 instances")


async def test_multi_create_is_clipped_to_what_fits(api, make_user, admin_token, image_id):
    token = await make_user("proj-a", "member")
    await _set_quota(api, admin_token, _project_id(api, "proj-a"), instances=2)
    resp = await api.post("/servers", token, json=_create_body(imageRef=image_id, min_count=1, max_count=5,
                                                               return_reservation_id=True))
    assert resp.status == 202, await resp.text()
    reservation = (await resp.json())["reservation_id"]
    listed = (await (await api.get(f"/servers?reservation_id={reservation}", token)).json())["servers"]
    assert sorted(s["name"] for s in listed) == ["vm-1", "vm-2"]


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


@pytest.mark.parametrize("fields, message", [
    ({"metadata": {f"k{n}": "v" for n in range(129)}},
     "Quota exceeded for metadata_items: Requested 129, but already used 0 of 128 metadata_items"),
    ({"personality": [{"path": f"/etc/f{n}", "contents": _b64(b"x")} for n in range(6)]},
     "Personality file limit exceeded"),
    ({"personality": [{"path": "/etc/big", "contents": _b64(b"x" * 10241)}]},
     "Personality file content exceeds maximum 10240"),
    ({"personality": [{"path": "/" + "p" * 255, "contents": _b64(b"x")}]},
     "Personality file path exceeds maximum 255"),
])
async def test_injection_limits_refuse_and_create_nothing(api, make_user, cfg, image_id, fields, message):
    token = await make_user("proj-a", "member")
    resp = await api.post("/servers", token, json=_create_body(imageRef=image_id, **fields))
    await assert_fault(resp, 403, "forbidden", message)
    await _nothing_created(api, token, cfg)


async def test_injection_limits_at_the_edge_are_accepted(api, make_user, image_id):
    token = await make_user("proj-a", "member")
    fields = {"metadata": {f"k{n}": "v" for n in range(128)},
              "personality": [{"path": "/" + "p" * 254, "contents": _b64(b"x" * 10240)}] +
                             [{"path": f"/etc/f{n}", "contents": _b64(b"x")} for n in range(4)]}
    resp = await api.post("/servers", token, json=_create_body(imageRef=image_id, **fields))
    assert resp.status == 202, await resp.text()


@pytest.fixture
def small_host_cfg(cfg):
    """A host with room for one m1.nano (128 MB) only."""
    return dataclasses.replace(cfg, compute=dataclasses.replace(cfg.compute, max_memory_mb=200))


async def test_full_host_gives_error_no_valid_host(aiohttp_client, small_host_cfg, make_user_on, image_on):
    client = await aiohttp_client(create_app(small_host_cfg))
    api = Api(client)
    token = await make_user_on(api, "proj-a")
    image = await image_on(api, token)
    first = await api.post("/servers", token, json=_create_body(imageRef=image, name="fits"))
    second = await api.post("/servers", token, json=_create_body(imageRef=image, name="no-room"))
    assert first.status == 202 and second.status == 202
    service = client.server.app[servers_key]
    await service.wait_idle()
    try:
        shown = {}
        for resp in (first, second):
            server_id = (await resp.json())["server"]["id"]
            shown[server_id] = (await (await api.get(f"/servers/{server_id}", token)).json())["server"]
        statuses = sorted((s["name"], s["status"]) for s in shown.values())
        assert statuses == [("fits", "ACTIVE"), ("no-room", "ERROR")]
        failed = next(s for s in shown.values() if s["name"] == "no-room")
        assert failed["fault"]["code"] == 500
        assert failed["fault"]["message"] == "No valid host was found. There are not enough hosts available."
        assert not (small_host_cfg.instances_dir / failed["id"]).exists()
        names = {s.instance_name for s in service.store.read(servers_db.list_all_live) if s.name == "no-room"}
        assert names and not names & set(await service.guests.hv.list_ours())
    finally:
        for server in service.store.read(servers_db.list_all_live):
            await service.guests.destroy(server.uuid, server.instance_name)


@pytest.fixture
def make_user_on(cfg):
    from nodecompute.db import identity as identity_db
    from nodecompute.identity import accounts

    async def make(api: Api, project: str) -> str:
        store = api.client.server.app[store_key]

        def create(db):
            if identity_db.find_project(db, project) is None:
                identity_db.create_project(db, project, now=utcnow())
            return accounts.create_user(db, cfg, "capacity-user", project, "member", "pw-capacity", now=utcnow())

        await store.write(create)
        return await api.token("capacity-user", "pw-capacity", project)
    return make


@pytest.fixture
def image_on():
    from nodecompute.api.keys import identity_key

    async def make(api: Api, token: str) -> str:
        app = api.client.server.app
        ctx = app[identity_key].validate(token)
        images = app[images_key]
        image = await images.create(ctx, {"name": "tiny", "disk_format": "raw", "container_format": "bare"}, {}, [])

        async def chunks():
            yield b"\0" * (1 << 20)

        await images.upload(ctx, image.id, chunks())
        return image.id
    return make


# ----- flavors with zero disk, and the host's disk -----------------------------------------------------------------

ZERO_DISK_REFUSAL = "Only volume-backed servers are allowed for flavors with zero disk."
GIB = 1 << 30


async def _flavor(api: Api, admin_token: str, name: str, disk: int, **extra) -> str:
    body = {"flavor": {"name": name, "ram": 64, "vcpus": 1, "disk": disk, **extra}}
    resp = await api.post("/flavors", admin_token, json=body)
    assert resp.status == 200, await resp.text()
    return (await resp.json())["flavor"]["id"]


async def _qcow2_image(api: Api, token: str, tmp_path, virtual_size: int) -> str:
    """An active qcow2 image of `virtual_size` bytes (a few hundred KiB of metadata on disk)."""
    from nodecompute.api.keys import identity_key

    path = tmp_path / "sparse.qcow2"
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", str(path), str(virtual_size)], check=True)
    app = api.client.server.app
    ctx = app[identity_key].validate(token)
    images = app[images_key]
    image = await images.create(ctx, {"name": "sparse", "disk_format": "qcow2", "container_format": "bare",
                                      "visibility": "public"}, {}, [])

    async def chunks():
        yield path.read_bytes()

    await images.upload(ctx, image.id, chunks())
    return image.id


async def test_zero_disk_flavor_refuses_image_backed_servers_of_members(api, make_user, admin_token, cfg, image_id):
    """Nova's os_compute_api:servers:create:zero_disk_flavor (admin only): a member could otherwise boot an image of
    any virtual size on a public flavor with disk 0."""
    flavor = await _flavor(api, admin_token, "zero.disk", 0)
    token = await make_user("proj-a", "member")
    resp = await api.post("/servers", token, json=_create_body(imageRef=image_id, flavorRef=flavor))
    await assert_fault(resp, 403, "forbidden", ZERO_DISK_REFUSAL)
    await _nothing_created(api, token, cfg)


@pytest.fixture
def small_disk_cfg(cfg):
    """A host whose instances may hold 1 GiB of disk in all."""
    return dataclasses.replace(cfg, compute=dataclasses.replace(cfg.compute, max_disk_gb=1))


async def test_host_room_counts_disk_and_the_images_size_for_zero_disk_flavors(aiohttp_client, small_disk_cfg,
                                                                               tmp_path):
    client = await aiohttp_client(create_app(small_disk_cfg))
    api = Api(client)
    admin = await api.token("admin", "admin-secret", "admin")
    zero = await _flavor(api, admin, "zero.disk", 0)
    swap = await _flavor(api, admin, "swap.only", 0, swap=512)
    big = await _qcow2_image(api, admin, tmp_path, 2 * GIB)  # virtual size beyond the host's disk
    small = await _qcow2_image(api, admin, tmp_path, 256 << 20)
    service = client.server.app[servers_key]

    async def boot(name: str, image: str, flavor: str) -> dict:
        resp = await api.post("/servers", admin, json=_create_body(name=name, imageRef=image, flavorRef=flavor))
        assert resp.status == 202, await resp.text()
        await service.wait_idle()
        server_id = (await resp.json())["server"]["id"]
        return (await (await api.get(f"/servers/{server_id}", admin)).json())["server"]

    try:
        too_big = await boot("too-big", big, zero)  # an admin may use the flavor: the root disk is the image's size
        assert too_big["status"] == "ERROR", too_big
        assert too_big["fault"]["message"] == "No valid host was found. There are not enough hosts available."
        assert not (small_disk_cfg.instances_dir / too_big["id"]).exists()
        fits = await boot("fits", small, zero)  # 256 MiB of the 1 GiB
        assert fits["status"] == "ACTIVE", fits
        overlay = small_disk_cfg.instances_dir / fits["id"] / "disk"
        info = json.loads(subprocess.run(["qemu-img", "info", "--output=json", str(overlay)], check=True,
                                         capture_output=True, text=True).stdout)
        assert info["virtual-size"] == 256 << 20
        assert (await boot("also-fits", small, swap))["status"] == "ACTIVE"  # 256 MiB root + 512 MiB swap
        full = await boot("full", small, zero)  # another 256 MiB: 1.25 GiB in all
        assert full["status"] == "ERROR" and "No valid host" in full["fault"]["message"], full
    finally:
        for server in service.store.read(servers_db.list_all_live):
            await service.guests.destroy(server.uuid, server.instance_name)


async def test_host_room_counts_flavor_disks(aiohttp_client, small_disk_cfg, make_user_on, image_on):
    client = await aiohttp_client(create_app(small_disk_cfg))
    api = Api(client)
    token = await make_user_on(api, "proj-a")
    image = await image_on(api, token)
    service = client.server.app[servers_key]
    ids = []
    for name in ("first", "second"):  # m1.nano: 1 GB of disk each
        resp = await api.post("/servers", token, json=_create_body(imageRef=image, name=name))
        assert resp.status == 202, await resp.text()
        ids.append((await resp.json())["server"]["id"])
    await service.wait_idle()
    try:
        shown = [(await (await api.get(f"/servers/{i}", token)).json())["server"] for i in ids]
        assert [(s["name"], s["status"]) for s in shown] == [("first", "ACTIVE"), ("second", "ERROR")]
        assert "No valid host" in shown[1]["fault"]["message"]
    finally:
        for server in service.store.read(servers_db.list_all_live):
            await service.guests.destroy(server.uuid, server.instance_name)
