"""The instance action record (os-instance-actions) on the test driver, per microversion: every request that acts
on a server is recorded with its request id and events, newest first; the events by role (2.51), hostId/host
(2.62) and details (2.84); updated_at, paging and changes-since (2.58), changes-before (2.66); deleted servers from
2.21."""
from __future__ import annotations

import hashlib

from tests.api.test_server_actions_part1 import _actions, _show, cloud  # noqa: F401 (cloud: the fixture)
from tests.oracle import assert_keys_like_nova


async def test_every_action_is_recorded_with_its_request_id_newest_first(cloud):
    server_id = await cloud.server()
    request_ids = []
    for body in ({"pause": None}, {"unpause": None}, {"lock": None}, {"unlock": None}, {"suspend": None},
                 {"resume": None}, {"reboot": {"type": "HARD"}}, {"os-stop": None}):
        resp = await cloud.act(server_id, body)
        request_ids.append(resp.headers["x-openstack-request-id"])
    listed = await _actions(cloud, server_id)
    assert [a["action"] for a in listed] == ["stop", "reboot", "resume", "suspend", "unlock", "lock", "unpause",
                                             "pause", "create"]
    assert [a["request_id"] for a in listed[:-1]] == request_ids[::-1]
    assert {(a["instance_uuid"], a["message"]) for a in listed} == {(server_id, None)}
    pause = await _show(cloud, server_id, request_ids[0], cloud.admin, "2.1")
    assert [(e["event"], e["result"]) for e in pause["events"]] == [("compute_pause_instance", "Success")]
    lock = await _show(cloud, server_id, request_ids[2], cloud.admin, "2.1")
    assert [(e["event"], e["result"]) for e in lock["events"]] == [("api_lock", "Success")]
    create = await _show(cloud, server_id, listed[-1]["request_id"], cloud.admin, "2.1")
    assert [(e["event"], e["result"]) for e in create["events"]] == [("compute__do_build_and_run_instance",
                                                                       "Success")]


async def test_show_follows_the_events_steps(cloud):
    server_id = await cloud.server()
    rid = (await cloud.act(server_id, {"pause": None})).headers["x-openstack-request-id"]
    path = f"/servers/{server_id}/os-instance-actions/{rid}"

    async def event_keys(token: str, version: str):
        resp = await cloud.call("GET", path, token, version=version)
        body = await resp.json()
        assert_keys_like_nova(body, "GET", "/servers/{server_id}/os-instance-actions/{request_id}", None,
                              version) if token == cloud.admin else None
        action = body["instanceAction"]
        return None if "events" not in action else set(action["events"][0])

    base = {"event", "start_time", "finish_time", "result"}
    assert await event_keys(cloud.member, "2.50") is None  # events are the admins' before 2.51
    assert await event_keys(cloud.admin, "2.50") == base | {"traceback"}
    assert await event_keys(cloud.member, "2.51") == base
    assert await event_keys(cloud.member, "2.62") == base | {"hostId"}
    assert await event_keys(cloud.admin, "2.62") == base | {"traceback", "host", "hostId"}
    assert await event_keys(cloud.member, "2.84") == base | {"hostId"}  # details: admins only (Nova's policy)
    assert await event_keys(cloud.admin, "2.84") == base | {"traceback", "host", "hostId", "details"}
    shown = await _show(cloud, server_id, rid, cloud.admin, "2.62")
    host = cloud.row(server_id).host
    assert shown["events"][0]["hostId"] == hashlib.sha224((shown["project_id"] + host).encode()).hexdigest()
    assert "updated_at" not in await _show(cloud, server_id, rid, cloud.member, "2.57")
    assert (await _show(cloud, server_id, rid, cloud.member, "2.58"))["updated_at"] >= shown["start_time"]
    resp = await cloud.call("GET", f"/servers/{server_id}/os-instance-actions/req-nope", cloud.member)
    assert (resp.status, await resp.json()) == (404, {"itemNotFound": {"code": 404,
                                                                       "message": "Action req-nope not found"}})


async def test_a_deleted_servers_record_is_shown_from_2_21(cloud):
    server_id = await cloud.server()
    await cloud.act(server_id, {"forceDelete": None})
    resp = await cloud.call("GET", f"/servers/{server_id}/os-instance-actions", cloud.member, version="2.20")
    assert resp.status == 404
    listed = await _actions(cloud, server_id, "2.21")
    assert [a["action"] for a in listed] == ["delete", "create"]
    shown = await _show(cloud, server_id, listed[0]["request_id"], cloud.admin, "2.21")
    assert [e["event"] for e in shown["events"]] == ["compute_terminate_instance"]


async def test_the_list_pages_and_filters_from_2_58(cloud):
    server_id = await cloud.server()
    for body in ({"pause": None}, {"unpause": None}):
        cloud.clock.move(seconds=10)
        await cloud.act(server_id, body)
    everything = await _actions(cloud, server_id)
    assert [a["action"] for a in everything] == ["unpause", "pause", "create"]
    resp = await cloud.call("GET", f"/servers/{server_id}/os-instance-actions?limit=2", cloud.member, version="2.58")
    page = await resp.json()
    assert [a["action"] for a in page["instanceActions"]] == ["unpause", "pause"]
    assert page["links"][0]["rel"] == "next" and f"marker={everything[1]['request_id']}" in page["links"][0]["href"]
    rest = await _actions(cloud, server_id, "2.58", query=f"?marker={everything[1]['request_id']}")
    assert [a["action"] for a in rest] == ["create"]
    assert await _actions(cloud, server_id, "2.58", query="?limit=0") == []
    since = everything[1]["updated_at"]
    assert [a["action"] for a in await _actions(cloud, server_id, "2.58", query=f"?changes-since={since}")] == [
        "unpause", "pause"]
    assert [a["action"] for a in await _actions(cloud, server_id, "2.66", query=f"?changes-before={since}")] == [
        "pause", "create"]
    for query, version, message in [
            ("?marker=req-nope", "2.58", "Marker None could not be found."),
            (f"?changes-since={since}&changes-before=2000-01-01T00:00:00Z", "2.66",
             "The value of changes-since must be less than or equal to changes-before."),
            ("?changes-before=2000-01-01T00:00:00Z", "2.65", None), ("?bogus=1", "2.58", None)]:
        resp = await cloud.call("GET", f"/servers/{server_id}/os-instance-actions{query}", cloud.member,
                                version=version)
        assert resp.status == 400, (query, version)
        if message:
            assert (await resp.json())["badRequest"]["message"] == message
    # before 2.58 the query is not looked at: no paging, no links
    resp = await cloud.call("GET", f"/servers/{server_id}/os-instance-actions?limit=1&bogus=1", cloud.member,
                            version="2.57")
    body = await resp.json()
    assert len(body["instanceActions"]) == 3 and "links" not in body


async def test_another_projects_server_has_no_record_to_show(cloud):
    server_id = await cloud.server()
    stranger = await cloud.user("elsewhere", "member", "carol")
    resp = await cloud.call("GET", f"/servers/{server_id}/os-instance-actions", stranger)
    assert resp.status == 404
