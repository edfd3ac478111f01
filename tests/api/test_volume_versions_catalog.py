"""The block storage version documents (#1231) and the catalog: Cinder v3 at 3.0, catalogued as `block-storage`
and `volumev3` at /volume/v3/<project> (v2 only for the vendor dialects)."""
from __future__ import annotations

import pytest

from tests.cinder_oracle import SAMPLES
from tests.oracle import key_differences


@pytest.mark.parametrize("path, status", [("/volume", 300), ("/volume/", 300), ("/volume/v3", 200),
                                          ("/volume/v3/", 200)])
async def test_version_documents_need_no_token(api, path, status):
    resp = await api.client.get(path)
    assert resp.status == status, await resp.text()
    body = await resp.json()
    assert key_differences(body, SAMPLES["versions-response"]) == []
    (v3,) = body["versions"]
    assert (v3["id"], v3["status"], v3["version"], v3["min_version"]) == ("v3.0", "CURRENT", "3.0", "3.0")
    assert v3["links"][1] == {"rel": "self", "href": f"http://{resp.url.host}:{resp.url.port}/volume/v3/"}
    assert v3["media-types"] == [{"base": "application/json",
                                  "type": "application/vnd.openstack.volume+json;version=3"}]


async def test_v2_has_no_version_document_in_the_openstack_dialect(api, admin_token):
    resp = await api.client.get("/volume/v2/", headers={"X-Auth-Token": admin_token})
    assert resp.status == 404


async def test_the_catalog_names_cinder_v3_twice(api):
    body = {"auth": {"identity": {"methods": ["password"], "password": {"user": {
        "name": "admin", "domain": {"id": "default"}, "password": "admin-secret"}}},
        "scope": {"project": {"name": "admin", "domain": {"id": "default"}}}}}
    token = await (await api.client.post("/identity/v3/auth/tokens", json=body)).json()
    project = token["token"]["project"]["id"]
    entries = {entry["type"]: entry for entry in token["token"]["catalog"]}
    for service_type, name in (("block-storage", "cinder"), ("volumev3", "cinderv3")):
        assert entries[service_type]["name"] == name
        assert {e["url"] for e in entries[service_type]["endpoints"]} == {
            f"http://127.0.0.1:8774/volume/v3/{project}"}
    assert not any("/volume/v2" in e["url"] for entry in entries.values() for e in entry["endpoints"])
    v2 = {"auth": {"passwordCredentials": {"username": "admin", "password": "admin-secret"}, "tenantName": "admin"}}
    access = await (await api.client.post("/identity/v2.0/tokens", json=v2)).json()
    assert {"block-storage", "volumev3"} <= {entry["type"] for entry in access["access"]["serviceCatalog"]}
