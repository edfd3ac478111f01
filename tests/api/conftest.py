"""API fixtures: `api` is an aiohttp test client on the whole app (no libvirt needed for these resources);
`ladder_api` the same app with the compute face negotiating up to LADDER_TOP (tests of microversion steps)."""
from __future__ import annotations

import dataclasses
import itertools

import pytest

from nodecompute import app as app_module
from nodecompute.api.dialect import Dialect
from nodecompute.api.dialects.openstack import OPENSTACK
from nodecompute.api.versions import MICROVERSIONS
from nodecompute.app import create_app, store_key
from nodecompute.domain.models import utcnow
from nodecompute.config import Config
from nodecompute.db import identity as identity_db
from nodecompute.identity import accounts
from tests.api.helpers import Api
from tests.api.network_fakes import RecordingHostNet

_names = itertools.count(1)
# The ladder's steps are tested at their versions on a compute face that negotiates up to here (the highest step
# implemented so far, issues 9 and 10), or the advertised maximum once that is higher.
LADDER_TARGET = (2, 104)
LADDER_TOP = max(MICROVERSIONS.max, LADDER_TARGET)


def ladder_dialect(top: tuple[int, int] = LADDER_TOP) -> Dialect:
    """The openstack dialect with its /v2.1 root negotiating up to LADDER_TOP, or `top` for a step implemented above
    it (everything else unchanged)."""
    v21, *others = OPENSTACK.roots
    mv = dataclasses.replace(v21.microversions, max=top)
    return dataclasses.replace(OPENSTACK, roots=(dataclasses.replace(v21, microversions=mv), *others))


@pytest.fixture
def ladder_app(cfg: Config, monkeypatch):
    """create_app(cfg, **kw) with ladder_dialect() mounted as the compute face."""
    monkeypatch.setattr(app_module, "OPENSTACK", ladder_dialect())
    return lambda **kw: create_app(cfg, **kw)


@pytest.fixture
async def ladder_api(aiohttp_client, ladder_app) -> Api:
    return Api(await aiohttp_client(ladder_app(with_servers=False)))


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
            if identity_db.find_project(db, project) is None:
                identity_db.create_project(db, project, now=utcnow())
            return accounts.create_user(db, cfg, user, project, role, "pw-" + user, now=utcnow())

        await store.write(create)
        return await api.token(user, "pw-" + user, project)

    return make
