"""Flavors #601-#613 through HTTP: views, filters, pagination, create/delete, access, extra specs, roles, tenancy."""
from __future__ import annotations

import uuid
from urllib.parse import parse_qs, urlsplit

import pytest

from nodecompute.api.keys import flavors_key
from nodecompute.app import store_key
from nodecompute.domain.flavor_models import FlavorNotFound
from nodecompute.db import identity as identity_db
from nodecompute.domain.models import utcnow
from tests.api.helpers import assert_fault

DEFAULT_IDS = ["1", "2", "3", "4", "42", "5"]  # Nova sorts flavorid as a string


def _project_id(api, name: str) -> str:
    return api.client.server.app[store_key].read(identity_db.find_project, name).id


def _flavor_body(name="custom", ram=256, vcpus=1, disk=2, **extra):
    return {"flavor": {"name": name, "ram": ram, "vcpus": vcpus, "disk": disk, **extra}}


async def _create(api, token, **kw):
    resp = await api.post("/flavors", token, json=_flavor_body(**kw))
    assert resp.status == 200, await resp.text()
    return (await resp.json())["flavor"]


async def _ids(api, token, query=""):
    resp = await api.get(f"/flavors{query}", token)
    assert resp.status == 200, await resp.text()
    return [f["id"] for f in (await resp.json())["flavors"]]


async def _private_flavor_shared_with(api, admin_token, project_name):
    flavor = await _create(api, admin_token, name="secret", id="priv", **{"os-flavor-access:is_public": False})
    resp = await api.post("/flavors/priv/action", admin_token,
                          json={"addTenantAccess": {"tenant": _project_id(api, project_name)}})
    assert resp.status == 200
    return flavor


async def test_list_summary_and_detail_views(api, make_user):
    token = await make_user("proj-a", "reader")
    resp = await api.get("/flavors", token)
    assert resp.status == 200
    flavors = (await resp.json())["flavors"]
    assert [f["id"] for f in flavors] == DEFAULT_IDS
    assert all(set(f) == {"id", "name", "links"} for f in flavors)
    assert "flavors_links" not in await resp.json()
    tiny = (await (await api.get("/flavors/detail", token)).json())["flavors"][0]
    links = tiny.pop("links")
    assert tiny == {"id": "1", "name": "m1.tiny", "ram": 512, "disk": 1, "swap": "", "vcpus": 1,
                    "OS-FLV-EXT-DATA:ephemeral": 0, "OS-FLV-DISABLED:disabled": False,
                    "os-flavor-access:is_public": True, "rxtx_factor": 1.0}
    assert [link["rel"] for link in links] == ["self", "bookmark"]
    assert urlsplit(links[0]["href"]).path == "/compute/v2.1/flavors/1"
    assert urlsplit(links[1]["href"]).path == "/compute/flavors/1"


async def test_links_follow_version_and_project_segment(api, make_user):
    token = await make_user("proj-a", "member")
    pid = _project_id(api, "proj-a")
    resp = await api.get(f"/{pid}/flavors/42", token, version="v2")
    assert resp.status == 200
    hrefs = [urlsplit(link["href"]).path for link in (await resp.json())["flavor"]["links"]]
    assert hrefs == [f"/compute/v2/{pid}/flavors/42", f"/compute/{pid}/flavors/42"]


async def test_show_flavor_and_unknown(api, make_user):
    token = await make_user("proj-a", "reader")
    resp = await api.get("/flavors/42", token)
    assert resp.status == 200
    body = (await resp.json())["flavor"]
    assert (body["name"], body["ram"], body["vcpus"], body["disk"]) == ("m1.nano", 128, 1, 1)
    await assert_fault(await api.get("/flavors/nope", token), 404, "itemNotFound", "Flavor nope could not be found.")


async def test_min_ram_and_min_disk_filters(api, make_user):
    token = await make_user("proj-a", "member")
    assert await _ids(api, token, "?minRam=4096") == ["3", "4", "5"]
    assert await _ids(api, token, "/detail?minDisk=80") == ["4", "5"]
    assert await _ids(api, token, "?minRam=2048&minDisk=40") == ["3", "4", "5"]
    await assert_fault(await api.get("/flavors?minRam=abc", token), 400, "badRequest", "Invalid minRam filter [abc]")
    await assert_fault(await api.get("/flavors?minDisk=1.5", token), 400, "badRequest", "Invalid minDisk filter")


