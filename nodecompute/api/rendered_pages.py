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
from nodecompute.process_tuning import release_free_memory


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


Fragment = bytes | memoryview  # a rendered server's JSON
TRIM_DELAY_S = 0.5


class _Caller(NamedTuple):
    is_admin: bool


class ItemOut(NamedTuple):
    """What an item of a page view gets instead of Out: only what the rendering key holds."""

    version: Any
    links: Links
    ctx: _Caller


def _render(item: Callable[[Any, Any], dict], out: ItemOut, page: list, known: dict[str, Fragment]
            ) -> dict[str, Fragment]:
    """The JSON of the entries not kept (not a uuid), to be kept. They are slices of one bytes object: orjson
    gives each result a buffer of 32 KB or more, which would stay with every kept server of 2 KB."""
    rendered = bytearray()
    spans: dict[str, tuple[int, int]] = {}
    for entry in page:
        if not isinstance(entry, str):
            start = len(rendered)
            rendered += orjson.dumps(item(out, entry))
            spans[entry.uuid] = (start, len(rendered))
    whole = memoryview(bytes(rendered))
    return {uuid: whole[start:end] for uuid, (start, end) in spans.items()}


def _body(collection: str, fragments: list[Fragment], links: list[dict] | None) -> bytes:
    """`{collection: [fragments...], collection_links: links}`, the fragments copied once."""
    head = f'{{"{collection}":['.encode()
    tail = b"]" + (f',"{collection}_links":'.encode() + orjson.dumps(links) if links else b"") + b"}"
    if len(fragments) < 2:
        return head + b"".join(fragments) + tail
    return b",".join([head + fragments[0], *fragments[1:-1], bytes(fragments[-1]) + tail])


_release_pending = False


def release_memory_soon(delay: float = TRIM_DELAY_S) -> None:
    """A moment after a large list (its transient objects gone), malloc_trim on the renderer thread: what the
    list freed goes back to the system (process_tuning.release_free_memory). One pending at a time."""
    global _release_pending
    if _release_pending:
        return
    _release_pending = True
    loop = asyncio.get_running_loop()

    def release() -> None:
        global _release_pending
        _release_pending = False
        loop.run_in_executor(RENDERER, release_free_memory)
    loop.call_later(delay, release)


async def respond_page(request: web.Request, cache: RenderedItems, data_version: int, limit: int,
                       fetch: Callable[[Collection[str]], Awaitable[list]]) -> web.StreamResponse:
    """The page `fetch(known)` lists (its entries: servers, or the uuids of servers in `known`), rendered with
    the kept servers when the operation's view is a PageView (else respond_in_thread renders it whole). Only
    servers not kept are rendered, on the renderer thread."""
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
    if not all(isinstance(entry, str) for entry in page):
        fresh = await asyncio.get_running_loop().run_in_executor(
            RENDERER, _render, view.item, ItemOut(version, links, _Caller(out.ctx.is_admin)), page, known)
        cache.add(data_version, key, fresh)
        known.update(fresh)
        page = [entry if isinstance(entry, str) else entry.uuid for entry in page]
    next_links = links.next_page(view.tail, page[-1]) if page and len(page) == limit else None
    body = _body(view.collection, [known[uuid] for uuid in page], next_links)
    release_memory_soon()
    return web.Response(body=body, status=dialect.status(op, version), content_type=JSON, charset="UTF-8")
