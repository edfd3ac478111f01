"""Where links point. Scheme and host come from the configured public URL when one is set, else from the request
(X-Forwarded-Proto/Host honoured only when `trust_forwarded` is on)."""
from __future__ import annotations

from collections import OrderedDict
from urllib.parse import quote_plus, urlencode

from aiohttp import web
from multidict import MultiMapping

from nodecompute.api.keys import bound_key, config_key
from nodecompute.caching import lru_get, lru_put


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
        before, after = query_around_marker(self.request.query_string, self.request.query)
        return [{"rel": "next", "href": f"{self.versioned}/{path_tail}?{before}{quote_plus(marker)}{after}"}]


MAX_KEPT_QUERIES = 256  # query_around_marker's LRU
MAX_KEPT_QUERY_CHARS = 512  # a longer query is encoded each time
_around_marker: OrderedDict[str, tuple[str, str]] = OrderedDict()  # by the query string without its markers


def query_around_marker(query_string: str, query: MultiMapping[str]) -> tuple[str, str]:
    """The next page's query, `query` (the parsed `query_string`) sorted with its marker replaced, encoded as the
    text before and after the new marker's value: `urlencode(sorted(pairs + [("marker", m)]))` is
    `before + quote_plus(m) + after` for any m (no other pair has the key "marker"). Kept per query string less its
    `marker=` items: every page of a walk through a list has the same (the encoding was 15 us of a page's 300)."""
    key = "&".join(item for item in query_string.split("&") if not item.startswith("marker="))
    found = lru_get(_around_marker, key)  # (the rest of the query string determines the other pairs)
    if found is None:
        pairs = sorted((k, v) for k, v in query.items() if k != "marker")
        at = sum(1 for k, _ in pairs if k < "marker")  # sorted by key first: those go before it
        head, tail = urlencode(pairs[:at]), urlencode(pairs[at:])
        found = (f"{head}&marker=" if head else "marker=", f"&{tail}" if tail else "")
        if len(key) <= MAX_KEPT_QUERY_CHARS:
            lru_put(_around_marker, key, found, MAX_KEPT_QUERIES)
    return found
