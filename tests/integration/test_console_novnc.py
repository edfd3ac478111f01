"""End to end without the daemon: noVNC in headless Chromium, through the console proxy, on a real QEMU display.

A plain qemu-system-x86_64 (TCG) boots the test guest with its VNC display on a UNIX socket (as guests' displays
are now private sockets); the console listener app runs on an ephemeral port with a resolver that knows one
token; Chromium opens Nova's URL form `vnc_lite.html?path=%3Ftoken%3D<token>`. The canvas noVNC draws must match
QEMU's own screendump of the same display. Keystrokes typed in Chromium must arrive in QEMU's input layer as the
same keys (QEMU's `input_event_key_*` trace) and be read by the guest's keyboard driver (`pckbd_kbd_read_data`):
the test guest has no shell on tty1 yet, so finding `echo MARKER-...`'s output in the console log is left to the
consoles issue. Also: a bad token and a foreign Origin are refused, revocation closes the open session, the
Cyclades proxy reaches the same display (its test viewer first checked against QEMU's own VNC authentication), and
the serial listener carries the guest's serial port (a socket with a log, as libvirt's) to a websocket client.
"""
from __future__ import annotations

import asyncio
import io
import re
import secrets
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from PIL import Image, ImageChops, ImageStat
from qemu.qmp import QMPClient

from nodecompute.api.console_proxy import create_console_app
from nodecompute.api.console_sessions import ConsoleSessions
from nodecompute.api.vnc_auth_proxy import VncAuthProxy
from nodecompute.domain.console_tokens import ConsoleTarget, check_token, issue_token, lookup_digest
from nodecompute.config import Config
from tests.browser import Browser
from tests.conftest import REPO
from tests.console_refusal import assert_dropped
from tests.rfb_client import Viewer

pytestmark = pytest.mark.integration

SERVER_ID = "d1e2f3a4-0000-4000-8000-00000000c0de"
IMAGE = REPO / "images" / "out" / "nodecompute-testguest.qcow2"
STATUS = "document.getElementById('status').textContent"
CANVAS = "#screen canvas"
KEY_EVENT = re.compile(r"input_event_key_(?:number .*?\[(?P<named>\w+)\]|qcode con -?\d+, key qcode (?P<qcode>\w+)),"
                       r" down (?P<down>\d)")
QCODE_TEXT = {"spc": " ", "minus": "-", "ret": "\n"}


class Qemu:
    """One QEMU (TCG) with its VNC display and QMP on UNIX sockets, traced keyboard input; killed by PID."""

    def __init__(self, workdir: Path, *args: str) -> None:
        self.workdir = workdir
        self.vnc, self.qmp, self.trace = workdir / "vnc.sock", workdir / "qmp.sock", workdir / "trace.log"
        self.serial, self.serial_socket = workdir / "serial.log", workdir / "serial.sock"
        self.args = args
        self.process: subprocess.Popen | None = None

    def start(self, vnc_options: str = "") -> Qemu:
        self.process = subprocess.Popen(
            ["qemu-system-x86_64", "-machine", "pc", "-accel", "tcg", "-m", "192", "-smp", "1", "-nic", "none",
             "-display", "none", "-vnc", f"unix:{self.vnc}{vnc_options}",
             "-qmp", f"unix:{self.qmp},server=on,wait=off",
             # An interactive serial port with a log, as libvirt's <serial type='unix'> with <log file=.../>.
             "-chardev", f"socket,id=serial0,path={self.serial_socket},server=on,wait=off,logfile={self.serial}",
             "-serial", "chardev:serial0", "-D", str(self.trace), "-trace", "input_event_key_number",
             "-trace", "input_event_key_qcode", "-trace", "pckbd_kbd_read_data", *self.args],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        return self

    def wait_for_serial(self, text: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while text not in (self.serial.read_text(errors="replace") if self.serial.exists() else ""):
            assert self.process.poll() is None, f"QEMU exited: {self.process.stderr.read().decode()}"
            assert time.monotonic() < deadline, f"no {text!r} on the serial console within {timeout}s"
            time.sleep(0.1)

    def wait_for_socket(self, timeout: float = 10) -> None:
        deadline = time.monotonic() + timeout
        while not (self.vnc.exists() and self.qmp.exists()):
            assert self.process.poll() is None, f"QEMU exited: {self.process.stderr.read().decode()}"
            assert time.monotonic() < deadline
            time.sleep(0.05)

    async def qmp_command(self, command: str, **arguments):
        client = QMPClient("console-test")
        await client.connect(str(self.qmp))
        try:
            return await client.execute(command, arguments or None)
        finally:
            await client.disconnect()

    async def screendump(self, path: Path) -> Image.Image:
        await self.qmp_command("screendump", filename=str(path))
        return Image.open(path).convert("RGB")

    def trace_lines(self) -> list[str]:
        return self.trace.read_text(errors="replace").splitlines() if self.trace.exists() else []

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)
        if self.process and self.process.stderr:
            self.process.stderr.close()


@pytest.fixture(scope="module")
def workdir():
    path = Path(tempfile.mkdtemp(prefix="ncnovnc-"))  # short: UNIX socket paths
    yield path
    shutil.rmtree(path)


@pytest.fixture(scope="module")
def guest(workdir):
    assert IMAGE.is_file(), "run images/build.sh first"
    root = workdir / "root.qcow2"
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", "-b", str(IMAGE), "-F", "qcow2", str(root)],
                   check=True)
    qemu = Qemu(workdir, "-drive", f"file={root},if=virtio,format=qcow2").start()
    try:
        # The kernel runs and its keyboard driver is loaded; the screen (SeaBIOS, SYSLINUX) no longer changes.
        qemu.wait_for_serial("NCGUEST boot=", 120)
        yield qemu
    finally:
        qemu.stop()


