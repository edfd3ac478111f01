"""The headless Chromium harness (tests/browser.py) against a tiny page served by aiohttp in the test."""
from __future__ import annotations

import io
import time

import pytest
from aiohttp import web
from PIL import Image

from tests.browser import Browser, group_members

pytestmark = pytest.mark.integration

PAGE = """<!DOCTYPE html><html><head><title>loading</title><script src="app.js"></script></head>
<body style="margin:0;background:#fff">
<canvas id="box" width="40" height="30" style="position:absolute;left:100px;top:50px"></canvas>
<input id="field" style="position:absolute;left:0;top:200px"></body></html>"""
SCRIPT = """
window.addEventListener('load', () => {
  const ctx = document.getElementById('box').getContext('2d');
  ctx.fillStyle = 'rgb(200, 20, 40)'; ctx.fillRect(0, 0, 40, 30);
  const field = document.getElementById('field');
  field.addEventListener('keydown', (e) => {
    if (e.key === 'Enter') { console.log('submitted:' + field.value); document.title = 'done'; }
  });
  field.focus();
  document.title = 'ready';
  console.warn('page ready');
});
"""


@pytest.fixture
async def site(aiohttp_server):
    async def page(_):
        return web.Response(text=PAGE, content_type="text/html")

    async def script(_):
        return web.Response(text=SCRIPT, content_type="text/javascript")

    app = web.Application()
    app.router.add_get("/", page)
    app.router.add_get("/app.js", script)
    return await aiohttp_server(app)


async def test_open_wait_screenshot_type_and_console(site, tmp_path):
    started = time.monotonic()
    browser = await Browser(tmp_path).start()
    print(f"chromium up in {time.monotonic() - started:.2f}s")
    try:
        group = browser.process.pid
        assert group_members(group), "the browser runs in a process group of its own"
        page = await browser.new_page()
        await page.open(str(site.make_url("/")))
        assert await page.wait_for("document.title === 'ready' && document.title") == "ready"

        whole = Image.open(io.BytesIO(await page.screenshot(tmp_path / "page.png")))
        assert whole.size == (1024, 768) and (tmp_path / "page.png").stat().st_size > 0
        assert whole.convert("RGB").getpixel((120, 65)) == (200, 20, 40)  # inside the canvas
        assert whole.convert("RGB").getpixel((10, 10)) == (255, 255, 255)
        box = Image.open(io.BytesIO(await page.screenshot(selector="#box"))).convert("RGB")
        assert box.size == (40, 30) and box.getcolors() == [(40 * 30, (200, 20, 40))]

        await page.type_text("Hello World-42 a_b.c")
        await page.press("Enter")
        await page.wait_for("document.title === 'done'")
        assert await page.evaluate("document.getElementById('field').value") == "Hello World-42 a_b.c"
        assert "console.log: submitted:Hello World-42 a_b.c" in page.console_messages
        assert "console.warning: page ready" in page.console_messages
        await page.evaluate("setTimeout(() => { throw new Error('boom') }, 0); 1")
        await page.wait_for("new Promise(r => setTimeout(() => r(true), 50))")
        assert any("exception: Error: boom" in m for m in page.console_messages), page.console_messages
    finally:
        started = time.monotonic()
        await browser.close()
        print(f"chromium closed in {time.monotonic() - started:.2f}s")
    assert group_members(group) == [], "every process of the browser's group is gone"
    assert not browser.workdir.exists()
