"""Helion's VNC console URL (issue 24 slice 4; dialects.md D41, seed 002 line 7990): `.../vnc_auto.html?token=<token>
&title=<name>(<uuid>)`, which the console listener's vnc_auto.html hands on to vnc_lite.html and the websocket."""
from __future__ import annotations

import re
from urllib.parse import parse_qs, unquote, urlsplit

import aiohttp

from nodecompute.api.keys import identity_key
from tests.api.test_consoles import world  # noqa: F401 (fixture)

HELION_URL = re.compile(r"^http://cloud\.example:(\d+)/vnc_auto\.html\?token=([0-9a-f-]{36})&title=(.+)$")


async def test_vnc_url_is_helions_form_and_opens(world):  # noqa: F811
    api, admin, (a, b), _, _ = world
    project = api.client.server.app[identity_key].validate(admin).project_id
    resp = await api.client.post(f"/helion/v2/{project}/servers/{a}/action", headers={"X-Auth-Token": admin},
                                 json={"os-getVNCConsole": {"type": "novnc"}})
    assert resp.status == 200, await resp.text()
    console = (await resp.json())["console"]
    assert set(console) == {"type", "url"} and console["type"] == "novnc"
    port, token, title = HELION_URL.match(console["url"]).groups()
    assert unquote(title) == f"a({a})"
    async with aiohttp.ClientSession() as session:
        page = f"http://127.0.0.1:{port}/vnc_auto.html?{urlsplit(console['url']).query}"
        async with session.get(page, allow_redirects=False) as redirect:
            assert redirect.status == 302
            location = redirect.headers["Location"]
        assert parse_qs(urlsplit(location).query)["path"] == [f"?token={token}"]
        async with session.ws_connect(f"ws://127.0.0.1:{port}/?token={token}", protocols=("binary",)) as ws:
            assert await ws.receive_bytes(timeout=5) == f"RFB 003.008\n{a}".encode()


async def test_8006_the_xml_request_of_the_seed(world):  # noqa: F811
    """Seed 002 line 8006 (`<os-getVNCConsole type="novnc" />`), answer in XML: the same console as in JSON."""
    from nodecompute.api import xml_helion
    from tests.api.test_helion_xml_requests import seed_xml

    api, admin, (a, _b), _, _ = world
    project = api.client.server.app[identity_key].validate(admin).project_id
    resp = await api.client.post(f"/helion/v2/{project}/servers/{a}/action", data=seed_xml(8006),
                                 headers={"X-Auth-Token": admin, "Content-Type": "application/xml",
                                          "Accept": "application/xml"})
    assert resp.status == 200 and resp.content_type == "application/xml", await resp.text()
    console = xml_helion.read_back(await resp.read())["console"]
    assert console["type"] == "novnc"
    _port, _token, title = HELION_URL.match(console["url"]).groups()
    assert unquote(title) == f"a({a})"
