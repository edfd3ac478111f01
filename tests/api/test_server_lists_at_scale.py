"""Server lists of over a thousand servers (issue 22): paging by marker, sort keys, filters and the brief list stay
as Nova answers them now that SQL pages by keyset (db/server_lists.py). Each answer is compared, parsed, with an
oracle computed here from the inserted rows: Nova's order (the sort keys, then `created_at` and `id` in the first
key's direction, NULL lowest) and Nova's marker (any server, deleted or filtered out, the page starting after its
place in that order).

The app is the real one on libvirt's test driver; rows go in through nodecompute.db.servers, one transaction per
batch, once for the module.
"""
from __future__ import annotations

import uuid
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from aiohttp.test_utils import TestClient, TestServer

from nodecompute.app import create_app, store_key
from nodecompute.config import ComputeConfig, Config, IdentityConfig, NetworkConfig, ServerConfig
from nodecompute.db import identity as identity_db
from nodecompute.db import server_lists
from nodecompute.db import servers as servers_db
from nodecompute.domain import states
from nodecompute.domain.models import isotime, utcnow
from nodecompute.domain.server_models import ServerFilters
from tests.api.helpers import Api, assert_fault

IMAGE_ID = "155d900f-4e14-4e4c-a73d-069cbf4541e6"
COUNT = 1200
KEY_NAMES = (None, "alpha", "beta")  # key_name: NULL for a third of the servers


