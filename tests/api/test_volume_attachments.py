"""Nova's os-volume_attachments (#1101-#1103, #1105) on the whole app (servers on libvirt's test driver, which has
no hot-plug: a recording DiskPlug stands in for virt/disk_devices.py, whose real calls the real-guest tests make).
Answers are checked against Tempest's schemas at their microversions; the volume's Cinder side with the /volume
face; failures leave the volume and the attachments as they were."""
from __future__ import annotations

import dataclasses

import pytest

from nodecompute import app as app_module
from nodecompute.api.dialects.openstack import OPENSTACK
from nodecompute.api.keys import block_storage_key, servers_key, volume_attachments_key
from nodecompute.app import create_app, store_key
from nodecompute.db import servers as servers_db
from nodecompute.db import volumes as volumes_db
from nodecompute.domain.models import utcnow
from nodecompute.domain.volume_models import Attachment
from nodecompute.virt.errors import DeviceStillAttached
from tests.api.attachment_fakes import RecordingPlug
from tests.api.helpers import Api, assert_fault, upload_raw_image
from tests.api.volume_helpers import Cinder
from tests.oracle import validate_with_tempest

TOP = (2, 101)
ATTACHMENTS = "/servers/{server_id}/os-volume_attachments"


@dataclasses.dataclass
class Cloud:
    api: Api
    token: str
    cinder: Cinder
    plug: RecordingPlug
    image: str

    async def call(self, method: str, path: str, status: int, version: str = "2.1", tempest: bool = True, **kw):
        headers = {"X-OpenStack-Nova-API-Version": version}
        resp = await self.api.request(method, path, self.token, headers=headers, **kw)
        assert resp.status == status, (method, path, resp.status, await resp.text())
        body = await resp.json() if resp.content_length else None
        shape = path.split("?")[0].split("/os-volume_attachments")[1]
        if tempest:
            validate_with_tempest(method, ATTACHMENTS + ("/{volume_id}" if shape else ""), None, version, status,
                                  body)
        return body

    async def server(self, name: str = "vm") -> str:
        resp = await self.api.post("/servers", self.token, json={"server": {
            "name": name, "imageRef": self.image, "flavorRef": "42"}})
        assert resp.status == 202, await resp.text()
        server_id = (await resp.json())["server"]["id"]
        await self.api.client.server.app[servers_key].wait_idle()
        return server_id

    async def attach(self, server_id: str, volume_id: str, version: str = "2.1", **fields):
        return await self.call("POST", f"/servers/{server_id}/os-volume_attachments", 200, version,
                               json={"volumeAttachment": {"volumeId": volume_id, **fields}})

    def volume_status(self, volume_id: str) -> str:
        return self.api.client.server.app[block_storage_key].volumes.get(self.cinder.ctx, volume_id).status


@pytest.fixture
async def cloud(aiohttp_client, cfg, monkeypatch):
    v21, *others = OPENSTACK.roots
    mv = dataclasses.replace(v21.microversions, max=TOP)
    monkeypatch.setattr(app_module, "OPENSTACK",
                        dataclasses.replace(OPENSTACK, roots=(dataclasses.replace(v21, microversions=mv), *others)))
    client = await aiohttp_client(create_app(cfg))
    api = Api(client)
    token = await api.token("admin", "admin-secret", "admin")
    plug = RecordingPlug()
    client.server.app[volume_attachments_key].plug = plug
    yield Cloud(api, token, Cinder(api, token), plug, await upload_raw_image(client.server.app, token))
    service = client.server.app[servers_key]
    await service.wait_idle()
    for server in service.store.read(servers_db.list_all_live):  # test:///default is shared by the process
        await service.guests.destroy(server.uuid, server.instance_name)


