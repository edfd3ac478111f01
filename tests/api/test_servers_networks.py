"""Servers on networks through the whole app (libvirt's test driver, the recording host side): create with
`networks` (auto, none, a network, a port, a fixed IP, a tag) with Nova's refusals; the ports bound to the server;
each NIC's tap made (while the domain is defined) before the guest starts and the domain's `type='ethernet'`
interface on it with the port's MAC; `addresses` and the ips routes; network_data.json on the config drive; ports
released (made ones deleted, given ones unbound) and taps removed on delete and on a failed build (of the tap or of
its filtering); start-up reconciliation of ports left behind."""
from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import pycdlib
import pytest

from nodecompute.api.keys import reconciler_key, servers_key
from nodecompute.compute import server_interfaces
from nodecompute.app import store_key
from nodecompute.db import server_nics as nics_db
from nodecompute.db import servers as servers_db
from nodecompute.hostnet import tap_name
from tests.api.helpers import Api, Net, assert_fault, upload_raw_image


@pytest.fixture
async def cloud(aiohttp_client, ladder_app, hostnet):
    client = await aiohttp_client(ladder_app())
    api = Api(client)
    admin = await api.token("admin", "admin-secret", "admin")
    net = Net(client, admin)
    image_id = await upload_raw_image(client.server.app, admin)
    yield api, admin, net, image_id, hostnet
    service = client.server.app[servers_key]
    await service.wait_idle()
    for server in service.store.read(servers_db.list_all_live):  # test:///default is shared by the process
        await service.guests.destroy(server.uuid, server.instance_name)


async def _network(net: Net, name: str = "private", cidr: str = "198.18.7.0/24", **subnet) -> tuple[dict, dict]:
    network = await net.network(name)
    return network, await net.subnet(network["id"], cidr, **subnet)


async def _create(api: Api, token: str, image_id: str, status: int = 202, version: str = "2.1", **server) -> dict:
    body = {"server": {"name": "vm", "imageRef": image_id, "flavorRef": "42", **server}}
    resp = await api.post("/servers", token, json=body, headers={"OpenStack-API-Version": f"compute {version}"})
    assert resp.status == status, await resp.text()
    return await resp.json()


async def _active(api: Api, token: str, server_id: str) -> dict:
    await api.client.server.app[servers_key].wait_idle()
    resp = await api.get(f"/servers/{server_id}", token)
    server = (await resp.json())["server"]
    assert server["status"] == "ACTIVE", server
    return server


async def _domain_nics(api: Api, server_id: str) -> list[tuple[str, str, str]]:
    """(type, MAC, target dev) of each interface of the server's defined domain."""
    app = api.client.server.app
    row = app[store_key].read(servers_db.get_server, server_id)
    xml = await app[servers_key].guests.hv.live_xml(row.instance_name)
    return [(i.get("type"), i.find("mac").get("address"), i.find("target").get("dev"))
            for i in ET.fromstring(xml).findall("devices/interface")]


async def test_the_projects_one_network_is_plugged_with_a_bound_port_and_a_tap(cloud):
    api, admin, net, image_id, hostnet = cloud
    network, subnet = await _network(net)
    server_id = (await _create(api, admin, image_id))["server"]["id"]
    server = await _active(api, admin, server_id)
    ports = (await net.ok("GET", f"/ports?device_id={server_id}"))["ports"]
    assert len(ports) == 1
    port = ports[0]
    assert port["device_owner"] == "compute:nova" and port["status"] == "ACTIVE"
    assert port["binding:host_id"] and port["network_id"] == network["id"]
    address = port["fixed_ips"][0]["ip_address"]
    assert server["addresses"] == {"private": [{"version": 4, "addr": address, "OS-EXT-IPS:type": "fixed",
                                                "OS-EXT-IPS-MAC:mac_addr": port["mac_address"]}]}
    assert (await (await api.get(f"/servers/{server_id}/ips", admin)).json()) == {
        "addresses": {"private": [{"version": 4, "addr": address}]}}
    assert (await (await api.get(f"/servers/{server_id}/ips/private", admin)).json()) == {
        "private": [{"version": 4, "addr": address}]}
    assert tap_name(port["id"]) in hostnet.taps
    assert await _domain_nics(api, server_id) == [("ethernet", port["mac_address"], tap_name(port["id"]))]
    entries = hostnet.dhcp_entries(network["id"])
    assert (port["mac_address"], address) in entries
    hosts = {p.id: p.hostname for p in hostnet.hosts[network["id"]]}
    assert hosts[port["id"]] == "vm"  # DHCP gives the guest its server's host name


