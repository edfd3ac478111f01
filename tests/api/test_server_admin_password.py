"""changePassword (#308) on libvirt's test driver, whose domains take virDomainSetUserPassword: through the guest
agent when the image asked for it, Nova's 409 without the agent, 501 when the agent does not answer, the task
cleared and the action recorded in each case. The real guest's password hash changes:
tests/integration/test_server_actions2_guest.py."""
from __future__ import annotations

import json

from nodecompute.api.keys import servers_key
from nodecompute.compute import server_admin_password
from nodecompute.db import servers as servers_db
from nodecompute.domain.guest_channels import AGENT_CHANNEL
from nodecompute.domain.models import utcnow
from nodecompute.virt.errors import AgentUnresponsive
from tests.api.test_server_actions_part1 import Cloud, cloud  # noqa: F401 (the fixture)

BODY = {"changePassword": {"adminPass": "n3w-Secret"}}


async def _server(cloud: Cloud, agent: bool) -> str:
    server_id = await cloud.server()
    if agent:  # what an image with hw_qemu_guest_agent=yes leaves on the row (its channel in the domain)
        await cloud.app[servers_key].store.write(servers_db.update_server, server_id,
                                               {"guest_channels": json.dumps([AGENT_CHANNEL])}, now=utcnow())
    return server_id


async def _events(cloud: Cloud, server_id: str) -> list[tuple[str, str, str]]:
    listed = await (await cloud.call("GET", f"/servers/{server_id}/os-instance-actions", cloud.admin)).json()
    request_id = listed["instanceActions"][0]["request_id"]
    shown = await cloud.call("GET", f"/servers/{server_id}/os-instance-actions/{request_id}", cloud.admin)
    action = (await shown.json())["instanceAction"]
    return [(action["action"], e["event"], e["result"]) for e in action["events"]]


async def test_the_agent_sets_the_password_and_the_task_clears(cloud):  # noqa: F811
    server_id = await _server(cloud, agent=True)
    hv = cloud.app[servers_key].guests.hv
    hv.calls.clear()
    resp = await cloud.call("POST", f"/servers/{server_id}/action", cloud.member, BODY)
    assert (resp.status, await resp.read()) == (202, b"")
    assert "set user password" in hv.calls
    assert (cloud.row(server_id).vm_state, cloud.row(server_id).task_state) == ("active", None)
    assert await _events(cloud, server_id) == [("changePassword", "compute_set_admin_password", "Success")]


async def test_without_the_agent_409_and_an_agent_that_does_not_answer_501(cloud, monkeypatch):  # noqa: F811
    server_id = await _server(cloud, agent=False)
    resp = await cloud.call("POST", f"/servers/{server_id}/action", cloud.member, BODY)
    assert (resp.status, await resp.json()) == (409, {"conflictingRequest": {
        "code": 409, "message": "QEMU guest agent is not enabled"}})
    assert cloud.row(server_id).task_state is None
    assert await _events(cloud, server_id) == [("changePassword", "compute_set_admin_password", "Error")]

    async def deaf(hv, name, user, password):
        raise AgentUnresponsive("QEMU guest agent is not connected")

    monkeypatch.setattr(server_admin_password.guest_power, "set_user_password", deaf)
    server_id = await _server(cloud, agent=True)
    resp = await cloud.call("POST", f"/servers/{server_id}/action", cloud.member, BODY)
    assert (resp.status, await resp.json()) == (501, {"notImplemented": {
        "code": 501, "message": "Unable to set password on instance"}})
    row = cloud.row(server_id)
    assert (row.vm_state, row.task_state, row.fault) == ("active", None, None)


async def test_a_stopped_or_locked_server_refuses(cloud):  # noqa: F811
    server_id = await _server(cloud, agent=True)
    await cloud.act(server_id, {"os-stop": None})
    resp = await cloud.call("POST", f"/servers/{server_id}/action", cloud.member, BODY)
    assert (resp.status, (await resp.json())["conflictingRequest"]["message"]) == (
        409, f"Cannot 'changePassword' instance {server_id} while it is in vm_state stopped")
    await cloud.act(server_id, {"os-start": None})
    await cloud.act(server_id, {"lock": None}, token=cloud.admin)
    resp = await cloud.call("POST", f"/servers/{server_id}/action", cloud.member, BODY)
    assert (resp.status, (await resp.json())["conflictingRequest"]["message"]) == (
        409, f"Instance {server_id} is locked")
    for body in ({"changePassword": {}}, {"changePassword": {"adminPass": 1}}, {"changePassword": "x"}):
        resp = await cloud.call("POST", f"/servers/{server_id}/action", cloud.admin, body)
        assert resp.status == 400, body
