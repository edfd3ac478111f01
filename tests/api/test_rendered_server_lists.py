"""Server lists from the kept rendered servers (api/rendered_pages.py, issue 22): the answer is the one rendering
every server anew gives, whatever was kept before (another microversion, another caller, another page), and a
change made by the API or by another process shows in the next list. Compared parsed, never as bytes.
"""
from __future__ import annotations

import sqlite3
import uuid
from datetime import timedelta
from urllib.parse import quote_plus, urlencode

import pytest
from aiohttp.test_utils import TestClient, TestServer
from multidict import MultiDict

from nodecompute.api import server_list_query, urls
from nodecompute.api.keys import rendered_servers_key, servers_key
from nodecompute.api.urls import query_around_marker
from nodecompute.app import create_app, store_key
from nodecompute.caching import KeptLists
from nodecompute.config import ComputeConfig, Config, IdentityConfig, NetworkConfig, ServerConfig
from nodecompute.db import identity as identity_db
from nodecompute.db import servers as servers_db
from nodecompute.db import store as store_module
from nodecompute.domain import states
from nodecompute.domain.models import isotime, utcnow
from nodecompute.identity import accounts
from tests.api.helpers import Api

COUNT = 24
QUERIES = ("", "?limit=5", "?sort_key=display_name&sort_dir=asc&limit=9", "?status=SHUTOFF", "?name=vm-1")
VERSIONS = ("2.1", "2.47", "latest")


def _row(project_id: str, n: int, start) -> dict:
    when = start + timedelta(seconds=n)
    return {
        "uuid": str(uuid.uuid4()), "name": f"vm-{n % 7}", "project_id": project_id, "user_id": "u-1",
        "hostname": f"vm-{n}", "flavorid": "42", "flavor_name": "m1.nano", "memory_mb": 128, "vcpus": 1,
        "root_gb": 1, "ephemeral_gb": 0, "swap": 0, "image_id": "155d900f-4e14-4e4c-a73d-069cbf4541e6",
        "image_sha256": None, "key_name": None, "key_data": None, "user_data": None, "config_drive": 0,
        "access_ipv4": "", "access_ipv6": "", "disk_config": "MANUAL", "availability_zone": "nova",
        "vm_state": states.STOPPED if n % 5 == 2 else states.ACTIVE, "task_state": None,
        "power_state": states.SHUTDOWN if n % 5 == 2 else states.RUNNING, "launch_index": 0,
        "reservation_id": "r-kept", "host": "testhost", "scheduler_hints": {},
        "created_at": isotime(when), "updated_at": isotime(when),
    }


@pytest.fixture(scope="module")
async def world(tmp_path_factory):
    """(api, admin token, member token, the app, the servers) on one app for the module."""
    base = tmp_path_factory.mktemp("kept")
    (base / "data").mkdir()
    cfg = Config(data_dir=base / "data", server=ServerConfig(listen_port=8774),
                 identity=IdentityConfig(admin_password="admin-secret", kdf_time_cost=1, kdf_memory_kib=1024),
                 compute=ComputeConfig(libvirt_uri="test:///default"),
                 network=NetworkConfig(subnet_ranges=("198.18.0.0/15",), state_dir=str(base / "hostnet")))
    client = TestClient(TestServer(create_app(cfg)))
    await client.start_server()
    api = Api(client)
    admin = await api.token("admin", "admin-secret", "admin")
    store = client.server.app[store_key]
    project = store.read(identity_db.find_project, "admin").id
    await store.write(lambda db: accounts.create_user(db, cfg, "kept-member", "admin", "member", "pw-kept",
                                                      now=utcnow()))
    member = await api.token("kept-member", "pw-kept", "admin")
    start = utcnow() - timedelta(days=1)
    made = await store.write(servers_db.insert_servers, [_row(project, n, start) for n in range(COUNT)],
                             {"k": "v"}, [], ["t"])
    yield api, admin, member, client.server.app, made
    await client.close()


async def _list(api: Api, token: str, path: str, version: str) -> dict:
    resp = await api.get(path, token, headers={"X-OpenStack-Nova-API-Version": version})
    assert resp.status == 200, await resp.text()
    return await resp.json()


