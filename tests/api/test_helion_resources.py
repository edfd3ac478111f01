"""Helion's keypairs, limits, os-volumes, os-snapshots and os-volume-types (issue 24 slice 4; dialects.md D53,
D57-D59, D64), each against the seed 002 example it names, in JSON and in XML where the seed shows XML."""
from __future__ import annotations

import asyncio

import pytest

from nodecompute.api import xml_helion
from nodecompute.api.keys import identity_key
from tests.api.helpers import assert_fault

XML_OUT = {"Accept": "application/xml"}


@pytest.fixture
async def helion(api, make_user):
    token = await make_user("helion-res", "member")
    project = api.client.server.app[identity_key].validate(token).project_id

    async def call(method: str, path: str, status: int, headers: dict | None = None, **kw):
        resp = await api.client.request(method, f"/helion/v2/{project}{path}",
                                        headers={"X-Auth-Token": token, **(headers or {})}, **kw)
        assert resp.status == status, (method, path, resp.status, await resp.text())
        if not resp.content_length:
            return None
        if resp.content_type == "application/xml":
            return xml_helion.read_back(await resp.read())
        return await resp.json()
    call.api, call.token = api, token
    return call


async def test_keypairs(helion):
    """Seed 002 line 5831 (create, JSON and XML request): 202 with name, fingerprint, keys and user_id; line 5921
    (show): only fingerprint, name, public_key."""
    created = (await helion("POST", "/os-keypairs", 202, json={"keypair": {"name": "keypair-1"}}))["keypair"]
    assert {"fingerprint", "name", "private_key", "public_key", "user_id"} <= set(created)
    xml_made = await helion("POST", "/os-keypairs", 202, {"Content-Type": "application/xml", **XML_OUT},
                            data=b'<?xml version="1.0" ?>\n<keypair>\n    <name>keypair-2</name>\n</keypair>')
    assert xml_made["keypair"]["name"] == "keypair-2"
    shown = (await helion("GET", "/os-keypairs/keypair-1", 200))["keypair"]
    assert set(shown) == {"fingerprint", "name", "public_key"}
    assert (shown["fingerprint"], shown["public_key"]) == (created["fingerprint"], created["public_key"])
    assert await helion("GET", "/os-keypairs/keypair-1.xml", 200) == {"keypair": shown}


async def test_limits(helion):
    """Seed 002 line 1359: rate [] and the absolute keys without the server-group ones (D64)."""
    limits = (await helion("GET", "/limits", 200))["limits"]
    assert limits["rate"] == []
    seed_keys = {"maxServerMeta", "maxPersonality", "maxImageMeta", "maxPersonalitySize", "maxSecurityGroupRules",
                 "maxTotalKeypairs", "totalRAMUsed", "totalInstancesUsed", "maxSecurityGroups",
                 "totalFloatingIpsUsed", "maxTotalCores", "totalSecurityGroupsUsed", "maxTotalFloatingIps",
                 "maxTotalInstances", "totalCoresUsed", "maxTotalRAMSize"}
    assert set(limits["absolute"]) == seed_keys
    assert all(isinstance(value, int) for value in limits["absolute"].values())
    assert await helion("GET", "/limits", 200, XML_OUT) == {"limits": limits}


async def test_volumes_and_snapshots(helion):
    """Seed 002 line 7157 (create volume: 202, snake_case), 7254 (show: camelCase, volumeType "None",
    attachments [{}]), 7343 (create snapshot: 202, snake_case) and 7556 (show snapshot)."""
    body = {"volume": {"display_name": "vol-001", "display_description": "Another volume.", "size": 1,
                       "metadata": {"contents": "junk"}}}
    volume = (await helion("POST", "/os-volumes", 202, json=body))["volume"]
    assert set(volume) == {"id", "display_name", "display_description", "size", "volume_type", "metadata",
                           "availability_zone", "snapshot_id", "attachments", "created_at"}
    assert volume["created_at"].endswith("Z") and volume["attachments"] == [] and volume["size"] == 1
    shown = (await helion("GET", f"/os-volumes/{volume['id']}", 200))["volume"]
    assert {"attachments", "availabilityZone", "createdAt", "displayDescription", "displayName", "id", "metadata",
            "size", "snapshotId", "status", "volumeType"} == set(shown)
    assert (shown["volumeType"], shown["attachments"], shown["id"]) == ("None", [{}], volume["id"])
    assert not shown["createdAt"].endswith("Z")
    assert await helion("GET", f"/os-volumes/{volume['id']}.xml", 200) == {"volume": shown}
    for _ in range(600):  # the volume becomes available in the background (qemu-img in a thread: wait, not spin)
        if (await helion("GET", f"/os-volumes/{volume['id']}", 200))["volume"]["status"] == "available":
            break
        await asyncio.sleep(0.05)
    else:
        pytest.fail("the volume did not become available within 30 s")
    snap = {"snapshot": {"display_name": "snap-001", "display_description": "Daily backup",
                         "volume_id": volume["id"], "force": True}}
    made = (await helion("POST", "/os-snapshots", 202, json=snap))["snapshot"]
    keys = {"id", "display_name", "display_description", "volume_id", "status", "size", "created_at"}
    assert set(made) == keys and made["volume_id"] == volume["id"]
    shown = (await helion("GET", f"/os-snapshots/{made['id']}", 200))["snapshot"]
    assert set(shown) == keys and shown["created_at"].endswith("Z")
    listed = (await helion("GET", "/os-snapshots/detail", 200))["snapshots"]
    assert [s["id"] for s in listed] == [made["id"]]


async def test_volume_types(helion):
    types = (await helion("GET", "/os-volume-types", 200))["volume_types"]
    assert types and all(set(t) == {"id", "name", "extra_specs"} for t in types)
    one = (await helion("GET", f"/os-volume-types/{types[0]['id']}", 200))["volume_type"]
    assert one == types[0]
    resp = await helion.api.client.get("/compute/v2.1/os-volume-types", headers={"X-Auth-Token": helion.token})
    await assert_fault(resp, 404)
