"""Cyclades' firewallProfile action (#327; D40 and the issue's decisions) on libvirt's test driver with the
recording host side: a profile on the server's external-network NIC is stored, shown in `attachments` and reaches
the firewall model the host enforces; a private-network NIC or another server's NIC is 400. The packets' fate
under each profile is tests/integration/test_hostnet_nft.py's
(test_firewall_profiles_filter_inbound_before_the_groups). And floating IPs on that external network (D54)."""
from __future__ import annotations

import dataclasses

import pytest

from nodecompute.api import xml_cyclades
from nodecompute.api.keys import servers_key
from nodecompute.app import create_app, store_key
from nodecompute.db import public_serials
from nodecompute.db import servers as servers_db
from tests.api.cyclades_fixtures import Cyc
from tests.api.helpers import Api, Net, assert_fault, upload_raw_image


@pytest.fixture
async def api(aiohttp_client, cfg) -> Api:
    cfg = dataclasses.replace(cfg, network=dataclasses.replace(cfg.network, external_cidr="198.19.0.0/24"))
    client = await aiohttp_client(create_app(cfg))
    yield Api(client)
    service = client.server.app[servers_key]
    await service.wait_idle()
    for server in service.store.read(servers_db.list_all_live):  # test:///default is shared by the process
        await service.guests.destroy(server.uuid, server.instance_name)


async def _server(api: Api, cyc: Cyc, image: str, network_serial: int) -> dict:
    server = (await cyc.ok("POST", "/servers", json={"server": {
        "name": "vm", "imageRef": image, "flavorRef": 1, "networks": [{"uuid": network_serial}]}}))["server"]
    await api.client.server.app[servers_key].wait_idle()
    return (await cyc.ok("GET", f"/servers/{server['id']}"))["server"]


async def test_profile_on_the_public_nic_only(api, hostnet):
    # seed 000 line 1828 (Example Action firewallProfile: {"profile": "ENABLED", "nic": 123}, empty answer)
    cyc = Cyc(api, await api.token("admin", "admin-secret", "admin"))
    net = Net(api.client, cyc.token)
    store = api.client.server.app[store_key]
    public = next(n for n in (await net.ok("GET", "/networks"))["networks"] if n["router:external"])
    private = await net.network("private")
    await net.subnet(private["id"], "198.18.9.0/24")
    serial = store.read(public_serials.serials_of, "network", [public["id"], private["id"]])
    image = await upload_raw_image(api.client.server.app, cyc.token)
    server = await _server(api, cyc, image, serial[public["id"]])
    other = await _server(api, cyc, image, serial[private["id"]])
    [nic] = server["attachments"]
    assert nic["firewallProfile"] == "DISABLED"
    path = f"/servers/{server['id']}/action"
    resp = await cyc.post(path, json={"firewallProfile": {"profile": "ENABLED", "nic": int(nic["id"])}})
    assert resp.status == 202 and await resp.read() == b"", await resp.text()
    shown = (await cyc.ok("GET", f"/servers/{server['id']}"))["server"]["attachments"][0]
    assert shown["firewallProfile"] == "ENABLED"
    assert {p.mac: p.firewall_profile for p in hostnet.firewall.ports} == {
        nic["mac_address"]: "ENABLED", other["attachments"][0]["mac_address"]: None}
    [other_nic] = other["attachments"]
    await assert_fault(await cyc.post(f"/servers/{other['id']}/action", json={"firewallProfile": {
        "profile": "ENABLED", "nic": int(other_nic["id"])}}), 400, "badRequest")
    await assert_fault(await cyc.post(path, json={"firewallProfile": {
        "profile": "ENABLED", "nic": int(other_nic["id"])}}), 400, "badRequest")
    await assert_fault(await cyc.post(path, json={"firewallProfile": {
        "profile": "PARANOID", "nic": int(nic["id"])}}), 400, "badRequest")
    resp = await cyc.post(path, json={"firewallProfile": {"profile": "DISABLED", "nic": int(nic["id"])}})
    assert resp.status == 202
    assert (await cyc.ok("GET", f"/servers/{server['id']}"))["server"]["attachments"][0]["firewallProfile"] == \
        "DISABLED"


async def test_floating_ips_by_serial_with_all_five_keys(api):
    # seed 000 lines 2924 (List floating ips), 2989 (Get details), 3042 (Create), 3097 (Delete), D54
    cyc = Cyc(api, await api.token("admin", "admin-secret", "admin"))
    made = (await cyc.ok("POST", "/os-floating-ips", json={"pool": "public"}))["floating_ip"]
    assert set(made) == {"id", "ip", "pool", "fixed_ip", "instance_id"} and isinstance(made["id"], int)
    assert made["fixed_ip"] is None and made["instance_id"] is None and made["ip"].startswith("198.19.0.")
    assert (await cyc.ok("GET", "/os-floating-ips")) == {"floating_ips": [made]}
    shown = await cyc.ok("GET", f"/os-floating-ips/{made['id']}")
    assert shown == {"floating_ip": made}
    resp = await cyc.get(f"/os-floating-ips/{made['id']}?xml")
    assert xml_cyclades.read_back(await resp.read()) == xml_cyclades.xml_view_of(shown)
    await assert_fault(await cyc.get("/os-floating-ips/x1"), 400, "badRequest")
    assert (await cyc.delete(f"/os-floating-ips/{made['id']}")).status == 202
    await assert_fault(await cyc.get(f"/os-floating-ips/{made['id']}"), 404, "itemNotFound")
