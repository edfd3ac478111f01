#!/usr/bin/env python3
"""Render time and size of Cyclades' four stats graphs (nodecompute/compute/graphs.py), a full hour of points each.

    .venv/bin/python bench/graphs.py [--renders 200]

Prints, per graph, the median and worst milliseconds of one render (in this process, on one core) and the PNG's
size, then the import time and peak RSS of the graph modules (over the stats sampler, which the daemon loads
anyway). No target: a render runs in a worker thread at most
once per server and graph a minute (the cache's lifetime).
"""
from __future__ import annotations

import argparse
import resource
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--renders", type=int, default=200)
    args = parser.parse_args()
    from nodecompute.compute.stats_sampler import StatsPoint  # the daemon has it (and asyncio) loaded anyway
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    from nodecompute.compute.graphs import GRAPHS, render_graph
    import_s = time.perf_counter() - started
    now = 1_800_000_000.0
    points = [StatsPoint(at=now - 60 * i, cpu_percent=(7 * i) % 100, rx_bytes_per_s=1000.0 * i,
                         tx_bytes_per_s=300.0 * i) for i in reversed(range(61))]
    for graph in GRAPHS:
        times = []
        for _ in range(args.renders):
            begun = time.perf_counter()
            png = render_graph(graph, points, now=now)
            times.append(time.perf_counter() - begun)
        print(f"{graph:8} median {statistics.median(times) * 1000:.2f} ms, worst {max(times) * 1000:.2f} ms, "
              f"{len(png)} bytes")
    rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(f"import of the graph modules {import_s * 1000:.1f} ms; peak RSS {rss_before / 1024:.1f} MB before, "
          f"{rss_after / 1024:.1f} MB after")


if __name__ == "__main__":
    main()
