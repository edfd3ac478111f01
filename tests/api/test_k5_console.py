"""K5's VNC console (D41): only `novnc`, with the URL `.../vnc_auto.html?token=<token>`, which the console listener
answers by going on to noVNC's vnc_lite.html with the same token (api/console_static.py)."""
from __future__ import annotations

import re

import aiohttp

from tests.api.helpers import assert_fault
from tests.api.k5_examples import assert_like
from tests.api.test_consoles import world  # noqa: F401 (fixture)

K5_URL = re.compile(r"^http://cloud\.example:(\d+)/vnc_auto\.html\?token=([0-9a-f-]{36})$")


async def test_novnc_only_with_the_vnc_auto_url(world):  # noqa: F811
    api, admin, (server_id, _), *_ = world
    resp = await api.client.post(f"/k5/v2/servers/{server_id}/action", headers={"X-Auth-Token": admin},
                                 json={"os-getVNCConsole": {"type": "novnc"}})  # seed 003 L9706
    assert resp.status == 200, await resp.text()
    answer = await resp.json()
    assert_like(answer, {"console": {"type": "novnc", "url": (  # L9718
        "http://127.0.0.1:6080/vnc_auto.html?token=191996c3-7b0f-42f3-95a7-f1839f2da6ed")}})
    console = answer["console"]
    assert console["type"] == "novnc"
    port, token = K5_URL.match(console["url"]).groups()
    async with aiohttp.ClientSession() as session:
        async with session.get(f"http://127.0.0.1:{port}/vnc_auto.html", params={"token": token},
                               allow_redirects=False) as page:
            assert page.status in (301, 302, 303, 307), page.status
            assert token in page.headers["Location"] and "vnc_lite.html" in page.headers["Location"]
    await assert_fault(await api.client.post(f"/k5/v2/servers/{server_id}/action", headers={"X-Auth-Token": admin},
                                             json={"os-getVNCConsole": {"type": "xvpvnc"}}), 400, "badRequest")
    # the openstack face keeps Nova's URL
    resp = await api.post(f"/servers/{server_id}/action", admin, json={"os-getVNCConsole": {"type": "novnc"}})
    assert "vnc_lite.html" in (await resp.json())["console"]["url"]
