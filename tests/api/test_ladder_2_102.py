"""Ladder step 2.102 (issue 10), at 2.101 and at 2.102: the flavor lists filter by `name` (a regular expression, RE2);
`rxtx_factor` and `OS-FLV-DISABLED:disabled` leave every flavor view, create's body and the sort keys; and every
GET of the compute API refuses query parameters it does not name, before its policy and lookup (the face checks
them, api/closed_queries.py), except what Nova leaves open: the version documents, server tags, one volume
attachment and the quota defaults."""
from __future__ import annotations

import pytest

from tests import oracle
from tests.api.helpers import assert_fault
from tests.api.ladder_fixtures import api, at, insert, ladder, project_id  # noqa: F401 (fixtures)

UNKNOWN = "Additional properties are not allowed ('bogus' was unexpected)"
GONE = {"rxtx_factor", "OS-FLV-DISABLED:disabled"}
FLAVOR = "/flavors/{flavor_id}"


@pytest.fixture
async def member(make_user) -> str:
    return await make_user("proj-a", "member")


def _like_nova(method: str, path: str, version: str, status: int, body: dict) -> None:
    oracle.validate_with_tempest(method, path, None, version, status, body)
    oracle.assert_keys_like_nova(body, method, path, None, version)


async def _names(api, token: str, query: str, version: str, path: str = "/flavors") -> list[str]:
    resp = await api.get(f"{path}?{query}", token, **at(version))
    assert resp.status == 200, await resp.text()
    return [flavor["name"] for flavor in (await resp.json())["flavors"]]


async def test_2_102_flavor_lists_filter_by_name(api, member):
    every = await _names(api, member, "", "2.102")
    assert await _names(api, member, "name=nano", "2.74") == every  # ignored while the lists stay open
    await assert_fault(await api.get("/flavors?name=nano", member, **at("2.101")), 400, "badRequest",
                       "Additional properties are not allowed ('name' was unexpected)")
    assert await _names(api, member, "name=nano", "2.102") == ["m1.nano"]  # a search, not an equality
    for path in ("/flavors", "/flavors/detail"):
        assert await _names(api, member, r"name=^m1\.(tiny|small)$", "2.102", path) == ["m1.tiny", "m1.small"]
        assert await _names(api, member, "name=x&name=^m1.large", "2.102", path) == ["m1.large"]  # the last one
    assert await _names(api, member, "name=", "2.102") == every
    assert await _names(api, member, "name=nothing-like-it", "2.102") == []
    assert await _names(api, member, "name=m1&minRam=4096&sort_key=name&sort_dir=desc&limit=2", "2.102") == [
        "m1.xlarge", "m1.medium"]
    resp = await api.get("/flavors?name=(?=m1)", member, **at("2.102"))  # look-ahead: RE2 refuses, never `re`
    fault = await assert_fault(resp, 400, "badRequest")
    assert fault["message"].startswith("Invalid input for query parameters name. Value: (?=m1).")


async def test_2_102_flavor_views_drop_rxtx_factor_and_disabled(api, admin_token, member):
    flavor = {"name": "f-2102", "ram": 64, "vcpus": 1, "disk": 1}
    resp = await api.post("/flavors", admin_token, json={"flavor": {**flavor, "id": "90", "rxtx_factor": 2.0}},
                          **at("2.101"))
    assert resp.status == 200 and (await resp.json())["flavor"]["rxtx_factor"] == 2.0
    resp = await api.post("/flavors", admin_token, json={"flavor": {**flavor, "id": "91", "name": "g",
                                                                    "rxtx_factor": 2.0}}, **at("2.102"))
    await assert_fault(resp, 400, "badRequest", "('rxtx_factor' was unexpected)")
    resp = await api.post("/flavors", admin_token, json={"flavor": {**flavor, "id": "91", "name": "g"}},
                          **at("2.102"))
    created = await resp.json()
    assert resp.status == 200 and not GONE & set(created["flavor"])
    _like_nova("POST", "/flavors", "2.102", resp.status, created)
    for version, shown in (("2.101", True), ("2.102", False)):
        body = await (await api.get("/flavors/90", member, **at(version))).json()
        assert (GONE <= set(body["flavor"])) is shown, version
        _like_nova("GET", FLAVOR, version, 200, body)
        detail = await (await api.get("/flavors/detail", member, **at(version))).json()
        assert all((GONE <= set(item)) is shown for item in detail["flavors"]), version
        _like_nova("GET", "/flavors/detail", version, 200, detail)
        resp = await api.put("/flavors/90", admin_token, json={"flavor": {"description": version}}, **at(version))
        updated = await resp.json()
        assert (GONE <= set(updated["flavor"])) is shown and updated["flavor"]["description"] == version
        _like_nova("PUT", FLAVOR, version, resp.status, updated)
    listed = await (await api.get("/flavors", member, **at("2.102"))).json()
    _like_nova("GET", "/flavors", "2.102", 200, listed)
    assert (await api.get("/flavors?sort_key=rxtx_factor", member, **at("2.101"))).status == 200
    resp = await api.get("/flavors?sort_key=rxtx_factor", member, **at("2.102"))
    assert resp.status == 400 and "sort_key" in (await resp.json())["badRequest"]["message"]


