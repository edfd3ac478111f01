"""PUT /servers/{id}/os-volume_attachments/{volume_id} (#1104): Nova's swap (admin; a block copy and pivot, recorded
by the stand-in DiskPlug: the real one is tests/integration/test_volume_attachments_live.py) and the 2.85 update of
delete_on_termination. Refusals carry Nova's faults and leave both volumes and the attachment as they were."""
from __future__ import annotations

from nodecompute.api.keys import config_key, servers_key, volume_attachments_key
from nodecompute.app import store_key
from nodecompute.compute import attachment_records as records
from nodecompute.db import servers as servers_db
from nodecompute.db import volume_attachments as attachments_db
from nodecompute.domain.models import utcnow
from nodecompute.identity import accounts
from tests.api.helpers import assert_fault
from tests.api.test_volume_attachments import Cloud, cloud  # noqa: F401 (cloud is a fixture)

GIB = 1024 ** 3


def _path(server_id: str, volume_id: str) -> str:
    return f"/servers/{server_id}/os-volume_attachments/{volume_id}"


async def _put(cloud: Cloud, server_id: str, volume_id: str, fields: dict, version: str = "2.1",
               token: str | None = None):
    return await cloud.api.request("PUT", _path(server_id, volume_id), token or cloud.token,
                                   headers={"X-OpenStack-Nova-API-Version": version},
                                   json={"volumeAttachment": fields})


async def _member_token(cloud: Cloud) -> str:
    cfg = cloud.api.client.server.app[config_key]
    store = cloud.api.client.server.app[store_key]
    await store.write(lambda db: accounts.create_user(db, cfg, "swapper", "admin", "member", "pw-swapper",
                                                      now=utcnow()))
    return await cloud.api.token("swapper", "pw-swapper", "admin")


async def test_swap_moves_the_disk_and_the_attachment(cloud: Cloud):
    server_id = await cloud.server()
    old = await cloud.cinder.create(name="old", size=1)
    new = await cloud.cinder.create(name="new", size=2)
    await cloud.attach(server_id, old["id"], "2.79", delete_on_termination=True)
    instance = cloud.api.client.server.app[servers_key].get(cloud.cinder.ctx, server_id).instance_name

    resp = await _put(cloud, server_id, old["id"], {"volumeId": new["id"]})
    assert resp.status == 202 and not await resp.read()
    await cloud.cinder.idle()
    assert cloud.plug.calls[-1] == ("move", instance, "vdb", str(cloud.cinder.volume_file(new["id"])), 2 * GIB)
    listed = await cloud.call("GET", f"/servers/{server_id}/os-volume_attachments", 200, "2.79")
    assert [(a["volumeId"], a["device"], a["delete_on_termination"]) for a in listed["volumeAttachments"]] == [
        (new["id"], "/dev/vdb", True)]
    assert (cloud.volume_status(old["id"]), cloud.volume_status(new["id"])) == ("available", "in-use")
    server = cloud.api.client.server.app[servers_key].get(cloud.cinder.ctx, server_id)
    disks = cloud.api.client.server.app[servers_key].guests.disks(server)  # a restart defines the new volume
    assert (disks[-1].path, disks[-1].requested) == (str(cloud.cinder.volume_file(new["id"])), "/dev/vdb")
    actions = await cloud.api.get(f"/servers/{server_id}/os-instance-actions", cloud.token)
    assert (await actions.json())["instanceActions"][0]["action"] == "swap_volume"


async def test_a_failed_copy_leaves_the_old_volume_attached(cloud: Cloud):
    server_id = await cloud.server()
    old, new = await cloud.cinder.create(name="old"), await cloud.cinder.create(name="new")
    await cloud.attach(server_id, old["id"])
    cloud.plug.fail_next = RuntimeError("block copy failed")
    assert (await _put(cloud, server_id, old["id"], {"volumeId": new["id"]})).status == 202
    await cloud.cinder.idle()
    assert (cloud.volume_status(old["id"]), cloud.volume_status(new["id"])) == ("in-use", "available")
    listed = await cloud.call("GET", f"/servers/{server_id}/os-volume_attachments", 200)
    assert [a["volumeId"] for a in listed["volumeAttachments"]] == [old["id"]]