def _row(project_id: str, n: int, start) -> dict:
    when = start + timedelta(seconds=n // 3)  # three servers share each created_at: the serial breaks the ties
    return {
        "uuid": str(uuid.uuid4()), "name": f"vm-{n % 97:02d}", "project_id": project_id, "user_id": "u-1",
        "hostname": f"vm-{n}", "flavorid": "42", "flavor_name": "m1.nano", "memory_mb": 128, "vcpus": 1,
        "root_gb": 1, "ephemeral_gb": 0, "swap": 0, "image_id": IMAGE_ID, "image_sha256": None,
        "key_name": KEY_NAMES[n % 3], "key_data": None, "user_data": None, "config_drive": 0, "access_ipv4": "",
        "access_ipv6": "", "disk_config": "MANUAL", "availability_zone": "nova",
        "vm_state": states.STOPPED if n % 50 == 7 else states.ACTIVE, "task_state": None,
        "power_state": states.SHUTDOWN if n % 50 == 7 else states.RUNNING, "launch_index": 0,
        "reservation_id": "r-scale", "host": "testhost", "scheduler_hints": {},
        "created_at": isotime(when), "updated_at": isotime(when + timedelta(minutes=n % 10)),
    }


@pytest.fixture(scope="module")
def scale_cfg(tmp_path_factory) -> Config:
    """One app and one data directory for the module (the rows take a while to insert)."""
    base = tmp_path_factory.mktemp("lists")
    (base / "data").mkdir()
    return Config(data_dir=base / "data", server=ServerConfig(listen_port=8774),
                  identity=IdentityConfig(admin_password="admin-secret", kdf_time_cost=1, kdf_memory_kib=1024),
                  compute=ComputeConfig(libvirt_uri="test:///default"),
                  network=NetworkConfig(subnet_ranges=("198.18.0.0/15",), state_dir=str(base / "hostnet")))


@pytest.fixture(scope="module")
async def world(scale_cfg):
    """(api, admin token, the inserted servers oldest first, the deleted one) on one app for the module."""
    client = TestClient(TestServer(create_app(scale_cfg)))
    await client.start_server()
    api = Api(client)
    token = await api.token("admin", "admin-secret", "admin")
    store = client.server.app[store_key]
    project = store.read(identity_db.find_project, "admin").id
    start = utcnow() - timedelta(days=1)
    rows = [_row(project, n, start) for n in range(COUNT)]
    made = []
    for first in range(0, COUNT, 300):
        made += await store.write(servers_db.insert_servers, rows[first:first + 300], {"k": "v"}, [], ["t"])
    gone = made[COUNT // 2]
    await store.write(servers_db.mark_deleted, gone.uuid, now=utcnow())
    live = [s for s in made if s.uuid != gone.uuid]
    yield api, token, live, gone
    await client.close()


def _nova_order(servers, keys: list[tuple[str, bool]]) -> list:
    """Nova's order: the keys (attribute, descending), then created_at and serial (Nova's id) in the first key's
    direction; NULL sorts lowest."""
    first_desc = keys[0][1]
    keys = keys + [(k, first_desc) for k in ("created_at", "serial") if k not in (a for a, _ in keys)]
    ordered = list(servers)
    for attr, desc in reversed(keys):  # stable sorts, the last key first
        ordered.sort(key=lambda s: (getattr(s, attr) is not None, getattr(s, attr) or 0) if attr != "key_name"
                     else (s.key_name is not None, s.key_name or ""), reverse=desc)
    return ordered


async def _walk(api: Api, token: str, path: str, version: str = "2.1") -> tuple[list[dict], int]:
    """Every page of a list by its next links: the servers in order and the number of pages."""
    found, pages = [], 0
    while True:
        resp = await api.get(path, token, headers={"X-OpenStack-Nova-API-Version": version})
        assert resp.status == 200, await resp.text()
        body = await resp.json()
        found += body["servers"]
        pages += 1
        if "servers_links" not in body:
            return found, pages
        link = urlsplit(body["servers_links"][0]["href"])
        assert parse_qs(link.query)["marker"] == [body["servers"][-1]["id"]]
        path = f"{link.path.removeprefix('/compute/v2.1')}?{link.query}"


async def _ids(api: Api, token: str, path: str) -> list[str]:
    resp = await api.get(path, token)
    assert resp.status == 200, await resp.text()
    return [s["id"] for s in (await resp.json())["servers"]]


async def test_pages_of_a_large_list_are_the_whole_list_in_novas_order(world):
    api, token, live, _ = world
    expected = [s.uuid for s in _nova_order(live, [("created_at", True)])]
    walked, pages = await _walk(api, token, "/servers?limit=100")
    assert [s["id"] for s in walked] == expected and pages == len(expected) // 100 + 1
    whole = await _ids(api, token, "/servers/detail")  # the largest page is 1,000 (Nova's max_limit)
    assert whole == expected[:1000]
    detail, _ = await _walk(api, token, "/servers/detail?limit=250", version="2.85")
    assert [s["id"] for s in detail] == expected
    one = (await (await api.get(f"/servers/{detail[123]['id']}", token,
                                headers={"X-OpenStack-Nova-API-Version": "2.85"})).json())["server"]
    assert {k: v for k, v in one.items() if k != "server_groups"} == detail[123]  # a list item is the shown server
    brief, _ = await _walk(api, token, "/servers?limit=250")
    assert [{"id": s["id"], "name": s["name"]} for s in brief] == [{"id": s["id"], "name": s["name"]} for s in detail]


@pytest.mark.parametrize("query, keys", [
    ("sort_key=key_name&sort_dir=asc", [("key_name", False)]),
    ("sort_key=key_name&sort_dir=desc", [("key_name", True)]),
    ("sort_key=display_name&sort_dir=asc&sort_key=updated_at&sort_dir=desc", [("name", False), ("updated_at", True)]),
    ("sort_dir=asc", [("created_at", False)]),
])
async def test_markers_follow_the_sort_keys_nulls_included(world, query, keys):
    api, token, live, _ = world
    walked, _ = await _walk(api, token, f"/servers?limit=137&{query}")
    assert [s["id"] for s in walked] == [s.uuid for s in _nova_order(live, keys)]


async def test_a_marker_is_any_server_deleted_or_filtered_out(world):
    """Nova looks the marker up without the list's filters, deleted servers included, and pages from its place."""
    api, token, live, gone = world
    order = _nova_order([*live, gone], [("created_at", True)])
    after_gone = [s.uuid for s in order[order.index(gone) + 1:]]
    assert await _ids(api, token, f"/servers?limit=50&marker={gone.uuid}") == after_gone[:50]
    stopped = [s for s in order if s.vm_state == states.STOPPED]
    active_marker = next(s for s in order[order.index(stopped[5]):] if s.vm_state == states.ACTIVE)
    after = order[order.index(active_marker) + 1:]
    assert await _ids(api, token, f"/servers?status=SHUTOFF&marker={active_marker.uuid}") == [
        s.uuid for s in after if s.vm_state == states.STOPPED]
    await assert_fault(await api.get(f"/servers?marker={uuid.uuid4()}", token), 400, "badRequest", "not found")


async def test_filters_page_by_marker_on_large_lists(world):
    api, token, live, gone = world
    order = _nova_order(live, [("created_at", True)])
    stopped = [s.uuid for s in order if s.vm_state == states.STOPPED]
    walked, pages = await _walk(api, token, "/servers/detail?status=SHUTOFF&limit=7")
    assert [s["id"] for s in walked] == stopped and {s["status"] for s in walked} == {"SHUTOFF"}
    assert pages == len(stopped) // 7 + 1
    named = [s.uuid for s in order if s.name.startswith("vm-1")]  # the name filter is a regex (RE2)
    walked, _ = await _walk(api, token, "/servers?name=%5Evm-1&limit=40")
    assert [s["id"] for s in walked] == named
    since = order[300].updated_at
    gone_too = _nova_order([*live, gone], [("created_at", True)])  # changes-since lists the deleted too (Nova)
    recent = [s.uuid for s in gone_too if s is gone or s.updated_at >= since]
    walked, _ = await _walk(api, token, f"/servers?changes-since={isotime(since)}Z&limit=90")
    assert [s["id"] for s in walked] == recent
    assert await _ids(api, token, "/servers?key_name=beta&limit=1000") == [s.uuid for s in order
                                                                             if s.key_name == "beta"][:1000]
    walked, _ = await _walk(api, token, "/servers?tags=t&limit=500", version="2.26")
    assert [s["id"] for s in walked] == [s.uuid for s in order]


@pytest.mark.parametrize("all_tenants", [False, True])
@pytest.mark.parametrize("with_marker", [False, True])
async def test_a_page_of_ids_in_the_default_order_is_read_from_an_index_alone(world, all_tenants, with_marker):
    """The ids of a page in Nova's default order (created_at, then id, descending), in a project or across all
    of them, come from a covering index in its order: no row looked up, no sort (migration 0036)."""
    api, _, live, _ = world
    store = api.client.server.app[store_key]
    filters = ServerFilters(project_id=None if all_tenants else live[0].project_id, all_tenants=all_tenants,
                            limit=100, marker=live[700].uuid if with_marker else None)
    sql, args = store.read(lambda db: server_lists._page_query("uuid", filters, db))
    plan = " / ".join(row[3] for row in store.read(
        lambda db: db.execute(f"EXPLAIN QUERY PLAN {sql}", args).fetchall()))
    assert "USING COVERING INDEX" in plan and "TEMP B-TREE" not in plan, plan
    ordered = [s.uuid for s in _nova_order(live, [("created_at", True)])]
    start = ordered.index(filters.marker) + 1 if with_marker else 0
    assert store.read(server_lists.page_ids, filters) == ordered[start:start + 100]
