"""Seed 002's XML floating-IP actions (lines 5429, 5476, 8636) sent to /helion as printed, on a server with a NIC
behind a router (test_servers_floating_ips_api's world), the sample addresses replaced by the test's own."""
from __future__ import annotations

import pytest

from nodecompute.api.keys import identity_key, servers_key
from tests.api.l3_env import with_external
from tests.api.test_helion_xml_requests import seed_xml
from tests.api.test_servers_floating_ips_api import _addresses, cloud  # noqa: F401 (fixture)

SAMPLE_FLOATING, SAMPLE_FIXED = "15.185.230.99", "10.10.10.22"


@pytest.fixture
def cfg(cfg):
    return with_external(cfg)


async def _act(cloud, line: int, *subs: tuple[str, str]) -> None:  # noqa: F811
    api, admin, _l3, server_id, _network = cloud
    project = api.client.server.app[identity_key].validate(admin).project_id
    resp = await api.client.post(f"/helion/v2/{project}/servers/{server_id}/action", data=seed_xml(line, *subs),
                                 headers={"X-Auth-Token": admin, "Content-Type": "application/xml",
                                          "Accept": "application/xml"})
    assert resp.status == 202 and await resp.read() == b"", (line, await resp.text())
    await api.client.server.app[servers_key].wait_idle()


async def _floating(cloud) -> list[str]:  # noqa: F811
    api, admin, _l3, server_id, _network = cloud
    return [e["addr"] for e in await _addresses(api, admin, server_id) if e["OS-EXT-IPS:type"] == "floating"]


async def test_5429_add_and_5476_remove_floating_ip(cloud):  # noqa: F811
    address = (await cloud[2].floatingip())["floating_ip_address"]
    await _act(cloud, 5429, (SAMPLE_FLOATING, address))
    assert await _floating(cloud) == [address]
    await _act(cloud, 5476, (SAMPLE_FLOATING, address))
    assert await _floating(cloud) == []


async def test_8636_add_floating_ip_with_fixed_address(cloud):  # noqa: F811
    api, admin, _l3, server_id, _network = cloud
    fixed = (await _addresses(api, admin, server_id))[0]["addr"]
    address = (await cloud[2].floatingip())["floating_ip_address"]
    await _act(cloud, 8636, (SAMPLE_FLOATING, address), (SAMPLE_FIXED, fixed))
    assert await _floating(cloud) == [address]
    fip = (await cloud[2].ok("GET", f"/floatingips?floating_ip_address={address}"))["floatingips"][0]
    assert fip["fixed_ip_address"] == fixed
