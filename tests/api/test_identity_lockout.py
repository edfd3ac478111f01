"""Keystone's account lockout: [identity] lockout_failure_attempts / lockout_duration, off by default."""
from __future__ import annotations

import dataclasses

import pytest

from nodecompute.__main__ import main
from nodecompute.app import create_app, store_key
from tests.api.helpers import Api, assert_keystone_error


def _body(user: str, password: str, project: str = "demo") -> dict:
    return {"auth": {"identity": {"methods": ["password"], "password": {"user": {
        "name": user, "domain": {"id": "default"}, "password": password}}},
        "scope": {"project": {"name": project, "domain": {"id": "default"}}}}}


async def _attempt(api: Api, user: str, password: str, project: str = "demo"):
    return await api.client.post("/identity/v3/auth/tokens", json=_body(user, password, project))


@pytest.fixture
async def locking_api(aiohttp_client, cfg) -> Api:
    identity = dataclasses.replace(cfg.identity, lockout_failure_attempts=3, lockout_duration=600)
    client = await aiohttp_client(create_app(dataclasses.replace(cfg, identity=identity), with_servers=False))
    return Api(client)


async def _user_id(api: Api, name: str) -> str:
    store = api.client.server.app[store_key]
    return store.reader.execute("SELECT id FROM users WHERE name = ?", [name]).fetchone()[0]


async def test_off_by_default(api, make_user):
    await make_user("demo", "member", name="alice")
    for _ in range(8):
        await assert_keystone_error(await _attempt(api, "alice", "wrong"), 401)
    assert (await _attempt(api, "alice", "pw-alice")).status == 201


async def test_locked_after_the_limit_even_with_the_right_password(locking_api, make_user):
    api = locking_api
    await make_user("demo", "member", name="alice")
    await make_user("demo", "member", name="bob")
    for _ in range(2):
        await assert_keystone_error(await _attempt(api, "alice", "wrong"), 401, "requires authentication")
    assert (await _attempt(api, "alice", "pw-alice")).status == 201  # a success clears the count
    for _ in range(3):
        await assert_keystone_error(await _attempt(api, "alice", "wrong"), 401, "requires authentication")
    alice = await _user_id(api, "alice")
    locked = f"The account is locked for user: {alice}."
    error = await assert_keystone_error(await _attempt(api, "alice", "pw-alice"), 401)
    assert error["message"] == locked
    v2 = {"auth": {"passwordCredentials": {"username": "alice", "password": "pw-alice"}, "tenantName": "demo"}}
    error = await assert_keystone_error(await api.client.post("/identity/v2.0/tokens", json=v2), 401)
    assert error["message"] == locked
    assert (await _attempt(api, "bob", "pw-bob")).status == 201


async def test_lockout_expires_and_enable_lifts_it(locking_api, make_user, cfg_file):
    api = locking_api
    await make_user("demo", "member", name="alice")
    store = api.client.server.app[store_key]
    for _ in range(3):
        await _attempt(api, "alice", "wrong")
    await assert_keystone_error(await _attempt(api, "alice", "pw-alice"), 401, "locked")
    await store.write(lambda db: db.execute("UPDATE users SET failed_auth_at = '2000-01-01T00:00:00.000000'"))
    assert (await _attempt(api, "alice", "pw-alice")).status == 201
    for _ in range(3):
        await _attempt(api, "alice", "wrong")
    await assert_keystone_error(await _attempt(api, "alice", "pw-alice"), 401, "locked")
    assert main(["--config", str(cfg_file), "user", "enable", "alice"]) == 0
    assert (await _attempt(api, "alice", "pw-alice")).status == 201


async def test_expired_lockout_starts_the_count_over(locking_api, make_user):
    api = locking_api
    await make_user("demo", "member", name="alice")
    store = api.client.server.app[store_key]
    for _ in range(3):
        await _attempt(api, "alice", "wrong")
    await store.write(lambda db: db.execute("UPDATE users SET failed_auth_at = '2000-01-01T00:00:00.000000'"))
    await _attempt(api, "alice", "wrong")  # one failure after the lockout ran out: not locked again
    assert (await _attempt(api, "alice", "pw-alice")).status == 201


async def test_bootstrap_admin_is_never_locked(locking_api):
    api = locking_api
    for _ in range(5):
        await assert_keystone_error(await _attempt(api, "admin", "wrong", "admin"), 401, "requires authentication")
    assert (await _attempt(api, "admin", "admin-secret", "admin")).status == 201
