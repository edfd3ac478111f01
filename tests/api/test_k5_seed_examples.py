"""The K5 seed's documented example requests (seeds/003, compute section), sent through /k5/v2/{tenant_id} against
resources the test makes: the status, the keys (the example's plus the D-cells', no others), the value types, and
every value naming a resource equal to that resource's own. Each test names the seed lines of its example."""
from __future__ import annotations

import pytest

from nodecompute.api.keys import block_storage_key, config_key, identity_key
from tests.api.k5_examples import assert_like
from tests.api.test_servers_api import _insert, _project_id, api, servers_api  # noqa: F401 (fixtures)

# the example's key is cut short in the seed (not a valid key): any valid public key stands for it
RSA_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHkV4P0vH9wFq0kqGfP8x5gqnP3Ph0jO1aP3p6VJv5yX Generated-by-Nova"


@pytest.fixture
async def k5(api, admin_token):  # noqa: F811
    tenant = api.client.server.app[identity_key].validate(admin_token).project_id
    zone = api.client.server.app[config_key].compute.availability_zone

    async def call(method, path, status, **kw):
        resp = await api.client.request(method, f"/k5/v2/{tenant}{path}", headers={"X-Auth-Token": admin_token},
                                        **kw)
        assert resp.status == status, (method, path, resp.status, await resp.text())
        return await resp.json() if resp.content_length else None

    call.zone, call.tenant = zone, tenant
    return call


async def test_server_groups_l4889_l4904_l4941_l4844(k5):
    # L4889 request, L4904 response: 200 {"server_group": {members, metadata, id, policies, name}}
    made = await k5("POST", "/os-server-groups", 200,
                    json={"server_group": {"name": "test", "policies": ["anti-affinity"]}})
    group = made["server_group"]
    assert_like(made, {"server_group": {"members": [], "metadata": {}, "id": "03a54e57-4fcc-40bc-b532-6426a238ee70",
                                        "policies": ["anti-affinity"], "name": "test"}})
    assert (group["name"], group["policies"], group["members"], group["metadata"]) == (
        "test", ["anti-affinity"], [], {})
    # L4941: show puts availability_zone beside server_group (D47)
    shown = await k5("GET", f"/os-server-groups/{group['id']}", 200)
    assert shown == {"server_group": group, "availability_zone": k5.zone}
    # L4844: the list
    listed = await k5("GET", "/os-server-groups", 200)
    assert listed == {"server_groups": [group]}


async def test_keypairs_l8729_l8747_l8805_l8678(k5, api, admin_token):  # noqa: F811
    name = "keypair-dab428fe-6186-4a14-b3de-92131f76cd39"
    made = await k5("POST", "/os-keypairs", 200, json={"keypair": {
        "name": name, "public_key": RSA_KEY, "availability_zone": k5.zone}})  # L8729
    assert_like(made, {"keypair": {"fingerprint": "1e:2c:9b:56:79:4b:45:77:f9:ca:7a:98:2c:b0:d5:3c", "name": name,
                                   "public_key": RSA_KEY, "user_id": "fake"}})  # L8747
    user_id = api.client.server.app[identity_key].validate(admin_token).user_id
    assert (made["keypair"]["name"], made["keypair"]["public_key"], made["keypair"]["user_id"]) == (
        name, RSA_KEY, user_id)
    assert isinstance(made["keypair"]["fingerprint"], str) and made["keypair"]["fingerprint"].count(":") == 15
    shown = await k5("GET", f"/os-keypairs/{name}?availability_zone={k5.zone}", 200)  # L8805
    assert shown == {"keypair": {"public_key": RSA_KEY, "name": name,
                                 "fingerprint": made["keypair"]["fingerprint"], "availability_zone": k5.zone}}
    listed = await k5("GET", "/os-keypairs", 200)  # L8678: each item wrapped
    assert listed == {"keypairs": [{"keypair": {"fingerprint": made["keypair"]["fingerprint"], "name": name,
                                                "public_key": RSA_KEY}}]}
    assert await k5("DELETE", f"/os-keypairs/{name}", 202) is None  # §1.8.6.3


