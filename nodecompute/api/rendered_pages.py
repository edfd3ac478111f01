"""Pages of servers rendered from a process-wide cache of rendered servers (issue 22).

A list of a thousand servers asked again is mostly the same servers rendered again. Each server's JSON is kept,
per rendering (dialect, operation, microversion, admin or not, the link roots: all a server's view may read), while
the database stays at the same version (Store.data_version, as nodecompute.caching: any commit, by the daemon or a
`nodecompute` command, empties the cache). A page then reads only its uuids in SQL and joins kept bytes; the
servers not kept are read and rendered on the renderer thread, and kept for the next page.

The version is read before the page is, so what is kept under it is never older than it; what a render read after
the cache moved to a newer version is dropped, not kept. The body is the same JSON a view that renders the whole
page gives (tests compare them parsed).

The body is never joined whole: PagePayload writes it a chunk at a time, with a pass of the event loop between
chunks, so a thousand servers (2 MB) cost the loop many short steps instead of three copies of 2 MB in one (the
join, aiohttp's headers-and-body join, the transport's buffer), during which a token check waited; and no
request in flight holds its own 2 MB copies.
"""
from __future__ import annotations

import asyncio
import bisect
import itertools
from collections.abc import Awaitable, Callable, Collection, Iterator
from typing import Any, NamedTuple

import orjson
from aiohttp import web
from aiohttp.abc import AbstractStreamWriter
from aiohttp.payload import Payload

from nodecompute.api.faults import JSON
from nodecompute.api.keys import large_body_gate_key, root_app
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
TRIM_DELAY_S = 0.25


class _Caller(NamedTuple):
    is_admin: bool


class ItemOut(NamedTuple):
    """What an item of a page view gets instead of Out: only what the rendering key holds."""

    version: Any
    links: Links
    ctx: _Caller


def _render(item: Callable[[Any, Any], dict], out: ItemOut, page: list) -> dict[str, Fragment]:
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


CHUNK_BYTES = 64 * 1024  # written at a time: one step of the loop copies and sends this much
LARGE_BODY_BYTES = 512 * 1024  # a body up to this is written whole, at once (a page of 100, the brief list)


def page_ends(collection: str, links: list[dict] | None) -> tuple[bytes, bytes]:
    """What comes before a page's fragments and after them: `{"servers":[` and `],"servers_links":[...]}`."""
    head = f'{{"{collection}":['.encode()
    return head, b"]" + (f',"{collection}_links":'.encode() + orjson.dumps(links) if links else b"") + b"}"


def joined_page(head: bytes, fragments: list[Fragment], tail: bytes) -> bytes:
    """The page's JSON in one copy: the head joined to the first fragment and the tail to the last (a few KB),
    then all of them joined once (joining the fragments, then head, fragments and tail, copied the body twice)."""
    if len(fragments) < 2:
        return b"".join((head, *fragments, tail))
    return b",".join([head + fragments[0], *fragments[1:-1], b"".join((fragments[-1], tail))])


def page_body(collection: str, fragments: list[Fragment], links: list[dict] | None,
              gate: asyncio.Semaphore) -> bytes | PagePayload:
    """`{collection: [fragments...], collection_links: links}`: up to LARGE_BODY_BYTES its JSON joined once and
    written whole, as bytes (gated and chunked, a page of 100 or the brief list of a thousand, 0.2-0.3 MB, lost half
    its rate to waiting for other lists' clients to read, for a step of the loop that costs a fraction of a
    millisecond); larger, a PagePayload that writes it a chunk at a time behind `gate`."""
    head, tail = page_ends(collection, links)
    size = len(head) + sum(map(len, fragments)) + max(len(fragments) - 1, 0) + len(tail)
    if size <= LARGE_BODY_BYTES:
        return joined_page(head, fragments, tail)
    return PagePayload(head, fragments, tail, size, gate)