async def _every_list(api: Api, tokens: tuple[str, ...]) -> dict:
    return {(token, version, path): await _list(api, token, path, version)
            for token in tokens for version in VERSIONS
            for path in [f"/servers{q}" for q in QUERIES] + [f"/servers/detail{q}" for q in QUERIES]}


def _roots(body: dict) -> tuple[str, str]:
    """The self and bookmark link roots of a listed server (the rendering key holds them)."""
    self_href, bookmark = (link["href"] for link in body["servers"][0]["links"])
    return self_href.rsplit("/servers/", 1)[0], bookmark.rsplit("/servers/", 1)[0]


async def test_kept_servers_answer_what_rendering_anew_answers(world):
    api, admin, member, app, made = world
    kept = app[rendered_servers_key]
    bound, kept.max_items = kept.max_items, 0  # keeps nothing: every server rendered anew
    kept.known(-1, None)  # (and forgets what it had)
    try:
        fresh = await _every_list(api, (admin, member))
    finally:
        kept.max_items = bound
    first = await _every_list(api, (admin, member))  # kept as they render, each caller and version its own
    again = await _every_list(api, (member, admin))  # from what the other caller's lists kept
    assert first == fresh
    assert again == fresh
    assert kept.known(app[store_key].data_version(), ("openstack", "#202", (2, 1), True,  # kept indeed
                                                     *_roots(fresh[(admin, "2.1", "/servers/detail")])))
    admin_view = fresh[(admin, "latest", "/servers/detail")]["servers"][0]
    member_view = fresh[(member, "latest", "/servers/detail")]["servers"][0]
    assert "OS-EXT-SRV-ATTR:host" in admin_view and "OS-EXT-SRV-ATTR:host" not in member_view
    assert len(fresh[(admin, "2.1", "/servers?limit=5")]["servers"]) == 5
    assert "servers_links" in fresh[(admin, "2.1", "/servers/detail?limit=5")]


async def test_a_change_shows_in_the_next_list(world):
    api, admin, member, app, made = world
    server = made[3].uuid

    async def shown() -> dict:
        body = await _list(api, admin, "/servers/detail", "latest")
        return next(s for s in body["servers"] if s["id"] == server)

    await shown()
    resp = await api.put(f"/servers/{server}", admin, json={"server": {"name": "renamed"}})
    assert resp.status == 200, await resp.text()
    assert (await shown())["name"] == "renamed"
    resp = await api.post(f"/servers/{server}/metadata", admin, json={"metadata": {"added": "yes"}})
    assert resp.status == 200, await resp.text()
    assert (await shown())["metadata"] == {"k": "v", "added": "yes"}
    brief = await _list(api, admin, "/servers", "latest")
    assert {"renamed"} == {s["name"] for s in brief["servers"] if s["id"] == server}
    store_path = app[store_key].path
    with sqlite3.connect(str(store_path)) as other:  # another process (a `nodecompute` command) commits
        other.execute("UPDATE servers SET description = 'from outside' WHERE uuid = ?", [server])
    assert (await shown())["description"] == "from outside"


async def test_a_page_read_inline_or_on_the_reader_thread_is_the_same_page(world, monkeypatch):
    """A page of kept servers reads its ids on the event loop within a budget (compute/servers.py
    INLINE_READ_BUDGET_S); past it, or with servers not kept, the reader thread reads it: the same page."""
    from nodecompute.compute import servers as servers_service

    api, admin, member, app, made = world
    store = app[store_key]
    monkeypatch.setattr(app[servers_key], "kept_lists", KeptLists(max_ids=0))  # no list's ids kept: each read
    marker = (await _list(api, member, "/servers/detail?limit=3", "latest"))["servers"][-1]["id"]
    paths = [f"/servers/detail?limit=4&marker={marker}", "/servers/detail?limit=6&sort_key=display_name",
             f"/servers/detail?limit=5&status=ACTIVE&marker={marker}"]
    threaded: list[str] = []
    read_in_thread = store.read_in_thread

    async def counted(fn, *args):
        threaded.append(fn.__name__)
        return await read_in_thread(fn, *args)
    monkeypatch.setattr(store, "read_in_thread", counted)
    for path in paths:
        await _list(api, member, path, "latest")  # now kept
    threaded.clear()
    inline = [await _list(api, member, path, "latest") for path in paths]
    assert threaded == []  # every one answered by the inline read
    monkeypatch.setattr(servers_service, "INLINE_READ_BUDGET_S", 0.0)  # gives up after its first SQLite steps
    monkeypatch.setattr(store_module, "PROGRESS_OPCODES", 1)  # (checked after every step: these pages are tiny)
    assert [await _list(api, member, path, "latest") for path in paths] == inline
    assert threaded == ["list_servers_except"] * len(paths)
    assert [s["id"] for s in inline[0]["servers"]] == [s["id"] for s in (await _list(
        api, member, "/servers/detail?limit=7", "latest"))["servers"]][3:7]
    resp = await api.get("/servers/detail?limit=2&marker=" + str(uuid.uuid4()), member)
    assert resp.status == 400 and "marker" in (await resp.json())["badRequest"]["message"]