async def test_sort_key_and_direction(api, make_user):
    token = await make_user("proj-a", "member")
    assert await _ids(api, token, "?sort_key=memory_mb&sort_dir=desc") == ["5", "4", "3", "2", "1", "42"]
    assert await _ids(api, token, "?sort_key=name") == ["4", "3", "42", "2", "1", "5"]
    assert await _ids(api, token, "?sort_dir=desc") == list(reversed(DEFAULT_IDS))
    # vcpus ties are broken by the internal id (creation order), as Nova breaks them by `id`.
    assert await _ids(api, token, "?sort_key=vcpus") == ["1", "2", "42", "3", "4", "5"]
    assert await _ids(api, token, "?sort_key=vcpus&sort_dir=desc") == ["5", "4", "3", "42", "2", "1"]
    await assert_fault(await api.get("/flavors?sort_key=bogus", token), 400, "badRequest", "sort_key")
    await assert_fault(await api.get("/flavors?sort_dir=up", token), 400, "badRequest", "sort_dir")


@pytest.mark.parametrize("path", ["/flavors", "/flavors/detail"])
async def test_pagination_follows_next_links_to_the_end(api, make_user, path):
    token = await make_user("proj-a", "member")
    url, seen, pages = f"{path}?limit=2&minRam=1", [], 0
    while url:
        resp = await api.get(url, token)
        assert resp.status == 200
        body = await resp.json()
        seen += [f["id"] for f in body["flavors"]]
        pages += 1
        url = None
        if "flavors_links" in body:
            link = body["flavors_links"][0]
            assert link["rel"] == "next"
            parts = urlsplit(link["href"])
            assert parts.path == f"/compute/v2.1{path}"
            query = parse_qs(parts.query)
            assert query["limit"] == ["2"] and query["minRam"] == ["1"] and query["marker"] == [seen[-1]]
            assert parts.query == "&".join(sorted(parts.query.split("&")))
            url = f"{path}?{parts.query}"
    assert seen == DEFAULT_IDS
    assert pages == 4  # 2 + 2 + 2 full pages, then an empty one


async def test_limit_and_marker_values(api, make_user):
    token = await make_user("proj-a", "member")
    assert await _ids(api, token, "?limit=0") == DEFAULT_IDS
    assert await _ids(api, token, "?limit=5000") == DEFAULT_IDS
    assert await _ids(api, token, "?marker=3&limit=2") == ["4", "42"]
    assert await _ids(api, token, "?marker=3&sort_dir=desc") == ["2", "1"]
    assert await _ids(api, token, "?limit=3&sort_key=memory_mb&marker=42") == ["1", "2", "3"]
    for bad in ("-1", "abc", "1.5"):
        await assert_fault(await api.get(f"/flavors?limit={bad}", token), 400, "badRequest", "limit")
    await assert_fault(await api.get("/flavors?marker=nope", token), 400, "badRequest", "marker [nope] not found")


async def test_create_flavor_full_body(api, admin_token):
    body = {"name": "big", "ram": 1024, "vcpus": 2, "disk": 10, "id": "big-1", "swap": 512,
            "OS-FLV-EXT-DATA:ephemeral": 5, "rxtx_factor": 2.5, "os-flavor-access:is_public": False}
    resp = await api.post("/flavors", admin_token, json={"flavor": body})
    assert resp.status == 200
    flavor = (await resp.json())["flavor"]
    assert urlsplit(flavor.pop("links")[0]["href"]).path == "/compute/v2.1/flavors/big-1"
    assert flavor == {"id": "big-1", "name": "big", "ram": 1024, "vcpus": 2, "disk": 10, "swap": 512,
                      "OS-FLV-EXT-DATA:ephemeral": 5, "rxtx_factor": 2.5, "OS-FLV-DISABLED:disabled": False,
                      "os-flavor-access:is_public": False}
    shown = (await (await api.get("/flavors/big-1", admin_token)).json())["flavor"]
    assert shown["swap"] == 512 and shown["os-flavor-access:is_public"] is False


