"""The helion face's discovery and protocol (issue 24 slice 1; dialects.md D1, D3, D8, D12, D13, D15, #2206)."""
from __future__ import annotations

import pytest

from nodecompute.api.keys import flavors_key, identity_key
from tests.api.helpers import Api, assert_fault

SEED_EXTENSION_KEYS = {"alias", "description", "links", "name", "namespace", "updated"}


@pytest.fixture
def helion(api) -> Api:
    """The whole app (without servers): /helion beside /compute and /identity."""
    return api


def project_of(helion: Api, token: str) -> str:
    return helion.client.server.app[identity_key].validate(token).project_id


async def test_version_document(helion):
    """Seed 002 line 881 (GET /v2): the v2.0 document, CURRENT, updated 2011-01-21T11:33:21Z."""
    for path in ("/helion/v2", "/helion/v2/"):
        resp = await helion.client.get(path)
        assert resp.status == 200, await resp.text()
        version = (await resp.json())["version"]
        assert set(version) == {"id", "links", "media-types", "status", "updated"}
        assert (version["id"], version["status"], version["updated"]) == ("v2.0", "CURRENT", "2011-01-21T11:33:21Z")
        assert [link["rel"] for link in version["links"]] == ["self", "describedby", "describedby"]
        assert version["links"][0]["href"].endswith("/helion/v2/")
        assert [m["base"] for m in version["media-types"]] == ["application/xml", "application/json"]
    listed = await (await helion.client.get("/helion/")).json()
    assert [v["id"] for v in listed["versions"]] == ["v2.0"]


async def test_extensions_are_helions_26(helion, admin_token):
    """Seed 002 line 966 (GET /v2/{project_id}/extensions): exactly 26 aliases, each once, seed spellings."""
    project = project_of(helion, admin_token)
    resp = await helion.client.get(f"/helion/v2/{project}/extensions", headers={"X-Auth-Token": admin_token})
    assert resp.status == 200, await resp.text()
    extensions = (await resp.json())["extensions"]
    aliases = [ext["alias"] for ext in extensions]
    assert len(aliases) == 26 and len(set(aliases)) == 26
    assert {"OS-EXT-IMG-SIZE", "os-hide-server-addresses", "OS-SCH-HNT", "os-multiple-create"} <= set(aliases)
    assert all(set(ext) == SEED_EXTENSION_KEYS for ext in extensions)
    one = await helion.client.get(f"/helion/v2/{project}/extensions/os-keypairs", headers={"X-Auth-Token": admin_token})
    assert (await one.json())["extension"]["namespace"] == "http://docs.openstack.org/compute/ext/keypairs/api/v1.1"


async def test_401_is_an_unauthorized_fault(helion):
    await assert_fault(await helion.client.get("/helion/v2/p/servers"), 401, "unauthorized")
    await assert_fault(await helion.client.get("/helion/v2/p/servers", headers={"X-Auth-Token": "bad"}), 401,
                       "unauthorized")


async def test_wrong_method_is_405_bad_method_with_allow(helion, admin_token):
    project = project_of(helion, admin_token)
    resp = await helion.client.request("PATCH", f"/helion/v2/{project}/flavors", headers={"X-Auth-Token": admin_token})
    await assert_fault(resp, 405, "badMethod")
    assert set(resp.headers["Allow"].split(", ")) == {"GET", "POST"}
    resp = await helion.client.get(f"/helion/v2/{project}/no-such-thing", headers={"X-Auth-Token": admin_token})
    await assert_fault(resp, 404, "itemNotFound")


async def test_quota_is_413_over_limit(helion, admin_token, make_user):
    token = await make_user("helion-quota")
    project = project_of(helion, token)
    resp = await helion.put(f"/os-quota-sets/{project}", admin_token, json={"quota_set": {"key_pairs": 0}})
    assert resp.status == 200
    resp = await helion.client.post(f"/helion/v2/{project}/os-keypairs", headers={"X-Auth-Token": token},
                                    json={"keypair": {"name": "over"}})
    fault = await assert_fault(resp, 413, "overLimit")
    # seed 002 line 557: the explanation of the refusal in `details`; no retryAfter (D16)
    assert set(fault) == {"code", "message", "details"} and "key pairs" in fault["details"]


async def test_an_unexpected_error_is_cloud_servers_fault_with_details(helion, admin_token, monkeypatch):
    """Seed 002 line 495 (D13): 500 is `cloudServersFault` with `details` naming the request id the log has, and
    nothing of the error itself; 404 (line 530) has no `details`."""
    def broken(*_args, **_kw):
        raise RuntimeError("boom")

    project = project_of(helion, admin_token)
    monkeypatch.setattr(helion.client.server.app[flavors_key], "show", broken)
    resp = await helion.client.get(f"/helion/v2/{project}/flavors/1", headers={"X-Auth-Token": admin_token})
    fault = await assert_fault(resp, 500, "cloudServersFault")
    assert set(fault) == {"code", "message", "details"} and "boom" not in str(fault)
    assert resp.headers["x-compute-request-id"] in fault["details"]
    monkeypatch.undo()
    resp = await helion.client.get(f"/helion/v2/{project}/flavors/nope", headers={"X-Auth-Token": admin_token})
    assert set(await assert_fault(resp, 404, "itemNotFound")) == {"code", "message"}


async def test_identity_catalogue_points_at_helion(helion):
    """#2206 through /helion/identity: the same tokens, Helion's compute entry (seed 002 line 278)."""
    body = {"auth": {"passwordCredentials": {"username": "admin", "password": "admin-secret"},
                     "tenantName": "admin"}}
    resp = await helion.client.post("/helion/identity/v2.0/tokens", json=body)
    assert resp.status == 200, await resp.text()
    access = (await resp.json())["access"]
    compute = next(entry for entry in access["serviceCatalog"] if entry["type"] == "compute")
    endpoint = compute["endpoints"][0]
    project = access["token"]["tenant"]["id"]
    assert set(endpoint) == {"tenantId", "publicURL", "region", "versionId", "versionInfo", "versionList"}
    assert endpoint["versionId"] == "2" and endpoint["tenantId"] == project
    assert endpoint["publicURL"].endswith(f"/helion/v2/{project}")
    token = access["token"]["id"]
    resp = await helion.client.get(f"/helion/v2/{project}/flavors", headers={"X-Auth-Token": token})
    assert resp.status == 200
    assert (await helion.client.get("/compute/v2.1/flavors", headers={"X-Auth-Token": token})).status == 200