async def test_swap_refusals_change_nothing(cloud: Cloud):
    server_id, other_id = await cloud.server("one"), await cloud.server("two")
    old = await cloud.cinder.create(name="old", size=2)
    small, busy, free = [await cloud.cinder.create(name=n, size=s) for n, s in (("small", 1), ("busy", 2),
                                                                                  ("free", 2))]
    await cloud.attach(server_id, old["id"])
    await cloud.attach(other_id, busy["id"])
    missing = "0a0b0c0d-0000-4000-8000-000000000000"
    cases = [
        (server_id, missing, {"volumeId": free["id"]}, 404, f"Volume {missing} could not be found."),
        (server_id, old["id"], {"volumeId": missing}, 400, f"Volume {missing} could not be found."),
        (server_id, old["id"], {"volumeId": small["id"]}, 400,
         "Invalid volume: New volume must be the same size or larger."),
        (server_id, old["id"], {"volumeId": busy["id"]}, 400,
         "Invalid volume: New volume must be detached in order to swap."),
        (other_id, old["id"], {"volumeId": free["id"]}, 400,
         "Invalid volume: Old volume is attached to a different instance."),
        (server_id, old["id"], {"volumeId": free["id"], "delete_on_termination": True}, 400, None),  # < 2.85
        (server_id, old["id"], {"volumeId": "nope"}, 400, None),
    ]
    for server, volume_id, fields, code, message in cases:
        await assert_fault(await _put(cloud, server, volume_id, fields), code, message=message)
    member = await _member_token(cloud)
    await assert_fault(await _put(cloud, server_id, old["id"], {"volumeId": free["id"]}, token=member), 403)
    await assert_fault(await _put(cloud, server_id, old["id"], {"volumeId": free["id"]}, "2.85", member), 403)
    store = cloud.api.client.server.app[store_key]
    await store.write(servers_db.update_server, server_id, {"vm_state": "stopped"}, now=utcnow())
    await assert_fault(await _put(cloud, server_id, old["id"], {"volumeId": free["id"]}), 409,
                       message=f"Cannot 'swap_volume' instance {server_id} while it is in vm_state stopped")
    assert [c for c in cloud.plug.calls if c[0] == "move"] == []
    assert [cloud.volume_status(v["id"]) for v in (old, small, busy, free)] == [
        "in-use", "available", "in-use", "available"]


async def test_2_85_updates_delete_on_termination_only(cloud: Cloud):
    server_id = await cloud.server()
    volume = await cloud.cinder.create()
    await cloud.attach(server_id, volume["id"], "2.79", tag="data")
    member = await _member_token(cloud)
    shown = (await cloud.call("GET", _path(server_id, volume["id"]), 200, "2.85"))["volumeAttachment"]
    resp = await _put(cloud, server_id, volume["id"], {**shown, "delete_on_termination": True}, "2.85", member)
    assert resp.status == 202, await resp.text()
    view = (await cloud.call("GET", _path(server_id, volume["id"]), 200, "2.85"))["volumeAttachment"]
    assert view == {**shown, "delete_on_termination": True}
    for field, value in (("device", "/dev/vdc"), ("tag", "other"), ("serverId", volume["id"]),
                         ("id", server_id)):
        resp = await _put(cloud, server_id, volume["id"], {"volumeId": volume["id"], field: value}, "2.85")
        await assert_fault(resp, 400, message=f"The {field} property is not mutable")
    other = await cloud.cinder.create()
    resp = await _put(cloud, server_id, other["id"], {"volumeId": other["id"], "delete_on_termination": False},
                      "2.85")
    await assert_fault(resp, 404, message=f"No volume Block Device Mapping with id {other['id']}.")
    assert (await cloud.call("GET", _path(server_id, volume["id"]), 200, "2.85"))["volumeAttachment"] == view
    assert [c for c in cloud.plug.calls if c[0] == "move"] == []


async def test_start_settles_a_swap_a_crash_interrupted(cloud: Cloud):
    """A crash during the copy leaves the old volume detaching and the new one attaching with a pending row; the
    domain's disk says which file the guest is on (the pivot happened or not), and start settles both to match."""
    app = cloud.api.client.server.app
    pivoted, kept = await cloud.server("pivoted"), await cloud.server("kept")
    moves = {}
    for server_id in (pivoted, kept):
        old, new = await cloud.cinder.create(name="old"), await cloud.cinder.create(name="new")
        await cloud.attach(server_id, old["id"])
        attachment = app[store_key].read(attachments_db.find, server_id, old["id"])
        incoming = records.swap_in(attachment, new["id"], new["id"])
        await app[store_key].write(records.begin_swap_tx, attachment, incoming, utcnow())
        moves[server_id] = (old["id"], new["id"])
    instance = app[servers_key].get(cloud.cinder.ctx, pivoted).instance_name
    cloud.plug.sources[instance]["vdb"] = str(cloud.cinder.volume_file(moves[pivoted][1]))  # the pivot happened

    await app[volume_attachments_key].at_start()
    for server_id, (on, off) in ((pivoted, moves[pivoted][::-1]), (kept, moves[kept])):
        listed = await cloud.call("GET", f"/servers/{server_id}/os-volume_attachments", 200)
        assert [(a["volumeId"], a["device"]) for a in listed["volumeAttachments"]] == [(on, "/dev/vdb")]
        assert (cloud.volume_status(on), cloud.volume_status(off)) == ("in-use", "available")