async def test_delete_removes_the_made_port_and_its_tap_and_unbinds_a_given_one(cloud):
    api, admin, net, image_id, hostnet = cloud
    network, _subnet = await _network(net)
    given = await net.port(network["id"], name="mine")
    body = await _create(api, admin, image_id, networks=[{"port": given["id"]}, {"uuid": network["id"]}])
    server_id = body["server"]["id"]
    await _active(api, admin, server_id)
    ports = {p["id"]: p for p in (await net.ok("GET", f"/ports?device_id={server_id}"))["ports"]}
    assert set(ports) >= {given["id"]} and len(ports) == 2
    made = next(p for p in ports if p != given["id"])
    assert [n[1] for n in await _domain_nics(api, server_id)] == [given["mac_address"], ports[made]["mac_address"]]
    assert (await api.delete(f"/servers/{server_id}", admin)).status == 204
    await api.client.server.app[servers_key].wait_idle()
    kept = (await net.ok("GET", f"/ports/{given['id']}"))["port"]
    assert (kept["device_id"], kept["device_owner"], kept["status"]) == ("", "", "DOWN")
    assert (await net.get(f"/ports/{made}")).status == 404
    assert hostnet.taps == {}
    assert api.client.server.app[store_key].read(nics_db.recorded) == []


@pytest.mark.parametrize("networks, status, message", [
    ([{"uuid": "9a8f1b1e-0000-4000-8000-000000000000"}], 400,
     "Network 9a8f1b1e-0000-4000-8000-000000000000 could not be found."),
    ([{"port": "9a8f1b1e-0000-4000-8000-000000000001"}], 400,
     "Port id 9a8f1b1e-0000-4000-8000-000000000001 could not be found."),
])
async def test_unknown_networks_and_ports_are_400(cloud, networks, status, message):
    api, admin, _net, image_id, _hostnet = cloud
    body = await _create(api, admin, image_id, status=status, networks=networks)
    assert message in body["badRequest"]["message"]


async def test_a_port_in_use_is_409_and_a_used_fixed_ip_400(cloud):
    api, admin, net, image_id, _hostnet = cloud
    network, _subnet = await _network(net)
    first = (await _create(api, admin, image_id, networks=[{"uuid": network["id"], "fixed_ip": "198.18.7.50"}]))
    server_id = first["server"]["id"]
    await _active(api, admin, server_id)
    port = (await net.ok("GET", f"/ports?device_id={server_id}"))["ports"][0]
    assert port["fixed_ips"][0]["ip_address"] == "198.18.7.50"
    body = await _create(api, admin, image_id, status=409, networks=[{"port": port["id"]}])
    assert body["conflictingRequest"]["message"] == f"Port {port['id']} is still in use."
    body = await _create(api, admin, image_id, status=400, networks=[{"uuid": network["id"],
                                                                     "fixed_ip": "198.18.7.50"}])
    assert body["badRequest"]["message"] == (f"Fixed IP address 198.18.7.50 is already in use on instance "
                                             f"{server_id}.")
    body = await _create(api, admin, image_id, status=400, networks=[{"uuid": network["id"],
                                                                     "fixed_ip": "198.19.9.9"}])
    assert "is not a valid ip address for network" in body["badRequest"]["message"]


