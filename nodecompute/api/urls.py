"""Where links point. Scheme and host come from the configured public URL when one is set, else from the request
(X-Forwarded-Proto/Host honoured only when `trust_forwarded` is on)."""
from __future__ import annotations

from urllib.parse import urlencode

from aiohttp import web

from nodecompute.api.keys import bound_key, config_key


def base_url(request: web.Request) -> str:
    cfg = request.config_dict[config_key]
    if cfg.server.public_url:
        return cfg.public_url
    scheme, host = request.scheme, request.host
    if cfg.server.trust_forwarded:
        scheme = request.headers.get("X-Forwarded-Proto", scheme).split(",")[0].strip()
        host = request.headers.get("X-Forwarded-Host", host).split(",")[0].strip()
    return f"{scheme}://{host}"


def url_project(request: web.Request) -> str:
    return request.match_info.get("project_id", "").lstrip("/")


class Links:
    """Builds Nova's self/bookmark links for one request (behaviour.md section 5): self links under the version
    root the request used (`/compute/v2.1`, `/compute/v2`), bookmarks under the face's prefix."""

    def __init__(self, request: web.Request) -> None:
        self.base = base_url(request)
        bound = request[bound_key]
        project = url_project(request)
        suffix = f"/{project}" if project else ""
        face = f"{self.base}{bound.dialect.prefix}"
        self.versioned = f"{face}{bound.root.path if bound.root else ''}{suffix}"
        self.bookmark_root = f"{face}{suffix}"
        self.request = request

    def self_href(self, collection: str, item_id: str) -> str:
        return f"{self.versioned}/{collection}/{item_id}"

    def bookmark_href(self, collection: str, item_id: str) -> str:
        return f"{self.bookmark_root}/{collection}/{item_id}"

    def pair(self, collection: str, item_id: str) -> list[dict[str, str]]:
        return [
            {"rel": "self", "href": self.self_href(collection, item_id)},
            {"rel": "bookmark", "href": self.bookmark_href(collection, item_id)},
        ]

    def bookmark(self, collection: str, item_id: str) -> list[dict[str, str]]:
        return [{"rel": "bookmark", "href": self.bookmark_href(collection, item_id)}]

    def next_page(self, path_tail: str, marker: str) -> list[dict[str, str]]:
        """`<collection>_links` with the same query, sorted, and marker set to the last id (Nova)."""
        query = [(k, v) for k, v in self.request.query.items() if k != "marker"]
        query.append(("marker", marker))
        query.sort()
        return [{"rel": "next", "href": f"{self.versioned}/{path_tail}?{urlencode(query)}"}]
