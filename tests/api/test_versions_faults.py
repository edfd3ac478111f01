"""Version documents (#101-#103), microversion negotiation and the fault contract for every kind of error."""
from __future__ import annotations

import dataclasses

from nodecompute.api.microversions import version_text
from nodecompute.api.versions import MICROVERSIONS
from nodecompute.app import create_app
from tests.api.helpers import assert_fault

ADVERTISED = "2.104"  # every ladder step up to it is complete (docs/microversions.md)


async def test_root_versions_no_token(api):
    for path in ("/", "/compute", "/compute/"):
        resp = await api.client.get(path)
        assert resp.status == 200, path
        versions = {v["id"]: v for v in (await resp.json())["versions"]}
        assert versions["v2.0"]["status"] == "DEPRECATED" and versions["v2.0"]["version"] == ""
        assert versions["v2.1"] == {
            "id": "v2.1", "status": "CURRENT", "version": ADVERTISED, "min_version": "2.1",
            "updated": "2013-07-23T11:33:21Z",
            "links": [{"rel": "self", "href": f"http://{resp.url.host}:{resp.url.port}/compute/v2.1/"}],
        }


async def test_v21_document_no_token_and_with_slash_needs_token(api, admin_token):
    resp = await api.client.get("/compute/v2.1")
    assert resp.status == 200
    doc = (await resp.json())["version"]
    assert doc["id"] == "v2.1" and doc["min_version"] == "2.1" and doc["version"] == ADVERTISED
    assert {link["rel"] for link in doc["links"]} == {"self", "describedby"}
    assert doc["media-types"][0]["type"] == "application/vnd.openstack.compute+json;version=2.1"
    assert (await api.client.get("/compute/v2.1/")).status == 401
    resp = await api.client.get("/compute/v2.1/", headers={"X-Auth-Token": admin_token})
    assert resp.status == 200 and (await resp.json())["version"]["id"] == "v2.1"


async def test_v2_document(api):
    resp = await api.client.get("/compute/v2")
    assert resp.status == 200
    doc = (await resp.json())["version"]
    assert doc["id"] == "v2.0" and doc["status"] == "DEPRECATED"
    assert "OpenStack-API-Version" not in resp.headers


async def test_unversioned_path_gives_choices(api):
    resp = await api.client.get("/compute/servers/detail")
    assert resp.status == 300
    choices = (await resp.json())["choices"]
    assert {c["id"] for c in choices} == {"v2.0", "v2.1"}
    assert any(c["links"][0]["href"].endswith("/compute/v2.1/servers/detail") for c in choices)


async def test_microversion_headers_everywhere(api, admin_token):
    for path in ("/flavors", "/no-such-thing"):
        resp = await api.get(path, admin_token)
        assert resp.headers["OpenStack-API-Version"] == "compute 2.1"
        assert resp.headers["X-OpenStack-Nova-API-Version"] == "2.1"
        assert resp.headers["Vary"] == "OpenStack-API-Version, X-OpenStack-Nova-API-Version"


async def test_microversion_negotiation(api, admin_token):
    top = version_text(MICROVERSIONS.max)
    for header in ({"OpenStack-API-Version": "compute 2.1"}, {"X-OpenStack-Nova-API-Version": "2.1"},
                   {"OpenStack-API-Version": "compute latest"}):
        resp = await api.get("/flavors", admin_token, headers=header)
        assert resp.status == 200, header
    for header, asked in (({"OpenStack-API-Version": "compute 2.200"}, "2.200"),
                          ({"X-OpenStack-Nova-API-Version": "2.1000"}, "2.1000"),
                          ({"OpenStack-API-Version": "compute 3.0"}, "3.0"),
                          ({"OpenStack-API-Version": "compute 2.0"}, "2.0")):
        resp = await api.get("/flavors", admin_token, headers=header)
        fault = await assert_fault(resp, 406, "computeFault")
        assert fault["message"] == f"Version {asked} is not supported by the API. Minimum is 2.1 and maximum is {top}."
        # Nova's 406 names the version asked for
        assert resp.headers["OpenStack-API-Version"] == f"compute {asked}"
        assert resp.headers["X-OpenStack-Nova-API-Version"] == asked
        assert resp.headers["Vary"] == "OpenStack-API-Version, X-OpenStack-Nova-API-Version"
    resp = await api.get("/flavors", admin_token, headers={"OpenStack-API-Version": "compute two"})
    await assert_fault(resp, 400, "badRequest")


