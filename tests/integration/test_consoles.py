"""Consoles end to end on a real guest (issue 21's proof): the daemon's app runs in this process on the session's
qemu:///embed root, so the test can ask libvirt itself for a screenshot of the same display.

- `openstack console url show` gives Nova's noVNC URL on the configured public host; headless Chromium opens it,
  noVNC connects through the daemon's console listener, and its canvas matches libvirt's virDomainScreenshot of the
  guest's display (kept as artifacts); `echo MARKER-<random>` typed in the browser runs in the guest's tty1 shell
  and its output appears in os-getConsoleOutput.
- `openstack console url show --serial` gives the serial URL; a websocket client types a command into the guest's
  serial shell and reads the answer, and the same bytes are in os-getConsoleOutput.
- The guest's display listens on no TCP port, QEMU appends to the console log (so trimming it stays safe); deleting
  the server closes an open console and its token is refused.
"""
from __future__ import annotations

import asyncio
import io
import json
import os
import secrets
import subprocess
import sys
import time
from pathlib import Path

import aiohttp
import libvirt
import pytest
from aiohttp.test_utils import TestServer
from PIL import Image

from bench.cloud_util import guest_image
from bench.daemon_util import free_port
from nodecompute.api.keys import servers_key
from nodecompute.app import create_app
from nodecompute.config import ComputeConfig, Config, ConsoleConfig, IdentityConfig, NetworkConfig, ServerConfig
from tests.browser import Browser
from tests.console_refusal import assert_dropped
from tests.integration.test_console_novnc import CANVAS, STATUS, differing_pixels, lit_pixels, mean_difference

pytestmark = pytest.mark.integration

BOOT_TIMEOUT = 180


class Cloud:
    def __init__(self, url: str, cfg: Config, app) -> None:
        self.url, self.cfg, self.app = url, cfg, app
        self.http: aiohttp.ClientSession | None = None
        self.token = ""

    async def call(self, method: str, path: str, body=None, ok: int | None = 200, headers=None, **kw):
        async with self.http.request(method, self.url + path, json=body,
                                     headers={"X-Auth-Token": self.token, **(headers or {})}, **kw) as resp:
            text = await resp.text()
            assert ok is None or resp.status == ok, (method, path, resp.status, text)
            return json.loads(text) if text and resp.content_type == "application/json" else resp.status

    async def console_log(self, server_id: str) -> str:
        body = await self.call("POST", f"/compute/v2.1/servers/{server_id}/action", {"os-getConsoleOutput": {}},
                               ok=None)
        return body["output"] if isinstance(body, dict) and "output" in body else ""  # "" while building

    async def wait_console(self, server_id: str, text: str, timeout: float = BOOT_TIMEOUT) -> str:
        deadline = time.monotonic() + timeout
        while text not in (log := await self.console_log(server_id)):
            assert time.monotonic() < deadline, f"{text!r} not in the console log: {log[-1500:]}"
            await asyncio.sleep(0.5)
        return log

    async def cli(self, *args: str) -> dict:
        env = {k: v for k, v in os.environ.items() if not k.startswith("OS_")}
        env["OS_CLIENT_CONFIG_FILE"] = str(self.cfg.data_dir / "clouds.yaml")
        proc = await asyncio.create_subprocess_exec(sys.executable, "-m", "openstackclient.shell", "--os-cloud",
                                                    "nodecompute", *args, "-f", "json", env=env,
                                                    stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                                    stderr=subprocess.PIPE)
        out, err = await proc.communicate()
        assert proc.returncode == 0, err.decode()
        return json.loads(out)