async def test_attach_list_show_detach(cloud: Cloud):
    server_id = await cloud.server()
    volume = await cloud.cinder.create(name="data")
    attached = (await cloud.attach(server_id, volume["id"]))["volumeAttachment"]
    assert attached == {"id": volume["id"], "volumeId": volume["id"], "serverId": server_id, "device": "/dev/vdb"}
    instance = cloud.api.client.server.app[servers_key].get(cloud.cinder.ctx, server_id).instance_name
    path = str(cloud.cinder.volume_file(volume["id"]))
    assert cloud.plug.calls == [("plug", instance, path, "vdb", volume["id"])]
    shown = await cloud.cinder.show(volume["id"])
    assert shown["status"] == "in-use"
    assert [(a["server_id"], a["device"]) for a in shown["attachments"]] == [(server_id, "/dev/vdb")]
    listed = await cloud.call("GET", f"/servers/{server_id}/os-volume_attachments", 200)
    assert listed == {"volumeAttachments": [attached]}
    assert (await cloud.call("GET", f"/servers/{server_id}/os-volume_attachments/{volume['id']}", 200)) == \
        {"volumeAttachment": attached}
    second = await cloud.cinder.create(name="more")
    assert (await cloud.attach(server_id, second["id"], "2.79", device="/dev/vdd", delete_on_termination=True)
            )["volumeAttachment"]["device"] == "/dev/vdd"  # the requested name when free
    for version, shown in (("2.1", [{"id": volume["id"]}, {"id": second["id"]}]),
                           ("2.3", [{"id": volume["id"], "delete_on_termination": False},
                                    {"id": second["id"], "delete_on_termination": True}])):
        resp = await cloud.api.get(f"/servers/{server_id}", cloud.token,
                                   headers={"X-OpenStack-Nova-API-Version": version})
        assert (await resp.json())["server"]["os-extended-volumes:volumes_attached"] == shown, version
    server = cloud.api.client.server.app[servers_key].get(cloud.cinder.ctx, server_id)
    disks = cloud.api.client.server.app[servers_key].guests.disks(server)  # what a start or hard reboot defines
    assert [(d.path, d.requested, d.serial) for d in disks[-2:]] == [
        (path, "/dev/vdb", volume["id"][:20]), (str(cloud.cinder.volume_file(second["id"])), "/dev/vdd",
                                                second["id"][:20])]
    await cloud.call("DELETE", f"/servers/{server_id}/os-volume_attachments/{volume['id']}", 202)
    await cloud.cinder.idle()
    assert cloud.plug.calls[-1] == ("unplug", instance, "vdb")
    assert (await cloud.cinder.show(volume["id"]))["status"] == "available"
    listed = await cloud.call("GET", f"/servers/{server_id}/os-volume_attachments", 200)
    assert [a["volumeId"] for a in listed["volumeAttachments"]] == [second["id"]]
    page = await cloud.call("GET", f"/servers/{server_id}/os-volume_attachments?offset=1", 200)
    assert page == {"volumeAttachments": []}


async def test_views_and_bodies_per_microversion(cloud: Cloud):
    server_id = await cloud.server()
    volumes = [(await cloud.cinder.create(name=f"v{i}"))["id"] for i in range(4)]
    resp = await cloud.api.post(f"/servers/{server_id}/os-volume_attachments", cloud.token,
                                headers={"X-OpenStack-Nova-API-Version": "2.48"},
                                json={"volumeAttachment": {"volumeId": volumes[0], "tag": "t"}})
    await assert_fault(resp, 400)  # no tag before 2.49
    assert cloud.volume_status(volumes[0]) == "available"
    tagged = (await cloud.attach(server_id, volumes[0], "2.70", tag="data"))["volumeAttachment"]
    assert (tagged["tag"], "delete_on_termination" in tagged) == ("data", False)
    kept = (await cloud.attach(server_id, volumes[1], "2.79", delete_on_termination=True))["volumeAttachment"]
    assert (kept["tag"], kept["delete_on_termination"]) == (None, True)
    at_289 = await cloud.call("GET", f"/servers/{server_id}/os-volume_attachments/{volumes[1]}", 200, "2.89")
    view = at_289["volumeAttachment"]
    assert "id" not in view and view["attachment_id"] and view["bdm_uuid"] != view["attachment_id"]
    assert (await cloud.call("GET", f"/servers/{server_id}/os-volume_attachments/{volumes[1]}", 200, "2.89")) == \
        at_289  # stable ids
    body = await cloud.call("POST", f"/servers/{server_id}/os-volume_attachments", 202, "2.101",
                            tempest=False, json={"volumeAttachment": {"volumeId": volumes[2]}})
    assert body is None and cloud.volume_status(volumes[2]) == "in-use"
    listed = await cloud.call("GET", f"/servers/{server_id}/os-volume_attachments", 200, "2.79")
    assert [(a["volumeId"], a["tag"], a["delete_on_termination"]) for a in listed["volumeAttachments"]] == [
        (volumes[0], "data", False), (volumes[1], None, True), (volumes[2], None, False)]
    resp = await cloud.api.get(f"/servers/{server_id}/os-volume_attachments?foo=1", cloud.token,
                               headers={"X-OpenStack-Nova-API-Version": "2.75"})
    await assert_fault(resp, 400)  # unknown query parameters from 2.75