async def test_v2_ignores_microversion_headers(api, admin_token):
    resp = await api.get("/flavors", admin_token, version="v2", headers={"OpenStack-API-Version": "compute 9.9"})
    assert resp.status == 200
    assert "OpenStack-API-Version" not in resp.headers


async def test_unknown_path_and_method_are_404_faults(api, admin_token):
    await assert_fault(await api.get("/no-such-thing", admin_token), 404, "itemNotFound")
    await assert_fault(await api.request("PATCH", "/flavors", admin_token), 404, "itemNotFound")
    await assert_fault(await api.client.get("/nowhere"), 404, "itemNotFound")


async def test_malformed_body_oversized_body_and_media_type(api, admin_token):
    resp = await api.post("/os-keypairs", admin_token, data=b"{not json", headers={"Content-Type": "application/json"})
    await assert_fault(resp, 400, "badRequest", "Malformed request body")
    resp = await api.post("/os-keypairs", admin_token, data=b"x" * 200000, headers={"Content-Type": "application/json"})
    await assert_fault(resp, 413, "overLimit", "Request is too large.")
    resp = await api.post("/os-keypairs", admin_token, data=b"<xml/>", headers={"Content-Type": "application/xml"})
    await assert_fault(resp, 415, "badMediaType")


async def test_unexpected_exception_is_generic_500(api, admin_token, monkeypatch, caplog):
    from nodecompute.api.keys import flavors_key

    flavors = api.client.server.app[flavors_key]

    def boom(*args, **kwargs):
        raise RuntimeError("secret internals")

    for name in dir(flavors):
        if name.startswith("list"):
            monkeypatch.setattr(flavors, name, boom)
    resp = await api.get("/flavors", admin_token)
    fault = await assert_fault(resp, 500, "computeFault")
    assert "secret internals" not in fault["message"]
    assert "Unexpected API Error" in fault["message"]
    assert "secret internals" in caplog.text


async def test_request_ids_on_success(api, admin_token):
    resp = await api.get("/flavors", admin_token)
    rid = resp.headers["x-openstack-request-id"]
    assert rid.startswith("req-") and len(rid) == 40
    assert resp.headers["x-compute-request-id"] == rid


async def test_links_follow_the_host_header_and_the_catalog_does_not(api, admin_token, aiohttp_client, cfg):
    """What the README says about public_url: empty, links follow Host (as Nova and Keystone do); the catalog and
    WWW-Authenticate say http://<listen_host>:<listen_port>. Set, everything says public_url."""
    host = {"Host": "cloud.example.org:9999"}
    doc = (await (await api.client.get("/compute/v2.1", headers=host)).json())["version"]
    assert doc["links"][0]["href"] == "http://cloud.example.org:9999/compute/v2.1/"
    resp = await api.get("/flavors", admin_token, headers=host)
    assert (await resp.json())["flavors"][0]["links"][0]["href"].startswith("http://cloud.example.org:9999/compute/")
    resp = await api.client.get("/compute/v2.1/flavors", headers=host)
    assert resp.headers["WWW-Authenticate"] == 'Keystone uri="http://127.0.0.1:8774/identity"'
    resp = await api.client.get("/identity/v3/auth/tokens",
                                headers={**host, "X-Auth-Token": admin_token, "X-Subject-Token": admin_token})
    urls = {e["url"] for entry in (await resp.json())["token"]["catalog"] for e in entry["endpoints"]}
    assert all(url.startswith("http://127.0.0.1:8774/") for url in urls)

    server = dataclasses.replace(cfg.server, public_url="https://cloud.example.net")
    fixed = await aiohttp_client(create_app(dataclasses.replace(cfg, server=server), with_servers=False))
    doc = (await (await fixed.get("/compute/v2.1", headers=host)).json())["version"]
    assert doc["links"][0]["href"] == "https://cloud.example.net/compute/v2.1/"
    resp = await fixed.get("/compute/v2.1/flavors", headers=host)
    assert resp.headers["WWW-Authenticate"] == 'Keystone uri="https://cloud.example.net/identity"'
