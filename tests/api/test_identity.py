"""The minimal Keystone: #2201-#2206, token lifetime, revocation, and the 401 shapes."""
from __future__ import annotations

from datetime import datetime, timedelta

from nodecompute.app import store_key
from nodecompute.identity.accounts import token_digest
from tests.api.helpers import assert_fault, assert_keystone_error


def _password_body(user="admin", password="admin-secret", project="admin", **user_extra):
    return {"auth": {"identity": {"methods": ["password"], "password": {"user": {
        "name": user, "domain": {"name": "Default"}, "password": password, **user_extra}}},
        "scope": {"project": {"name": project, "domain": {"name": "Default"}}}}}


async def test_identity_version_documents(api):
    resp = await api.client.get("/identity")
    assert resp.status == 300
    body = await resp.json()
    v3 = body["versions"]["values"][0]
    assert v3["id"] == "v3.14" and v3["status"] == "stable"
    assert v3["links"][0]["href"].endswith("/identity/v3/")
    assert resp.headers["Location"].endswith("/identity/v3/")
    for path in ("/identity/v3", "/identity/v3/"):
        resp = await api.client.get(path)
        assert resp.status == 200
        doc = (await resp.json())["version"]
        assert doc["id"] == "v3.14" and doc["links"][0]["rel"] == "self"
        assert doc["media-types"][0]["type"] == "application/vnd.openstack.identity-v3+json"


async def test_issue_token_v3_body_and_catalog(api):
    resp = await api.client.post("/identity/v3/auth/tokens", json=_password_body())
    assert resp.status == 201
    token = resp.headers["X-Subject-Token"]
    assert len(token) >= 32
    body = (await resp.json())["token"]
    assert body["expires_at"].endswith("Z") and body["issued_at"].endswith("Z")
    expires = datetime.strptime(body["expires_at"], "%Y-%m-%dT%H:%M:%S.%fZ")
    issued = datetime.strptime(body["issued_at"], "%Y-%m-%dT%H:%M:%S.%fZ")
    assert timedelta(seconds=3590) < expires - issued <= timedelta(seconds=3600)
    assert body["methods"] == ["password"]
    assert body["user"]["name"] == "admin" and body["user"]["domain"] == {"id": "default", "name": "Default"}
    assert body["project"]["name"] == "admin" and body["project"]["domain"]["id"] == "default"
    assert [r["name"] for r in body["roles"]] == ["admin"]
    types = [entry["type"] for entry in body["catalog"]]
    assert types.count("compute") == 1 and "identity" in types
    for entry in body["catalog"]:
        for endpoint in entry["endpoints"]:
            assert set(endpoint) >= {"id", "interface", "region", "region_id", "url"}
    compute = next(e for e in body["catalog"] if e["type"] == "compute")
    assert compute["endpoints"][0]["url"] == "http://127.0.0.1:8774/compute/v2.1"


async def test_token_stored_only_as_digest(api):
    resp = await api.client.post("/identity/v3/auth/tokens", json=_password_body())
    token = resp.headers["X-Subject-Token"]
    store = api.client.server.app[store_key]
    rows = [dict(r) for r in store.reader.execute("SELECT * FROM tokens").fetchall()]
    assert all(token not in str(row.values()) for row in rows)
    assert any(row["digest"] == token_digest(token) for row in rows)


async def test_user_and_project_by_id(api, admin_token):
    resp = await api.client.get("/identity/v3/auth/tokens",
                                headers={"X-Auth-Token": admin_token, "X-Subject-Token": admin_token})
    body = (await resp.json())["token"]
    by_id = {"auth": {"identity": {"methods": ["password"], "password": {"user": {
        "id": body["user"]["id"], "password": "admin-secret"}}}, "scope": {"project": {"id": body["project"]["id"]}}}}
    resp = await api.client.post("/identity/v3/auth/tokens", json=by_id)
    assert resp.status == 201


async def test_wrong_password_and_unknown_user_are_401(api):
    resp = await api.client.post("/identity/v3/auth/tokens", json=_password_body(password="nope"))
    await assert_keystone_error(resp, 401)
    resp = await api.client.post("/identity/v3/auth/tokens", json=_password_body(user="ghost"))
    await assert_keystone_error(resp, 401)
    resp = await api.client.post("/identity/v3/auth/tokens", json=_password_body(project="ghost"))
    await assert_keystone_error(resp, 401)


