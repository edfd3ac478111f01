"""Pages of servers rendered from a process-wide cache of rendered servers (issue 22).

A list of a thousand servers asked again is mostly the same servers rendered again. Each server's JSON is kept,
per rendering (dialect, operation, microversion, admin or not, the link roots: all a server's view may read), while
the database stays at the same version (Store.data_version, as nodecompute.caching: any commit, by the daemon or a
`nodecompute` command, empties the cache). A page then reads only its uuids in SQL and joins kept bytes; the
servers not kept are read and rendered on the renderer thread, and kept for the next page.

The version is read before the page is, so what is kept under it is never older than it; what a render read after
the cache moved to a newer version is dropped, not kept. The body is the same JSON a view that renders the whole
page gives (tests compare them parsed).
"""
from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Collection
from typing import Any, NamedTuple

import orjson
from aiohttp import web

from nodecompute.api.faults import JSON
from nodecompute.api.respond import RENDERER, Out, face_of, respond_in_thread
from nodecompute.api.urls import Links
from nodecompute.caching import RenderedItems


class PageView:
    """A view of a page of servers: `{collection: [item(out, server)...], collection_links: next}` (Nova's
    `servers` and `servers/detail`). `item` may read only out.version, out.links and out.ctx.is_admin: it
    renders for every caller with the same of those (RenderedItems keeps its output)."""

    def __init__(self, collection: str, tail: str, item: Callable[[Any, Any], dict]) -> None:
        self.collection, self.tail, self.item = collection, tail, item

    def __call__(self, out: Out, result: tuple[list, int]) -> dict:
        found, limit = result
        body: dict = {self.collection: [self.item(out, server) for server in found]}
        if found and len(found) == limit:
            body[f"{self.collection}_links"] = out.links.next_page(self.tail, found[-1].uuid)
        return body


class _Caller(NamedTuple):
    is_admin: bool


class ItemOut(NamedTuple):
    """What an item of a page view gets instead of Out: only what the rendering key holds."""

    version: Any
    links: Links
    ctx: _Caller


def _render(item: Callable[[Any, Any], dict], out: ItemOut, page: list, known: dict[str, bytes]
            ) -> tuple[list[bytes], dict[str, bytes]]:
    """Each entry's JSON: kept (an entry that is a uuid) or rendered now (returned as well, to be kept)."""
    parts: list[bytes] = []
    fresh: dict[str, bytes] = {}
    for entry in page:
        if isinstance(entry, str):
            parts.append(known[entry])
        else:
            fresh[entry.uuid] = rendered = orjson.dumps(item(out, entry))
            parts.append(rendered)
    return parts, fresh


async def respond_page(request: web.Request, cache: RenderedItems, data_version: int, limit: int,
                       fetch: Callable[[Collection[str]], Awaitable[list]]) -> web.StreamResponse:
    """The page `fetch(known)` lists (its entries: servers, or the uuids of servers in `known`), rendered with
    the kept servers when the operation's view is a PageView (else respond_in_thread renders it whole)."""
    dialect, version, op = face_of(request)
    view = dialect.views[op].at(version)
    if not isinstance(view, PageView):
        return await respond_in_thread(request, (await fetch(()), limit))
    out = Out(request, version)
    links = out.links
    key = (dialect.name, op, version, out.ctx.is_admin, links.versioned, links.bookmark_root)
    known = cache.known(data_version, key)
    page = [entry if isinstance(entry, str) or entry.uuid not in known else entry.uuid
            for entry in await fetch(known)]
    parts, fresh = await asyncio.get_running_loop().run_in_executor(
        RENDERER, _render, view.item, ItemOut(version, links, _Caller(out.ctx.is_admin)), page, known)
    cache.add(data_version, key, fresh)
    body = [b'{"', view.collection.encode(), b'":[', b",".join(parts), b"]"]
    if page and len(page) == limit:
        last = page[-1] if isinstance(page[-1], str) else page[-1].uuid
        body += [b',"', view.collection.encode(), b'_links":', orjson.dumps(links.next_page(view.tail, last))]
    body.append(b"}")
    return web.Response(body=b"".join(body), status=dialect.status(op, version), content_type=JSON,
                        charset="UTF-8")