@pytest.fixture(scope="module")
def sessions():
    return ConsoleSessions()


@pytest.fixture(scope="module")
def tokens_and_resolver(guest):
    """One token per console kind, and a resolver over a store that keeps digests only."""
    sockets = {"novnc": guest.vnc, "serial": guest.serial_socket}
    tokens, records = {}, {}
    for kind in sockets:
        tokens[kind], record = issue_token(SERVER_ID, kind, now=time.time(), ttl=600)
        records[record.digest] = record

    async def resolve(presented: str) -> ConsoleTarget:
        found = check_token(records.get(lookup_digest(presented)), kinds=tuple(sockets), now=time.time())
        return ConsoleTarget(found.kind, str(sockets[found.kind]), found.server_id)

    return tokens, resolve


@pytest.fixture(scope="module")
def token_and_resolver(tokens_and_resolver):
    return tokens_and_resolver[0]["novnc"], tokens_and_resolver[1]


async def start_listener(app: web.Application) -> tuple[web.AppRunner, int]:
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    return runner, runner.addresses[0][1]


@pytest.fixture(scope="module")
async def proxy_url(token_and_resolver, sessions):
    novnc_dir = Config().novnc_dir
    assert (novnc_dir / "vnc_lite.html").is_file(), "run scripts/setup.sh: it unpacks noVNC into .venv/share/novnc"
    runner, port = await start_listener(create_console_app(resolve=token_and_resolver[1], sessions=sessions,
                                                           kinds=("novnc",), novnc_dir=novnc_dir))
    yield f"http://127.0.0.1:{port}"
    await runner.cleanup()


@pytest.fixture(scope="module")
async def browser(tmp_path_factory):
    started = Browser(tmp_path_factory.mktemp("browser"))
    await started.start()
    yield started
    await started.close()


@pytest.fixture(scope="module")
async def console_page(browser, proxy_url, token_and_resolver):
    page = await browser.new_page()
    await page.open(f"{proxy_url}/vnc_lite.html?path=%3Ftoken%3D{token_and_resolver[0]}")
    await page.wait_for(f"{STATUS}.startsWith('Connected')", timeout=30)
    await page.wait_for(f"document.querySelector('{CANVAS}').width === 720", timeout=10)
    return page


def mean_difference(a: Image.Image, b: Image.Image) -> float:
    return sum(ImageStat.Stat(ImageChops.difference(a, b)).mean) / 3


def differing_pixels(a: Image.Image, b: Image.Image, threshold: int = 48) -> int:
    return ImageChops.difference(a, b).convert("L").point(lambda v: 255 if v > threshold else 0).histogram()[255]


def lit_pixels(image: Image.Image) -> int:
    return sum(count for count, colour in image.getcolors(1 << 24) if sum(colour) > 150)


