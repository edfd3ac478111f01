"""Helion's XML both ways (issue 24 slice 2; dialects.md D4-D6): requests by Content-Type, answers by Accept or a
`.xml` suffix (`.json` forces JSON), XML faults, and safe parsing (an XML bomb or an external entity is 400 and
nothing is written or read)."""
from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from nodecompute.api import xml_helion
from nodecompute.api.keys import identity_key
from tests.api.helpers import assert_fault

XML = {"Accept": "application/xml"}
COMPUTE_NS = "{http://docs.openstack.org/compute/api/v2}"
BOMB = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<keypair name="&lol3;"/>"""
EXTERNAL = b"""<?xml version="1.0"?>
<!DOCTYPE keypair [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<keypair><name>&xxe;</name></keypair>"""


@pytest.fixture
async def helion(api, admin_token):
    project = api.client.server.app[identity_key].validate(admin_token).project_id

    def call(method: str, path: str, headers: dict | None = None, **kw):
        return api.client.request(method, f"/helion/v2/{project}{path}",
                                  headers={"X-Auth-Token": admin_token, **(headers or {})}, **kw)
    return call


async def _json_and_xml(helion, path: str, kind: str | None = None) -> tuple[dict, dict, bytes]:
    as_json = await helion("GET", path)
    assert as_json.status == 200, await as_json.text()
    as_xml = await helion("GET", path, XML)
    assert as_xml.status == 200 and as_xml.content_type == "application/xml"
    raw = await as_xml.read()
    return await as_json.json(), xml_helion.read_back(raw, kind), raw


async def test_accept_xml_gives_the_json_answer_in_xml(helion):
    doc, back, raw = await _json_and_xml(helion, "/flavors/detail")
    assert back == doc
    assert ET.fromstring(raw).tag == COMPUTE_NS + "flavors"
    doc, back, _ = await _json_and_xml(helion, "/extensions")
    assert back == doc and len(back["extensions"]) == 26


async def test_the_suffix_wins_over_accept(helion):
    as_xml = await helion("GET", "/flavors.xml")
    assert as_xml.status == 200 and as_xml.content_type == "application/xml"
    listed = xml_helion.read_back(await as_xml.read())
    flavor = listed["flavors"][0]["id"]
    forced = await helion("GET", f"/flavors/{flavor}.json", XML)
    assert forced.status == 200 and forced.content_type == "application/json"
    assert (await forced.json())["flavor"]["id"] == flavor
    one = await helion("GET", f"/flavors/{flavor}.xml", {"Accept": "application/json"})
    assert xml_helion.read_back(await one.read())["flavor"]["id"] == flavor


async def test_faults_in_xml(helion):
    resp = await helion("GET", "/flavors/no-such-flavor.xml")
    assert resp.status == 404 and resp.content_type == "application/xml"
    root = ET.fromstring(await resp.read())
    assert root.tag == COMPUTE_NS + "itemNotFound" and root.get("code") == "404"
    assert root.find(COMPUTE_NS + "message").text
    await assert_fault(await helion("GET", "/flavors/no-such-flavor.json", XML), 404, "itemNotFound")


async def test_xml_requests_both_forms(helion):
    """Attribute form and child-element form, whitespace trimmed, become the JSON body."""
    for name, body in (("kp-attr", b'<keypair xmlns="http://docs.openstack.org/compute/api/v2" name="kp-attr"/>'),
                       ("kp-child", b"<keypair>\n  <name>  kp-child </name>\n</keypair>")):
        resp = await helion("POST", "/os-keypairs", {"Content-Type": "application/xml", **XML}, data=body)
        assert resp.status in (200, 202), await resp.text()
        created = xml_helion.read_back(await resp.read())["keypair"]
        assert created["name"] == name and created["private_key"].startswith("-----BEGIN")
    names = {kp["keypair"]["name"] for kp in (await (await helion("GET", "/os-keypairs")).json())["keypairs"]}
    assert {"kp-attr", "kp-child"} <= names


@pytest.mark.parametrize("body", [BOMB, EXTERNAL], ids=["bomb", "external-entity"])
async def test_unsafe_xml_is_400_and_writes_nothing(helion, body):
    before = await (await helion("GET", "/os-keypairs")).json()
    resp = await helion("POST", "/os-keypairs", {"Content-Type": "application/xml"}, data=body)
    fault = await assert_fault(resp, 400, "badRequest")
    assert "root:" not in fault["message"]
    assert await (await helion("GET", "/os-keypairs")).json() == before


async def test_other_content_types_are_415(helion):
    resp = await helion("POST", "/os-keypairs", {"Content-Type": "text/plain"}, data=b"name=x")
    await assert_fault(resp, 415, "badMediaType")


async def test_401_and_405_in_xml(api, admin_token):
    resp = await api.client.get("/helion/v2/p/flavors.xml")
    assert resp.status == 401 and resp.content_type == "application/xml"
    assert ET.fromstring(await resp.read()).tag == COMPUTE_NS + "unauthorized"
    project = api.client.server.app[identity_key].validate(admin_token).project_id
    resp = await api.client.delete(f"/helion/v2/{project}/flavors", headers={"X-Auth-Token": admin_token, **XML})
    assert resp.status == 405 and resp.headers["Allow"]
    root = ET.fromstring(await resp.read())
    assert root.tag == COMPUTE_NS + "badMethod" and root.get("code") == "405"
