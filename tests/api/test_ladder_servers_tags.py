"""Microversion 2.26, server tags (#208-#213): the routes from 2.26 on (404 at 2.25), their limits, roles and states,
and the tag filters of the server lists (ignored at 2.25). Responses are checked against Tempest's schemas."""
from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from tests import oracle
from tests.api.helpers import assert_fault
from tests.api.ladder_fixtures import api, at, insert, ladder, project_id  # noqa: F401 (fixtures)

V = at("2.26")
TAGS = "/servers/{server_id}/tags"


@pytest.fixture
async def member(make_user) -> str:
    return await make_user("proj-a", "member")


@pytest.fixture
async def server(api, member):
    return await insert(api, project_id(api, "proj-a"))


async def _tags(api, token, server_id) -> list[str]:
    resp = await api.get(f"/servers/{server_id}/tags", token, **V)
    assert resp.status == 200, await resp.text()
    body = await resp.json()
    oracle.validate_with_tempest("GET", TAGS, None, "2.26", resp.status, body)
    return body["tags"]


async def test_the_routes_exist_from_2_26(api, member, server):
    for method, path in (("GET", "/tags"), ("PUT", "/tags"), ("DELETE", "/tags"), ("GET", "/tags/a"),
                         ("PUT", "/tags/a"), ("DELETE", "/tags/a")):
        resp = await api.request(method, f"/servers/{server.uuid}{path}", member, json={"tags": []}
                                 if path == "/tags" and method == "PUT" else None, **at("2.25"))
        await assert_fault(resp, 404, "itemNotFound", "The resource could not be found.")
    assert await _tags(api, member, server.uuid) == []


async def test_replace_add_check_delete(api, member, server):
    resp = await api.put(f"/servers/{server.uuid}/tags", member, json={"tags": ["red", "blue", "red"]}, **V)
    assert resp.status == 200 and await resp.json() == {"tags": ["blue", "red"]}
    oracle.validate_with_tempest("PUT", TAGS, None, "2.26", resp.status, await resp.json())
    resp = await api.put(f"/servers/{server.uuid}/tags/green", member, **V)
    assert resp.status == 201 and await resp.read() == b""
    assert urlsplit(resp.headers["Location"]).path == f"/compute/v2.1/servers/{server.uuid}/tags/green"
    oracle.validate_with_tempest("PUT", TAGS + "/{tag}", None, "2.26", resp.status, None)
    resp = await api.put(f"/servers/{server.uuid}/tags/green", member, **V)
    assert resp.status == 204 and "Location" not in resp.headers
    assert await _tags(api, member, server.uuid) == ["blue", "green", "red"]
    resp = await api.get(f"/servers/{server.uuid}/tags/green", member, **V)
    assert resp.status == 204 and await resp.read() == b""
    oracle.validate_with_tempest("GET", TAGS + "/{tag}", None, "2.52", resp.status, None)
    await assert_fault(await api.get(f"/servers/{server.uuid}/tags/pink", member, **V), 404, "itemNotFound",
                       f"Server {server.uuid} has no tag 'pink'")
    assert (await api.delete(f"/servers/{server.uuid}/tags/green", member, **V)).status == 204
    await assert_fault(await api.delete(f"/servers/{server.uuid}/tags/green", member, **V), 404, "itemNotFound",
                       f"Instance {server.uuid} has no tag 'green'")
    assert (await api.delete(f"/servers/{server.uuid}/tags", member, **V)).status == 204
    assert await _tags(api, member, server.uuid) == []


@pytest.mark.parametrize("tags, message", [
    (["a,b"], "Invalid input for field/attribute 0."),
    (["a/b"], "Invalid input for field/attribute 0."),
    ([""], "Invalid input for field/attribute 0."),
    (["x" * 61], "Invalid input for field/attribute 0."),
    ([f"t{n}" for n in range(51)], "is too long"),
    ("red", "Invalid input for field/attribute tags."),
])
async def test_replace_refuses_bad_tags(api, member, server, tags, message):
    await api.put(f"/servers/{server.uuid}/tags", member, json={"tags": ["keep"]}, **V)
    resp = await api.put(f"/servers/{server.uuid}/tags", member, json={"tags": tags}, **V)
    await assert_fault(resp, 400, "badRequest", message)
    assert await _tags(api, member, server.uuid) == ["keep"]