async def test_novnc_shows_what_qemu_shows(console_page, guest, workdir, tmp_path_factory):
    artifacts = tmp_path_factory.mktemp("console-artifacts")
    qemu_image = await guest.screendump(workdir / "screendump.ppm")
    assert lit_pixels(qemu_image) > 2000, "the guest's screen should show SeaBIOS and SYSLINUX text"
    lit = lit_pixels(qemu_image)
    for _ in range(30):  # noVNC draws the framebuffer updates as they come
        png = await console_page.screenshot(artifacts / "novnc.png", selector=CANVAS)
        shown = Image.open(io.BytesIO(png)).convert("RGB")
        if shown.size != qemu_image.size:
            shown = shown.resize(qemu_image.size)
        differing = differing_pixels(shown, qemu_image)
        if differing < 0.02 * lit:
            break
        await asyncio.sleep(0.2)
    qemu_image.save(artifacts / "qemu-screendump.png")
    difference = mean_difference(shown, qemu_image)
    print(f"noVNC screenshot: {artifacts / 'novnc.png'} (QEMU's: {artifacts / 'qemu-screendump.png'}); "
          f"{differing} of {lit} lit pixels differ, mean difference {difference:.3f}/255")
    # A blank canvas would differ in every lit pixel (mean 2.0/255 here), a screen one text row off in more.
    assert differing < 0.02 * lit, f"{differing} pixels of noVNC's canvas differ from QEMU's screendump"
    assert difference < 0.5, f"noVNC's canvas differs from QEMU's screendump by {difference:.2f}/255 on average"
    assert (await console_page.evaluate(STATUS)).startswith("Connected to QEMU")
    csp_reports = [m for m in console_page.console_messages if "Content Security Policy" in m]
    assert csp_reports == [], "the CSP must let noVNC work"


def typed_text(trace_lines: list[str]) -> str:
    """Turns the key presses QEMU traced back into text (US layout, shift held or not)."""
    text, shift = [], False
    for line in trace_lines:
        match = KEY_EVENT.search(line)
        if not match:
            continue
        name, down = match.group("named") or match.group("qcode"), match.group("down") == "1"
        if name.startswith("shift"):
            shift = down
        elif down:
            char = QCODE_TEXT.get(name, name if len(name) == 1 else f"<{name}>")
            text.append(char.upper() if shift else char)
    return "".join(text)


async def test_keystrokes_reach_the_guest(console_page, guest):
    marker = f"MARKER-{secrets.token_hex(4)}"
    before = guest.trace_lines()
    await console_page.evaluate(f"document.querySelector('{CANVAS}').focus()")
    await console_page.type_text(f"echo {marker}")
    await console_page.press("Enter")
    deadline = time.monotonic() + 10
    while f"echo {marker}\n" not in typed_text(guest.trace_lines()[len(before):]):
        assert time.monotonic() < deadline, f"QEMU got: {typed_text(guest.trace_lines()[len(before):])!r}"
        await asyncio.sleep(0.1)
    # QEMU has every key event now; the guest's driver reads the scancodes when its vCPU next runs (later on a
    # loaded host), so wait for the reads rather than count them at once.
    while True:
        new = guest.trace_lines()[len(before):]
        presses = sum(1 for line in new if KEY_EVENT.search(line))
        reads = sum(1 for line in new if line.startswith("pckbd_kbd_read_data"))
        if reads >= presses or time.monotonic() > deadline + 10:
            break
        await asyncio.sleep(0.1)
    print(f"{presses} key events reached QEMU's input layer; the guest's keyboard driver read {reads} bytes")
    assert reads >= presses, "the guest read a scancode byte for every key press and release"
    # The marker itself appears in the console log once the test guest runs a shell on tty1 (consoles issue).


async def test_the_vnc_auto_url_form_connects_too(console_page, browser, proxy_url, token_and_resolver, sessions):
    """The Helion and K5 dialects' URL: vnc_auto.html?token=<token>&title=<name>(<uuid>)."""
    page = await browser.new_page()
    await page.open(f"{proxy_url}/vnc_auto.html?token={token_and_resolver[0]}&title=vm1({SERVER_ID})")
    await page.wait_for(f"{STATUS}.startsWith('Connected')", timeout=30)
    assert sessions.count(SERVER_ID) == 2  # the console page of the tests above stays connected (shared)
    await page.close()
    deadline = time.monotonic() + 10
    while sessions.count(SERVER_ID) != 1:
        assert time.monotonic() < deadline, "closing the page ends its session"
        await asyncio.sleep(0.1)