# GET routes Nova closes at 2.102 that read no query of their own (the lists closed at 2.75 stay closed)
CLOSED = ("/servers/{server}", "/servers/{server}/metadata", "/servers/{server}/metadata/k",
          "/servers/{server}/ips", "/servers/{server}/ips/private", "/servers/{server}/os-security-groups",
          "/servers/{server}/os-interface", "/servers/{server}/diagnostics", "/servers/{server}/os-server-password",
          "/servers/{server}/migrations", "/servers/{server}/topology", "/servers/{server}/os-instance-actions/r",
          "/flavors/42", "/flavors/42/os-extra_specs", "/flavors/42/os-extra_specs/k", "/flavors/42/os-flavor-access",
          "/extensions", "/extensions/os-hypervisors", "/os-availability-zone", "/os-availability-zone/detail",
          "/os-aggregates", "/os-server-groups/nope", "/os-quota-class-sets/default", "/os-instance_usage_audit_log")


async def test_2_102_unknown_query_parameters_are_refused_on_every_get(api, admin_token):
    server = await insert(api, project_id(api, "admin"), metadata={"k": "v"})
    for path in (template.format(server=server.uuid) for template in CLOSED):  # one app for all: a second each
        before = await api.get(f"{path}?bogus=1", admin_token, **at("2.101"))  # ignored below 2.102
        plain = await api.get(path, admin_token, **at("2.101"))
        assert before.status == plain.status and before.status < 500, (path, await before.text())
        await assert_fault(await api.get(f"{path}?bogus=1", admin_token, **at("2.102")), 400, "badRequest",
                           UNKNOWN)
        assert (await api.get(path, admin_token, **at("2.102"))).status == plain.status, path


async def test_2_102_the_check_comes_after_the_token_and_before_the_lookup(api, member):
    assert (await api.get("/servers/00000000-0000-0000-0000-000000000000?bogus=1", None, **at("2.102"))).status == 401
    await assert_fault(await api.get("/servers/00000000-0000-0000-0000-000000000000?bogus=1", member,
                                     **at("2.102")), 400, "badRequest", UNKNOWN)
    await assert_fault(await api.get("/servers/00000000-0000-0000-0000-000000000000", member, **at("2.102")), 404)
    resp = await api.get("/os-aggregates?bogus=1", member, **at("2.102"))  # the query before the admin policy
    await assert_fault(resp, 400, "badRequest", UNKNOWN)
    await assert_fault(await api.get("/os-aggregates", member, **at("2.102")), 403)


async def test_2_102_what_nova_leaves_open(api, admin_token, member):
    """The version documents (unversioned), server tags, one attachment and the quota defaults (Nova defines their
    2.102 schemas but does not apply them); other methods than GET read no query; known parameters pass."""
    pid = project_id(api, "proj-a")
    server = await insert(api, pid, tags=("a",))
    for path, status in ((f"/servers/{server.uuid}/tags", 200), (f"/servers/{server.uuid}/tags/a", 204),
                         (f"/os-quota-sets/{pid}/defaults", 200),
                         (f"/servers/{server.uuid}/os-volume_attachments/{server.uuid}", 404)):
        assert (await api.get(f"{path}?bogus=1", member, **at("2.102"))).status == status, path
    resp = await api.request("GET", "/?bogus=1", member, **at("2.102"))
    assert resp.status == 200 and (await resp.json())["version"]["version"] == "2.104"
    resp = await api.put(f"/servers/{server.uuid}/metadata/k?bogus=1", member, json={"meta": {"k": "w"}},
                         **at("2.102"))
    assert resp.status == 200
    assert (await api.delete(f"/servers/{server.uuid}/metadata/k?bogus=1", member, **at("2.102"))).status == 204
    for query in (f"/servers/detail?name=srv&limit=1&marker={server.uuid}", "/flavors/detail?is_public=true",
                  "/os-keypairs?limit=1", "/os-server-groups?limit=1"):
        assert (await api.get(query, member, **at("2.102"))).status == 200, query
    for query in (f"/limits?tenant_id={pid}", "/os-hypervisors?with_servers=true"):
        assert (await api.get(query, admin_token, **at("2.102"))).status == 200, query
    # legacy /v2 is fixed at 2.0, where Nova ignores unknown parameters
    resp = await api.request("GET", f"/servers/{server.uuid}?bogus=1", member, version="v2")
    assert resp.status == 200