async def test_refusals_change_nothing(cloud: Cloud):
    server_id, other_id = await cloud.server("one"), await cloud.server("two")
    volume = await cloud.cinder.create()
    missing = "0a0b0c0d-0000-4000-8000-000000000000"
    base = f"/servers/{server_id}/os-volume_attachments"
    cases = [
        (f"/servers/{missing}/os-volume_attachments", {"volumeId": volume["id"]}, 404,
         f"Instance {missing} could not be found."),
        (base, {"volumeId": missing}, 404, f"Volume {missing} could not be found."),
        (base, {"volumeId": "not-a-uuid"}, 400, None),
        (base, {"volumeId": volume["id"], "device": "/dev/sdb"}, 400,
         "The supplied device path (/dev/sdb) is invalid."),
        (base, {"volumeId": volume["id"], "device": "/dev/vda"}, 409,
         "The supplied device path (/dev/vda) is in use."),
    ]
    for path, fields, code, message in cases:
        resp = await cloud.api.post(path, cloud.token, json={"volumeAttachment": fields})
        await assert_fault(resp, code, message=message)
        assert cloud.volume_status(volume["id"]) == "available", (path, fields)
    assert [c for c in cloud.plug.calls if c[0] == "plug"] == []
    # a failed plug: Nova's compute attaches after the answer (the reserved device answered), then the volume is
    # available again, no attachment, and the attach_volume action's event records the error
    cloud.plug.fail_next = RuntimeError("libvirt said no")
    resp = await cloud.api.post(base, cloud.token, json={"volumeAttachment": {"volumeId": volume["id"]}})
    assert resp.status == 200, await resp.text()
    assert (await resp.json())["volumeAttachment"]["device"] == "/dev/vdb"
    assert cloud.volume_status(volume["id"]) == "available"
    assert (await cloud.call("GET", base, 200)) == {"volumeAttachments": []}
    at_2_84 = {"X-OpenStack-Nova-API-Version": "2.84"}
    resp = await cloud.api.get(f"/servers/{server_id}/os-instance-actions", cloud.token, headers=at_2_84)
    actions = (await resp.json())["instanceActions"]
    assert [a["action"] for a in actions][:1] == ["attach_volume"]
    resp = await cloud.api.get(f"/servers/{server_id}/os-instance-actions/{actions[0]['request_id']}", cloud.token,
                               headers=at_2_84)
    shown = (await resp.json())["instanceAction"]
    assert [(e["event"], e["result"]) for e in shown["events"]] == [("compute_attach_volume", "Error")]
    assert "libvirt said no" in shown["events"][0]["details"]
    resp = await cloud.api.get(f"/servers/{server_id}", cloud.token)
    assert (await resp.json())["server"]["status"] == "ACTIVE"  # the server itself is as it was
    instance = cloud.api.client.server.app[servers_key].get(cloud.cinder.ctx, server_id).instance_name
    cloud.plug.gone.add(instance)
    resp = await cloud.api.post(base, cloud.token, json={"volumeAttachment": {"volumeId": volume["id"]}})
    await assert_fault(resp, 409, message=f"Cannot 'attach_volume' instance {server_id}: its domain is not on this "
                                          "host")
    assert cloud.volume_status(volume["id"]) == "available"
    cloud.plug.gone.clear()
    await cloud.attach(server_id, volume["id"])
    for target, message in ((server_id, f"Invalid volume: volume {volume['id']} already attached"),
                            (other_id, f"Invalid volume: volume {volume['id']} is already attached to instances: "
                                       f"{server_id}")):
        resp = await cloud.api.post(f"/servers/{target}/os-volume_attachments", cloud.token,
                                    json={"volumeAttachment": {"volumeId": volume["id"]}})
        await assert_fault(resp, 400, message=message)
    await cloud.cinder.fault("DELETE", f"/volumes/{volume['id']}", 400)
    resp = await cloud.api.delete(f"/servers/{other_id}/os-volume_attachments/{volume['id']}", cloud.token)
    await assert_fault(resp, 404, message=f"Instance {other_id} is not attached to volume {volume['id']}")
    assert cloud.volume_status(volume["id"]) == "in-use"