async def test_a_list_asked_again_is_answered_from_its_kept_ids_until_a_commit(world, monkeypatch):
    """The ids of a list whose servers are all kept are kept too (compute/servers.py, KeptLists): asked again at
    the same data version, it reads nothing; a commit by the daemon (a new server, a status change, metadata) or
    by another connection shows in the very next list."""
    api, admin, member, app, made = world
    store = app[store_key]
    service = app[servers_key]
    monkeypatch.setattr(service, "kept_lists", KeptLists(ComputeConfig().list_ids_kept))  # none kept by others
    project = store.read(identity_db.find_project, "admin").id
    reads: list[str] = []
    read_in_thread, read_within = store.read_in_thread, store.read_within

    async def counted(fn, *args):
        reads.append(fn.__name__)
        return await read_in_thread(fn, *args)

    def counted_within(budget, fn, *args):
        reads.append(fn.__name__)
        return read_within(budget, fn, *args)
    monkeypatch.setattr(store, "read_in_thread", counted)
    monkeypatch.setattr(store, "read_within", counted_within)
    paths = ("/servers/detail", "/servers/detail?status=SHUTOFF",
             "/servers/detail?limit=5&sort_key=display_name&sort_dir=asc")

    async def lists() -> list[dict]:
        reads.clear()
        for path in paths:
            await _list(api, admin, path, "latest")  # every server kept, and the ids
        assert reads  # read once, the first time at this version
        reads.clear()
        found = [await _list(api, admin, path, "latest") for path in paths]
        assert reads == [], (reads, paths)  # the same lists again, the page of 5 too: nothing read
        return found

    def ids(body: dict) -> list[str]:
        return [s["id"] for s in body["servers"]]

    whole, stopped, page = await lists()
    added = (await store.write(servers_db.insert_servers, [_row(project, COUNT + 1, utcnow())], {}, [], []))[0]
    assert added.uuid not in ids(whole)
    whole, stopped, page = await lists()
    assert ids(whole)[0] == added.uuid  # the newest first
    running = next(s["id"] for s in whole["servers"] if s["status"] == "ACTIVE" and s["id"] != added.uuid)
    assert running not in ids(stopped)
    await store.write(lambda db: db.conn.execute("UPDATE servers SET vm_state = ?, power_state = ? WHERE uuid = ?",
                                                 (states.STOPPED, states.SHUTDOWN, running)))
    whole, stopped, page = await lists()
    assert running in ids(stopped)
    with sqlite3.connect(str(store.path)) as other:  # another process (a `nodecompute` command) commits
        other.execute("UPDATE servers SET vm_state = ?, power_state = ? WHERE uuid = ?",
                      (states.ACTIVE, states.RUNNING, running))
        other.execute("UPDATE servers SET name = 'aaa-first' WHERE uuid = ?", [made[9].uuid])
    whole, stopped, page = await lists()
    assert running not in ids(stopped)
    assert ids(page)[0] == made[9].uuid
    resp = await api.post(f"/servers/{running}/metadata", admin, json={"metadata": {"polled": "yes"}})
    assert resp.status == 200, await resp.text()
    whole, stopped, page = await lists()
    assert next(s for s in whole["servers"] if s["id"] == running)["metadata"]["polled"] == "yes"