async def test_several_usable_networks_are_409_and_none_boots_without_a_nic(cloud):
    api, admin, net, image_id, hostnet = cloud
    await _network(net, "one", "198.18.8.0/24")
    await _network(net, "two", "198.18.9.0/24")
    body = await _create(api, admin, image_id, status=409)
    assert body["conflictingRequest"]["message"] == ("Multiple possible networks found, use a Network ID to be "
                                                     "more specific.")
    server_id = (await _create(api, admin, image_id, networks="none", version="2.37"))["server"]["id"]
    server = await _active(api, admin, server_id)
    assert server["addresses"] == {} and await _domain_nics(api, server_id) == []


async def test_without_any_network_auto_boots_without_a_nic(cloud):
    api, admin, _net, image_id, hostnet = cloud
    server_id = (await _create(api, admin, image_id, networks="auto", version="2.37"))["server"]["id"]
    assert (await _active(api, admin, server_id))["addresses"] == {}


async def test_the_config_drive_describes_the_ports(cloud, tmp_path):
    api, admin, net, image_id, _hostnet = cloud
    network, _subnet = await _network(net)
    static, static_subnet = await _network(net, "static", "198.18.10.0/24", enable_dhcp=False,
                                           dns_nameservers=["198.18.10.53"])
    body = await _create(api, admin, image_id, config_drive=True, version="2.42",
                         networks=[{"uuid": network["id"], "tag": "front"}, {"uuid": static["id"]}])
    server_id = body["server"]["id"]
    await _active(api, admin, server_id)
    ports = {p["network_id"]: p for p in (await net.ok("GET", f"/ports?device_id={server_id}"))["ports"]}
    drive = api.client.server.app[servers_key].guests.instance_dir(server_id) / "disk.config"
    iso = pycdlib.PyCdlib()
    iso.open(str(drive))
    try:
        data = json.loads(_read(iso, "/openstack/latest/network_data.json"))
        meta = json.loads(_read(iso, "/openstack/latest/meta_data.json"))
    finally:
        iso.close()
    dhcp_port, static_port = ports[network["id"]], ports[static["id"]]
    assert data["links"] == [
        {"id": tap_name(dhcp_port["id"]), "vif_id": dhcp_port["id"], "type": "bridge", "mtu": None,
         "ethernet_mac_address": dhcp_port["mac_address"]},
        {"id": tap_name(static_port["id"]), "vif_id": static_port["id"], "type": "bridge", "mtu": 1500,
         "ethernet_mac_address": static_port["mac_address"]}]
    assert data["networks"][0] == {"id": "network0", "type": "ipv4_dhcp", "link": tap_name(dhcp_port["id"]),
                                   "network_id": network["id"]}
    assert data["networks"][1] == {
        "id": "network1", "type": "ipv4", "link": tap_name(static_port["id"]), "network_id": static["id"],
        "ip_address": static_port["fixed_ips"][0]["ip_address"], "netmask": "255.255.255.0",
        "routes": [{"network": "0.0.0.0", "netmask": "0.0.0.0", "gateway": static_subnet["gateway_ip"]}],
        "services": [{"type": "dns", "address": "198.18.10.53"}]}
    assert data["services"] == [{"type": "dns", "address": "198.18.10.53"}]
    assert meta["devices"] == [{"vf_trusted": False, "type": "nic", "mac": dhcp_port["mac_address"], "bus": "pci",
                                "address": "0000:00:10.0", "tags": ["front"]}]


def _read(iso: pycdlib.PyCdlib, path: str) -> bytes:
    import io

    out = io.BytesIO()
    iso.get_file_from_iso_fp(out, rr_path=path)
    return out.getvalue()


