"""The metadata service wired into the daemon (issue 16), with the recording host side: a listener per DHCP and
router namespace (opened when they are made, closed when they go, never in the host namespace), the instance found
by the namespace a request came in and its source address only, the subnet's option 121 metadata route only while
no router is plugged into it, passwords kept in SQLite once. The wire itself (a real guest) is
tests/integration/test_metadata_service_wire.py."""
from __future__ import annotations

import asyncio
import base64
import json
import uuid

import pytest

from nodecompute.api.keys import network_key, servers_key
from nodecompute.app import store_key
from nodecompute.compute.metadata_documents import build_tree
from nodecompute.compute.metadata_listeners import ROUTER_METADATA_PORT
from nodecompute.compute.metadata_lookup import MetadataLookup
from nodecompute.compute.server_passwords import AlreadySet, StoredPasswords
from nodecompute.db import servers as servers_db
from tests.api.helpers import Api, Net, upload_raw_image

USER_DATA = b"#!/bin/sh\necho from the metadata service\n"


@pytest.fixture
async def cloud(aiohttp_client, ladder_app, hostnet):
    client = await aiohttp_client(ladder_app())
    api = Api(client)
    admin = await api.token("admin", "admin-secret", "admin")
    image_id = await upload_raw_image(client.server.app, admin)
    yield api, admin, Net(client, admin), image_id, hostnet
    service = client.server.app[servers_key]
    await service.wait_idle()
    for server in service.store.read(servers_db.list_all_live):  # test:///default is shared by the process
        await service.guests.destroy(server.uuid, server.instance_name)


async def _server(api: Api, token: str, image_id: str, network_id: str, name: str) -> tuple[str, str]:
    body = {"server": {"name": name, "imageRef": image_id, "flavorRef": "42", "config_drive": False,
                       "networks": [{"uuid": network_id}], "metadata": {"who": name},
                       "user_data": base64.b64encode(USER_DATA).decode()}}
    resp = await api.post("/servers", token, json=body)
    assert resp.status == 202, await resp.text()
    server_id = (await resp.json())["server"]["id"]
    await api.client.server.app[servers_key].wait_idle()
    ports = await (await api.client.get(f"/networking/v2.0/ports?device_id={server_id}",
                                        headers={"X-Auth-Token": token})).json()
    return server_id, ports["ports"][0]["fixed_ips"][0]["ip_address"]


def _lookup(api: Api, hostnet) -> MetadataLookup:
    app = api.client.server.app
    return MetadataLookup(app[store_key], app[network_key].networks.core.cfg,
                          dhcp_namespace_start=hostnet.names.dhcp_namespace_start,
                          router_namespace_start=hostnet.names.router_namespace_start)


async def test_the_instance_is_found_by_its_networks_namespace_and_source_address_only(cloud):
    api, admin, net, image_id, hostnet = cloud
    blue, green = await net.network("blue"), await net.network("green")
    blue_subnet = await net.subnet(blue["id"], "198.18.7.0/24")
    await net.subnet(green["id"], "198.18.8.0/24")
    server_id, address = await _server(api, admin, image_id, blue["id"], "vm-blue")
    lookup = _lookup(api, hostnet)
    blue_ns, green_ns = hostnet.dhcp_namespace(blue["id"]), hostnet.dhcp_namespace(green["id"])

    md = await lookup(blue_ns, address)
    assert md is not None and md.uuid == server_id and md.meta == {"who": "vm-blue"}
    assert md.user_data == USER_DATA and md.admin_pass is None and md.fixed_ipv4 == address
    assert md.network_data["links"][0]["vif_id"] and md.network_data["networks"][0]["network_id"] == blue["id"]
    # the same address from another network's namespace, an address nobody has, junk: nobody
    assert await lookup(green_ns, address) is None
    assert await lookup(blue_ns, "198.18.7.250") is None and await lookup(blue_ns, "not-an-address") is None
    assert await lookup("some-other-namespace", address) is None
    # a port on the network that belongs to no server (the DHCP port, a bare port) is nobody either
    bare = await net.port(blue["id"])
    assert await lookup(blue_ns, bare["fixed_ips"][0]["ip_address"]) is None

    # through a router: only once the router is plugged into the guest's subnet
    router = (await net.ok("POST", "/routers", 201, json={"router": {"name": "r"}}))["router"]
    router_ns = hostnet.router_namespace(router["id"])
    assert await lookup(router_ns, address) is None
    await net.ok("PUT", f"/routers/{router['id']}/add_router_interface", json={"subnet_id": blue_subnet["id"]})
    assert (await lookup(router_ns, address)).uuid == server_id

    resp = await api.delete(f"/servers/{server_id}", admin)
    assert resp.status == 204
    await api.client.server.app[servers_key].wait_idle()
    assert await lookup(blue_ns, address) is None and await lookup(router_ns, address) is None