async def test_other_domain_is_401_and_malformed_is_400(api):
    body = _password_body()
    body["auth"]["identity"]["password"]["user"]["domain"] = {"name": "Other"}
    await assert_keystone_error(await api.client.post("/identity/v3/auth/tokens", json=body), 401)
    await assert_keystone_error(await api.client.post("/identity/v3/auth/tokens", data=b"{nope"), 400,
                                "Malformed request body")
    await assert_keystone_error(await api.client.post("/identity/v3/auth/tokens", json={"auth": {}}), 400)


async def test_token_method_rescopes(api, admin_token):
    body = {"auth": {"identity": {"methods": ["token"], "token": {"id": admin_token}},
                     "scope": {"project": {"name": "admin"}}}}
    resp = await api.client.post("/identity/v3/auth/tokens", json=body)
    assert resp.status == 201
    assert (await resp.json())["token"]["methods"] == ["token"]


async def test_validate_and_revoke(api, admin_token):
    second = await api.token("admin", "admin-secret", "admin")
    headers = {"X-Auth-Token": admin_token, "X-Subject-Token": second}
    resp = await api.client.get("/identity/v3/auth/tokens", headers=headers)
    assert resp.status == 200 and resp.headers["X-Subject-Token"] == second
    resp = await api.client.get("/identity/v3/auth/tokens",
                                headers={"X-Auth-Token": admin_token, "X-Subject-Token": "bogus"})
    await assert_keystone_error(resp, 404)
    resp = await api.client.delete("/identity/v3/auth/tokens", headers=headers)
    assert resp.status == 204
    resp = await api.get("/flavors", second)
    assert resp.status == 401
    resp = await api.get("/flavors", admin_token)
    assert resp.status == 200


async def test_validate_needs_a_valid_caller_token(api, admin_token):
    resp = await api.client.get("/identity/v3/auth/tokens", headers={"X-Subject-Token": admin_token})
    await assert_keystone_error(resp, 401)


async def test_v2_token_issue(api):
    body = {"auth": {"passwordCredentials": {"username": "admin", "password": "admin-secret"}, "tenantName": "admin"}}
    resp = await api.client.post("/identity/v2.0/tokens", json=body)
    assert resp.status == 200
    access = (await resp.json())["access"]
    assert access["token"]["expires"].endswith("Z") and access["token"]["tenant"]["name"] == "admin"
    assert access["user"]["name"] == "admin"
    compute = next(e for e in access["serviceCatalog"] if e["type"] == "compute")
    assert compute["endpoints"][0]["publicURL"].endswith("/compute/v2.1")
    resp = await api.get("/flavors", access["token"]["id"])
    assert resp.status == 200
    body["auth"]["passwordCredentials"]["password"] = "bad"
    await assert_keystone_error(await api.client.post("/identity/v2.0/tokens", json=body), 401)


async def test_expired_token_is_rejected(api, admin_token):
    store = api.client.server.app[store_key]
    await store.write(lambda db: db.execute("UPDATE tokens SET expires_at = '2000-01-01T00:00:00.000000'"))
    resp = await api.get("/flavors", admin_token)
    assert resp.status == 401


async def test_compute_401_shape(api):
    for headers in ({}, {"X-Auth-Token": "notused"}):
        resp = await api.client.get("/compute/v2.1/flavors", headers=headers)
        await assert_keystone_error(resp, 401, "requires authentication")
        assert resp.headers["WWW-Authenticate"] == 'Keystone uri="http://127.0.0.1:8774/identity"'


async def test_project_in_url_must_match_token(api, admin_token, make_user):
    other = await make_user("other", "member")
    resp = await api.get("/flavors", admin_token)
    assert resp.status == 200
    store = api.client.server.app[store_key]
    admin_project = store.reader.execute("SELECT id FROM projects WHERE name='admin'").fetchone()["id"]
    resp = await api.get(f"/{admin_project}/flavors", admin_token)
    assert resp.status == 200
    resp = await api.get(f"/{admin_project}/flavors", other)
    await assert_fault(resp, 400, "badRequest", "doesn't match Context's project_id")


