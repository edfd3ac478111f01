"""The k5 faces' protocol (issue 25, slice 1): /k5 version documents (D1), the compute face at /k5/v2/{tenant_id}
and the volume extension also at /k5/v1.1/{tenant_id}, /k5/identity (Keystone v3, the same tokens, a catalog of the
k5 endpoints with row #2203's types), and K5's faults: 405 badMethod with Allow (D8), the `unauthorized` fault
(D12), cloudServersFault (D13), buildInProgress (D31), 413 overLimit (D15)."""
from __future__ import annotations

import pytest

from nodecompute.api.keys import flavors_key, identity_key
from nodecompute.domain import states
from tests.api.helpers import assert_fault, assert_keystone_error
from tests.api.test_servers_api import _insert, _project_id, api, servers_api  # noqa: F401 (fixtures)

ED25519_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHkV4P0vH9wFq0kqGfP8x5gqnP3Ph0jO1aP3p6VJv5yX k5@test"


def k5(api, method, path, token=None, **kw):
    """`path` under /k5 (e.g. "/v2/<tenant>/flavors")."""
    headers = {**({"X-Auth-Token": token} if token else {}), **kw.pop("headers", {})}
    return api.client.request(method, f"/k5{path}", headers=headers, **kw)


def _tenant(api, token) -> str:
    return api.client.server.app[identity_key].validate(token).project_id


@pytest.mark.parametrize("path", ["", "/"])
async def test_the_versions_list_has_only_v2_0(api, path):
    resp = await k5(api, "GET", path)
    assert resp.status == 200, await resp.text()
    (version,) = (await resp.json())["versions"]
    assert (version["id"], version["status"]) == ("v2.0", "CURRENT")
    assert version["links"] == [{"rel": "self", "href": f"{api.client.make_url('/k5/v2/')}"}]


async def test_the_v2_document(api):
    resp = await k5(api, "GET", "/v2")
    assert resp.status == 200
    doc = (await resp.json())["version"]
    assert (doc["id"], doc["status"]) == ("v2.0", "CURRENT")
    assert doc["links"][0] == {"rel": "self", "href": f"{api.client.make_url('/k5/v2/')}"}
    assert doc["media-types"][0]["type"] == "application/vnd.openstack.compute+json;version=2"


@pytest.mark.parametrize("path", ["/v2.1", "/v2.1/servers", "/anything"])
async def test_other_versions_and_unknown_paths_are_404(api, admin_token, path):
    await assert_fault(await k5(api, "GET", path, admin_token), 404, "itemNotFound")


async def test_the_compute_face_serves_with_and_without_tenant(api, admin_token):
    tenant = _tenant(api, admin_token)
    for path in (f"/v2/{tenant}/flavors/1", "/v2/flavors/1"):
        resp = await k5(api, "GET", path, admin_token)
        assert resp.status == 200, await resp.text()
        assert "OpenStack-API-Version" not in resp.headers  # no microversions (D2)
        links = (await resp.json())["flavor"]["links"]
        assert links[0]["href"].startswith(str(api.client.make_url("/k5/v2/")))
    # another project's tenant in the URL: Nova's 400
    await assert_fault(await k5(api, "GET", "/v2/not-mine/flavors/1", admin_token), 400, "badRequest")


async def test_the_volume_extension_also_at_v1_1(api, admin_token):
    tenant = _tenant(api, admin_token)
    made = await k5(api, "POST", f"/v1.1/{tenant}/os-volumes", admin_token, json={"volume": {"size": 1}})
    assert made.status == 200, await made.text()
    volume = (await made.json())["volume"]
    for root in ("v1.1", "v2"):
        resp = await k5(api, "GET", f"/{root}/{tenant}/os-volumes/{volume['id']}", admin_token)
        assert resp.status == 200 and (await resp.json())["volume"]["id"] == volume["id"]
        listed = await (await k5(api, "GET", f"/{root}/{tenant}/os-snapshots", admin_token)).json()
        assert listed == {"snapshots": []}
    # only the extension is under /v1.1
    await assert_fault(await k5(api, "GET", f"/v1.1/{tenant}/servers", admin_token), 404, "itemNotFound")
    await assert_fault(await k5(api, "GET", f"/v1.1/{tenant}/os-volumes"), 401, "unauthorized")


async def test_a_known_url_with_another_method_is_405_bad_method(api, admin_token):
    tenant = _tenant(api, admin_token)
    resp = await k5(api, "DELETE", f"/v2/{tenant}/servers", admin_token)
    await assert_fault(resp, 405, "badMethod")
    assert set(resp.headers["Allow"].split(", ")) == {"GET", "POST"}
    resp = await k5(api, "PUT", f"/v2/{tenant}/os-keypairs", admin_token)
    await assert_fault(resp, 405, "badMethod")
    assert set(resp.headers["Allow"].split(", ")) == {"GET", "POST"}
    # the openstack face keeps Nova's 404
    await assert_fault(await api.delete("/servers", admin_token), 404)