async def test_listeners_follow_the_dhcp_and_router_namespaces(cloud):
    api, admin, net, image_id, hostnet = cloud
    network = await net.network("lab")
    dhcp_ns = hostnet.dhcp_namespace(network["id"])
    assert dhcp_ns not in hostnet.listeners  # no DHCP subnet yet: no namespace, no listener
    subnet = await net.subnet(network["id"], "198.18.9.0/24")
    sock = hostnet.listeners[dhcp_ns]
    assert ("open_listener", dhcp_ns) in hostnet.calls
    assert hostnet.networks[network["id"]].subnets[0].metadata_via_dhcp  # option 121 to the DHCP port

    # the listener serves the metadata application: the version list answers anybody, the rest nobody here
    host, port = sock.getsockname()
    reader, writer = await asyncio.open_connection(host, port)
    writer.write(b"GET / HTTP/1.0\r\n\r\n")
    answer = await reader.read()
    writer.close()
    assert answer.startswith(b"HTTP/1.0 200") and answer.endswith(b"2009-04-04\nlatest")
    reader, writer = await asyncio.open_connection(host, port)
    writer.write(b"GET /openstack/latest/meta_data.json HTTP/1.0\r\nX-Forwarded-For: 198.18.9.5\r\n\r\n")
    assert (await reader.read()).startswith(b"HTTP/1.0 404")
    writer.close()

    router = (await net.ok("POST", "/routers", 201, json={"router": {"name": "r"}}))["router"]
    router_ns = hostnet.router_namespace(router["id"])
    assert router_ns in hostnet.listeners
    assert hostnet.routers[router["id"]].metadata_port == ROUTER_METADATA_PORT
    await net.ok("PUT", f"/routers/{router['id']}/add_router_interface", json={"subnet_id": subnet["id"]})
    assert not hostnet.networks[network["id"]].subnets[0].metadata_via_dhcp  # the router serves this subnet
    await net.ok("PUT", f"/routers/{router['id']}/remove_router_interface", json={"subnet_id": subnet["id"]})
    assert hostnet.networks[network["id"]].subnets[0].metadata_via_dhcp
    router_sock = hostnet.listeners[router_ns]
    await net.ok("DELETE", f"/routers/{router['id']}", 204)
    assert router_sock.fileno() == -1  # closed with its namespace
    await net.ok("DELETE", f"/networks/{network['id']}", 204)
    assert sock.fileno() == -1


async def test_a_listener_that_cannot_open_leaves_the_network_standing(cloud):
    api, admin, net, image_id, hostnet = cloud
    network = await net.network("lab")
    hostnet.fail("open_listener")
    await net.subnet(network["id"], "198.18.10.0/24")
    assert network["id"] in hostnet.networks and hostnet.dhcp_namespace(network["id"]) not in hostnet.listeners
    await net.port(network["id"])  # the next change of the network opens it
    assert hostnet.dhcp_namespace(network["id"]) in hostnet.listeners


async def test_the_posted_password_is_kept_once_and_cleared(cloud):
    api, admin, net, image_id, hostnet = cloud
    network = await net.network("lab")
    await net.subnet(network["id"], "198.18.11.0/24")
    server_id, _address = await _server(api, admin, image_id, network["id"], "vm")
    passwords = StoredPasswords(api.client.server.app[store_key])
    assert await passwords.get(server_id) is None
    await passwords.set_once(server_id, "cipher-1")
    with pytest.raises(AlreadySet):
        await passwords.set_once(server_id, "cipher-2")
    assert await passwords.get(server_id) == "cipher-1"
    await passwords.clear(server_id)
    assert await passwords.get(server_id) is None
    await passwords.set_once(server_id, "cipher-3")
    assert await passwords.get(server_id) == "cipher-3"  # a cleared password may be posted again

    # os-server-password (#1604, #1605): what the guest posted, for the server's project; cleared by a member
    resp = await api.get(f"/servers/{server_id}/os-server-password", admin)
    assert (resp.status, await resp.json()) == (200, {"password": "cipher-3"})
    resp = await api.delete(f"/servers/{server_id}/os-server-password", admin)
    assert (resp.status, await resp.read()) == (204, b"")
    resp = await api.get(f"/servers/{server_id}/os-server-password", admin)
    assert (resp.status, await resp.json()) == (200, {"password": ""})
    resp = await api.get(f"/servers/{uuid.uuid4()}/os-server-password", admin)
    assert resp.status == 404
    assert (await api.delete(f"/servers/{server_id}", admin)).status == 204
    await api.client.server.app[servers_key].wait_idle()
    assert await passwords.get(server_id) is None  # gone with the server


