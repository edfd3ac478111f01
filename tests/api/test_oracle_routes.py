"""Nova's record as the oracle of every served compute route at every microversion (issue 9).

For each operation of Nova's catalog that the route table serves (the cases of oracle_cases.py; a served route
without a case fails `test_every_served_route_has_an_oracle_case`, so later routes inherit the oracle), at each
version from 2.1 to LADDER_TOP where anything can change for it, a real request against resources the test made:

- outside Nova's range for the operation: Nova's bare 404;
- else the status is one the catalog gives at that version, the body validates against Tempest's schema for that
  version (where Tempest has one), and its keys (never values) are those of Nova's api_sample at the nearest
  version at or below (where Nova has one; tests/oracle.py).

The versions "where anything can change" are the union of Nova's change points for the operation (its range and
statuses, its samples, Tempest's schema versions, the ladder steps touching it) and ours (the dialect's versioned
views, statuses, bodies and queries, the route's and action key's ranges), each with the version before it, plus
2.1 and the top. NODECOMPUTE_ORACLE_ALL_VERSIONS=1 runs every version instead.
"""
from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer

from nodecompute import app as app_module
from nodecompute.api import microversion_steps
from nodecompute.api.catalog import served_by
from nodecompute.api.dialect import Versioned
from nodecompute.api.dialects.openstack import OPENSTACK
from nodecompute.api.keys import servers_key
from nodecompute.api.microversions import version_text
from nodecompute.api.nova_catalog import CATALOG, Operation
from nodecompute.api.nova_operations import Status, path_shape, version_key
from nodecompute.app import create_app, store_key
from nodecompute.config import ComputeConfig, Config, ConsoleConfig, IdentityConfig, NetworkConfig, ServerConfig
from nodecompute.db import identity as identity_db
from nodecompute.db import servers as servers_db
from nodecompute.domain.models import utcnow
from nodecompute.identity import accounts
from tests import oracle
from tests.api.conftest import LADDER_TOP, ladder_dialect
from tests.api.helpers import Api
from tests.api.network_fakes import RecordingHostNet
from tests.api.oracle_cases import CASES, Call, World
from tests.api.oracle_cases_admin import ADMIN_CASES

Version = tuple[int, int]
NOT_FOUND = {"itemNotFound": {"code": 404, "message": "The resource could not be found."}}
# Route-table rows Nova has no operation for, so no oracle either (and why they are served).
NOT_NOVAS = {"#1003": "GET /os-availability-zone/{zone_name}: additive, from the OS-v2 seed (operations.md #1003)"}
# Operations Nova answers 410 only because nova-network went, served in their last working shape (dialects.md rule
# 6): row -> their Nova from before the removal (up to the proxy APIs' last version, 2.35, with these statuses).
KILO_SHAPED: dict[int, Operation] = {
    row: Operation(method, path, None, f"security_group_default_rules {row}", row, max_version="2.35",
                   statuses=(Status(code),))
    for row, method, path, code in (
        (1511, "GET", "/os-security-group-default-rules", 200),
        (1512, "POST", "/os-security-group-default-rules", 200),
        (1513, "GET", "/os-security-group-default-rules/{security_group_default_rule_id}", 200),
        (1514, "DELETE", "/os-security-group-default-rules/{security_group_default_rule_id}", 204))}


def _key(method: str, path: str, action: str | None) -> tuple[str, str, str | None]:
    return method, path_shape(path), action


CASES = {**CASES, **ADMIN_CASES}
CASE_KEYS = {_key(*key): key for key in CASES}


def served_operations() -> list[tuple[Operation, object]]:
    """(catalog operation, serving route) for every operation under /v2.1 the openstack dialect serves."""
    found = []
    for op in CATALOG:
        route = served_by(op, OPENSTACK.routes)
        if op.base == "/v2.1" and route is not None:
            found.append((op, route))
    return found


def _next(version: Version) -> Version:
    return version[0], version[1] + 1


def _nova_points(op: Operation) -> set[Version]:
    points = {version_key(op.min_version)}
    if op.max_version:
        points.add(_next(version_key(op.max_version)))
    for status in op.statuses:
        points.add(version_key(status.min_version))
        if status.max_version:
            points.add(_next(version_key(status.max_version)))
    for sample in oracle.samples_of(op.base, op.method, op.path, op.action):
        points.add(version_key(sample["version"]))
    client = oracle._BY_SHAPE.get(_key(op.method, op.path, op.action), (None,))[0]
    for entry in oracle._versions_info(client) if client else ():
        points.add(version_key(entry["min"] or "2.1"))
        if entry["max"]:
            points.add(_next(version_key(entry["max"])))
    touch = (op.method, op.path) + ((op.action,) if op.action else ())
    points |= {version_key(step.version) for step in microversion_steps.ladder()
               if any(path_shape(t[1]) == path_shape(touch[1]) and t[0] == touch[0] and t[2:] == touch[2:]
                      for t in step.touches)}
    return points


def _our_points(op: Operation, route) -> set[Version]:
    holder = route.actions[op.action] if op.action else route
    op_id = holder.op
    points = {step[0] for table in (OPENSTACK.views, OPENSTACK.statuses, OPENSTACK.bodies, OPENSTACK.queries)
              for step in table.get(op_id, Versioned(None)).steps}
    points |= {v for v in (holder.since, holder.until and _next(holder.until)) if v}
    return points | {step[0] for step in OPENSTACK.validation.steps}


def versions_for(op: Operation, route) -> list[Version]:
    every = [(2, minor) for minor in range(1, LADDER_TOP[1] + 1)]
    if os.environ.get("NODECOMPUTE_ORACLE_ALL_VERSIONS") == "1":
        return every
    points = _nova_points(op) | _our_points(op, route)
    wanted = {(2, 1), LADDER_TOP} | points | {(p[0], p[1] - 1) for p in points}
    return [version for version in every if version in wanted]


