"""Cyclades server addresses and metadata (dialects.md D31, D33, D42-D44) on libvirt's test driver, with a NIC on
a network made through the network face (its host side recorded, not made)."""
from __future__ import annotations

import pytest

from nodecompute.api import xml_cyclades
from nodecompute.api.keys import servers_key
from nodecompute.app import store_key
from nodecompute.db import public_serials
from tests.api.cyclades_fixtures import Cyc, servers_api  # noqa: F401 (a fixture)
from tests.api.helpers import Api, Net, assert_fault, upload_raw_image


@pytest.fixture
async def api(servers_api) -> Api:  # noqa: F811
    return servers_api


@pytest.fixture
async def made(api) -> tuple[Cyc, dict, int]:
    """(client, the created server, its network's serial): an ACTIVE server with one NIC."""
    cyc = Cyc(api, await api.token("admin", "admin-secret", "admin"))
    net = Net(api.client, cyc.token)
    network = await net.network("cyc-net")
    await net.subnet(network["id"], "198.18.7.0/24")
    serial = api.client.server.app[store_key].read(public_serials.serials_of, "network", [network["id"]])[network["id"]]
    image = await upload_raw_image(api.client.server.app, cyc.token)
    server = (await cyc.ok("POST", "/servers", json={"server": {
        "name": "vm", "imageRef": image, "flavorRef": 1, "networks": [{"uuid": str(serial)}],
        "metadata": {"OS": "debian"}}}))["server"]
    await api.client.server.app[servers_key].wait_idle()
    return cyc, server, serial


async def _xml_equal(cyc: Cyc, path: str, body: dict) -> None:
    resp = await cyc.get(path + "?xml")
    assert resp.status == 200, await resp.text()
    assert xml_cyclades.read_back(await resp.read()) == xml_cyclades.xml_view_of(body)


async def test_list_addresses_example(api, made):
    # seed 000 lines 1252-1290 (Example List Addresses: addresses by network id and attachments)
    cyc, server, network = made
    body = await cyc.ok("GET", f"/servers/{server['id']}/ips")
    assert set(body) == {"addresses", "attachments"}
    [(key, [entry])] = body["addresses"].items()
    assert key == str(network) and entry["version"] == 4 and entry["OS-EXT-IPS:type"] == "fixed"
    assert entry["addr"].startswith("198.18.7.")
    [attachment] = body["attachments"]
    assert set(attachment) == {"id", "network_id", "mac_address", "firewallProfile", "ipv4", "ipv6",
                               "OS-EXT-IPS:type"}
    assert attachment["network_id"] == str(network) and attachment["ipv4"] == entry["addr"]
    assert attachment["id"].isdigit() and attachment["firewallProfile"] == "DISABLED"
    await _xml_equal(cyc, f"/servers/{server['id']}/ips", body)
    shown = (await cyc.ok("GET", f"/servers/{server['id']}"))["server"]
    assert shown["addresses"] == body["addresses"] and shown["attachments"] == body["attachments"]
    # seed 000 lines 1352-1364 (Connection with network example)
    one = await cyc.ok("GET", f"/servers/{server['id']}/ips/{network}")
    assert one == {"network": {str(network): body["addresses"][str(network)]}}
    await _xml_equal(cyc, f"/servers/{server['id']}/ips/{network}", one)
    await assert_fault(await cyc.get(f"/servers/{server['id']}/ips/999999"), 404, "itemNotFound")


async def test_metadata_codes_and_wrapper(api, made):
    # seed 000 lines 1400-1410 (Example List Server Metadata) and the Set/Update, item and delete sections (D42-D44)
    cyc, server, _network = made
    path = f"/servers/{server['id']}/metadata"
    listed = await cyc.ok("GET", path)
    assert listed == {"metadata": {"OS": "debian"}}
    await _xml_equal(cyc, path, listed)
    merged = await cyc.ok("POST", path, 201, json={"metadata": {"USERS": "root"}})
    assert merged == {"metadata": {"OS": "debian", "USERS": "root"}}
    item = await cyc.ok("PUT", f"{path}/OS", 201, json={"metadata": {"OS": "Linux"}})
    assert item == {"metadata": {"OS": "Linux"}}
    assert await cyc.ok("GET", f"{path}/OS") == {"metadata": {"OS": "Linux"}}
    await assert_fault(await cyc.put(f"{path}/OS", json={"meta": {"OS": "x"}}), 400, "badRequest")
    assert (await cyc.delete(f"{path}/OS")).status == 204
    assert await cyc.ok("GET", path) == {"metadata": {"USERS": "root"}}
    await assert_fault(await cyc.put(path, json={"metadata": {}}), 400, "badRequest")


async def test_metadata_over_the_quota_is_413(api, made):
    # D15: a metadata count over the quota is 413 overLimit in this dialect
    cyc, server, _network = made
    many = {f"k{n}": "v" for n in range(200)}
    await assert_fault(await cyc.post(f"/servers/{server['id']}/metadata", json={"metadata": many}), 413,
                       "overLimit")


async def test_diagnostics_are_the_servers_log(api, made):
    # seed 000 lines 893-911 (Example Get Server Diagnostics Response), D48: for the owner, newest first
    cyc, server, _network = made
    entries = await cyc.ok("GET", f"/servers/{server['id']}/diagnostics")
    assert entries and all(set(e) == {"level", "created", "source", "source_date", "message", "details"}
                           for e in entries)
    assert [e["created"] for e in entries] == sorted((e["created"] for e in entries), reverse=True)
    assert any(e["message"].startswith("create") for e in entries)
    # D25: the server view carries the same log, in the show and in the detailed list
    assert (await cyc.ok("GET", f"/servers/{server['id']}"))["server"]["diagnostics"] == entries
    listed = (await cyc.ok("GET", "/servers/detail"))["servers"]
    assert next(s for s in listed if s["id"] == server["id"])["diagnostics"] == entries
    resp = await cyc.get(f"/servers/{server['id']}/diagnostics?xml")
    assert xml_cyclades.read_back(await resp.read()) == xml_cyclades.xml_view_of(entries)
    assert (await cyc.delete(f"/servers/{server['id']}")).status == 204
    await api.client.server.app[servers_key].wait_idle()
    await assert_fault(await cyc.get(f"/servers/{server['id']}/diagnostics"), 400, "badRequest",
                       "machine already deleted")


async def test_suspended_server_is_403_to_its_owner(api, made, make_user):
    # D14, D25: an admin suspends; the owner's show, metadata and diagnostics answer 403 until it is cleared
    cyc, server, _network = made
    path = f"/servers/{server['id']}"
    owner = Cyc(api, await make_user("admin", "member"))
    assert (await owner.ok("GET", path))["server"]["suspended"] is False
    await assert_fault(await owner.post(f"{path}/action", json={"SNF:suspend": {"suspended": True}}), 403)
    resp = await cyc.post(f"{path}/action", json={"SNF:suspend": {"suspended": True}})
    assert resp.status == 204, await resp.text()
    assert (await cyc.ok("GET", path))["server"]["suspended"] is True
    for sub in ("", "/metadata", "/metadata/OS", "/diagnostics"):
        await assert_fault(await owner.get(path + sub), 403, "forbidden")
    assert [s["suspended"] for s in (await owner.ok("GET", "/servers/detail"))["servers"]] == [True]
    assert (await cyc.post(f"{path}/action", json={"SNF:suspend": {"suspended": False}})).status == 204
    assert (await owner.ok("GET", path))["server"]["suspended"] is False