@pytest.fixture(scope="module")
async def cloud(embed_uri, tmp_path_factory):
    data = tmp_path_factory.mktemp("consoles")
    port = free_port()
    cfg = Config(data_dir=data / "d", server=ServerConfig(listen_port=port, public_url=f"http://127.0.0.1:{port}"),
                 identity=IdentityConfig(kdf_time_cost=1, kdf_memory_kib=1024),
                 compute=ComputeConfig(libvirt_uri=embed_uri), network=NetworkConfig(enabled="false"),
                 console=ConsoleConfig(novncproxy_port=0, serialproxy_port=0))
    app = create_app(cfg)
    server = TestServer(app, host="127.0.0.1", port=port)
    await server.start_server()
    cloud = Cloud(f"http://127.0.0.1:{port}", cfg, app)
    cloud.http = aiohttp.ClientSession()
    password = (cfg.data_dir / "admin-password").read_text().strip()
    auth = {"auth": {"identity": {"methods": ["password"], "password": {"user": {
        "name": "admin", "domain": {"id": "default"}, "password": password}}},
        "scope": {"project": {"name": "admin", "domain": {"id": "default"}}}}}
    async with cloud.http.post(cloud.url + "/identity/v3/auth/tokens", json=auth) as resp:
        assert resp.status == 201, await resp.text()
        cloud.token = resp.headers["X-Subject-Token"]
    yield cloud
    await app[servers_key].wait_idle()
    await cloud.http.close()
    await server.close()


@pytest.fixture(scope="module")
async def guest(cloud):
    image = await cloud.call("POST", "/image/v2/images", {"name": "testguest", "disk_format": "qcow2",
                                                          "container_format": "bare"}, ok=201)
    await cloud.call("PUT", f"/image/v2/images/{image['id']}/file", ok=204, data=io.BytesIO(guest_image().read_bytes()),
                     headers={"Content-Type": "application/octet-stream"})
    body = await cloud.call("POST", "/compute/v2.1/servers", {"server": {
        "name": "console-guest", "imageRef": image["id"], "flavorRef": "42"}}, ok=202)
    server_id = body["server"]["id"]
    await cloud.wait_console(server_id, "NCGUEST ready")
    yield server_id
    await cloud.call("DELETE", f"/compute/v2.1/servers/{server_id}", ok=None)
    await cloud.app[servers_key].wait_idle()


@pytest.fixture(scope="module")
async def browser(tmp_path_factory):
    started = Browser(tmp_path_factory.mktemp("browser"))
    await started.start()
    yield started
    await started.close()


@pytest.fixture(scope="module")
async def console_page(cloud, guest, browser):
    url = (await cloud.cli("console", "url", "show", guest))["url"]
    assert url.startswith(f"http://127.0.0.1:") and "/vnc_lite.html?path=%3Ftoken%3D" in url, url
    page = await browser.new_page()
    await page.open(url)
    await page.wait_for(f"{STATUS}.startsWith('Connected')", timeout=30)
    await page.wait_for(f"document.querySelector('{CANVAS}').width === 720", timeout=10)
    return page


def libvirt_screenshot(uri: str, domain_name: str) -> Image.Image:
    """libvirt's own virDomainScreenshot of the display (another connection to the same embedded driver)."""
    conn = libvirt.open(uri)
    try:
        stream = conn.newStream(0)
        conn.lookupByName(domain_name).screenshot(stream, 0, 0)
        chunks = []
        while chunk := stream.recv(1 << 20):
            chunks.append(chunk)
        stream.finish()
        return Image.open(io.BytesIO(b"".join(chunks))).convert("RGB")
    finally:
        conn.close()


async def test_the_console_url_shows_what_libvirt_sees(cloud, guest, console_page, tmp_path_factory):
    artifacts = tmp_path_factory.mktemp("console-artifacts")
    server = await cloud.call("GET", f"/compute/v2.1/servers/{guest}")
    name = server["server"]["OS-EXT-SRV-ATTR:instance_name"]
    for _ in range(40):  # noVNC draws the framebuffer updates as they come
        shot = await asyncio.to_thread(libvirt_screenshot, cloud.cfg.compute.libvirt_uri, name)
        png = await console_page.screenshot(artifacts / "novnc.png", selector=CANVAS)
        shown = Image.open(io.BytesIO(png)).convert("RGB")
        if shown.size != shot.size:
            shown = shown.resize(shot.size)
        lit, differing = lit_pixels(shot), differing_pixels(shown, shot)
        if lit > 2000 and differing < 0.02 * lit:
            break
        await asyncio.sleep(0.25)
    shot.save(artifacts / "libvirt-screenshot.png")
    print(f"noVNC: {artifacts / 'novnc.png'}, libvirt: {artifacts / 'libvirt-screenshot.png'}; {differing} of {lit} "
          f"lit pixels differ, mean difference {mean_difference(shown, shot):.3f}/255")
    assert lit > 2000, "libvirt's screenshot should show the guest's text console"
    assert differing < 0.02 * lit and mean_difference(shown, shot) < 0.5


