"""Step 2.75 of the ladder (issue 10) on every served route it touches, at 2.74 and at 2.75: unknown query
parameters are refused (the server lists, flavors, keypairs, limits and quota sets; Nova's ignored sort keys go
with them), PUT /servers/{id} answers the full server as GET does, and a flavor without swap shows 0."""
from __future__ import annotations

import pytest

from tests import oracle
from tests.api.helpers import assert_fault
from tests.api.ladder_fixtures import api, at, insert, ladder, project_id  # noqa: F401 (fixtures)

UNKNOWN = "Additional properties are not allowed ('bogus' was unexpected)"


@pytest.fixture
async def member(make_user) -> str:
    return await make_user("proj-a", "member")


async def _status(api, token, path: str, version: str, method: str = "GET") -> int:
    resp = await api.request(method, path, token, **at(version))
    return resp.status


@pytest.mark.parametrize("path", ["/servers", "/servers/detail", "/flavors", "/flavors/detail", "/os-keypairs",
                                  "/os-keypairs/nokey", "/limits", "/os-quota-sets/{project}",
                                  "/os-quota-sets/{project}/detail"])
async def test_unknown_query_parameters_are_refused_from_2_75(api, member, path):
    path = path.format(project=project_id(api, "proj-a"))
    before = await _status(api, member, f"{path}?bogus=1", "2.74")
    assert before in (200, 404)  # ignored (the keypair does not exist: 404 at both versions)
    await assert_fault(await api.get(f"{path}?bogus=1", member, **at("2.75")), 400, "badRequest", UNKNOWN)


async def test_2_75_known_parameters_still_pass(api, member, admin_token):
    pid = project_id(api, "proj-a")
    server = await insert(api, pid, name="web")
    for query in ("?hostname=web", "?name=web&sort_key=display_name&sort_dir=asc", "?locked=false",
                  "?changes-before=2999-01-01T00:00:00Z", "?tags=a", "?limit=5&marker=" + server.uuid):
        resp = await api.get(f"/servers/detail{query}", member, **at("2.75"))
        assert resp.status == 200, (query, await resp.text())
    for path in ("/flavors?minRam=1&sort_key=name", "/os-keypairs?limit=1", "/limits?tenant_id=" + pid,
                 f"/os-quota-sets/{pid}?user_id=u-1"):
        assert (await api.get(path, admin_token, **at("2.75"))).status == 200, path
    resp = await api.request("DELETE", f"/os-quota-sets/{pid}?bogus=1", admin_token, **at("2.75"))
    await assert_fault(resp, 400, "badRequest", UNKNOWN)
    resp = await api.put(f"/os-quota-sets/{pid}?bogus=1", admin_token, json={"quota_set": {"cores": 3}},
                         **at("2.75"))
    await assert_fault(resp, 400, "badRequest", UNKNOWN)


async def test_2_75_novas_ignored_sort_keys_are_refused(api, member):
    server = await insert(api, project_id(api, "proj-a"))
    for key in ("vcpus", "disable_terminate", "reservation_id"):
        resp = await api.get(f"/servers?sort_key={key}", member, **at("2.74"))
        assert resp.status == 200 and [s["id"] for s in (await resp.json())["servers"]] == [server.uuid]
        resp = await api.get(f"/servers?sort_key={key}", member, **at("2.75"))
        assert resp.status == 400 and "sort_key" in (await resp.json())["badRequest"]["message"], key
    assert (await api.get("/servers?sort_key=locked", member, **at("2.75"))).status == 200


async def test_2_75_update_answers_the_full_server(api, member, admin_token):
    server = await insert(api, project_id(api, "proj-a"), tags=("a",))
    for token in (member, admin_token):
        body = {"server": {"name": "renamed"}}
        before = await (await api.put(f"/servers/{server.uuid}", token, json=body, **at("2.74"))).json()
        assert not {"OS-EXT-STS:vm_state", "key_name", "security_groups"} & set(before["server"])
        resp = await api.put(f"/servers/{server.uuid}", token, json=body, **at("2.75"))
        after = await resp.json()
        oracle.validate_with_tempest("PUT", "/servers/{server_id}", None, "2.75", resp.status, after)
        shown = await (await api.get(f"/servers/{server.uuid}", token, **at("2.75"))).json()
        assert set(after["server"]) == set(shown["server"])
        assert after["server"]["name"] == "renamed" and after["server"]["tags"] == ["a"]


async def test_2_75_flavor_swap_zero(api, member):
    for path, pick in (("/flavors/1", lambda body: body["flavor"]),
                       ("/flavors/detail", lambda body: {f["id"]: f for f in body["flavors"]}["1"])):
        assert pick(await (await api.get(path, member, **at("2.74"))).json())["swap"] == ""
        resp = await api.get(path, member, **at("2.75"))
        body = await resp.json()
        assert pick(body)["swap"] == 0
        oracle.validate_with_tempest("GET", path.replace("/1", "/{flavor_id}"), None, "2.75", resp.status, body)
