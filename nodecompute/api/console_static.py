"""noVNC's files as the console listener serves them: a fixed type table, no caching of the pages, and a CSP.

The pages carry the console token in their URL, so they are never cached (`Cache-Control: no-store`) and never
leak it through a Referer (`Referrer-Policy: no-referrer`). noVNC's pages keep their script inline (vnc_lite.html's
`<script type="module">`); rather than allowing every inline script, the Content-Security-Policy of each page
names the SHA-256 of that page's own inline scripts, read from the file when the listener starts.

`vnc_auto.html?token=<token>&title=...` (the URL form of the Helion and K5 dialects, and of old Nova) and
`vnc_auto.html?path=%3Ftoken%3D<token>` (Nova's default base URL) redirect to
`vnc_lite.html?path=%3Ftoken%3D<token>`, which hands the token to the websocket exactly as Nova's URL does.
"""
from __future__ import annotations

import base64
import hashlib
import re
from pathlib import Path
from urllib.parse import quote

from aiohttp import web

from nodecompute.domain.console_tokens import MAX_TOKEN_LENGTH

CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".json": "application/json",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
    ".ttf": "font/ttf",
    ".woff": "font/woff",
    ".woff2": "font/woff2",
    ".oga": "audio/ogg",
    ".mp3": "audio/mpeg",
}
COMMON_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Resource-Policy": "same-origin",
}
# 'self' covers the page's own websocket (ws: and wss: to the same host and port, CSP level 3), so a crafted
# `host=`/`port=` parameter cannot point noVNC (and a password it prompts for) at another server.
# frame-ancestors is left open: dashboards (Horizon) show the console page in an iframe.
CSP_TEMPLATE = ("default-src 'none'; script-src 'self'{hashes}; style-src 'self' 'unsafe-inline'; "
                "img-src 'self' data: blob:; font-src 'self'; media-src 'self'; connect-src 'self'; "
                "manifest-src 'self'; base-uri 'none'; form-action 'none'; object-src 'none'")
_INLINE_SCRIPT = re.compile(rb"<script\b(?P<attrs>[^>]*)>(?P<body>.*?)</script\s*>", re.S | re.I)


def inline_script_hashes(html: bytes) -> list[str]:
    """CSP source expressions ('sha256-...') for every inline <script> of a page (those without src=)."""
    hashes = []
    for match in _INLINE_SCRIPT.finditer(html):
        if re.search(rb"\bsrc\s*=", match.group("attrs"), re.I):
            continue
        digest = base64.b64encode(hashlib.sha256(match.group("body")).digest()).decode()
        hashes.append(f"'sha256-{digest}'")
    return hashes


def page_csp(html: bytes) -> str:
    hashes = "".join(f" {h}" for h in inline_script_hashes(html))
    return CSP_TEMPLATE.format(hashes=hashes)


class NoVncFiles:
    """The files under one noVNC directory, checked once when the listener is made."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        if not (self.root / "vnc_lite.html").is_file():
            raise FileNotFoundError(f"noVNC is not unpacked in {root} (no vnc_lite.html): run scripts/setup.sh "
                                    "or set [console] novnc_dir")
        self.version = _read_version(self.root)
        self._page_csp = {path.name: page_csp(path.read_bytes()) for path in self.root.glob("*.html")}

    def locate(self, tail: str) -> Path | None:
        """The file a URL path names, or None: no dot-files, nothing outside the root, only known types."""
        parts = tail.split("/")
        if any(not part or part.startswith(".") for part in parts):
            return None
        path = (self.root / tail).resolve()
        if not path.is_relative_to(self.root) or not path.is_file() or path.suffix not in CONTENT_TYPES:
            return None
        return path

    def headers(self, path: Path) -> dict[str, str]:
        headers = dict(COMMON_HEADERS, **{"Content-Type": CONTENT_TYPES[path.suffix]})
        if path.suffix == ".html":
            headers["Cache-Control"] = "no-store"
            headers["Content-Security-Policy"] = self._page_csp.get(path.name) or page_csp(path.read_bytes())
        else:
            headers["Cache-Control"] = "no-cache"
        return headers


def _read_version(root: Path) -> str:
    try:
        return (root / ".deb-version").read_text().strip()
    except OSError:
        return "unknown"


async def serve_file(request: web.Request) -> web.StreamResponse:
    files: NoVncFiles = request.config_dict[novnc_files_key]
    path = files.locate(request.match_info["tail"])
    if path is None:
        raise web.HTTPNotFound(text="Not found.", headers=COMMON_HEADERS)
    return web.FileResponse(path, headers=files.headers(path))


async def vnc_auto(request: web.Request) -> web.StreamResponse:
    """vnc_auto.html, in both URL forms, goes on to vnc_lite.html with the token in `path` (the websocket's query).

    `?token=<token>&title=...`: the Helion and K5 dialects (and noVNC before 1.1);
    `?path=%3Ftoken%3D<token>`: Nova's own form when its base URL names vnc_auto.html (its default).
    """
    token, path = request.query.get("token", ""), request.query.get("path", "")
    if token and len(token) <= MAX_TOKEN_LENGTH:
        path = "?token=" + token
    elif not path.startswith("?token=") or len(path) > MAX_TOKEN_LENGTH + 7:
        raise web.HTTPBadRequest(text="A console URL needs its token.", headers=COMMON_HEADERS)
    # Set as is: web.HTTPFound would normalise the URL and decode the %3F that vnc_lite.html's `path` needs.
    location = "vnc_lite.html?path=" + quote(path, safe="")
    return web.Response(status=302, headers=dict(COMMON_HEADERS, **{"Cache-Control": "no-store", "Location": location}))


novnc_files_key = web.AppKey("novnc_files", NoVncFiles)


def add_novnc_routes(app: web.Application, novnc_dir: Path) -> None:
    app[novnc_files_key] = NoVncFiles(novnc_dir)
    app.router.add_get("/vnc_auto.html", vnc_auto)
    app.router.add_get("/{tail:.+}", serve_file)