async def test_a_guest_that_keeps_the_disk_leaves_the_volume_in_use(cloud: Cloud):
    server_id = await cloud.server()
    volume = await cloud.cinder.create()
    await cloud.attach(server_id, volume["id"])
    cloud.plug.fail_next = DeviceStillAttached("vdb", "the guest did not release it")
    await cloud.call("DELETE", f"/servers/{server_id}/os-volume_attachments/{volume['id']}", 202)
    await cloud.cinder.idle()
    assert cloud.volume_status(volume["id"]) == "in-use"
    listed = await cloud.call("GET", f"/servers/{server_id}/os-volume_attachments", 200)
    assert [a["volumeId"] for a in listed["volumeAttachments"]] == [volume["id"]]


async def test_shelved_servers_take_volumes_from_2_20(cloud: Cloud):
    server_id = await cloud.server()
    volume = await cloud.cinder.create()
    store = cloud.api.client.server.app[store_key]
    await store.write(servers_db.update_server, server_id, {"vm_state": "shelved_offloaded"}, now=utcnow())
    resp = await cloud.api.post(f"/servers/{server_id}/os-volume_attachments", cloud.token,
                                headers={"X-OpenStack-Nova-API-Version": "2.19"},
                                json={"volumeAttachment": {"volumeId": volume["id"]}})
    await assert_fault(resp, 409, message=f"Cannot 'attach_volume' instance {server_id} while it is in vm_state "
                                          "shelved_offloaded")
    attached = (await cloud.attach(server_id, volume["id"], "2.20"))["volumeAttachment"]
    assert attached["device"] is None and cloud.plug.calls == []  # no domain: nothing to plug
    assert cloud.volume_status(volume["id"]) == "in-use"


async def test_a_volume_attached_while_offloaded_gets_its_device_name_at_unshelve(cloud: Cloud):
    """Nova names the mapping when the unshelved server's domain is made (Tempest's
    test_attach_volume_shelved_or_offload_server reads `device` after the unshelve)."""
    server_id = await cloud.server()
    volume = await cloud.cinder.create()
    service = cloud.api.client.server.app[servers_key]
    for action in ({"shelve": None}, None, {"unshelve": None}):  # offloaded at once (shelved_offload_time 0)
        if action is None:
            assert service.store.read(servers_db.get_server, server_id).vm_state == "shelved_offloaded"
            assert (await cloud.attach(server_id, volume["id"], "2.20"))["volumeAttachment"]["device"] is None
            continue
        resp = await cloud.api.post(f"/servers/{server_id}/action", cloud.token, json=action)
        assert resp.status == 202, await resp.text()
        await service.wait_idle()
    assert service.store.read(servers_db.get_server, server_id).vm_state == "active"
    shown = await cloud.call("GET", f"/servers/{server_id}/os-volume_attachments/{volume['id']}", 200)
    assert shown["volumeAttachment"]["device"] == "/dev/vdb"
    assert cloud.volume_status(volume["id"]) == "in-use"