async def test_create_flavor_client_value_forms(api, admin_token):
    generated = await _create(api, admin_token, name="gen1")
    assert str(uuid.UUID(generated["id"])) == generated["id"]
    assert str(uuid.UUID((await _create(api, admin_token, name="gen2", id=None))["id"]))
    strings = await _create(api, admin_token, name="strings", ram="1024", vcpus="2", disk="0", id=77, swap="0",
                            rxtx_factor="1.5", **{"os-flavor-access:is_public": "False"})
    assert (strings["id"], strings["ram"], strings["vcpus"], strings["disk"]) == ("77", 1024, 2, 0)
    assert strings["swap"] == "" and strings["rxtx_factor"] == 1.5 and strings["os-flavor-access:is_public"] is False
    spaced = await _create(api, admin_token, name="My Flavor", id="my flavor.1")
    resp = await api.get("/flavors/my%20flavor.1", admin_token)
    assert resp.status == 200 and (await resp.json())["flavor"]["name"] == spaced["name"]


async def test_create_duplicates_conflict(api, admin_token):
    await _create(api, admin_token, name="dup", id="dup-id")
    resp = await api.post("/flavors", admin_token, json=_flavor_body(name="other", id="dup-id"))
    await assert_fault(resp, 409, "conflictingRequest", "Flavor with ID dup-id already exists.")
    resp = await api.post("/flavors", admin_token, json=_flavor_body(name="m1.tiny"))
    await assert_fault(resp, 409, "conflictingRequest", "Flavor with name m1.tiny already exists.")


@pytest.mark.parametrize("change, message", [
    ({"ram": 0}, "ram"), ({"ram": "abc"}, "ram"), ({"ram": "0"}, "memory_mb must be >= 1"),
    ({"vcpus": -1}, "vcpus"), ({"vcpus": 1.5}, "vcpus"), ({"disk": -1}, "disk"), ({"swap": ""}, "swap"),
    ({"ram": 2147483648}, "ram"), ({"ram": "2147483648"}, "memory_mb must be <= 2147483647"),
    ({"OS-FLV-EXT-DATA:ephemeral": -2}, "ephemeral"), ({"name": " lead"}, "name"), ({"name": ""}, "name"),
    ({"name": "x" * 256}, "name"), ({"name": 5}, "name"), ({"id": " x"}, "id"), ({"id": "a/b"}, "id"),
    ({"id": ""}, "id"), ({"id": "x" * 256}, "id"), ({"rxtx_factor": 0}, "rxtx_factor"),
    ({"rxtx_factor": "abc"}, "rxtx_factor"), ({"rxtx_factor": "0"}, "'rxtx_factor' argument must be a float"),
    ({"os-flavor-access:is_public": "maybe"}, "is_public"), ({"color": "red"}, "Additional properties"),
])
async def test_create_flavor_bad_input(api, admin_token, change, message):
    resp = await api.post("/flavors", admin_token, json=_flavor_body(**change))
    await assert_fault(resp, 400, "badRequest", message)


async def test_create_flavor_bad_bodies(api, admin_token):
    resp = await api.post("/flavors", admin_token, json={"flavor": {"ram": 1, "vcpus": 1, "disk": 1}})
    await assert_fault(resp, 400, "badRequest", "'name' is a required property")
    await assert_fault(await api.post("/flavors", admin_token, json={"flavor": "x"}), 400, "badRequest")
    await assert_fault(await api.post("/flavors", admin_token, data=b"{not json"), 400, "badRequest",
                       "Malformed request body")
    resp = await api.post("/flavors", admin_token, data=b"{}", headers={"Content-Type": "application/xml"})
    await assert_fault(resp, 415, "badMediaType")


async def test_legacy_v2_ignores_unknown_properties(api, admin_token):
    resp = await api.post("/flavors", admin_token, version="v2", json=_flavor_body(name="legacy", color="red"))
    assert resp.status == 200 and (await resp.json())["flavor"]["name"] == "legacy"


@pytest.mark.parametrize("role", ["member", "reader"])
async def test_non_admin_cannot_manage_flavors(api, make_user, role):
    token = await make_user("proj-a", role)
    resp = await api.post("/flavors", token, json=_flavor_body())
    await assert_fault(resp, 403, "forbidden",
                       "Policy doesn't allow os_compute_api:os-flavor-manage:create to be performed.")
    await assert_fault(await api.delete("/flavors/1", token), 403, "forbidden", "os-flavor-manage:delete")
    await assert_fault(await api.post("/flavors", token, json={"flavor": {}}), 400, "badRequest")  # schema first
    assert "1" in await _ids(api, token)


