"""page_body and PagePayload (api/rendered_pages.py): a large page of kept servers is written in chunks, and the
chunks together are the page's JSON; a large body waits for the one-at-a-time gate, a smaller one is bytes, written
whole without it."""
from __future__ import annotations

import asyncio
import json
import socket

import orjson
import pytest

from nodecompute.api import rendered_pages
from nodecompute.api.rendered_pages import CHUNK_BYTES, LARGE_BODY_BYTES, PagePayload, after_fresh_io, page_body


class RecordingWriter:
    """What aiohttp's StreamWriter gets from a payload: the chunks, in order."""

    def __init__(self) -> None:
        self.chunks: list[bytes] = []

    async def write(self, chunk: bytes) -> None:
        self.chunks.append(bytes(chunk))


def _servers(count: int) -> list[dict]:
    return [{"id": f"id-{n}", "name": f"vm-{n}", "metadata": {"role": "x" * (n % 50)}} for n in range(count)]


def _fragments(servers: list[dict]) -> list:
    whole = memoryview(b"".join(orjson.dumps(server) for server in servers))  # slices of one object, as kept
    out, start = [], 0
    for server in servers:
        end = start + len(orjson.dumps(server))
        out.append(whole[start:end])
        start = end
    return out


def test_a_large_page_is_written_in_chunks_that_make_its_json():
    servers = _servers(12000)
    links = [{"rel": "next", "href": "http://h/v2.1/servers/detail?limit=3000&marker=id-2999"}]

    async def run() -> tuple[RecordingWriter, PagePayload]:
        gate = asyncio.Semaphore(1)
        payload = page_body("servers", _fragments(servers), links, gate)
        assert isinstance(payload, PagePayload)
        writer = RecordingWriter()
        await payload.write(writer)
        return writer, payload
    writer, payload = asyncio.run(run())
    body = b"".join(writer.chunks)
    assert len(writer.chunks) > 1
    assert all(CHUNK_BYTES <= len(chunk) < 2 * CHUNK_BYTES for chunk in writer.chunks[:-1])
    assert json.loads(body) == {"servers": servers, "servers_links": links}
    assert payload.size == len(body)
    assert json.loads(payload.decode()) == json.loads(body)


def test_a_small_page_is_written_whole_and_an_empty_one_is_an_empty_list():
    servers = _servers(3)
    below = _servers(1500)  # some 100 KB: more than a chunk, less than a large body
    assert CHUNK_BYTES < len(orjson.dumps(below)) < LARGE_BODY_BYTES

    async def written(fragments: list) -> list[bytes]:
        gate = asyncio.Semaphore(0)  # taken: a small body must not wait for it
        body = page_body("servers", fragments, None, gate)
        assert isinstance(body, bytes)  # written whole, in one write: aiohttp's bytes body
        return [body]
    chunks = asyncio.run(written(_fragments(servers)))
    assert len(chunks) == 1
    assert json.loads(chunks[0]) == {"servers": servers}
    assert json.loads(b"".join(asyncio.run(written([])))) == {"servers": []}
    chunks = asyncio.run(written(_fragments(below)))
    assert len(chunks) == 1
    assert json.loads(chunks[0]) == {"servers": below}


def test_large_pages_are_sent_one_at_a_time():
    servers = _servers(12000)
    order: list[str] = []

    class Tagged(RecordingWriter):
        def __init__(self, tag: str) -> None:
            super().__init__()
            self.tag = tag

        async def write(self, chunk: bytes) -> None:
            order.append(self.tag)
            await super().write(chunk)

    async def run() -> None:
        gate = asyncio.Semaphore(1)
        first, second = (page_body("servers", _fragments(servers), None, gate) for _ in range(2))
        await asyncio.gather(first.write(Tagged("a")), second.write(Tagged("b")))
    asyncio.run(run())
    assert len(order) > 2
    assert order == sorted(order)  # every chunk of one before any of the other


def test_between_chunks_a_request_just_arrived_runs_first():
    """after_fresh_io resumes its caller only after the loop has polled and run what it found (a token check that
    arrived during a large body's step); sleep(0) would resume it first. A caller gone meanwhile is no error."""
    async def order_with(pause) -> list[str]:
        loop = asyncio.get_running_loop()
        order: list[str] = []
        ours, theirs = socket.socketpair()
        with ours, theirs:
            loop.add_reader(ours, lambda: order.append("arrived") or loop.remove_reader(ours))
            theirs.send(b"GET")  # ready at the loop's next poll
            await pause()
            order.append("next chunk")
            await asyncio.sleep(0.01)
            loop.remove_reader(ours)
        return order

    async def run() -> tuple[list[str], list[str]]:
        errors: list[dict] = []
        asyncio.get_running_loop().set_exception_handler(lambda loop, context: errors.append(context))
        waiting = asyncio.ensure_future(after_fresh_io())
        waiting.cancel()
        found = await order_with(after_fresh_io), await order_with(lambda: asyncio.sleep(0))
        assert errors == []
        return found
    fresh_first, sleep_first = asyncio.run(run())
    assert fresh_first == ["arrived", "next chunk"]
    assert sleep_first == ["next chunk", "arrived"]


class SteppedLoop:
    """What release_memory_soon uses of the event loop, on a clock the test moves: its timers run when it says."""

    def __init__(self) -> None:
        self.now = 0.0
        self.timers: list[tuple[float, object]] = []
        self.ran: list[float] = []  # when the executor was given a job

    def time(self) -> float:
        return self.now

    def call_later(self, delay: float, callback) -> None:
        self.timers.append((self.now + max(delay, 1e-6), callback))  # a real loop's pass takes microseconds

    def run_in_executor(self, executor, fn) -> None:
        self.ran.append(self.now)
        fn()

    def advance(self, to: float) -> None:
        while (due := sorted(t for t in self.timers if t[0] <= to)):
            at, callback = due[0]
            self.timers.remove(due[0])
            self.now = at
            callback()
        self.now = to


def test_memory_is_released_once_large_lists_pause(monkeypatch):
    """release_memory_soon trims once the lists have paused for its delay, not every delay while they keep
    coming (a trim holds malloc's locks for milliseconds: it showed in the p99 of requests beside the lists)."""
    loop = SteppedLoop()
    trims: list[float] = []
    monkeypatch.setattr(rendered_pages.asyncio, "get_running_loop", lambda: loop)
    monkeypatch.setattr(rendered_pages, "release_free_memory", lambda: trims.append(loop.now))
    monkeypatch.setattr(rendered_pages, "_release_pending", False)
    for n in range(10):  # a list every 20 ms for 200 ms, a delay of 50 ms
        loop.advance(n * 0.02)
        rendered_pages.release_memory_soon(0.05)
    loop.advance(1.0)
    assert trims == [pytest.approx(0.18 + 0.05, abs=1e-3)]  # once, 50 ms after the last list
    rendered_pages.release_memory_soon(0.05)  # a later list: trimmed again after it
    loop.advance(2.0)
    assert trims == [pytest.approx(0.23, abs=1e-3), pytest.approx(1.05, abs=1e-3)]
