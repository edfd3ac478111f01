"""K5's compute volume extension and attachments (D56, D57, D58, D63): os-volumes create refuses more than 16 TB
and shows `volumeType` as the type id; os-snapshots detail and show name the zone; an attachment's show names
the zone, and `device` null or "auto" both attach at the next free name."""
from __future__ import annotations

from nodecompute.api import k5_volumes
from nodecompute.api.keys import config_key
from tests.api.helpers import assert_fault
from tests.api.k5_examples import assert_like
from tests.api.test_volume_attachments import Cloud, cloud  # noqa: F401 (fixture)


# seed 003 L4325 (the items of L4357 alike)
ATTACHMENT = {"device": "/dev/vdd", "id": "a26887c6-c47b-4654-abb5-dfadf7d3f803",
              "serverId": "0c92f3f6-c253-4c9b-bd43-e880a8d2eb0a", "volumeId": "a26887c6-c47b-4654-abb5-dfadf7d3f803"}


def _k5(cloud, method, path, **kw):  # noqa: F811
    return cloud.api.client.request(method, f"/k5/v2{path}", headers={"X-Auth-Token": cloud.token}, **kw)


async def _ok(resp, status=200):
    assert resp.status == status, await resp.text()
    return await resp.json() if resp.content_length else None


async def test_volumes_snapshots_and_attachments(cloud: Cloud):  # noqa: F811
    zone = cloud.api.client.server.app[config_key].compute.availability_zone
    too_big = {"volume": {"size": str(k5_volumes.MAX_SIZE_GB + 1)}}
    await assert_fault(await _k5(cloud, "POST", "/os-volumes", json=too_big), 400, "badRequest", "16 TB")
    made = (await _ok(await _k5(cloud, "POST", "/os-volumes", json={"volume": {"size": 1}})))["volume"]
    types = (await cloud.cinder.ok("GET", "/types", 200))["volume_types"]
    by_id = {t["id"]: t["name"] for t in types}
    assert made["volumeType"] in by_id
    core = (await _ok(await cloud.api.get(f"/os-volumes/{made['id']}", cloud.token)))["volume"]
    assert core["volumeType"] == by_id[made["volumeType"]]  # the core shows the type's name, K5 its id
    await cloud.cinder.idle()

    snapshot = (await _ok(await _k5(cloud, "POST", "/os-snapshots", json={"snapshot": {
        "volume_id": made["id"], "force": True}})))["snapshot"]
    await cloud.cinder.idle()
    detail = (await _ok(await _k5(cloud, "GET", "/os-snapshots/detail")))["snapshots"]
    assert [s["availability_zone"] for s in detail if s["id"] == snapshot["id"]] == [zone]
    shown = (await _ok(await _k5(cloud, "GET", f"/os-snapshots/{snapshot['id']}")))["snapshot"]
    assert shown["availability_zone"] == zone
    assert "availability_zone" not in (await _ok(await _k5(cloud, "GET", "/os-snapshots")))["snapshots"][0]

    server_id = await cloud.server()
    devices = []
    for device in (None, "auto"):
        volume = (await _ok(await _k5(cloud, "POST", "/os-volumes", json={"volume": {"size": 1}})))["volume"]
        await cloud.cinder.idle()
        attached = await _k5(cloud, "POST", f"/servers/{server_id}/os-volume_attachments",
                             json={"volumeAttachment": {"volumeId": volume["id"], "device": device}})
        attachment = (await _ok(attached))["volumeAttachment"]  # seed 003 L4312/L4325
        assert_like(attachment, ATTACHMENT)
        assert (attachment["id"], attachment["volumeId"], attachment["serverId"]) == (volume["id"], volume["id"],
                                                                                      server_id)
        devices.append(attachment["device"])
        shown = (await _ok(await _k5(cloud, "GET", f"/servers/{server_id}/os-volume_attachments/{volume['id']}")))
        assert shown == {"volumeAttachment": {**attachment, "availability_zone": zone}}  # L4398
    assert devices == ["/dev/vdb", "/dev/vdc"]
    listed = await _ok(await _k5(cloud, "GET", f"/servers/{server_id}/os-volume_attachments"))  # L4357
    assert_like(listed, {"volumeAttachments": [ATTACHMENT]})
    assert sorted(a["device"] for a in listed["volumeAttachments"]) == devices
    assert {a["serverId"] for a in listed["volumeAttachments"]} == {server_id}