def _params() -> list:
    params = []
    for op, route in served_operations():
        for version in versions_for(op, route):
            text = version_text(version)
            params.append(pytest.param(op, text,
                                       id=f"{op.method} {op.path}{' ' + op.action if op.action else ''} @{text}"))
    return params


@pytest.fixture(scope="module")
async def world():
    """One app for the module: the ladder dialect's compute face, servers on libvirt's test driver."""
    data_dir = Path(tempfile.mkdtemp(prefix="ncoracle", dir="/tmp"))
    cfg = Config(data_dir=data_dir, server=ServerConfig(listen_port=8774),
                 identity=IdentityConfig(admin_password="admin-secret", kdf_time_cost=1, kdf_memory_kib=1024),
                 compute=ComputeConfig(libvirt_uri="test:///default"),
                 console=ConsoleConfig(novncproxy_port=0, serialproxy_port=0),
                 network=NetworkConfig(subnet_ranges=("198.18.0.0/15",), external_cidr="203.0.113.0/24",
                                       state_dir=str(data_dir / "hostnet")))
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(app_module, "OPENSTACK", ladder_dialect())
        client = TestClient(TestServer(create_app(cfg, hostnet_factory=lambda cfg: RecordingHostNet())))
        await client.start_server()
    api = Api(client)

    async def project_token(project: str) -> str:
        def create(db):
            if identity_db.find_project(db, project) is None:
                identity_db.create_project(db, project, now=utcnow())
            return accounts.create_user(db, cfg, f"{project}-user", project, "member", "pw", now=utcnow())

        await client.server.app[store_key].write(create)
        return await api.token(f"{project}-user", "pw", project)

    made = World(api)
    try:
        await made.setup(project_token)
        yield made
    finally:
        service = client.server.app[servers_key]
        await service.wait_idle()
        for server in service.store.read(servers_db.list_all_live):  # the test driver is shared by the whole process
            await service.guests.destroy(server.uuid, server.instance_name)
        await client.close()
        shutil.rmtree(data_dir, ignore_errors=True)


@pytest.mark.parametrize("op, version", _params())
async def test_route_answers_like_nova(world, op, version):
    try:
        await _check(world, op, version)
    finally:
        await world.tidy()


async def _check(world: World, op: Operation, version: str) -> None:
    op = KILO_SHAPED.get(op.row, op) if op.gone else op
    call: Call = await CASES[CASE_KEYS[_key(op.method, op.path, op.action)]](world, version)
    resp = await world.api.request(op.method, call.path, world.admin, json=call.body,
                                   headers={"X-OpenStack-Nova-API-Version": version})
    raw = await resp.read()
    body = json.loads(raw) if raw else None
    where = f"{op.method} {call.path} {op.action or ''} at {version}"
    assert resp.headers["OpenStack-API-Version"] == f"compute {version}", where
    if not op.available_at(version):
        assert (resp.status, body) == (404, NOT_FOUND), (where, resp.status, body)
        return
    if call.awaiting:
        assert resp.status == call.status, (where, call.awaiting, resp.status, body)
        return
    assert resp.status in op.status_at(version), (where, resp.status, op.status_at(version), body)
    await world.idle()
    if oracle.tempest_knows(op.method, op.path, op.action, version):
        oracle.validate_with_tempest(op.method, op.path, op.action, version, resp.status, body)
    if oracle.sample_keys(op.method, op.path, op.action, version)[1]:
        oracle.assert_keys_like_nova(body, op.method, op.path, op.action, version, optional=call.optional)


def test_every_served_route_has_an_oracle_case():
    """Every route-table row of the compute face (and action key) is one of Nova's operations with a case here, or
    is named in NOT_NOVAS; every case is a served operation; and each has an oracle: a sample or a schema."""
    served = {_key(op.method, op.path, op.action): op for op, _ in served_operations()}
    assert set(served) == set(CASE_KEYS), (set(served) ^ set(CASE_KEYS))
    for route in OPENSTACK.routes:
        if not route.versioned:
            continue
        for action in route.actions or (None,):
            op_id = route.actions[action].op if action else route.op
            key = _key(route.method, route.path, action)
            assert key in served or op_id in NOT_NOVAS, f"{route.method} {route.path} {action or ''}: no oracle case"
    for key, op in served.items():
        # the versions the oracle runs, or the operation's first (a route added above LADDER_TOP: topology, 2.78)
        versions = [*versions_for(op, served_by(op, OPENSTACK.routes)), version_key(op.min_version)]
        has_sample = any(oracle.sample_keys(op.method, op.path, op.action, version_text(v))[1] for v in versions)
        # a removed operation's oracle is its catalog status, 410 (resetNetwork: no sample, no Tempest schema)
        assert has_sample or key in oracle._BY_SHAPE or op.gone, f"{key}: neither a Nova sample nor a Tempest schema"


def test_versions_cover_each_change_and_the_edges():
    keypairs = next(op for op, _ in served_operations() if (op.method, op.path) == ("POST", "/os-keypairs"))
    chosen = versions_for(keypairs, served_by(keypairs, OPENSTACK.routes))
    assert {(2, 1), (2, 2), (2, 9), (2, 10), (2, 34), (2, 35), LADDER_TOP} <= set(chosen)
    images = next(op for op, _ in served_operations() if (op.method, op.path) == ("GET", "/images"))
    assert {(2, 35), (2, 36)} <= set(versions_for(images, served_by(images, OPENSTACK.routes)))
