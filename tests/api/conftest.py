"""API fixtures: `api` is an aiohttp test client on the whole app (no libvirt needed for these resources)."""
from __future__ import annotations

import itertools

import pytest

from nodecompute import app as app_module
from nodecompute.app import create_app
from nodecompute.api.keys import store_key
from nodecompute.config import Config
from nodecompute.db import identity as idb
from nodecompute.identity import accounts
from tests.api.helpers import Api
from tests.api.network_fakes import RecordingHostNet

_names = itertools.count(1)


@pytest.fixture(autouse=True)
def hostnet(monkeypatch) -> RecordingHostNet:
    """Every app made in an API test gets this recording host side (networking on, nothing made on the host)
    unless the test hands create_app a hostnet_factory of its own."""
    fake = RecordingHostNet()
    monkeypatch.setattr(app_module, "_hostnet", lambda cfg: fake)
    return fake


@pytest.fixture
async def api(aiohttp_client, cfg: Config) -> Api:
    client = await aiohttp_client(create_app(cfg, with_servers=False))
    return Api(client)


@pytest.fixture
async def admin_token(api: Api) -> str:
    return await api.token("admin", "admin-secret", "admin")


@pytest.fixture
def make_user(api: Api, cfg: Config):
    """make_user(project_name, role) -> token of a new user with that role in that project (created if needed)."""

    async def make(project: str, role: str = "member", name: str | None = None) -> str:
        store = api.client.server.app[store_key]
        user = name or f"user{next(_names)}"

        def create(db):
            if idb.find_project(db, project) is None:
                idb.create_project(db, project)
            return accounts.create_user(db, cfg, user, project, role, "pw-" + user)

        await store.write(create)
        return await api.token(user, "pw-" + user, project)

    return make
