"""os-server-groups (issue 12 rows #1801-#1804) and the `group` scheduler hint on this one host: views per
microversion (2.1, 2.13, 2.15, 2.64), quotas, and the policies enforced at placement (affinity always fits,
anti-affinity's second member goes to ERROR "No valid host", soft policies always fit, 2.64's max_server_per_host).
The whole app on libvirt's test driver; the compute face negotiates up to 2.100 here."""
from __future__ import annotations

import pytest

from nodecompute.compute.servers import NO_VALID_HOST
from tests.api.helpers import Api, assert_fault
from tests.api.test_host_services import api  # noqa: F401 (the app negotiating up to 2.100)
from tests.api.test_servers_api import _create_body, _project_id, image_id  # noqa: F401 (image_id is a fixture)
from nodecompute.api.keys import servers_key


def _v(version: str) -> dict:
    return {"X-OpenStack-Nova-API-Version": version}


async def _group(api: Api, token: str, version: str = "2.1", status: int = 200, **group) -> dict:
    resp = await api.post("/os-server-groups", token, json={"server_group": {"name": "g", **group}},
                          headers=_v(version))
    assert resp.status == status, await resp.text()
    return await resp.json()


async def _boot(api: Api, token: str, image: str, group_id: str, name: str) -> dict:
    body = {**_create_body(imageRef=image, name=name), "os:scheduler_hints": {"group": group_id}}
    resp = await api.post("/servers", token, json=body)
    assert resp.status == 202, await resp.text()
    server_id = (await resp.json())["server"]["id"]
    await api.client.server.app[servers_key].wait_idle()
    return (await (await api.get(f"/servers/{server_id}", token)).json())["server"]


@pytest.fixture
async def member(make_user):
    return await make_user("proj-a", "member", name="group-member")  # proj-a owns image_id


async def test_views_per_microversion(api, member):  # noqa: F811
    old = (await _group(api, member, policies=["anti-affinity"]))["server_group"]
    assert set(old) == {"id", "name", "policies", "members", "metadata"}
    assert (old["policies"], old["members"], old["metadata"]) == (["anti-affinity"], [], {})
    shown = (await (await api.get(f"/os-server-groups/{old['id']}", member, headers=_v("2.13"))).json())
    assert set(shown["server_group"]) == {"id", "name", "policies", "members", "metadata", "project_id", "user_id"}
    await _group(api, member, "2.14", 400, policies=["soft-affinity"])
    assert (await _group(api, member, "2.15", policies=["soft-affinity"]))["server_group"]["policies"] == [
        "soft-affinity"]
    new = (await _group(api, member, "2.64", policy="anti-affinity", rules={"max_server_per_host": 2}))
    assert set(new["server_group"]) == {"id", "name", "policy", "rules", "members", "project_id", "user_id"}
    assert new["server_group"]["rules"] == {"max_server_per_host": 2}
    await assert_fault(await api.post("/os-server-groups", member, headers=_v("2.64"), json={"server_group": {
        "name": "g", "policy": "affinity", "rules": {"max_server_per_host": 2}}}), 400, "badRequest",
        "Only anti-affinity policy supports rules.")
    await _group(api, member, "2.64", 400, policies=["affinity"])
    await _group(api, member, "2.1", 400, policies=["affinity", "anti-affinity"])
    await _group(api, member, "2.1", 400, policies=["spread"])
    listed = (await (await api.get("/os-server-groups?limit=2&offset=1", member)).json())["server_groups"]
    assert [g["id"] for g in listed][0] != old["id"] and len(listed) == 2


async def test_anti_affinity_second_member_finds_no_host(api, member, image_id):  # noqa: F811
    group = (await _group(api, member, policies=["anti-affinity"]))["server_group"]
    first = await _boot(api, member, image_id, group["id"], "one")
    second = await _boot(api, member, image_id, group["id"], "two")
    assert first["status"] == "ACTIVE"
    assert second["status"] == "ERROR" and second["fault"]["message"] == NO_VALID_HOST
    shown = (await (await api.get(f"/os-server-groups/{group['id']}", member)).json())["server_group"]
    assert shown["members"] == [first["id"], second["id"]]  # a member that failed scheduling stays one, as in Nova
    assert (await api.delete(f"/servers/{first['id']}", member)).status == 204
    await api.client.server.app[servers_key].wait_idle()
    assert (await _boot(api, member, image_id, group["id"], "three"))["status"] == "ACTIVE"


@pytest.mark.parametrize("version, group", [
    ("2.1", {"policies": ["affinity"]}), ("2.15", {"policies": ["soft-anti-affinity"]}),
    ("2.64", {"policy": "anti-affinity", "rules": {"max_server_per_host": 2}})])
async def test_policies_that_fit_two_members(api, member, image_id, version, group):  # noqa: F811
    made = (await _group(api, member, version, **group))["server_group"]
    statuses = [(await _boot(api, member, image_id, made["id"], f"m{i}"))["status"] for i in range(2)]
    assert statuses == ["ACTIVE", "ACTIVE"]
    if "rules" in group:
        assert (await _boot(api, member, image_id, made["id"], "third"))["status"] == "ERROR"


async def test_hint_quota_and_ownership(api, member, make_user, admin_token, image_id):  # noqa: F811
    body = {**_create_body(imageRef=image_id), "os:scheduler_hints": {"group": "no-such-group"}}
    await assert_fault(await api.post("/servers", member, json=body), 400, "badRequest",
                       "Instance group no-such-group could not be found.")
    project = _project_id(api, "proj-a")
    resp = await api.put(f"/os-quota-sets/{project}", admin_token,
                         json={"quota_set": {"server_groups": 1, "server_group_members": 1}})
    assert resp.status == 200, await resp.text()
    group = (await _group(api, member, policies=["affinity"]))["server_group"]
    await assert_fault(await api.post("/os-server-groups", member, json={"server_group": {
        "name": "more", "policies": ["affinity"]}}), 403, "forbidden", "Quota exceeded, too many server groups.")
    await _boot(api, member, image_id, group["id"], "only")
    body = {**_create_body(imageRef=image_id), "os:scheduler_hints": {"group": group["id"]}}
    await assert_fault(await api.post("/servers", member, json=body), 403, "forbidden",
                       "Quota exceeded, too many servers in group")
    other = await make_user("proj-b", "member")
    assert (await (await api.get("/os-server-groups", other)).json())["server_groups"] == []
    await assert_fault(await api.get(f"/os-server-groups/{group['id']}", other), 403, "forbidden")
    everyone = (await (await api.get("/os-server-groups?all_projects=1", admin_token)).json())["server_groups"]
    assert [g["id"] for g in everyone] == [group["id"]]
    assert (await api.delete(f"/os-server-groups/{group['id']}", member)).status == 204
    await assert_fault(await api.delete(f"/os-server-groups/{group['id']}", member), 404, "itemNotFound",
                       f"Instance group {group['id']} could not be found.")
