"""Helion's volume attachment and instance-action show (issue 24 slice 4; dialects.md D56, D62): attach is 202 and
`device: "auto"` lets the host choose (seed 002 line 7631); an action's show is 200 without `events` (line 8486)."""
from __future__ import annotations

from nodecompute.api.keys import identity_key
from tests.api.test_volume_attachments import Cloud, cloud  # noqa: F401 (fixture)


async def test_attach_is_202_with_device_auto(cloud: Cloud):  # noqa: F811
    server_id = await cloud.server()
    volume = await cloud.cinder.create(name="data")
    project = cloud.api.client.server.app[identity_key].validate(cloud.token).project_id
    resp = await cloud.api.client.post(
        f"/helion/v2/{project}/servers/{server_id}/os-volume_attachments", headers={"X-Auth-Token": cloud.token},
        json={"volumeAttachment": {"volumeId": volume["id"], "device": "auto"}})
    assert resp.status == 202, await resp.text()
    attached = (await resp.json())["volumeAttachment"]
    assert attached == {"id": volume["id"], "volumeId": volume["id"], "serverId": server_id, "device": "/dev/vdb"}
    actions = await cloud.api.client.get(f"/helion/v2/{project}/servers/{server_id}/os-instance-actions",
                                         headers={"X-Auth-Token": cloud.token})
    listed = (await actions.json())["instanceActions"]
    assert [a["action"] for a in listed][-1] == "create"
    resp = await cloud.api.client.get(
        f"/helion/v2/{project}/servers/{server_id}/os-instance-actions/{listed[-1]['request_id']}",
        headers={"X-Auth-Token": cloud.token})
    assert resp.status == 200
    shown = (await resp.json())["instanceAction"]
    assert "events" not in shown and shown["instance_uuid"] == server_id
