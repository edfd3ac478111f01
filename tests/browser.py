"""Headless Chromium for tests, driven over the DevTools protocol with aiohttp's websocket client.

Debian's `chromium` (scripts/apt-test.txt); nothing is downloaded, no selenium or playwright. The browser runs in
a process group of its own with a throw-away profile, and `close()` ends exactly that group (by PID).

    async with Browser(tmp_path) as browser:
        page = await browser.new_page()
        await page.open("http://127.0.0.1:8000/")
        await page.wait_for("document.title === 'ready'")
        png = await page.screenshot(selector="canvas")
        await page.type_text("echo hi")
        await page.press("Enter")
        page.console_messages  # console.*, uncaught exceptions, browser log entries (CSP reports among them)
"""
from __future__ import annotations

import asyncio
import base64
import itertools
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--remote-debugging-port=0"]
_DEVTOOLS_LINE = re.compile(r"DevTools listening on (ws://\S+)")


class BrowserError(Exception):
    pass


class Browser:
    def __init__(self, workdir: Path | None = None) -> None:
        self.workdir = Path(tempfile.mkdtemp(prefix="chromium-", dir=workdir))
        self.profile = self.workdir / "profile"
        self.log_path = self.workdir / "chromium.log"
        self.process: subprocess.Popen | None = None
        self._http: aiohttp.ClientSession | None = None
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._reader: asyncio.Task | None = None
        self._ids = itertools.count(1)
        self._waiting: dict[int, asyncio.Future] = {}
        self._pages: dict[str, Page] = {}

    async def __aenter__(self) -> Browser:
        return await self.start()

    async def __aexit__(self, *exc_info) -> None:
        await self.close()

    async def start(self, timeout: float = 30.0) -> Browser:
        if not os.path.exists(CHROMIUM):
            raise BrowserError("chromium is missing: scripts/setup.sh --test installs Debian's chromium")
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(
                [CHROMIUM, *FLAGS, f"--user-data-dir={self.profile}", "about:blank"],
                stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True)
        url = await self._devtools_url(timeout)
        self._http = aiohttp.ClientSession()
        self._ws = await self._http.ws_connect(url, max_msg_size=0)
        self._reader = asyncio.create_task(self._read())
        return self

    async def _devtools_url(self, timeout: float) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            match = _DEVTOOLS_LINE.search(self.log_path.read_text(errors="replace"))
            if match:
                return match.group(1)
            if self.process.poll() is not None:
                break
            await asyncio.sleep(0.05)
        await self.close()
        raise BrowserError(f"chromium gave no DevTools URL within {timeout}s:\n{self.log_tail()}")

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    async def send(self, method: str, params: dict | None = None, session: str | None = None,
                   timeout: float = 30.0) -> dict:
        message_id = next(self._ids)
        message: dict[str, Any] = {"id": message_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        future = asyncio.get_running_loop().create_future()
        self._waiting[message_id] = future
        await self._ws.send_str(json.dumps(message))
        try:
            reply = await asyncio.wait_for(future, timeout)
        finally:
            self._waiting.pop(message_id, None)
        if "error" in reply:
            raise BrowserError(f"{method}: {reply['error']}")
        return reply.get("result", {})

    async def _read(self) -> None:
        try:
            async for message in self._ws:
                if message.type is not aiohttp.WSMsgType.TEXT:
                    break
                data = json.loads(message.data)
                if "id" in data:
                    future = self._waiting.get(data["id"])
                    if future and not future.done():
                        future.set_result(data)
                elif data.get("sessionId") in self._pages:
                    self._pages[data["sessionId"]]._event(data["method"], data.get("params", {}))
        finally:
            for future in self._waiting.values():
                if not future.done():
                    future.set_exception(BrowserError("the DevTools connection closed"))

    async def new_page(self, width: int = 1024, height: int = 768) -> Page:
        target = (await self.send("Target.createTarget", {"url": "about:blank"}))["targetId"]
        session = (await self.send("Target.attachToTarget", {"targetId": target, "flatten": True}))["sessionId"]
        page = Page(self, session, target)
        self._pages[session] = page
        for domain in ("Page", "Runtime", "Log"):
            await page.send(f"{domain}.enable")
        await page.send("Emulation.setDeviceMetricsOverride",
                        {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False})
        return page

    async def close(self) -> None:
        """Ends the browser: its whole process group (started by us, in a session of its own), then its profile."""
        if self._ws is not None:
            await self._ws.close()
        if self._reader is not None:
            await asyncio.gather(self._reader, return_exceptions=True)
        if self._http is not None:
            await self._http.close()
        if self.process is not None:
            await asyncio.to_thread(self._kill_group, self.process)
        shutil.rmtree(self.workdir, ignore_errors=True)

    @staticmethod
    def _kill_group(process: subprocess.Popen) -> None:
        group = process.pid  # start_new_session: the group id is the browser's PID
        for sig in (signal.SIGTERM, signal.SIGKILL):
            try:
                os.killpg(group, sig)
            except ProcessLookupError:
                break
            if _wait_group_gone(process, group, 5.0):
                break
        process.wait(5)


def _wait_group_gone(process: subprocess.Popen, group: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None and not _group_alive(group):
            return True
        time.sleep(0.05)
    return False


def _group_alive(group: int) -> bool:
    """Whether a live (not zombie) process is left in the group; zombies wait for whoever reaps orphans."""
    return bool(group_members(group))


def group_members(group: int) -> list[int]:
    members = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[2]) == group and fields[0] != "Z":  # fields after the name: state, ppid, pgrp, ...
            members.append(int(stat.parent.name))
    return members


# Keys as a US keyboard types them: character -> (key code, Windows virtual key code, shift held).
_PUNCTUATION = {" ": ("Space", 32, False), "-": ("Minus", 189, False), "_": ("Minus", 189, True),
                "=": ("Equal", 187, False), ".": ("Period", 190, False), "/": ("Slash", 191, False),
                ",": ("Comma", 188, False)}
_NAMED = {"Enter": ("Enter", 13, "\r"), "Tab": ("Tab", 9, "\t"), "Backspace": ("Backspace", 8, ""),
          "Escape": ("Escape", 27, "")}


def key_for(char: str) -> tuple[str, int, bool]:
    if "a" <= char <= "z" or "A" <= char <= "Z":
        return f"Key{char.upper()}", ord(char.upper()), char.isupper()
    if "0" <= char <= "9":
        return f"Digit{char}", ord(char), False
    if char in _PUNCTUATION:
        return _PUNCTUATION[char]
    raise ValueError(f"no key for {char!r} in the test keyboard")


class Page:
    def __init__(self, browser: Browser, session: str, target: str) -> None:
        self.browser, self.session, self.target = browser, session, target
        self.console_messages: list[str] = []
        self._loaded = asyncio.Event()

    def send(self, method: str, params: dict | None = None, timeout: float = 30.0):
        return self.browser.send(method, params, session=self.session, timeout=timeout)

    def _event(self, method: str, params: dict) -> None:
        if method == "Page.loadEventFired":
            self._loaded.set()
        elif method == "Runtime.consoleAPICalled":
            text = " ".join(str(arg.get("value", arg.get("description", ""))) for arg in params.get("args", []))
            self.console_messages.append(f"console.{params.get('type')}: {text}")
        elif method == "Runtime.exceptionThrown":
            details = params.get("exceptionDetails", {})
            text = details.get("exception", {}).get("description") or details.get("text", "")
            self.console_messages.append(f"exception: {text}")
        elif method == "Log.entryAdded":
            entry = params.get("entry", {})
            self.console_messages.append(f"log.{entry.get('level')} ({entry.get('source')}): {entry.get('text')}")

    async def close(self) -> None:
        await self.browser.send("Target.closeTarget", {"targetId": self.target})
        self.browser._pages.pop(self.session, None)

    async def open(self, url: str, timeout: float = 30.0) -> None:
        self._loaded.clear()
        result = await self.send("Page.navigate", {"url": url})
        if result.get("errorText"):
            raise BrowserError(f"{url}: {result['errorText']}")
        await asyncio.wait_for(self._loaded.wait(), timeout)

    async def evaluate(self, expression: str) -> Any:
        result = await self.send("Runtime.evaluate", {"expression": expression, "returnByValue": True,
                                                      "awaitPromise": True})
        if "exceptionDetails" in result:
            raise BrowserError(f"{expression}: {result['exceptionDetails'].get('text')}")
        return result["result"].get("value")

    async def wait_for(self, expression: str, timeout: float = 30.0, interval: float = 0.1) -> Any:
        """Evaluates `expression` until it is truthy; returns its value."""
        deadline = time.monotonic() + timeout
        while True:
            value = await self.evaluate(expression)
            if value:
                return value
            if time.monotonic() > deadline:
                raise BrowserError(f"{expression!r} still {value!r} after {timeout}s; console: "
                                   f"{self.console_messages[-10:]}")
            await asyncio.sleep(interval)

    async def screenshot(self, path: Path | None = None, selector: str | None = None) -> bytes:
        """A PNG of the viewport, or of the element `selector` names; written to `path` when given."""
        params: dict[str, Any] = {"format": "png"}
        if selector:
            box = await self.evaluate(
                f"(() => {{ const r = document.querySelector({json.dumps(selector)}).getBoundingClientRect();"
                " return {x: r.x, y: r.y, width: r.width, height: r.height}; })()")
            params["clip"] = dict(box, scale=1)
        png = base64.b64decode((await self.send("Page.captureScreenshot", params))["data"])
        if path is not None:
            path.write_bytes(png)
        return png

    async def _key(self, kind: str, key: str, code: str, vk: int, text: str = "", modifiers: int = 0) -> None:
        params = {"type": kind, "key": key, "code": code, "windowsVirtualKeyCode": vk,
                  "nativeVirtualKeyCode": vk, "modifiers": modifiers}
        if text:
            params.update(text=text, unmodifiedText=text)
        await self.send("Input.dispatchKeyEvent", params)

    async def type_text(self, text: str) -> None:
        """Types each character as key presses (Shift held for capitals and shifted punctuation)."""
        for char in text:
            code, vk, shift = key_for(char)
            if shift:
                await self._key("rawKeyDown", "Shift", "ShiftLeft", 16, modifiers=8)
            await self._key("keyDown", char, code, vk, text=char, modifiers=8 if shift else 0)
            await self._key("keyUp", char, code, vk, modifiers=8 if shift else 0)
            if shift:
                await self._key("keyUp", "Shift", "ShiftLeft", 16)

    async def press(self, name: str) -> None:
        """Presses and releases a named key: Enter, Tab, Backspace, Escape."""
        code, vk, text = _NAMED[name]
        await self._key("keyDown" if text else "rawKeyDown", name, code, vk, text=text)
        await self._key("keyUp", name, code, vk)
