"""Servers' CPU and network graphs (Cyclades #1902, #1903) as one service: the stats sampler's loop over libvirt's
counters, the per-server graph tokens (an HMAC under a daemon secret kept in the data directory), and the graphs
rendered off the event loop and cached per server for 60 s. The pure parts are stats_sampler.py, graphs.py,
graph_cache.py and graph_tokens.py; this module runs them.

`start()` begins sampling (the daemon's sources: every running domain's counters); `close()` stops it.
"""
from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections.abc import Callable
from pathlib import Path

from nodecompute.compute import graph_tokens, graphs
from nodecompute.compute.graph_cache import GraphCache
from nodecompute.compute.stats_sampler import CounterSource, StatsSampler

SECRET_FILE = "graph_secret"
REFRESH = 60  # seconds: the default sampling interval and `refresh` ([compute] stats_interval)


def load_secret(data_dir: Path) -> bytes:
    """The daemon's graph secret, made once (0600) in the data directory."""
    path = data_dir / SECRET_FILE
    if not path.exists():
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "wb") as out:
            out.write(graph_tokens.new_secret())
    return path.read_bytes()


class ServerStats:
    def __init__(self, source: CounterSource, secret: bytes, *, clock: Callable[[], float] = time.time,
                 interval: float = REFRESH) -> None:
        self.secret = secret
        self.clock = clock
        self.sampler = StatsSampler(source, clock=clock, interval=interval)
        self.cache = GraphCache(clock=clock, ttl=interval)
        self._task: asyncio.Task | None = None

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.ensure_future(self.sampler.run())

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    def token(self, server_uuid: str) -> str:
        return graph_tokens.graph_token(self.secret, server_uuid)

    def server_of(self, token: str) -> str | None:
        return graph_tokens.token_server(self.secret, token)

    async def graph(self, server_uuid: str, graph: str) -> bytes:
        """The PNG (ValueError for an unknown graph name), rendered in a worker thread unless cached."""
        if graph not in graphs.GRAPHS:
            raise ValueError(f"unknown graph {graph!r}")
        png = self.cache.get(server_uuid, graph)
        if png is None:
            png = await asyncio.to_thread(graphs.render_graph, graph, self.sampler.series(server_uuid),
                                          now=self.clock())
            self.cache.put(server_uuid, graph, png)
        return png


def for_hypervisor(hv, data_dir: Path, interval: float = REFRESH) -> ServerStats:
    """The daemon's: every running domain's counters from libvirt, the secret in the data directory."""
    from nodecompute.virt.domain_stats import read_all_counters
    return ServerStats(lambda: read_all_counters(hv), load_secret(data_dir), interval=interval)
