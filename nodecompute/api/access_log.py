"""The daemon's access log: one line per request, buffered like nginx's `access_log ... buffer=... flush=...`.

    2026-11-30 13:25:44,319 INFO aiohttp.access: 127.0.0.1 "GET /compute/v2.1/flavors/detail HTTP/1.1" 200 2613 0.001541s

Same format and stream (stderr) as the other log lines. Going through `logging` with a flush per line cost a
quarter of a flavor list's server time (bench/api.py), so lines are collected and written with one write(2) at
most FLUSH_SECONDS later, or at once when MAX_PENDING lines wait, and at shutdown (`flush`). Whole lines only:
a line is never split by another writer. Shown when the `aiohttp.access` logger is enabled for INFO.

Query strings are logged with the value of every secret-looking parameter (`token`, `password`, `secret`, `auth`,
`credential`, `signature`, a name ending in `key`, ... in any case) replaced by `***`, as oslo's mask_password does:
the key stays, so the line still says what was sent.
"""
from __future__ import annotations

import asyncio
import functools
import logging
import os
import sys
import re
import time as timemod
from urllib.parse import unquote_plus

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger

FLUSH_SECONDS = 0.2
MAX_PENDING = 256

_pending: list[str] = []
_flush_handle: asyncio.TimerHandle | None = None
_stamp_second = -1
_stamp_text = ""

MASK = "***"
# A parameter name (lowercased, separators dropped) holding a secret: any of these words in it, or ending in "key"
# (api_key, access_key, private_key, X-Key), except the API's own non-secret `sort_key`.
_SECRET_WORDS = re.compile(r"token|passw|pwd|secret|auth|credential|signature|session|cookie|key$")
_NOT_SECRET = frozenset({"sortkey"})
_SEPARATORS = re.compile(r"[^a-z0-9]")


@functools.lru_cache(maxsize=1024)  # names, never values: a page of servers' log line parsed its query each time
def _is_secret(name: str) -> bool:
    key = _SEPARATORS.sub("", unquote_plus(name).lower())
    return key not in _NOT_SECRET and _SECRET_WORDS.search(key) is not None


def _holds_secret(item: str) -> bool:
    """A value that is itself a query with a secret: noVNC's `path=%3Ftoken%3D<token>` (the console URL)."""
    if "?" not in item and "%3f" not in item.lower():  # no query inside: the common case, without unquoting
        return False
    _, _, value = unquote_plus(item).partition("=")
    inner = value.partition("?")[2]
    return any(_is_secret(part.partition("=")[0]) for part in inner.split("&") if "=" in part)


def redact(path_qs: str) -> str:
    """`path_qs` with the values of secret query parameters replaced by MASK (keys kept)."""
    path, mark, query = path_qs.partition("?")
    if not mark:
        return path_qs
    items = []
    for item in query.split("&"):
        name, eq, _ = item.partition("=")
        items.append(f"{name}={MASK}" if eq and (_is_secret(name) or _holds_secret(item)) else item)
    return f"{path}?{'&'.join(items)}"


def _timestamp(now: float) -> str:
    """logging's default asctime (`%Y-%m-%d %H:%M:%S,mmm`, local time), the seconds part formatted once a second."""
    global _stamp_second, _stamp_text
    second = int(now)
    if second != _stamp_second:
        _stamp_second, _stamp_text = second, timemod.strftime("%Y-%m-%d %H:%M:%S", timemod.localtime(second))
    return f"{_stamp_text},{int((now - second) * 1000):03d}"


def flush() -> None:
    global _flush_handle
    if _flush_handle is not None:
        _flush_handle.cancel()
        _flush_handle = None
    if not _pending:
        return
    data = "".join(_pending).encode("utf-8", errors="replace")
    _pending.clear()
    try:
        os.write(sys.stderr.fileno(), data)
    except (OSError, ValueError):
        pass  # stderr closed: nowhere to log


class AccessLogger(AbstractAccessLogger):
    @property
    def enabled(self) -> bool:
        return self.logger.isEnabledFor(logging.INFO)

    def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:
        global _flush_handle
        version = request.version
        _pending.append(
            f'{_timestamp(timemod.time())} INFO {self.logger.name}: {request.remote} "{request.method} '
            f'{redact(request.path_qs)} HTTP/{version.major}.{version.minor}" {response.status} {response.body_length} '
            f"{time:.6f}s\n"
        )
        if len(_pending) >= MAX_PENDING:
            flush()
        elif _flush_handle is None:
            _flush_handle = asyncio.get_running_loop().call_later(FLUSH_SECONDS, flush)