async def test_keys_typed_in_the_browser_run_in_the_guest(cloud, guest, console_page):
    marker = f"MARKER-{secrets.token_hex(4)}"
    await console_page.evaluate(f"document.querySelector('{CANVAS}').focus()")
    await console_page.type_text(f"echo {marker}")
    await console_page.press("Enter")
    log = await cloud.wait_console(guest, marker, timeout=60)
    assert any(line.rstrip().endswith(marker) for line in log.splitlines()), log[-800:]


async def test_the_serial_console_url_reaches_the_guests_shell(cloud, guest):
    url = (await cloud.cli("console", "url", "show", "--serial", guest))["url"]
    assert url.startswith("ws://127.0.0.1:") and "/?token=" in url, url
    marker = f"SERIAL-{secrets.token_hex(4)}"
    async with cloud.http.ws_connect(url) as ws:
        await ws.send_str(f"echo {marker}\n")
        received = b""
        answer = f"\n{marker}\r\n".encode()  # the command's output on a line of its own (after the echoed command)
        deadline = time.monotonic() + 60
        while answer not in received.replace(b"\r\r\n", b"\r\n"):
            assert time.monotonic() < deadline, received[-500:]
            message = await ws.receive(timeout=60)
            assert message.type is aiohttp.WSMsgType.BINARY, message
            received += message.data
    assert f"echo {marker}".encode() in received
    log = await cloud.wait_console(guest, marker, timeout=30)
    assert log.count(marker) >= 2  # what the websocket carried is in the console log as well


def qemu_pid(server_id: str) -> int:
    """The QEMU of the server: its -uuid is the server's (domain names repeat across daemons on one host)."""
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                args = Path(f"/proc/{entry}/cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if b"qemu-system" in args[0] and server_id.encode() in args:
                return int(entry)
    raise AssertionError(f"no QEMU runs server {server_id}")


async def test_no_tcp_display_and_delete_closes_the_console(cloud, guest):
    pid = qemu_pid(guest)
    sockets = {os.readlink(f"/proc/{pid}/fd/{fd}") for fd in os.listdir(f"/proc/{pid}/fd")}
    inodes = {link[8:-1] for link in sockets if link.startswith("socket:[")}
    listening = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] == "0A":  # LISTEN
                listening.add(fields[9])
    assert not inodes & listening, "QEMU listens on a TCP port"
    # The serial port's log is opened with O_APPEND, so the daemon's trimmer may truncate it (virt/console.py).
    log_fds = [fd for fd in os.listdir(f"/proc/{pid}/fd") if os.readlink(f"/proc/{pid}/fd/{fd}").endswith(
        f"/{guest}/console.log")]
    flags = [int(Path(f"/proc/{pid}/fdinfo/{fd}").read_text().split("flags:")[1].split()[0], 8) for fd in log_fds]
    assert flags and all(flag & os.O_APPEND for flag in flags), [oct(flag) for flag in flags]
    url = (await cloud.cli("console", "url", "show", "--serial", guest))["url"]
    ws = await cloud.http.ws_connect(url)
    await cloud.call("DELETE", f"/compute/v2.1/servers/{guest}", ok=204)
    closed = await ws.receive(timeout=60)
    assert closed.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED), closed
    await ws.close()
    await assert_dropped(url)