async def test_no_or_bad_token_is_an_unauthorized_fault(api):
    for token in (None, "bogus"):
        resp = await k5(api, "GET", "/v2/flavors", token)
        await assert_fault(resp, 401, "unauthorized")
        assert resp.headers["WWW-Authenticate"].endswith('/k5/identity"')
    # the openstack face keeps keystonemiddleware's body
    await assert_keystone_error(await api.get("/flavors"), 401)


async def test_quota_is_413_over_limit(api, admin_token, make_user):
    token = await make_user("k5-quota")
    resp = await api.put(f"/os-quota-sets/{_tenant(api, token)}", admin_token, json={"quota_set": {"key_pairs": 0}})
    assert resp.status == 200
    body = {"keypair": {"name": "over", "public_key": ED25519_KEY}}
    await assert_fault(await k5(api, "POST", "/v2/os-keypairs", token, json=body), 413, "overLimit",
                       "Quota exceeded, too many key pairs.")
    await assert_fault(await api.post("/os-keypairs", token, json=body), 403, "forbidden")


async def test_an_action_while_building_is_build_in_progress(api, admin_token):
    server = await _insert(api, _project_id(api, "admin"), vm_state=states.BUILDING, task_state="scheduling",
                           power_state=states.NOSTATE)
    body = {"reboot": {"type": "HARD"}}
    await assert_fault(await k5(api, "POST", f"/v2/servers/{server.uuid}/action", admin_token, json=body), 409,
                       "buildInProgress")
    await assert_fault(await api.post(f"/servers/{server.uuid}/action", admin_token, json=body), 409,
                       "conflictingRequest")


async def test_an_unexpected_error_is_cloud_servers_fault(api, admin_token, monkeypatch):
    def broken(*_args, **_kw):
        raise RuntimeError("boom")

    monkeypatch.setattr(api.client.server.app[flavors_key], "show", broken)
    fault = await assert_fault(await k5(api, "GET", "/v2/flavors/1", admin_token), 500, "cloudServersFault")
    assert "boom" not in fault["message"]
    await assert_fault(await api.get("/flavors/1", admin_token), 500, "computeFault")


async def _k5_token(api, scope: bool = True):
    body = {"auth": {"identity": {"methods": ["password"], "password": {"user": {
        "name": "admin", "domain": {"id": "default"}, "password": "admin-secret"}}}}}
    if scope:
        body["auth"]["scope"] = {"project": {"name": "admin", "domain": {"id": "default"}}}
    return await k5(api, "POST", "/identity/v3/auth/tokens", json=body)


async def test_k5_identity_issues_the_same_tokens_with_the_k5_catalog(api):
    resp = await _k5_token(api)
    assert resp.status == 201, await resp.text()
    token = resp.headers["X-Subject-Token"]
    body = (await resp.json())["token"]
    tenant = body["project"]["id"]
    entries = {entry["type"]: entry for entry in body["catalog"]}
    assert set(entries) <= {"compute", "image", "blockstoragev2", "object-store", "orchestration", "autoscale"}
    urls = {endpoint["url"] for endpoint in entries["compute"]["endpoints"]}
    (url,) = urls
    assert url.endswith(f"/k5/v2/{tenant}")
    # the same token serves every face
    assert (await k5(api, "GET", f"/v2/{tenant}/flavors", token)).status == 200
    assert (await api.get("/flavors", token)).status == 200
    # validation through /k5/identity shows the k5 catalog; through /identity the openstack one
    shown = await k5(api, "GET", "/identity/v3/auth/tokens", token, headers={"X-Subject-Token": token})
    assert shown.status == 200
    assert {e["type"] for e in (await shown.json())["token"]["catalog"]} == set(entries)
    openstack = await api.client.get("/identity/v3/auth/tokens", headers={"X-Auth-Token": token,
                                                                          "X-Subject-Token": token})
    assert "compute" in {e["type"] for e in (await openstack.json())["token"]["catalog"]}
    assert all("/k5/" not in ep["url"] for e in (await openstack.json())["token"]["catalog"] for ep in e["endpoints"])


async def test_k5_identity_versions_and_no_v2_0(api):
    resp = await k5(api, "GET", "/identity")
    assert resp.status == 300
    (doc,) = (await resp.json())["versions"]["values"]
    assert doc["id"].startswith("v3") and doc["links"][0]["href"].endswith("/k5/identity/v3/")
    resp = await k5(api, "GET", "/identity/v3")
    assert (await resp.json())["version"]["links"][0]["href"].endswith("/k5/identity/v3/")
    assert (await k5(api, "POST", "/identity/v2.0/tokens", json={})).status == 404
    await assert_keystone_error(await k5(api, "POST", "/identity/v3/auth/tokens", json={"auth": {"identity": {
        "methods": ["password"], "password": {"user": {"name": "admin", "domain": {"id": "default"},
                                                        "password": "wrong"}}}}}), 401)