async def test_hundreds_of_tokens(api):
    tokens = {await api.token("admin", "admin-secret", "admin") for _ in range(100)}
    assert len(tokens) == 100


async def test_projects_listing_for_clients(api, admin_token, make_user):
    member = await make_user("other", "member")
    resp = await api.client.get("/identity/v3/projects", headers={"X-Auth-Token": admin_token})
    assert resp.status == 200
    names = {p["name"] for p in (await resp.json())["projects"]}
    assert {"admin", "other"} <= names
    resp = await api.client.get("/identity/v3/projects?name=other", headers={"X-Auth-Token": admin_token})
    (other,) = (await resp.json())["projects"]
    assert other["domain_id"] == "default"
    resp = await api.client.get(f"/identity/v3/projects/{other['id']}", headers={"X-Auth-Token": admin_token})
    assert resp.status == 200 and (await resp.json())["project"]["name"] == "other"
    resp = await api.client.get("/identity/v3/projects", headers={"X-Auth-Token": member})
    assert [p["name"] for p in (await resp.json())["projects"]] == ["other"]
    resp = await api.client.get("/identity/v3/projects/admin", headers={"X-Auth-Token": member})
    await assert_keystone_error(resp, 404)
    resp = await api.client.get("/identity/v3/projects")
    await assert_keystone_error(resp, 401)


async def test_revoke_needs_an_admin_or_the_tokens_own_user(api, admin_token, make_user):
    alice = await make_user("demo", "member", name="alice")
    alice_second = await api.token("alice", "pw-alice", "demo")
    bob = await make_user("demo", "member", name="bob")
    resp = await api.client.delete("/identity/v3/auth/tokens", headers={"X-Auth-Token": bob, "X-Subject-Token": alice})
    await assert_keystone_error(resp, 403, "You are not authorized to perform the requested action: "
                                           "identity:revoke_token.")
    assert (await api.get("/flavors", alice)).status == 200
    resp = await api.client.delete("/identity/v3/auth/tokens",
                                   headers={"X-Auth-Token": alice_second, "X-Subject-Token": alice})
    assert resp.status == 204
    assert (await api.get("/flavors", alice)).status == 401
    resp = await api.client.delete("/identity/v3/auth/tokens",
                                   headers={"X-Auth-Token": admin_token, "X-Subject-Token": alice_second})
    assert resp.status == 204
    assert (await api.get("/flavors", alice_second)).status == 401
    resp = await api.client.delete("/identity/v3/auth/tokens", headers={"X-Auth-Token": bob, "X-Subject-Token": "x"})
    await assert_keystone_error(resp, 404)


async def test_validate_needs_an_admin_or_the_tokens_own_user(api, admin_token, make_user):
    """Keystone's identity:validate_token rule: another user's token is 403 for a caller who is not an admin; one
    that does not exist is 404 (Keystone's enforcer reads the subject token first)."""
    alice = await make_user("demo", "member", name="alice")
    alice_second = await api.token("alice", "pw-alice", "demo")
    bob = await make_user("demo", "member", name="bob")
    for subject in (alice, admin_token):
        resp = await api.client.get("/identity/v3/auth/tokens",
                                    headers={"X-Auth-Token": bob, "X-Subject-Token": subject})
        await assert_keystone_error(resp, 403, "You are not authorized to perform the requested action: "
                                               "identity:validate_token.")
    resp = await api.client.get("/identity/v3/auth/tokens", headers={"X-Auth-Token": bob, "X-Subject-Token": "bogus"})
    await assert_keystone_error(resp, 404)
    resp = await api.client.get("/identity/v3/auth/tokens", headers={"X-Auth-Token": alice_second,
                                                                     "X-Subject-Token": alice})
    assert resp.status == 200 and (await resp.json())["token"]["user"]["name"] == "alice"
    resp = await api.client.get("/identity/v3/auth/tokens", headers={"X-Auth-Token": admin_token,
                                                                     "X-Subject-Token": alice})
    assert resp.status == 200 and resp.headers["X-Subject-Token"] == alice
