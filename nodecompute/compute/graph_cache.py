"""Rendered stats graphs kept per server and graph for 60 s (#1903), the sampler's own interval. Pure: the clock is
injected and nothing here renders, so the caller keeps rendering off the event loop:

    png = cache.get(server_id, graph)
    if png is None:
        png = await asyncio.to_thread(render_graph, graph, sampler.series(server_id), now=clock())
        cache.put(server_id, graph, png)

Two requests that miss at once may both render; the later `put` wins and both answers are valid. Expired entries
are dropped at every `put`, and `forget` drops a deleted server's at once, so memory is bounded by the servers
whose graphs were asked for within the last `ttl` seconds (four PNGs of about 1 KB each).
"""
from __future__ import annotations

from collections.abc import Callable

DEFAULT_TTL = 60.0


class GraphCache:
    def __init__(self, *, clock: Callable[[], float], ttl: float = DEFAULT_TTL) -> None:
        if ttl <= 0:
            raise ValueError("a cache lifetime must be positive")
        self._clock = clock
        self.ttl = ttl
        self._entries: dict[tuple[str, str], tuple[float, bytes]] = {}

    def get(self, server_id: str, graph: str) -> bytes | None:
        """The PNG put less than `ttl` seconds ago, else None."""
        entry = self._entries.get((server_id, graph))
        if entry is None:
            return None
        stored_at, png = entry
        if not 0 <= self._clock() - stored_at < self.ttl:  # expired, or the clock went back
            del self._entries[(server_id, graph)]
            return None
        return png

    def put(self, server_id: str, graph: str, png: bytes) -> None:
        now = self._clock()
        for key, (stored_at, _) in list(self._entries.items()):
            if not 0 <= now - stored_at < self.ttl:
                del self._entries[key]
        self._entries[(server_id, graph)] = (now, png)

    def forget(self, server_id: str) -> None:
        for key in [key for key in self._entries if key[0] == server_id]:
            del self._entries[key]

    def __len__(self) -> int:
        return len(self._entries)