async def test_deleting_a_server_lets_its_volumes_go(cloud: Cloud):
    server_id = await cloud.server()
    kept = await cloud.cinder.create(name="kept")
    dropped = await cloud.cinder.create(name="dropped")
    await cloud.attach(server_id, kept["id"])
    await cloud.attach(server_id, dropped["id"], "2.79", delete_on_termination=True)
    assert (await cloud.api.delete(f"/servers/{server_id}", cloud.token)).status == 204
    await cloud.api.client.server.app[servers_key].wait_idle()
    await cloud.cinder.idle()
    shown = await cloud.cinder.show(kept["id"])
    assert (shown["status"], shown["attachments"]) == ("available", [])
    await cloud.cinder.fault("GET", f"/volumes/{dropped['id']}", 404)
    assert not cloud.cinder.volume_file(dropped["id"]).exists()


async def test_start_settles_attaches_and_detaches_a_stop_interrupted(cloud: Cloud):
    """Rows as a SIGKILL leaves them; the domain's disks say what happened (the real restart: integration)."""
    server_id = await cloud.server()
    app = cloud.api.client.server.app
    store, service = app[store_key], app[volume_attachments_key]
    instance = app[servers_key].get(cloud.cinder.ctx, server_id).instance_name
    plugged, unplugged, held, released = [(await cloud.cinder.create(name=name))["id"]
                                          for name in ("plugged", "unplugged", "held", "released")]
    for volume_id in (held, released):
        await cloud.attach(server_id, volume_id)
        await store.write(volumes_db.update_volume, volume_id, {"status": "detaching"}, ("in-use",), now=utcnow())
    cloud.plug.sources[instance] = {t: s for t, s in cloud.plug.sources[instance].items()
                                    if s != str(cloud.cinder.volume_file(released))}  # its unplug happened
    for volume_id in (plugged, unplugged):
        await store.write(volumes_db.update_volume, volume_id, {"status": "attaching"}, ("available",), now=utcnow())
        await store.write(volumes_db.insert_attachment, Attachment(
            id=volume_id[::-1], volume_id=volume_id, server_id=server_id, device=None, attached_at=None))
    cloud.plug.sources[instance]["vdf"] = str(cloud.cinder.volume_file(plugged))  # its plug happened

    await service.at_start()
    listed = await cloud.call("GET", f"/servers/{server_id}/os-volume_attachments", 200)
    assert sorted((a["volumeId"], a["device"]) for a in listed["volumeAttachments"]) == sorted(
        [(held, "/dev/vdb"), (plugged, "/dev/vdf")])
    assert [cloud.volume_status(v) for v in (plugged, unplugged, held, released)] == [
        "in-use", "available", "in-use", "available"]


async def test_multiattach_volumes_get_novas_faults(cloud: Cloud):
    """A volume of a type with multiattach "<is> True" shows multiattach true; below 2.60 Nova refuses it for the
    microversion, from 2.60 as a compute whose driver cannot share a disk (libvirt shares raw disks only)."""
    await cloud.cinder.ok("POST", "/types", 200, json={"volume_type": {
        "name": "shared", "extra_specs": {"multiattach": "<is> True"}}})
    volume = await cloud.cinder.create(volume_type="shared")
    assert volume["multiattach"] is True
    assert (await cloud.cinder.create())["multiattach"] is False
    server_id = await cloud.server()
    for version, message in (("2.59", "Multiattach volumes are only supported starting with compute API version "
                                      "2.60."),
                             ("2.60", f"Volume {volume['id']} has 'multiattach' set, which is not supported for "
                                      "this instance.")):
        resp = await cloud.api.post(f"/servers/{server_id}/os-volume_attachments", cloud.token,
                                    headers={"X-OpenStack-Nova-API-Version": version},
                                    json={"volumeAttachment": {"volumeId": volume["id"]}})
        await assert_fault(resp, 400, message=message)
    assert cloud.volume_status(volume["id"]) == "available" and cloud.plug.calls == []
