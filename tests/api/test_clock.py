"""The clock is injected (create_app(clock=...)) and reaches every service: rows, tokens, views and expiry follow it,
never the wall clock. A test moves it instead of waiting."""
from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from nodecompute.api.keys import servers_key
from nodecompute.app import create_app
from nodecompute.db import servers as servers_db
from tests.api.helpers import Api, assert_keystone_error, upload_raw_image

START = datetime(2031, 2, 3, 4, 5, 6, 789000)


class MovableClock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def move(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
async def clocked(aiohttp_client, cfg):
    clock = MovableClock(START)
    client = await aiohttp_client(create_app(cfg, clock=clock))
    yield Api(client), clock
    service = client.server.app[servers_key]
    await service.wait_idle()
    for server in service.store.read(servers_db.list_all_live):  # test:///default is shared by the process
        await service.guests.destroy(server.uuid, server.instance_name)


async def test_tokens_expire_by_the_injected_clock(clocked, cfg):
    api, clock = clocked
    token = await api.token("admin", "admin-secret", "admin")
    resp = await api.client.get("/identity/v3/auth/tokens", headers={"X-Auth-Token": token, "X-Subject-Token": token})
    body = await resp.json()
    assert body["token"]["issued_at"].startswith("2031-02-03T04:05:06")
    assert (await api.get("/flavors", token)).status == 200
    clock.move(seconds=cfg.identity.token_ttl - 1)
    assert (await api.get("/flavors", token)).status == 200
    clock.move(seconds=2)
    await assert_keystone_error(await api.get("/flavors", token), 401)  # keystonemiddleware's 401


async def test_rows_and_views_carry_the_injected_time(clocked):
    api, clock = clocked
    admin = await api.token("admin", "admin-secret", "admin")
    image = await upload_raw_image(api.client.server.app, admin)
    resp = await api.post("/os-keypairs", admin, json={"keypair": {"name": "k"}})
    assert resp.status == 200, await resp.text()
    resp = await api.get("/os-keypairs/k", admin)
    assert (await resp.json())["keypair"]["created_at"] == "2031-02-03T04:05:06.789000"
    resp = await api.post("/servers", admin, json={"server": {"name": "vm", "imageRef": image, "flavorRef": "42"}})
    server_id = (await resp.json())["server"]["id"]
    clock.move(minutes=5)
    await api.client.server.app[servers_key].wait_idle()
    shown = (await (await api.get(f"/servers/{server_id}", admin)).json())["server"]
    assert shown["created"] == "2031-02-03T04:05:06Z"
    assert (shown["updated"], shown["OS-SRV-USG:launched_at"]) == ("2031-02-03T04:10:06Z",
                                                                  "2031-02-03T04:10:06.789000")
    zones = (await (await api.get("/os-availability-zone/detail", admin)).json())["availabilityZoneInfo"]
    assert zones[0]["hosts"][next(iter(zones[0]["hosts"]))]["nova-conductor"]["updated_at"] == \
        "2031-02-03T04:10:06.789000"
    clock.move(hours=1)
    admin = await api.token("admin", "admin-secret", "admin")  # the first one expired an hour later
    assert (await api.delete(f"/servers/{server_id}", admin)).status == 204
    since = (await (await api.get("/servers/detail?changes-since=2031-02-03T05:00:00Z", admin)).json())["servers"]
    assert [(s["id"], s["status"], s["updated"]) for s in since] == [(server_id, "DELETED", "2031-02-03T05:10:06Z")]