async def test_tagged_volumes_are_in_the_metadata_services_devices_as_in_the_drive(cloud):
    """meta_data.json `devices` of the metadata service lists a tagged root volume (2.42) as the config drive does:
    type disk, bus pci, the pinned address, the volume id as serial, the tag; the NIC's entry after it (Nova lists
    them in its domain XML's order, disks before interfaces)."""
    from nodecompute.api.keys import volume_attachments_key
    from nodecompute.compute.volume_boot import disk_devices
    from nodecompute.db import volume_attachments as attachments_db
    from tests.api.attachment_fakes import RecordingPlug

    api, admin, net, image_id, hostnet = cloud
    app = api.client.server.app
    app[volume_attachments_key].plug = RecordingPlug()
    app[servers_key].volume_boot.interval = 0.02
    blue = await net.network("blue")
    await net.subnet(blue["id"], "198.18.9.0/24")
    body = {"server": {"name": "tagged", "imageRef": "", "flavorRef": "42", "config_drive": False,
                       "networks": [{"uuid": blue["id"], "tag": "nic1"}],
                       "block_device_mapping_v2": [{"boot_index": 0, "uuid": image_id, "source_type": "image",
                                                    "destination_type": "volume", "volume_size": 1,
                                                    "delete_on_termination": True, "tag": "root"}]}}
    server_id, md = await _create_and_look_up(api, admin, hostnet, blue["id"], body)
    disks = [d for d in md.devices if d.type == "disk"]
    attachments = app[store_key].read(attachments_db.of_server, server_id)
    assert disks == list(disk_devices(attachments))  # what the config drive is given at build
    assert [(d.bus, d.address, d.serial, d.tags) for d in disks] == [
        ("pci", "0000:00:18.0", attachments[0].volume_id, ("root",))]
    assert [(d.type, d.tags) for d in md.devices] == [("disk", ("root",)), ("nic", ("nic1",))]


async def test_tagged_local_disks_are_in_the_metadata_services_devices_as_in_the_drive(cloud):
    """A tagged image -> local root (2.42) is in the metadata service's `devices` as on the config drive: type disk,
    serial null (Nova's DiskMetadata of a BDM without a volume), bus pci, its pinned address, the tag."""
    from tests.api.test_boot_local_disks import drive_devices

    api, admin, net, image_id, hostnet = cloud
    app = api.client.server.app
    blue = await net.network("blue")
    await net.subnet(blue["id"], "198.18.9.0/24")
    body = {"server": {"name": "tagged-root", "imageRef": image_id, "flavorRef": "42", "config_drive": True,
                       "networks": [{"uuid": blue["id"]}],
                       "block_device_mapping_v2": [{"boot_index": 0, "uuid": image_id, "source_type": "image",
                                                    "destination_type": "local", "tag": "root"}]}}
    server_id, md = await _create_and_look_up(api, admin, hostnet, blue["id"], body)
    served = json.loads(build_tree(md)["openstack/latest/meta_data.json"])["devices"]
    assert served == [{"type": "disk", "serial": None, "bus": "pci", "address": "0000:00:0c.0", "tags": ["root"]}]
    assert served == drive_devices(app[servers_key].guests.instance_dir(server_id) / "disk.config")


async def _create_and_look_up(api, admin: str, hostnet, network_id: str, body: dict):
    """POST `body` at 2.42, wait for the build; (server id, what the metadata service finds for its address)."""
    app = api.client.server.app
    resp = await api.post("/servers", admin, json=body, headers={"X-OpenStack-Nova-API-Version": "2.42"})
    assert resp.status == 202, await resp.text()
    server_id = (await resp.json())["server"]["id"]
    await app[servers_key].wait_idle()
    ports = await (await api.client.get(f"/networking/v2.0/ports?device_id={server_id}",
                                        headers={"X-Auth-Token": admin})).json()
    md = await _lookup(api, hostnet)(hostnet.dhcp_namespace(network_id), ports["ports"][0]["fixed_ips"][0]["ip_address"])
    assert md is not None and md.uuid == server_id
    return server_id, md