async def test_a_page_read_inline_is_kept_and_a_page_never_asked_is_read(world, monkeypatch):
    """A page whose ids were read inline is kept as a long list is: asked again at the same data version it reads
    nothing; another page (another marker or limit) is read, inline."""
    api, admin, member, app, made = world
    store = app[store_key]
    reads: list[str] = []
    read_within = store.read_within

    def counted_within(budget, fn, *args):
        reads.append(fn.__name__)
        return read_within(budget, fn, *args)
    monkeypatch.setattr(store, "read_within", counted_within)
    monkeypatch.setattr(app[servers_key], "kept_lists", KeptLists(ComputeConfig().list_ids_kept))  # none kept yet
    await _list(api, admin, "/servers/detail", "latest")  # every server rendered and kept (read on the thread)
    reads.clear()
    first = await _list(api, admin, "/servers/detail?status=SHUTOFF&limit=50", "latest")
    assert reads == ["page_ids"]  # inline
    for _ in range(2):
        assert await _list(api, admin, "/servers/detail?status=SHUTOFF&limit=50", "latest") == first
    assert reads == ["page_ids"]  # kept: nothing read again
    marker = first["servers"][0]["id"]
    after = await _list(api, admin, f"/servers/detail?status=SHUTOFF&limit=50&marker={marker}", "latest")
    assert after["servers"] == first["servers"][1:] and reads == ["page_ids"] * 2  # another page: read


async def test_a_query_kept_parsed_answers_as_a_fresh_parse_for_each_caller_and_version(world):
    """api/server_list_query.py keeps parsed queries: the same query string from an admin and a member, and at
    versions whose rules differ, each answered as its own parse would; an invalid one fails each time alike."""
    api, admin, member, _, _ = world
    everyone = len((await _list(api, member, "/servers/detail", "2.1"))["servers"])
    server_list_query._parsed.clear()
    for _ in range(2):  # parsed, then kept
        assert len((await _list(api, member, "/servers/detail?host=elsewhere", "2.1"))["servers"]) == everyone
        assert (await _list(api, admin, "/servers/detail?host=elsewhere", "2.1"))["servers"] == []  # admin-only
        assert (await _list(api, member, "/servers?status=NOSUCH", "2.37"))["servers"] == []  # an empty list
        resp = await api.get("/servers?status=NOSUCH", member, headers={"X-OpenStack-Nova-API-Version": "2.38"})
        assert resp.status == 400 and "Invalid status value" in await resp.text()  # 400 from 2.38
        resp = await api.get("/servers?limit=x", member)
        assert resp.status == 400 and "query parameters" in await resp.text()
    assert len(server_list_query._parsed) == 3  # the valid ones, per caller kind and version


async def test_next_links_keep_the_query_sorted_with_the_new_marker(world):
    """Links.next_page's encoding kept per query string (urls.query_around_marker) is urlencode of the sorted
    query with the marker replaced, Nova's next link, whatever the marker and the other parameters."""
    queries = [[], [("limit", "2")], [("marker", "old")], [("status", "ACTIVE"), ("limit", "5"), ("marker", "m")],
               [("sort_key", "display_name"), ("all_tenants", "1"), ("name", "a b&c=d/é"), ("sort_key", "uuid")],
               [("marker", "x"), ("markers", "y"), ("mark", "z"), ("Z", "1")]]
    for pairs in queries:
        query = MultiDict(pairs)
        for marker in ("5e3c7b1a-0000-4000-8000-000000000001", "a name/with spaces&=?", ""):
            expected = sorted([(k, v) for k, v in query.items() if k != "marker"] + [("marker", marker)])
            before, after = query_around_marker(urlencode(pairs), query)
            assert before + quote_plus(marker) + after == urlencode(expected), (pairs, marker)
    kept = len(urls._around_marker)
    for marker in ("m1", "m2", "m3"):  # the pages of one walk share the encoding
        query_around_marker(f"limit=2&marker={marker}&status=ACTIVE",
                            MultiDict([("limit", "2"), ("marker", marker), ("status", "ACTIVE")]))
    assert len(urls._around_marker) <= kept + 1
    api, _, member, _, _ = world
    body = await _list(api, member, "/servers/detail?status=ACTIVE&limit=2&sort_dir=desc", "latest")
    assert body["servers_links"][0]["href"].endswith(
        "/servers/detail?limit=2&marker=" + body["servers"][-1]["id"] + "&sort_dir=desc&status=ACTIVE")