async def test_add_refuses_bad_tags_and_the_51st(api, member, server):
    for bad in ("a,b", "x" * 61):
        await assert_fault(await api.put(f"/servers/{server.uuid}/tags/{bad}", member, **V), 400, "badRequest",
                           f"Tag '{bad}' is invalid. It must be a non empty string without characters '/' and ','.")
    await assert_fault(await api.put(f"/servers/{server.uuid}/tags/a", member, json={"x": 1}, **V), 400,
                       "badRequest")
    fifty = [f"t{n:02d}" for n in range(50)]
    assert (await api.put(f"/servers/{server.uuid}/tags", member, json={"tags": fifty}, **V)).status == 200
    for tag in ("t51", "t00"):  # Nova counts before it looks: an existing tag at 50 is refused too
        await assert_fault(await api.put(f"/servers/{server.uuid}/tags/{tag}", member, **V), 400, "badRequest",
                           "The number of tags exceeded the per-server limit 50")
    assert await _tags(api, member, server.uuid) == fifty


async def test_roles_projects_and_states(api, member, make_user, server):
    reader = await make_user("proj-a", "reader")
    other = await make_user("proj-b", "member")
    assert await _tags(api, reader, server.uuid) == []
    for method, path in (("PUT", "/tags/a"), ("DELETE", "/tags"), ("DELETE", "/tags/a")):
        await assert_fault(await api.request(method, f"/servers/{server.uuid}{path}", reader, **V), 403,
                           "forbidden")
    await assert_fault(await api.put(f"/servers/{server.uuid}/tags", reader, json={"tags": []}, **V), 403)
    await assert_fault(await api.get(f"/servers/{server.uuid}/tags", other, **V), 404, "itemNotFound")
    building = await insert(api, project_id(api, "proj-a"), vm_state="building", task_state="spawning")
    assert await _tags(api, member, building.uuid) == []
    await assert_fault(await api.put(f"/servers/{building.uuid}/tags/a", member, **V), 409, "conflictingRequest",
                       f"Cannot 'update tag' instance {building.uuid} while it is in vm_state building")
    await assert_fault(await api.put(f"/servers/{building.uuid}/tags", member, json={"tags": ["a"]}, **V), 409,
                       "conflictingRequest", "Cannot 'update tags' instance")
    await assert_fault(await api.delete(f"/servers/{building.uuid}/tags", member, **V), 409)
    locked = await insert(api, project_id(api, "proj-a"), locked=1)  # Nova's tags API ignores the lock
    assert (await api.put(f"/servers/{locked.uuid}/tags/a", member, **V)).status == 201


async def _ids(api, token, query, version="2.26") -> set[str]:
    resp = await api.get(f"/servers{query}", token, **at(version))
    assert resp.status == 200, await resp.text()
    return {s["id"] for s in (await resp.json())["servers"]}


async def test_list_filters(api, member, admin_token):
    pid = project_id(api, "proj-a")
    red = (await insert(api, pid, tags=("red",), name="r")).uuid
    red_blue = (await insert(api, pid, tags=("red", "blue"), name="rb")).uuid
    green = (await insert(api, pid, tags=("green",), name="g")).uuid
    bare = (await insert(api, pid, name="n")).uuid
    everything = {red, red_blue, green, bare}
    assert await _ids(api, member, "?tags=red", "2.25") == everything  # unknown before 2.26: dropped
    assert await _ids(api, member, "?tags=red") == {red, red_blue}
    assert await _ids(api, member, "?tags=red,blue") == {red_blue}
    assert await _ids(api, member, "?tags-any=blue,green") == {red_blue, green}
    assert await _ids(api, member, "?not-tags=red,blue") == {red, green, bare}
    assert await _ids(api, member, "?not-tags-any=red,green") == {bare}
    assert await _ids(api, member, "?tags=red&not-tags=blue") == {red}
    assert await _ids(api, member, "?tags=nope&tags=red") == {red, red_blue}  # the last value counts
    assert await _ids(api, admin_token, "/detail?all_tenants=1&tags-any=red") == {red, red_blue}