class PagePayload(Payload):
    """A large page (page_body): `head`, the fragments joined by commas and `tail`, `size` bytes in all, written
    CHUNK_BYTES at a time (the fragments are copied once, a chunk at a time), the event loop running other callbacks
    between chunks, while holding `gate` (one such body at a time, keys.large_body_gate_key). Nothing is joined or
    listed per fragment in Python: a chunk is one `b",".join` of a slice of the fragments (the loop built a list of
    2,000 parts and summed them, a millisecond, for every thousand servers sent)."""

    _autoclose = True

    def __init__(self, head: bytes, fragments: list[Fragment], tail: bytes, size: int,
                 gate: asyncio.Semaphore) -> None:
        self._head, self._fragments, self._tail = head, fragments, tail
        super().__init__(fragments, content_type=JSON)
        self._size = size
        self._gate = gate

    def _chunks(self) -> Iterator[bytes]:
        """The body in pieces of whole fragments, each CHUNK_BYTES or more (the last one shorter), the head on the
        first, the tail on the last; each joined as it is asked for. The ends of the pieces are found by bisection
        of the fragments' running sizes, not by a Python step per fragment."""
        fragments = self._fragments
        if not fragments:
            yield self._head + self._tail
            return
        ends = list(itertools.accumulate(map(len, fragments)))  # bytes of the fragments up to and with each
        start, before = 0, 0
        while start < len(fragments):
            stop = bisect.bisect_left(ends, before + CHUNK_BYTES, lo=start) + 1  # past the one that fills it
            parts = [self._head if start == 0 else b",", b",".join(fragments[start:stop])]
            if stop >= len(fragments):
                parts.append(self._tail)
            yield b"".join(parts)
            start, before = stop, ends[min(stop, len(ends)) - 1]

    def decode(self, encoding: str = "utf-8", errors: str = "strict") -> str:
        return joined_page(self._head, self._fragments, self._tail).decode(encoding, errors)

    async def write(self, writer: AbstractStreamWriter) -> None:
        async with self._gate:
            for chunk in self._chunks():
                await writer.write(chunk)  # waits for the socket when the transport's buffer is full
                await after_fresh_io()  # other requests run between chunks, those just arrived too


def _wake(future: asyncio.Future) -> None:
    if not future.done():  # (cancelled: the client went away)
        future.set_result(None)


def after_fresh_io() -> asyncio.Future:
    """Done once the event loop has polled for I/O again and run what it found: a request that arrived meanwhile
    (a token check) has its handler run first, not after the large body's next step. (`sleep(0)` resumes the
    caller in the next pass, ahead of the I/O that pass finds: the loop runs first what was already ready.)"""
    loop = asyncio.get_running_loop()
    future = loop.create_future()
    loop.call_soon(loop.call_soon, _wake, future)  # the inner call_soon runs after the next poll's callbacks
    return future


def _all_ids(page: list) -> bool:
    """Every entry a uuid (a server kept rendered): the common case of a list asked again, checked in C (a Python
    loop over a thousand entries was a tenth of a millisecond of the event loop's step)."""
    return not page or set(map(type, page)) == {str}


_release_pending = False
_last_asked = 0.0  # the loop's time of the last release_memory_soon


def release_memory_soon(delay: float = TRIM_DELAY_S) -> None:
    """Once large lists have paused for `delay` (their transient objects gone), malloc_trim on the renderer thread:
    what they freed goes back to the system (process_tuning.release_free_memory). One pending at a time, and while
    lists keep coming it waits for the pause: a trim holds malloc's locks for milliseconds, and one every `delay`
    under a steady load of lists showed in the p99 of the requests beside them (a flavors list's p99 beside 4
    clients of the detail list: 0.60-0.78 ms, 0.43-0.50 ms without the trims)."""
    global _release_pending, _last_asked
    loop = asyncio.get_running_loop()
    _last_asked = loop.time()
    if _release_pending:
        return
    _release_pending = True

    def release() -> None:
        global _release_pending
        quiet = loop.time() - _last_asked
        if quiet < delay:  # asked again meanwhile: wait for `delay` after the last one
            loop.call_later(delay - quiet, release)
            return
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
    page = await fetch(known)
    rendered_fresh = not _all_ids(page)
    if rendered_fresh:  # a brief list's refs: those kept stand as their uuids
        page = [entry if isinstance(entry, str) or entry.uuid not in known else entry.uuid for entry in page]
        rendered_fresh = not _all_ids(page)
    if rendered_fresh:
        fresh = await asyncio.get_running_loop().run_in_executor(
            RENDERER, _render, view.item, ItemOut(version, links, _Caller(out.ctx.is_admin)), page)
        cache.add(data_version, key, fresh)
        known.update(fresh)
        page = [entry if isinstance(entry, str) else entry.uuid for entry in page]
    next_links = links.next_page(view.tail, page[-1]) if page and len(page) == limit else None
    body = page_body(view.collection, list(map(known.__getitem__, page)), next_links,
                     root_app(request)[large_body_gate_key])
    if rendered_fresh or isinstance(body, PagePayload):  # else too little was freed to be worth a trim
        release_memory_soon()
    return web.Response(body=body, status=dialect.status(op, version), content_type=JSON, charset="UTF-8")