async def test_a_bad_token_and_a_foreign_origin_are_refused(browser, proxy_url, token_and_resolver, sessions):
    page = await browser.new_page()
    await page.open(f"{proxy_url}/vnc_lite.html?path=%3Ftoken%3Dnot-a-token")
    await page.wait_for(f"{STATUS}.includes('went wrong') || {STATUS} === 'Disconnected'")
    assert not (await page.evaluate(STATUS)).startswith("Connected")
    await page.close()

    # A page of another site opens a websocket to the proxy with a valid token (cross-site websocket hijacking).
    async def evil_page(_):
        return web.Response(content_type="text/html", text=(
            "<!DOCTYPE html><script>const ws = new WebSocket(" + repr(f"{proxy_url.replace('http', 'ws')}/?token="
                                                                   f"{token_and_resolver[0]}") +
            ", ['binary']); ws.onopen = () => { document.title = 'open' };"
            " ws.onclose = (e) => { document.title = 'closed ' + e.code };</script>"))

    evil = web.Application()
    evil.router.add_get("/", evil_page)
    runner = web.AppRunner(evil)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.2", 0).start()  # another origin, still loopback
    try:
        port = runner.addresses[0][1]
        open_sessions = sessions.count(SERVER_ID)
        page = await browser.new_page()
        await page.open(f"http://127.0.0.2:{port}/")
        assert await page.wait_for("document.title.startsWith('closed') && document.title") == "closed 1006"
        assert sessions.count(SERVER_ID) == open_sessions  # no session was opened for it
        await page.close()
    finally:
        await runner.cleanup()
    await assert_dropped(f"{proxy_url}/?token={token_and_resolver[0]}", {"Origin": f"http://127.0.0.2:{port}"})


async def test_revocation_closes_the_open_console(console_page, sessions):
    assert await console_page.evaluate(STATUS) != "Disconnected"
    assert sessions.count(SERVER_ID) == 1
    assert await sessions.close_server(SERVER_ID) == 1
    await console_page.wait_for(f"{STATUS} === 'Disconnected'", timeout=10)
    assert sessions.count(SERVER_ID) == 0


async def test_the_test_viewer_passes_qemus_own_vnc_authentication(tmp_path_factory):
    workdir = Path(tempfile.mkdtemp(prefix="ncvncpw-"))
    qemu = Qemu(workdir, "-S").start(",password=on")
    try:
        qemu.wait_for_socket()
        await qemu.qmp_command("change-vnc-password", password="Pa55word")
        viewer = await Viewer.connect_unix(str(qemu.vnc))
        assert await viewer.authenticate(b"Pa55word") == (0, b"")
        viewer.close()
        viewer = await Viewer.connect_unix(str(qemu.vnc))
        assert (await viewer.authenticate(b"Pa55wore"))[0] == 1
        viewer.close()
    finally:
        qemu.stop()
        shutil.rmtree(workdir)


async def test_the_cyclades_proxy_opens_the_guests_display(guest):
    proxy = VncAuthProxy(host="127.0.0.1", port_min=43400, port_max=43499, window=10)
    try:
        console = await proxy.open(SERVER_ID, str(guest.vnc))
        viewer = await Viewer.connect(console.port)
        assert await viewer.authenticate(console.password.encode()) == (0, b"")
        width, height, name = await viewer.init()
        assert (width, height) == (720, 400) and name.startswith(b"QEMU")
        viewer.close()
    finally:
        await proxy.close()


async def test_the_serial_console_reaches_the_guests_serial_port(guest, tokens_and_resolver, sessions):
    """Last: the guest powers off. The serial listener splices a websocket to QEMU's serial socket."""
    tokens, resolve = tokens_and_resolver
    runner, port = await start_listener(create_console_app(resolve=resolve, sessions=sessions, kinds=("serial",),
                                                           public_scheme="ws"))
    try:
        await assert_dropped(f"ws://127.0.0.1:{port}/?token={tokens['novnc']}")  # the VNC token: no serial console
        async with aiohttp.ClientSession() as client:
            ws = await client.ws_connect(f"ws://127.0.0.1:{port}/?token={tokens['serial']}", protocols=("binary",))
            await asyncio.to_thread(guest.wait_for_serial, "NCGUEST ready", 120)  # its power button handler runs
            await guest.qmp_command("system_powerdown")  # the guest's acpid says "NCGUEST poweroff" on ttyS0
            received = b""
            deadline = time.monotonic() + 60
            while b"NCGUEST poweroff" not in received:
                assert time.monotonic() < deadline, f"serial console gave {received[-500:]!r}"
                try:
                    message = await asyncio.wait_for(ws.receive(), 10)
                except TimeoutError:  # a press while the handler was still being armed is lost: press again
                    await guest.qmp_command("system_powerdown")
                    continue
                if message.type is not aiohttp.WSMsgType.BINARY:
                    break
                received += message.data
            assert b"NCGUEST poweroff" in received
            # the log kept it too (QEMU writes the log file beside the socket: it may trail the console by a write)
            deadline = time.monotonic() + 10
            while b"NCGUEST poweroff" not in guest.serial.read_bytes() and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
            assert b"NCGUEST poweroff" in guest.serial.read_bytes()
            await ws.close()
    finally:
        await runner.cleanup()
