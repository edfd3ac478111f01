#!/usr/bin/env python3
"""API throughput and latency on 127.0.0.1, next to a bare aiohttp handler measured in the same run.

    .venv/bin/python bench/api.py [--requests 4000] [--concurrency 16]

Measures `GET /compute/v2.1/flavors/detail` (token check + SQLite read + JSON) and
`POST /identity/v3/auth/tokens` (argon2id KDF at the configured cost, no target) against a freshly started
`nodecompute serve`, and the same flavor body from a bare aiohttp handler (the baseline). Prints requests/s,
p50/p99 latency, the ratio to the baseline, and the CPU seconds the daemon and the load generator each used
(the machine has two cores: one serves, one loads). Target: flavors/detail >= 0.5x the bare handler.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.daemon_util import Daemon, free_port  # noqa: E402

BARE_SERVER = r"""
import sys
from aiohttp import web
body = open(sys.argv[2], "rb").read()
async def handler(request):
    return web.Response(body=body, content_type="application/json")
app = web.Application()
app.router.add_get("/compute/v2.1/flavors/detail", handler)
web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), print=None, access_log=None)
"""


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def self_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def load(url: str, count: int, concurrency: int, method="GET", headers=None, body=None) -> list[float]:
    latencies: list[float] = []
    queue = iter(range(count))
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency)) as session:
        async def worker():
            for _ in queue:
                start = time.perf_counter()
                async with session.request(method, url, headers=headers, data=body) as resp:
                    await resp.read()
                    assert resp.status < 300, resp.status
                latencies.append(time.perf_counter() - start)
        await asyncio.gather(*(worker() for _ in range(concurrency)))
    return latencies


def measure(name: str, pid: int, url: str, count: int, concurrency: int, **kw) -> dict:
    asyncio.run(load(url, min(200, count), concurrency, **kw))  # warm-up
    server_cpu, client_cpu, wall = cpu_seconds(pid), self_cpu(), time.perf_counter()
    latencies = asyncio.run(load(url, count, concurrency, **kw))
    wall = time.perf_counter() - wall
    server_cpu, client_cpu = cpu_seconds(pid) - server_cpu, self_cpu() - client_cpu
    latencies.sort()
    result = {
        "name": name, "requests": count, "rps": count / wall,
        "p50_ms": 1000 * statistics.median(latencies), "p99_ms": 1000 * latencies[int(0.99 * (len(latencies) - 1))],
        "server_cpu_s": server_cpu, "client_cpu_s": client_cpu, "wall_s": wall,
    }
    print(f"{name:<38} {result['rps']:8.0f} req/s  p50 {result['p50_ms']:6.2f} ms  p99 {result['p99_ms']:6.2f} ms"
          f"  cpu: server {server_cpu:5.2f}s ({100 * server_cpu / wall:3.0f}% of a core),"
          f" load generator {client_cpu:5.2f}s ({100 * client_cpu / wall:3.0f}%)")
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=4000)
    parser.add_argument("--token-requests", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=3, help="bare and daemon runs alternate; medians are compared")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="nc-bench-"))
    (tmp / "data").mkdir()
    daemon = Daemon(tmp / "data", log_level="INFO").start()  # the default level: one access log line per request
    bare = None
    try:
        cloud = daemon.cloud()["auth"]
        auth = {"auth": {"identity": {"methods": ["password"], "password": {"user": {
            "name": cloud["username"], "domain": {"name": "Default"}, "password": cloud["password"]}}},
            "scope": {"project": {"name": "admin", "domain": {"name": "Default"}}}}}

        async def token_and_body():
            async with aiohttp.ClientSession() as s:
                async with s.post(f"{daemon.url}/identity/v3/auth/tokens", json=auth) as r:
                    token = r.headers["X-Subject-Token"]
                async with s.get(f"{daemon.url}/compute/v2.1/flavors/detail", headers={"X-Auth-Token": token}) as r:
                    return token, await r.read()

        token, flavor_body = asyncio.run(token_and_body())
        body_file = tmp / "flavors.json"
        body_file.write_bytes(flavor_body)
        port = free_port()
        bare = subprocess.Popen([sys.executable, "-c", BARE_SERVER, str(port), str(body_file)])
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                asyncio.run(load(f"http://127.0.0.1:{port}/compute/v2.1/flavors/detail", 1, 1))
                break
            except aiohttp.ClientError:
                time.sleep(0.1)
        print(f"{os.cpu_count()} cores; {args.requests} requests per run, concurrency {args.concurrency}, "
              f"response {len(flavor_body)} bytes\n")
        bare_runs, our_runs = [], []
        for _ in range(max(1, args.rounds)):  # alternating, so both see the same background load
            bare_runs.append(measure("bare aiohttp handler (baseline)", bare.pid,
                                     f"http://127.0.0.1:{port}/compute/v2.1/flavors/detail", args.requests,
                                     args.concurrency)["rps"])
            our_runs.append(measure("nodecompute GET flavors/detail", daemon.proc.pid,
                                    f"{daemon.url}/compute/v2.1/flavors/detail", args.requests, args.concurrency,
                                    headers={"X-Auth-Token": token})["rps"])
        tokens = measure("nodecompute POST auth/tokens (KDF)", daemon.proc.pid,
                         f"{daemon.url}/identity/v3/auth/tokens", args.token_requests, args.concurrency,
                         method="POST", headers={"Content-Type": "application/json"}, body=json.dumps(auth))
        base, ours = statistics.median(bare_runs), statistics.median(our_runs)
        ratio = ours / base
        print(f"\nmedians of {len(our_runs)} rounds: bare {base:.0f} req/s, nodecompute {ours:.0f} req/s")
        print(f"flavors/detail throughput ratio to the bare handler: {ratio:.2f} (target >= 0.50: "
              f"{'met' if ratio >= 0.5 else 'NOT met'})")
        print(f"token issue: {tokens['rps']:.0f} req/s, p50 {tokens['p50_ms']:.1f} ms (argon2id; no target)")
        return 0
    finally:
        if bare is not None:
            bare.terminate()
            bare.wait(10)
        daemon.stop()


if __name__ == "__main__":
    sys.exit(main())
