"""A bounded load test (bench/load.py for a few seconds): 100 clients on 127.0.0.1 against `nodecompute serve` on
libvirt's test:/// driver, mixed reads and writes (flavor, server, image lists and limits; keypairs, server
metadata, image records, tokens, and server creates from one small budget, so no boot storm): no answer other than
the operation's success, and every acknowledged write read back. p50/p99 per operation are printed; a longer run
is `.venv/bin/python bench/load.py --seconds 60`."""
from __future__ import annotations

import time

from bench.load import Load, start_daemon

SEED = 11
CLIENTS = 100
SECONDS = 5.0


async def test_100_clients_no_errors_no_lost_writes(tmp_path_factory):
    started = time.monotonic()
    daemon = start_daemon(tmp_path_factory.mktemp("load"))
    try:
        load = Load(daemon.url, daemon.cloud()["auth"], CLIENTS, SECONDS, SEED, server_budget=20)
        report = await load.run()
    finally:
        daemon.close()
    print(f"\nload: seed {SEED}, {CLIENTS} clients, {SECONDS:.0f} s of load, {time.monotonic() - started:.1f} s in all")
    print("\n".join(report.lines()))
    assert report.errors == [] and report.lost == [], (report.errors + report.lost)[:20]
    writes = len(report.keypairs) + len(report.images) + len(report.metadata)
    assert writes >= CLIENTS // 2 and len(report.servers) > 4  # the mix did write, and did create servers
