"""Server create against quotas, injection limits and host capacity (behaviour.md sections 2, 10, 11, 15):
each refusal is a Nova fault and creates nothing (no row, no instance directory, no domain); a multi-create is
clipped to what fits when min_count fits; a host that cannot take the server gives ERROR "No valid host was found".

Runs the whole app on libvirt's test driver (the build path is the real one; tests/integration boots QEMU).
"""
from __future__ import annotations

import base64
import dataclasses

import pytest

from nodecompute.api.keys import images_key, servers_key, store_key
from nodecompute.app import create_app
from nodecompute.db import servers as sdb
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
    assert api.client.server.app[store_key].read(sdb.list_all_live) == []


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
        names = {s.instance_name for s in service.store.read(sdb.list_all_live) if s.name == "no-room"}
        assert names and not names & set(await service.guests.hv.list_ours())
    finally:
        for server in service.store.read(sdb.list_all_live):
            await service.guests.destroy(server.uuid, server.instance_name)


@pytest.fixture
def make_user_on(cfg):
    from nodecompute.db import identity as idb
    from nodecompute.identity import accounts

    async def make(api: Api, project: str) -> str:
        store = api.client.server.app[store_key]

        def create(db):
            if idb.find_project(db, project) is None:
                idb.create_project(db, project)
            return accounts.create_user(db, cfg, "capacity-user", project, "member", "pw-capacity")

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