async def test_delete_flavor(api, admin_token):
    await _create(api, admin_token, name="gone", id="gone", **{"os-flavor-access:is_public": False})
    await api.post("/flavors/gone/os-extra_specs", admin_token, json={"extra_specs": {"a": "1"}})
    await api.post("/flavors/gone/action", admin_token,
                   json={"addTenantAccess": {"tenant": _project_id(api, "admin")}})
    resp = await api.delete("/flavors/gone", admin_token)
    assert resp.status == 202 and await resp.read() == b""
    await assert_fault(await api.get("/flavors/gone", admin_token), 404, "itemNotFound")
    await assert_fault(await api.delete("/flavors/gone", admin_token), 404, "itemNotFound",
                       "Flavor gone could not be found.")
    await _create(api, admin_token, name="gone", id="gone", **{"os-flavor-access:is_public": False})
    assert (await (await api.get("/flavors/gone/os-extra_specs", admin_token)).json()) == {"extra_specs": {}}
    assert (await (await api.get("/flavors/gone/os-flavor-access", admin_token)).json()) == {"flavor_access": []}


async def test_private_flavor_is_invisible_to_other_projects(api, admin_token, make_user):
    token_a, token_b = await make_user("proj-a", "reader"), await make_user("proj-b", "member")
    await _private_flavor_shared_with(api, admin_token, "proj-a")
    await api.post("/flavors/priv/os-extra_specs", admin_token, json={"extra_specs": {"k": "v"}})
    assert "priv" in await _ids(api, token_a) and "priv" in await _ids(api, token_a, "/detail")
    assert (await api.get("/flavors/priv", token_a)).status == 200
    assert (await (await api.get("/flavors/priv/os-extra_specs/k", token_a)).json()) == {"k": "v"}
    access = await (await api.get("/flavors/priv/os-flavor-access", token_a)).json()
    assert access == {"flavor_access": [{"flavor_id": "priv", "tenant_id": _project_id(api, "proj-a")}]}
    assert "priv" not in await _ids(api, token_b) + await _ids(api, token_b, "/detail?is_public=none")
    for path in ("/flavors/priv", "/flavors/priv/os-extra_specs", "/flavors/priv/os-extra_specs/k",
                 "/flavors/priv/os-flavor-access"):
        await assert_fault(await api.get(path, token_b), 404, "itemNotFound", "Flavor priv could not be found.")
    await assert_fault(await api.get("/flavors?marker=priv", token_b), 400, "badRequest", "marker [priv] not found")
    service = api.client.server.app[flavors_key]
    with pytest.raises(FlavorNotFound):
        service.get_for_project("priv", _project_id(api, "proj-b"), False)


async def test_admin_is_public_filter(api, admin_token, make_user):
    await _create(api, admin_token, name="hidden", id="hidden", **{"os-flavor-access:is_public": False})
    await _private_flavor_shared_with(api, admin_token, "admin")
    assert await _ids(api, admin_token) == DEFAULT_IDS + ["priv"]  # public + shared with the admin's project
    assert await _ids(api, admin_token, "?is_public=True") == DEFAULT_IDS + ["priv"]
    assert await _ids(api, admin_token, "/detail?is_public=false") == ["hidden", "priv"]
    assert await _ids(api, admin_token, "/detail?is_public=None") == DEFAULT_IDS + ["hidden", "priv"]
    await assert_fault(await api.get("/flavors?is_public=maybe", admin_token), 400, "badRequest",
                       "Invalid is_public filter [maybe]")
    member = await make_user("proj-a", "member")
    assert await _ids(api, member, "?is_public=false") == DEFAULT_IDS  # ignored for non-admins
    assert await _ids(api, member, "?is_public=maybe") == DEFAULT_IDS


async def test_disabled_flavors_are_listed_only_for_admins(api, admin_token, make_user):
    store = api.client.server.app[store_key]
    await store.write(lambda db: db.execute("UPDATE flavors SET disabled = 1 WHERE flavorid = '5'"))
    member = await make_user("proj-a", "member")
    assert "5" not in await _ids(api, member, "/detail")
    shown = (await (await api.get("/flavors/5", member)).json())["flavor"]
    assert shown["OS-FLV-DISABLED:disabled"] is True
    assert "5" in await _ids(api, admin_token)


async def test_get_for_project_accepts_ids_and_urls(api, admin_token):
    service = api.client.server.app[flavors_key]
    for ref in ("42", 42, "http://h/compute/v2.1/p/flavors/42", "http://h/compute/flavors/42?x=1"):
        assert service.get_for_project(ref, "any-project", False).name == "m1.nano"
    with pytest.raises(FlavorNotFound, match="Flavor 99 could not be found."):
        service.get_for_project("http://h/compute/flavors/99", "p", True)


