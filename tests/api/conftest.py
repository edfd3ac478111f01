"""API fixtures: `api` is an aiohttp test client on the whole app (no libvirt needed for these resources)."""
from __future__ import annotations

import itertools

import pytest

from nodecompute.domain.models import utcnow
from nodecompute.app import create_app, store_key
from nodecompute.config import Config
from nodecompute.db import identity as identity_db
from nodecompute.identity import accounts
from tests.api.helpers import Api

_names = itertools.count(1)


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
            if identity_db.find_project(db, project) is None:
                identity_db.create_project(db, project, now=utcnow())
            return accounts.create_user(db, cfg, user, project, role, "pw-" + user, now=utcnow())

        await store.write(create)
        return await api.token(user, "pw-" + user, project)

    return make