async def test_flavors_l4519_l4645(k5):
    listed = await k5("GET", "/flavors", 200)  # L4519: detailed, these keys only (D51)
    assert listed["flavors"]
    assert_like(listed, {"flavors": [{"disk": 1, "id": "1", "links": [
        {"href": "http://openstack.example.com/v2/openstack/flavors/1", "rel": "self"}], "name": "m1.tiny",
        "os-flavor-access:is_public": True, "ram": 512, "vcpus": 1}]})
    for flavor in listed["flavors"]:
        assert [link["rel"] for link in flavor["links"]] == ["self", "bookmark"]
        assert flavor["links"][0]["href"].endswith(f"/k5/v2/{k5.tenant}/flavors/{flavor['id']}")
    first = listed["flavors"][0]
    assert await k5("GET", f"/flavors/{first['id']}", 200) == {"flavor": first}  # L4645


async def test_server_metadata_and_console_output_l5067_l5079_l8841_l8853(k5, api):  # noqa: F811
    server = await _insert(api, _project_id(api, "admin"), metadata={"kept": "1"})
    sent = {"metadata": {"name": "test_server"}}  # L5067
    assert await k5("POST", f"/servers/{server.uuid}/metadata", 202, json=sent) == sent  # L5079 (D42)
    output = await k5("POST", f"/servers/{server.uuid}/action", 200,
                      json={"os-getConsoleOutput": {"length": 50}})  # L8841
    assert set(output) == {"output"} and isinstance(output["output"], str)  # L8853


async def test_os_volumes_and_os_snapshots_l10327_l10346_l10386_l10446_l10461_l10594(api, admin_token):  # noqa: F811
    tenant = api.client.server.app[identity_key].validate(admin_token).project_id
    zone = api.client.server.app[config_key].compute.availability_zone
    headers = {"X-Auth-Token": admin_token}
    types = (await (await api.client.get("/volume/v3/types", headers=headers)).json())["volume_types"]

    async def call(method, path, status, **kw):
        resp = await api.client.request(method, f"/k5/v1.1/{tenant}{path}", headers=headers, **kw)
        assert resp.status == status, (method, path, resp.status, await resp.text())
        return await resp.json()

    made = (await call("POST", "/os-volumes", 200, json={"volume": {  # L10327
        "display_name": "vol-001", "display_description": "Another volume.", "size": 1,
        "volume_type": types[0]["id"], "metadata": {"contents": "junk"}, "availability_zone": zone}}))["volume"]
    example = {"id": "521752a6-acf6-4b2d-bc7a-119f9148cd8c", "displayName": "vol-001",
               "displayDescription": "Another volume.", "size": 30,
               "volumeType": "289da7f8-6440-407c-9fb4-7db01ec49164",
               "metadata": {"contents": "junk"}, "availabilityZone": "us-east1", "snapshotId": None,
               "attachments": [], "createdAt": "2012-02-14T20:53:07Z"}  # L10346
    assert_like(made, example)
    assert (made["displayName"], made["displayDescription"], made["size"], made["volumeType"], made["metadata"],
            made["availabilityZone"], made["snapshotId"], made["attachments"]) == (
        "vol-001", "Another volume.", 1, types[0]["id"], {"contents": "junk"}, zone, None, [])
    await api.client.server.app[block_storage_key].wait_idle()
    shown = (await call("GET", f"/os-volumes/{made['id']}", 200))["volume"]  # L10386
    assert_like(shown, example)  # L10386
    assert shown["id"] == made["id"]

    snapshot = (await call("POST", "/os-snapshots", 200, json={"snapshot": {  # L10446
        "display_name": "snap-001", "display_description": "Daily backup", "volume_id": made["id"],
        "force": True}}))["snapshot"]
    snapshot_example = {"id": "3fbbcccf-d058-4502-8844-6feeffdf4cb5", "displayName": "snap-001",
                        "displayDescription": "Daily backup", "volumeId": "521752a6-acf6-4b2d-bc7a-119f9148cd8c",
                        "status": "available", "size": 30, "createdAt": "2012-02-29T03:50:07Z"}
    assert_like(snapshot, snapshot_example)  # L10461
    assert (snapshot["displayName"], snapshot["volumeId"], snapshot["size"]) == ("snap-001", made["id"], 1)
    shown = (await call("GET", f"/os-snapshots/{snapshot['id']}", 200))["snapshot"]  # L10594
    assert_like(shown, {**snapshot_example, "availability_zone": "jp-east-1a"})  # D58, D63
    assert (shown["id"], shown["availability_zone"]) == (snapshot["id"], zone)
