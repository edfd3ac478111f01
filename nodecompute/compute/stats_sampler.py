"""Per-server CPU and network series for Cyclades' stats graphs (#1902, #1903), from cumulative counters.

Pure: no I/O and no libvirt. `source` is an async callable returning server id -> cumulative counters (anything
with cpu_time_ns, vcpus, rx_bytes, tx_bytes; the daemon passes nodecompute.virt.domain_stats.read_all_counters
bound to its hypervisor, keyed by domain UUID = server id); `clock` gives seconds (the daemon's injected clock:
wall time, so graphs can label their axis).

Each `sample()` reads the counters once. For a server seen in this sample and the previous one it appends a
point: CPU utilisation in % of the server's vCPUs (CPU time delta / (elapsed * vCPUs), capped at 100: libvirt's
CPU time also counts QEMU's own threads) and the guest's received and sent bytes per second.
- A counter going backwards (the domain was restarted: a new QEMU, a new tap) or a clock that did not move
  forward gives no point; that reading becomes the new baseline.
- A server missing from a sample (stopped, deleted) loses its baseline; its points stay until they age out.
- Points older than `window` seconds are dropped at every sample and a series holds at most
  window / interval + 1 points; a server with no points and no baseline is forgotten. Memory is bounded by the
  servers seen within the window.
"""
from __future__ import annotations

import asyncio
import logging
import math
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Protocol

log = logging.getLogger(__name__)

DEFAULT_INTERVAL = 60.0
DEFAULT_WINDOW = 3600.0
NS_PER_S = 1_000_000_000


class Counters(Protocol):
    @property
    def cpu_time_ns(self) -> int: ...

    @property
    def vcpus(self) -> int: ...

    @property
    def rx_bytes(self) -> int: ...

    @property
    def tx_bytes(self) -> int: ...


CounterSource = Callable[[], Awaitable[Mapping[str, Counters]]]


@dataclass(frozen=True)
class StatsPoint:
    at: float  # clock time of the sample closing the interval
    cpu_percent: float  # 0-100, of all the server's vCPUs
    rx_bytes_per_s: float  # received by the guest
    tx_bytes_per_s: float  # sent by the guest


@dataclass
class _Track:
    points: deque[StatsPoint]
    baseline: tuple[float, Counters] | None = field(default=None)


class StatsSampler:
    def __init__(self, source: CounterSource, *, clock: Callable[[], float], interval: float = DEFAULT_INTERVAL,
                 window: float = DEFAULT_WINDOW) -> None:
        if interval <= 0 or window < interval:
            raise ValueError("interval must be positive and window at least one interval")
        self.interval = interval
        self.window = window
        self._source = source
        self._clock = clock
        self._max_points = math.ceil(window / interval) + 1
        self._tracks: dict[str, _Track] = {}

    def series(self, server_id: str) -> tuple[StatsPoint, ...]:
        """The server's points, oldest first (empty when it has none)."""
        track = self._tracks.get(server_id)
        return tuple(track.points) if track else ()

    def servers(self) -> tuple[str, ...]:
        return tuple(self._tracks)

    def forget(self, server_id: str) -> None:
        self._tracks.pop(server_id, None)

    async def sample(self) -> None:
        """Read the counters once and record what they say."""
        readings = await self._source()
        self.record(self._clock(), readings)

    def record(self, now: float, readings: Mapping[str, Counters]) -> None:
        for server_id, counters in readings.items():
            track = self._tracks.setdefault(server_id, _Track(deque(maxlen=self._max_points)))
            point = _point(track.baseline, now, counters)
            if point is not None:
                track.points.append(point)
            track.baseline = (now, counters)
        for server_id, track in list(self._tracks.items()):
            if server_id not in readings:
                track.baseline = None
            while track.points and track.points[0].at < now - self.window:
                track.points.popleft()
            if not track.points and track.baseline is None:
                del self._tracks[server_id]

    async def run(self, sleep: Callable[[float], Awaitable[object]] = asyncio.sleep) -> None:
        """Sample every `interval` seconds until cancelled; a failed read is logged and skipped."""
        while True:
            started = self._clock()
            try:
                await self.sample()
            except Exception as err:  # noqa: BLE001 - a background loop must outlive one bad read
                log.warning("stats sample failed: %s", err)
            await sleep(max(0.0, self.interval - (self._clock() - started)))


def _point(baseline: tuple[float, Counters] | None, now: float, counters: Counters) -> StatsPoint | None:
    if baseline is None:
        return None
    then, before = baseline
    elapsed = now - then
    deltas = (counters.cpu_time_ns - before.cpu_time_ns, counters.rx_bytes - before.rx_bytes,
              counters.tx_bytes - before.tx_bytes)
    if elapsed <= 0 or min(deltas) < 0:
        return None
    cpu_ns, rx, tx = deltas
    capacity_ns = elapsed * NS_PER_S * max(counters.vcpus, 1)
    return StatsPoint(at=now, cpu_percent=min(100.0, 100.0 * cpu_ns / capacity_ns),
                      rx_bytes_per_s=rx / elapsed, tx_bytes_per_s=tx / elapsed)