async def test_tenant_access_actions(api, admin_token, make_user):
    await make_user("proj-a", "member")
    pid = _project_id(api, "proj-a")
    await _create(api, admin_token, name="secret", id="priv", **{"os-flavor-access:is_public": False})
    add, remove = {"addTenantAccess": {"tenant": pid}}, {"removeTenantAccess": {"tenant": pid}}
    resp = await api.post("/flavors/priv/action", admin_token, json=add)
    assert resp.status == 200
    assert await resp.json() == {"flavor_access": [{"flavor_id": "priv", "tenant_id": pid}]}
    await assert_fault(await api.post("/flavors/priv/action", admin_token, json=add), 409, "conflictingRequest",
                       f"Flavor access already exists for flavor priv and project {pid} combination.")
    resp = await api.post("/flavors/priv/action", admin_token, json=remove)
    assert resp.status == 200 and await resp.json() == {"flavor_access": []}
    await assert_fault(await api.post("/flavors/priv/action", admin_token, json=remove), 404, "itemNotFound",
                       f"Flavor access not found for priv / {pid} combination.")
    await assert_fault(await api.post("/flavors/1/action", admin_token, json=add), 403, "forbidden",
                       "Can not add access to a public flavor.")
    await assert_fault(await api.get("/flavors/1/os-flavor-access", admin_token), 404, "itemNotFound",
                       "Access list not available for public flavors.")
    await assert_fault(await api.post("/flavors/nope/action", admin_token, json=add), 404, "itemNotFound",
                       "Flavor nope could not be found.")


async def test_tenant_access_bad_requests_and_roles(api, admin_token, make_user):
    member = await make_user("proj-a", "member")
    await _create(api, admin_token, name="secret", id="priv", **{"os-flavor-access:is_public": False})
    cases = [
        ({"addTenantAccess": {"tenant": "no-such-project"}}, "Project ID no-such-project is not a valid project."),
        ({"addTenantAccess": {}}, "'tenant' is a required property"),
        ({"addTenantAccess": {"tenant": ""}}, "tenant"),
        ({"removeTenantAccess": {"tenant": 5}}, "tenant"),
        ({"fooAction": {}}, "There is no such action: fooAction"),
        ({"addTenantAccess": {"tenant": "x"}, "removeTenantAccess": {"tenant": "x"}}, "Malformed request body"),
        ({}, "Malformed request body"),
    ]
    for body, message in cases:
        await assert_fault(await api.post("/flavors/priv/action", admin_token, json=body), 400, "badRequest", message)
    pid = _project_id(api, "proj-a")
    for key, rule in (("addTenantAccess", "add_tenant_access"), ("removeTenantAccess", "remove_tenant_access")):
        resp = await api.post("/flavors/priv/action", member, json={key: {"tenant": pid}})
        await assert_fault(resp, 403, "forbidden", f"os_compute_api:os-flavor-access:{rule}")


async def test_extra_specs_lifecycle(api, admin_token, make_user):
    reader = await make_user("proj-a", "reader")
    body = {"extra_specs": {"hw:cpu_policy": "dedicated", "quota:disk_read_bytes_sec": 10240}}
    resp = await api.post("/flavors/1/os-extra_specs", admin_token, json=body)
    assert resp.status == 200 and await resp.json() == body
    listed = await (await api.get("/flavors/1/os-extra_specs", reader)).json()
    assert listed == {"extra_specs": {"hw:cpu_policy": "dedicated", "quota:disk_read_bytes_sec": "10240"}}
    resp = await api.get("/flavors/1/os-extra_specs/hw:cpu_policy", reader)
    assert resp.status == 200 and await resp.json() == {"hw:cpu_policy": "dedicated"}
    resp = await api.put("/flavors/1/os-extra_specs/hw:cpu_policy", admin_token, json={"hw:cpu_policy": "shared"})
    assert resp.status == 200 and await resp.json() == {"hw:cpu_policy": "shared"}
    resp = await api.post("/flavors/1/os-extra_specs", admin_token, json={"extra_specs": {"new key.1": "x"}})
    assert resp.status == 200
    listed = (await (await api.get("/flavors/1/os-extra_specs", reader)).json())["extra_specs"]
    assert listed == {"hw:cpu_policy": "shared", "quota:disk_read_bytes_sec": "10240", "new key.1": "x"}
    resp = await api.delete("/flavors/1/os-extra_specs/hw:cpu_policy", admin_token)
    assert resp.status == 200 and await resp.read() == b""
    await assert_fault(await api.get("/flavors/1/os-extra_specs/hw:cpu_policy", reader), 404, "itemNotFound",
                       "Flavor 1 has no extra specs with key hw:cpu_policy.")
    await assert_fault(await api.delete("/flavors/1/os-extra_specs/hw:cpu_policy", admin_token), 404,
                       "itemNotFound", "Flavor 1 has no extra specs with key hw:cpu_policy.")
    assert (await (await api.get("/flavors/2/os-extra_specs", reader)).json()) == {"extra_specs": {}}


