"""The virtio-serial channels of a server's domain follow its image's properties (domain/guest_channels.py): the
test command channel on a UNIX socket beside the display's, the guest agent's where libvirt puts it; the channels
are kept on the row (a hard reboot renders them again), and the test channel's socket goes with the server.
On libvirt's test driver, through the whole app (tests/integration/test_servers_guest.py uses the channel)."""
from __future__ import annotations

import uuid

import pytest

from nodecompute.api.keys import images_key, identity_key, reconciler_key, servers_key
from nodecompute.app import create_app, store_key
from nodecompute.db import servers as servers_db
from nodecompute.domain.guest_channels import AGENT_CHANNEL, TEST_CHANNEL
from nodecompute.virt import domain_xml
from tests.api.helpers import Api, upload_raw_image


@pytest.fixture
async def channels_api(aiohttp_client, cfg):
    client = await aiohttp_client(create_app(cfg))
    api = Api(client)
    admin = await api.token("admin", "admin-secret", "admin")
    yield api, admin
    service = client.server.app[servers_key]
    await service.wait_idle()
    for server in service.store.read(servers_db.list_all_live):  # test:///default is shared by the process
        await service.guests.destroy(server.uuid, server.instance_name)


async def _boot(api: Api, admin: str, properties: dict[str, str]) -> str:
    app = api.client.server.app
    image_id = await upload_raw_image(app, admin)
    await app[images_key].set_properties(app[identity_key].validate(admin), image_id, properties, replace=False)
    resp = await api.post("/servers", admin, json={"server": {"name": "vm", "imageRef": image_id, "flavorRef": "42"}})
    assert resp.status == 202, await resp.text()
    server_id = (await resp.json())["server"]["id"]
    await app[servers_key].wait_idle()
    return server_id


async def _channels(api: Api, server_id: str) -> dict:
    service = api.client.server.app[servers_key]
    row = api.client.server.app[store_key].read(servers_db.get_server, server_id)
    return domain_xml.channels(await service.guests.hv.live_xml(row.instance_name))


async def test_an_image_with_both_properties_gets_both_channels(channels_api):
    api, admin = channels_api
    server_id = await _boot(api, admin, {"nodecompute_test_channel": "yes", "hw_qemu_guest_agent": "yes"})
    guests = api.client.server.app[servers_key].guests
    row = api.client.server.app[store_key].read(servers_db.get_server, server_id)
    assert row.guest_channels == (TEST_CHANNEL, AGENT_CHANNEL) and row.vm_state == "active"
    found = await _channels(api, server_id)
    assert set(found) == {TEST_CHANNEL, AGENT_CHANNEL}
    assert found[TEST_CHANNEL][0] == str(guests.channel_socket(server_id))
    assert guests.channel_socket(server_id).parent == guests.display_socket(server_id).parent
    resp = await api.post(f"/servers/{server_id}/action", admin, json={"reboot": {"type": "HARD"}})
    assert resp.status == 202
    await api.client.server.app[servers_key].wait_idle()
    assert set(await _channels(api, server_id)) == {TEST_CHANNEL, AGENT_CHANNEL}  # rendered again from the row


async def test_an_image_without_them_gets_none(channels_api):
    api, admin = channels_api
    server_id = await _boot(api, admin, {"hw_qemu_guest_agent": "no"})
    assert await _channels(api, server_id) == {}


async def test_the_channel_socket_goes_with_its_server_and_orphans_at_start(channels_api):
    api, admin = channels_api
    app = api.client.server.app
    guests = app[servers_key].guests
    server_id = await _boot(api, admin, {"nodecompute_test_channel": "yes"})
    guests.channel_socket(server_id).write_bytes(b"")  # QEMU's, on a real hypervisor
    orphan = guests.channel_socket(str(uuid.uuid4()))
    orphan.write_bytes(b"")
    await app[reconciler_key].at_start()
    assert not orphan.exists() and guests.channel_socket(server_id).exists()
    assert (await api.delete(f"/servers/{server_id}", admin)).status == 204
    assert not guests.channel_socket(server_id).exists()
