"""Cyclades volume attachments (seed 001; D11, D56) on the whole app (servers on libvirt's test driver, a recording
DiskPlug for the hot-plug): integer ids, `device` "", attach and detach 200, ?xml read back."""
from __future__ import annotations

import pytest

from nodecompute.api import xml_cyclades
from nodecompute.api.keys import servers_key, volume_attachments_key
from nodecompute.app import store_key
from nodecompute.db import identity as identity_db
from nodecompute.db import volumes as volumes_db
from tests.api.attachment_fakes import RecordingPlug
from tests.api.cyclades_fixtures import Cyc, servers_api  # noqa: F401 (a fixture)
from tests.api.helpers import Api, assert_fault, upload_raw_image
from tests.api.volume_helpers import Cinder


@pytest.fixture
async def api(servers_api) -> Api:  # noqa: F811
    servers_api.client.server.app[volume_attachments_key].plug = RecordingPlug()
    return servers_api


async def test_attach_list_show_detach_examples(api):
    # seed 001: Example Attach Volume Request/Response, List Volumes, Show Volume Response, Detach (200)
    cyc = Cyc(api, await api.token("admin", "admin-secret", "admin"))
    image = await upload_raw_image(api.client.server.app, cyc.token)
    server = (await cyc.ok("POST", "/servers", json={"server": {"name": "vm", "imageRef": image, "flavorRef": 1,
                                                                "networks": []}}))["server"]
    await api.client.server.app[servers_key].wait_idle()
    cinder = Cinder(api, cyc.token)
    volume = await cinder.create(size=1)
    await cinder.idle()
    serial = api.client.server.app[store_key].read(volumes_db.get_volume, volume["id"]).serial
    path = f"/servers/{server['id']}/os-volume_attachments"
    made = await cyc.ok("POST", path, json={"volumeAttachment": {"volumeId": serial}})
    expected = {"device": "", "serverId": int(server["id"]), "id": serial, "volumeId": serial}
    assert made == {"volumeAttachment": expected}
    await api.client.server.app[servers_key].wait_idle()
    listed = await cyc.ok("GET", path)
    assert listed == {"volumeAttachments": [expected]}
    resp = await cyc.get(path + "?xml")
    assert xml_cyclades.read_back(await resp.read()) == xml_cyclades.xml_view_of(listed)
    assert await cyc.ok("GET", f"{path}/{serial}") == {"volumeAttachment": expected}
    await assert_fault(await cyc.get(f"{path}/abc"), 400, "badRequest")
    resp = await cyc.delete(f"{path}/{serial}")
    assert resp.status == 200, await resp.text()
    await api.client.server.app[servers_key].wait_idle()
    await cinder.idle()
    assert (await cyc.ok("GET", path)) == {"volumeAttachments": []}


async def test_reassign_with_an_attached_volume_is_409(api, make_user):
    # issue 23's reassign decision: a server with attached volumes gives 409 until they are detached; nothing moves
    cyc = Cyc(api, await api.token("admin", "admin-secret", "admin"))
    image = await upload_raw_image(api.client.server.app, cyc.token)
    server = (await cyc.ok("POST", "/servers", json={"server": {"name": "vm", "imageRef": image, "flavorRef": 1,
                                                                "networks": []}}))["server"]
    await api.client.server.app[servers_key].wait_idle()
    cinder = Cinder(api, cyc.token)
    volume = await cinder.create(size=1)
    await cinder.idle()
    store = api.client.server.app[store_key]
    serial = store.read(volumes_db.get_volume, volume["id"]).serial
    await cyc.ok("POST", f"/servers/{server['id']}/os-volume_attachments",
                 json={"volumeAttachment": {"volumeId": serial}})
    await api.client.server.app[servers_key].wait_idle()
    await make_user("target", "member")
    target = store.read(identity_db.find_project, "target").id
    source = (await cyc.ok("GET", f"/servers/{server['id']}"))["server"]["tenant_id"]
    await assert_fault(await cyc.post(f"/servers/{server['id']}/action", json={"reassign": {"project": target}}),
                       409, "conflictingRequest")
    assert (await cyc.ok("GET", f"/servers/{server['id']}"))["server"]["tenant_id"] == source != target
    resp = await cyc.delete(f"/servers/{server['id']}/os-volume_attachments/{serial}")
    assert resp.status == 200, await resp.text()
    await api.client.server.app[servers_key].wait_idle()
    await cinder.idle()
    resp = await cyc.post(f"/servers/{server['id']}/action", json={"reassign": {"project": target}})
    assert resp.status == 202, await resp.text()
    assert (await cyc.ok("GET", f"/servers/{server['id']}"))["server"]["tenant_id"] == target