@pytest.mark.parametrize("failing", ["ensure_tap", "apply_firewall", "ensure_network"])
async def test_a_build_whose_tap_filtering_or_dhcp_entry_fails_leaves_no_port_tap_or_filtering(cloud, failing):
    """The tap and the port's filtering are made side by side: either failing, the other (made or loaded meanwhile)
    goes with the port. The port's DHCP entry (its network's host side) is made while the disks and the domain are
    (they need the port's row only): when it fails, the port, its record and the domain defined meanwhile go."""
    api, admin, net, image_id, hostnet = cloud
    await _network(net)
    hostnet.fail(failing)
    server_id = (await _create(api, admin, image_id))["server"]["id"]
    await api.client.server.app[servers_key].wait_idle()
    server = (await (await api.get(f"/servers/{server_id}", admin)).json())["server"]
    assert server["status"] == "ERROR"
    assert (await net.ok("GET", f"/ports?device_id={server_id}"))["ports"] == []
    if failing != "ensure_network":
        assert any(call[0] == "ensure_tap" for call in hostnet.calls)  # the tap was tried beside the bind
    assert hostnet.taps == {} and api.client.server.app[store_key].read(nics_db.recorded) == []
    assert hostnet.firewall is None
    row = api.client.server.app[store_key].read(servers_db.get_server, server_id)
    assert row.instance_name not in await api.client.server.app[servers_key].guests.hv.list_ours()


async def test_start_releases_the_ports_of_servers_that_are_gone(cloud):
    api, admin, net, image_id, hostnet = cloud
    network, _subnet = await _network(net)
    server_id = (await _create(api, admin, image_id))["server"]["id"]
    await _active(api, admin, server_id)
    app = api.client.server.app
    port = (await net.ok("GET", f"/ports?device_id={server_id}"))["ports"][0]
    row = app[store_key].read(servers_db.get_server, server_id)
    await app[servers_key].guests.destroy(server_id, row.instance_name)  # a crash right after the row went
    await app[store_key].write(servers_db.mark_deleted, server_id, now=row.updated_at)
    await app[servers_key].ports.reconcile()
    assert (await net.get(f"/ports/{port['id']}")).status == 404
    assert hostnet.taps == {}


async def test_deleting_a_network_with_a_server_on_it_is_409(cloud):
    api, admin, net, image_id, _hostnet = cloud
    network, _subnet = await _network(net)
    server_id = (await _create(api, admin, image_id))["server"]["id"]
    await _active(api, admin, server_id)
    assert (await net.delete(f"/networks/{network['id']}")).status == 409
    assert reconciler_key in api.client.server.app


# ----- interface attachments (#1301-#1304) -------------------------------------------------------------------------

@pytest.fixture
def hotplug(monkeypatch) -> list[tuple]:
    """libvirt's test driver has no device hot-plug: record what the service asks of virt (the real hot-plug into a
    running guest is tests/integration/test_servers_network_guest.py's)."""
    calls: list[tuple] = []

    async def attach(hv, name, nic):
        calls.append(("attach", name, nic))
        return True

    async def detach(hv, name, mac):
        calls.append(("detach", name, mac))

    monkeypatch.setattr(server_interfaces.nic_devices, "attach_interface", attach)
    monkeypatch.setattr(server_interfaces.nic_devices, "detach_interface", detach)
    return calls


async def test_interfaces_list_attach_show_detach(cloud, hotplug):
    api, admin, net, image_id, hostnet = cloud
    network, _subnet = await _network(net)
    other, _ = await _network(net, "other", "198.18.11.0/24")
    server_id = (await _create(api, admin, image_id, networks=[{"uuid": network["id"]}]))["server"]["id"]
    await _active(api, admin, server_id)
    version = {"OpenStack-API-Version": "compute 2.49"}  # attach takes a tag; views show it from 2.70
    listed = (await (await api.get(f"/servers/{server_id}/os-interface", admin)).json())["interfaceAttachments"]
    assert len(listed) == 1 and set(listed[0]) == {"net_id", "port_id", "mac_addr", "port_state", "fixed_ips"}
    assert listed[0]["port_state"] == "ACTIVE" and listed[0]["net_id"] == network["id"]
    resp = await api.post(f"/servers/{server_id}/os-interface", admin, headers=version,
                          json={"interfaceAttachment": {"net_id": other["id"], "tag": "back"}})
    assert resp.status == 200, await resp.text()
    attached = (await resp.json())["interfaceAttachment"]
    assert attached["net_id"] == other["id"] and "tag" not in attached
    assert [n.tag for n in api.client.server.app[store_key].read(servers_db.get_server, server_id).nics] == [
        None, "back"]
    assert tap_name(attached["port_id"]) in hostnet.taps
    (what, _name, nic), = hotplug
    assert (what, nic.mac, nic.tap) == ("attach", attached["mac_addr"], tap_name(attached["port_id"]))
    shown = await api.get(f"/servers/{server_id}/os-interface/{attached['port_id']}", admin, headers=version)
    assert (await shown.json())["interfaceAttachment"] == attached
    server = (await (await api.get(f"/servers/{server_id}", admin)).json())["server"]
    assert set(server["addresses"]) == {"private", "other"}
    resp = await api.delete(f"/servers/{server_id}/os-interface/{attached['port_id']}", admin)
    assert resp.status == 202
    assert (await net.get(f"/ports/{attached['port_id']}")).status == 404
    assert tap_name(attached["port_id"]) not in hostnet.taps
    assert hotplug[-1][0::2] == ("detach", attached["mac_addr"])
    missing = await api.get(f"/servers/{server_id}/os-interface/{attached['port_id']}", admin)
    await assert_fault(missing, 404, "itemNotFound")


