"""The Cyclades dialect's protocol (dialects.md D1, D3, D4, D5, D7, D8, D9, D12, D17) and its identity catalog, on
the whole app (seed 000 "Overview" and "Limitations", lines 21-70)."""
from __future__ import annotations

import asyncio
import dataclasses

import pytest
from aiohttp import web

from nodecompute import app as app_module
from nodecompute.api import cyclades_protocol, xml_cyclades
from nodecompute.api.dialects.cyclades import CYCLADES
from nodecompute.app import create_app
from tests.api.cyclades_fixtures import ROOT, servers_api  # noqa: F401 (a fixture)
from tests.api.helpers import Api, assert_fault


@pytest.fixture
async def api(servers_api) -> Api:  # noqa: F811
    return servers_api


@pytest.fixture
async def token(api: Api) -> str:
    return await api.token("admin", "admin-secret", "admin")


@pytest.mark.parametrize("path", ["/cyclades/compute/v2.0", "/cyclades/compute/v2.0/", "/cyclades/compute",
                                  "/cyclades/compute/", "/cyclades/compute/servers", "/cyclades/",
                                  "/cyclades/compute/v2.0/extensions", "/cyclades/compute/v2.0/limits",
                                  "/cyclades/compute/v2.0/no-such-thing"])
async def test_versions_extensions_limits_and_unknown_urls_are_400(api, token, path):
    # seed 000 lines 25-26 (invalid URLs: BadRequest), 53 (versionless requests), 69 (limits); D1, D3, D7, D64
    resp = await api.client.get(path, headers={"X-Auth-Token": token})
    await assert_fault(resp, 400, "badRequest")


async def test_known_url_with_a_wrong_method_is_400(api, token):
    # seed 000 lines 27-28: a wrong HTTP method is a BadRequest fault (D8)
    resp = await api.client.request("PATCH", f"{ROOT}/servers", headers={"X-Auth-Token": token})
    await assert_fault(resp, 400, "badRequest", cyclades_protocol.METHOD_NOT_ALLOWED)


async def test_replace_all_metadata_is_400(api, token):
    # seed 000 line 86: PUT /servers/<id>/metadata is not supported (D9, D45)
    resp = await api.client.put(f"{ROOT}/servers/1/metadata", json={"metadata": {}},
                                headers={"X-Auth-Token": token})
    await assert_fault(resp, 400, "badRequest")


async def test_missing_token_is_an_unauthorized_fault(api):
    # D12: a 401 is the `unauthorized` fault, and in XML under ?xml
    resp = await api.client.get(f"{ROOT}/servers")
    body = await assert_fault(resp, 401, "unauthorized")
    assert body["code"] == 401
    resp = await api.client.get(f"{ROOT}/servers?xml")
    assert resp.status == 401 and resp.content_type == "application/xml"
    assert "unauthorized" in xml_cyclades.read_back(await resp.read())


@pytest.mark.parametrize("headers, data", [
    ({}, b'{"server": {"name": "x"}}'),  # no Content-Type
    ({"Content-Type": "text/plain"}, b'{"server": {"name": "x"}}'),
    ({"Content-Type": "application/xml"}, b"<server name='x'/>"),
])
async def test_a_body_needs_the_json_media_type(api, token, headers, data):
    # seed 000 lines 506-508 (Content-Type, Content-Length required), D4: 415 badMediaType
    resp = await api.client.post(f"{ROOT}/servers", data=data, headers={"X-Auth-Token": token, **headers},
                                 skip_auto_headers=("Content-Type",))
    await assert_fault(resp, 415, "badMediaType")


async def test_a_body_needs_a_content_length(api, token):
    async def chunks():
        yield b'{"server": {"name": "x"}}'
    resp = await api.client.post(f"{ROOT}/servers", data=chunks(),
                                 headers={"X-Auth-Token": token, "Content-Type": "application/json"})
    await assert_fault(resp, 415, "badMediaType")


async def test_get_and_delete_need_no_media_type(api, token):
    resp = await api.client.get(f"{ROOT}/servers", headers={"X-Auth-Token": token})
    assert resp.status == 200, await resp.text()
    resp = await api.client.delete(f"{ROOT}/servers/999999", headers={"X-Auth-Token": token})
    await assert_fault(resp, 404, "itemNotFound")


async def test_xml_json_and_both(api, token):
    # seed 000 lines 176-186: json default, xml on request, mutually exclusive (D5)
    headers = {"X-Auth-Token": token}
    as_json = await api.client.get(f"{ROOT}/servers?json", headers=headers)
    assert as_json.status == 200 and as_json.content_type == "application/json"
    as_xml = await api.client.get(f"{ROOT}/servers?xml", headers=headers)
    assert as_xml.status == 200 and as_xml.content_type == "application/xml"
    assert xml_cyclades.read_back(await as_xml.read()) == await as_json.json()
    both = await api.client.get(f"{ROOT}/servers?xml&json", headers=headers)
    await assert_fault(both, 400, "badRequest", cyclades_protocol.BOTH_FORMATS)


async def test_a_request_past_the_timeout_is_a_fault(aiohttp_client, cfg, monkeypatch):
    # seed 000 lines 58-59: sessions time out after 20 s (D17); here the limit is made short
    async def slow(request: web.Request) -> web.StreamResponse:
        await asyncio.sleep(5)
        return web.Response()
    rows = tuple(route._replace(handler=slow) if route.op == "#201" else route for route in CYCLADES.routes)
    short = dataclasses.replace(CYCLADES, routes=rows, outer_middlewares=(
        cyclades_protocol.request_timeout(0.05), cyclades_protocol.response_format))
    monkeypatch.setattr(app_module, "CYCLADES", short)
    api = Api(await aiohttp_client(create_app(cfg, with_servers=False)))
    token = await api.token("admin", "admin-secret", "admin")
    resp = await api.client.get(f"{ROOT}/servers", headers={"X-Auth-Token": token})
    await assert_fault(resp, 503, "serviceUnavailable", cyclades_protocol.TIMED_OUT)


async def test_identity_gives_the_same_tokens_and_a_cyclades_catalog(api):
    body = {"auth": {"identity": {"methods": ["password"], "password": {"user": {
        "name": "admin", "domain": {"id": "default"}, "password": "admin-secret"}}},
        "scope": {"project": {"name": "admin", "domain": {"id": "default"}}}}}
    resp = await api.client.post("/cyclades/identity/v3/auth/tokens", json=body)
    assert resp.status == 201, await resp.text()
    token = resp.headers["X-Subject-Token"]
    urls = {entry["type"]: entry["endpoints"][0]["url"] for entry in (await resp.json())["token"]["catalog"]}
    assert urls["compute"].endswith("/cyclades/compute/v2.0") and urls["identity"].endswith("/cyclades/identity/v3")
    # the same token store: the token works on both faces
    assert (await api.get("/flavors", token)).status == 200
    assert (await api.client.get(f"{ROOT}/flavors", headers={"X-Auth-Token": token})).status == 200
    v2 = await api.client.post("/cyclades/identity/v2.0/tokens", json={"auth": {"tenantName": "admin",
                               "passwordCredentials": {"username": "admin", "password": "admin-secret"}}})
    assert v2.status == 200, await v2.text()
    catalog = (await v2.json())["access"]["serviceCatalog"]
    assert {e["type"] for e in catalog} == {"compute", "identity"}