async def test_extra_specs_bad_input(api, admin_token):
    bad_creates = [{"extra_specs": {"bad*key": "v"}}, {"extra_specs": {"k": "v" * 256}}, {"extra_specs": {"k": {}}},
                   {"extra_specs": {"k": None}}, {"extra_specs": {"": "v"}}, {"extra_specs": "k=v"}, {"specs": {}},
                   {"extra_specs": {"k": 10 ** 300}}]
    for body in bad_creates:
        resp = await api.post("/flavors/1/os-extra_specs", admin_token, json=body)
        await assert_fault(resp, 400, "badRequest")
    url = "/flavors/1/os-extra_specs/hw:a"
    await assert_fault(await api.put(url, admin_token, json={"hw:b": "1"}), 400, "badRequest",
                       "Request body and URI mismatch")
    await assert_fault(await api.put(url, admin_token, json={"hw:a": "1", "hw:b": "2"}), 400, "badRequest")
    await assert_fault(await api.put(url, admin_token, json={}), 400, "badRequest")
    await assert_fault(await api.post("/flavors/nope/os-extra_specs", admin_token, json={"extra_specs": {"a": "b"}}),
                       404, "itemNotFound", "Flavor nope could not be found.")
    await assert_fault(await api.put("/flavors/nope/os-extra_specs/a", admin_token, json={"a": "b"}), 404,
                       "itemNotFound")
    await assert_fault(await api.get("/flavors/nope/os-extra_specs", admin_token), 404, "itemNotFound")


@pytest.mark.parametrize("role", ["member", "reader"])
async def test_non_admin_cannot_write_extra_specs(api, admin_token, make_user, role):
    token = await make_user("proj-a", role)
    await api.post("/flavors/1/os-extra_specs", admin_token, json={"extra_specs": {"a": "1"}})
    resp = await api.post("/flavors/1/os-extra_specs", token, json={"extra_specs": {"a": "2"}})
    await assert_fault(resp, 403, "forbidden", "os_compute_api:os-flavor-extra-specs:create")
    resp = await api.put("/flavors/1/os-extra_specs/a", token, json={"a": "2"})
    await assert_fault(resp, 403, "forbidden", "os_compute_api:os-flavor-extra-specs:update")
    resp = await api.delete("/flavors/1/os-extra_specs/a", token)
    await assert_fault(resp, 403, "forbidden", "os_compute_api:os-flavor-extra-specs:delete")
    assert (await (await api.get("/flavors/1/os-extra_specs/a", token)).json()) == {"a": "1"}


async def test_lists_are_never_stale_whoever_writes(api, admin_token, cfg):
    """The rendered lists are cached until SQLite's data_version moves: writes through the API and writes by
    another process (here a second connection, as a `nodecompute` command would make) show at once."""
    from nodecompute.domain.models import Flavor
    from nodecompute.db import flavors as flavors_db
    from nodecompute.db.store import connect, run_write

    before = await _ids(api, admin_token)
    assert before == await _ids(api, admin_token)  # the second answer comes from the cache
    await _create(api, admin_token, name="via-api", id="via-api")
    assert set(await _ids(api, admin_token)) == set(before) | {"via-api"}
    other = connect(cfg.db_path)
    try:
        run_write(other, flavors_db.insert_flavor, Flavor(flavorid="via-cli", name="via-cli", memory_mb=64, vcpus=1,
                                                   root_gb=1), utcnow())
    finally:
        other.close()
    assert "via-cli" in await _ids(api, admin_token)
    resp = await api.get("/flavors/detail?minRam=100", admin_token)
    assert "via-cli" not in [f["id"] for f in (await resp.json())["flavors"]]