async def test_a_refused_hot_plug_leaves_no_port_or_tap(cloud):
    api, admin, net, image_id, hostnet = cloud  # the test driver refuses attachDeviceFlags: as a failing QEMU
    network, _subnet = await _network(net)
    server_id = (await _create(api, admin, image_id, networks="none", version="2.37"))["server"]["id"]
    await _active(api, admin, server_id)
    resp = await api.post(f"/servers/{server_id}/os-interface", admin,
                          json={"interfaceAttachment": {"net_id": network["id"]}})
    await assert_fault(resp, 500, "computeFault", f"Failed to attach network adapter device to {server_id}")
    assert (await net.ok("GET", f"/ports?device_id={server_id}"))["ports"] == []
    assert hostnet.taps == {} and api.client.server.app[store_key].read(nics_db.recorded) == []


async def test_an_attach_whose_dhcp_entry_fails_leaves_no_port_or_record(cloud, hotplug):
    """The new port's record is written with its row, before its network's host side: when that fails, both go."""
    api, admin, net, image_id, hostnet = cloud
    network, _subnet = await _network(net)
    server_id = (await _create(api, admin, image_id, networks=[{"uuid": network["id"]}]))["server"]["id"]
    await _active(api, admin, server_id)
    store = api.client.server.app[store_key]
    before = store.read(nics_db.recorded)
    hostnet.fail("ensure_network")
    resp = await api.post(f"/servers/{server_id}/os-interface", admin,
                          json={"interfaceAttachment": {"net_id": network["id"]}})
    assert resp.status == 500, await resp.text()
    assert store.read(nics_db.recorded) == before and hotplug == []
    assert len((await net.ok("GET", f"/ports?device_id={server_id}"))["ports"]) == 1
    assert len(store.read(servers_db.get_server, server_id).nics) == 1


async def test_attach_refusals(cloud):
    api, admin, net, image_id, _hostnet = cloud
    network, _subnet = await _network(net)
    server_id = (await _create(api, admin, image_id))["server"]["id"]
    await _active(api, admin, server_id)
    path = f"/servers/{server_id}/os-interface"
    port = await net.port(network["id"])
    both = {"interfaceAttachment": {"net_id": network["id"], "port_id": port["id"]}}
    await assert_fault(await api.post(path, admin, json=both), 400, "badRequest",
                       "Must not input both network_id and port_id")
    unknown = {"interfaceAttachment": {"net_id": "9a8f1b1e-0000-4000-8000-000000000000"}}
    await assert_fault(await api.post(path, admin, json=unknown), 404, "itemNotFound")
    tagged = {"interfaceAttachment": {"port_id": port["id"], "tag": "x"}}
    await assert_fault(await api.post(path, admin, json=tagged), 400, "badRequest")  # tag from 2.49
    used = (await net.ok("GET", f"/ports?device_id={server_id}"))["ports"][0]
    await assert_fault(await api.post(path, admin, json={"interfaceAttachment": {"port_id": used["id"]}}),
                       409, "conflictingRequest")
