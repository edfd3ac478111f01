#!/usr/bin/env python3
"""A bounded load test: many clients for a fixed time against `nodecompute serve` on 127.0.0.1 with libvirt's
test:/// driver, mixed reads and writes that cannot turn into a boot storm.

    .venv/bin/python bench/load.py [--clients 100] [--seconds 60] [--seed 11]

Each client issues its own token, then loops over a seeded mix: flavor and server lists, limits, image lists (reads);
keypair creates, server metadata items, image records, token issues and server creates (writes; creates share one
budget, so the test driver never holds more than `--server-budget` servers). Every acknowledged write is read back
at the end (a keypair, an image, a server, the last metadata value each client wrote). Prints p50/p99 per operation,
the errors (any answer that is not the operation's success) and the lost writes; tests/integration/
test_load_bounded.py runs it for a few seconds and asserts zero of both.
"""
from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.daemon_util import Daemon  # noqa: E402

READS = ("flavors", "servers", "limits", "images")
WRITES = ("keypair", "metadata", "image", "token", "server")
MIX = {"flavors": 3, "servers": 3, "limits": 2, "images": 2, "keypair": 2, "metadata": 4, "image": 2, "token": 1,
       "server": 1}
QUOTAS = {"instances": 1000, "cores": 1000, "ram": 1024000, "key_pairs": 100000, "metadata_items": 100000}


@dataclass
class Report:
    latencies: dict[str, list[float]] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    lost: list[str] = field(default_factory=list)
    keypairs: list[str] = field(default_factory=list)
    images: list[str] = field(default_factory=list)
    servers: list[str] = field(default_factory=list)
    metadata: dict[tuple[str, str], str] = field(default_factory=dict)  # (server, key) -> last value acknowledged

    def lines(self) -> list[str]:
        out = [f"{'operation':10} {'count':>6} {'p50 ms':>8} {'p99 ms':>8}"]
        for name in (*READS, *WRITES, "read-back"):
            values = sorted(self.latencies.get(name, []))
            if values:
                p99 = values[min(len(values) - 1, int(len(values) * 0.99))]
                out.append(f"{name:10} {len(values):6} {statistics.median(values) * 1000:8.1f} {p99 * 1000:8.1f}")
        out.append(f"errors {len(self.errors)}, lost writes {len(self.lost)}, acknowledged writes "
                   f"{len(self.keypairs) + len(self.images) + len(self.servers) + len(self.metadata)}")
        return out


class Load:
    def __init__(self, url: str, auth: dict[str, Any], clients: int, seconds: float, seed: int,
                 server_budget: int) -> None:
        self.url, self.auth, self.clients, self.seconds = url, auth, clients, seconds
        self.seed, self.budget = seed, server_budget
        self.report = Report()
        self.targets: list[str] = []  # servers whose metadata the clients write
        self.image_ref = ""

    def _token_body(self) -> dict:
        return {"auth": {"identity": {"methods": ["password"], "password": {"user": {
            "name": self.auth["username"], "domain": {"id": "default"}, "password": self.auth["password"]}}},
            "scope": {"project": {"name": self.auth["project_name"], "domain": {"id": "default"}}}}}

    async def _token(self, session: aiohttp.ClientSession) -> str:
        async with session.post(f"{self.url}/identity/v3/auth/tokens", json=self._token_body()) as resp:
            assert resp.status == 201, await resp.text()
            return resp.headers["X-Subject-Token"]

    async def _call(self, session, name: str, method: str, path: str, token: str, ok: int, **kw) -> Any:
        started = time.monotonic()
        headers = {"X-Auth-Token": token, **kw.pop("headers", {})}
        async with session.request(method, self.url + path, headers=headers, **kw) as resp:
            body = await resp.json() if resp.content_type == "application/json" else None
            status = resp.status
        self.report.latencies.setdefault(name, []).append(time.monotonic() - started)
        if status != ok:
            self.report.errors.append(f"{name} {method} {path}: {status} {str(body)[:200]}")
            return None
        return body if body is not None else {}

    async def prepare(self, session: aiohttp.ClientSession) -> str:
        """Quotas high enough for the run, an image record to boot from, and the servers metadata is written to."""
        token = await self._token(session)
        project = (await self._call(session, "token", "GET", "/identity/v3/auth/tokens", token, 200,
                                    headers={"X-Subject-Token": token}))["token"]["project"]["id"]
        await self._call(session, "setup", "PUT", f"/compute/v2.1/os-quota-sets/{project}", token, 200,
                         json={"quota_set": QUOTAS})
        image = await self._call(session, "setup", "POST", "/image/v2/images", token, 201, json={
            "name": "load", "disk_format": "raw", "container_format": "bare"})
        await self._call(session, "setup", "PUT", f"/image/v2/images/{image['id']}/file", token, 204,
                         data=b"\0" * (1 << 20), headers={"Content-Type": "application/octet-stream"})
        self.image_ref = image["id"]
        for n in range(4):
            self.targets.append(await self._create_server(session, token, f"target-{n}"))
        await self._until_active(session, token)
        return token

    async def _until_active(self, session, token: str, timeout: float = 60.0) -> None:
        """Metadata is written only to a server out of its build (Nova answers 409 while it spawns): wait for them."""
        deadline = time.monotonic() + timeout
        for server in self.targets:
            while True:
                body = await self._call(session, "setup", "GET", f"/compute/v2.1/servers/{server}", token, 200)
                if body["server"]["status"] == "ACTIVE":
                    break
                assert time.monotonic() < deadline, f"target {server} is {body['server']['status']} after {timeout} s"
                await asyncio.sleep(0.1)

    async def _create_server(self, session, token: str, name: str) -> str:
        body = await self._call(session, "server", "POST", "/compute/v2.1/servers", token, 202, json={"server": {
            "name": name, "imageRef": self.image_ref, "flavorRef": "42", "networks": "none"}},
            headers={"OpenStack-API-Version": "compute 2.37"})
        if body is None:
            return ""
        self.report.servers.append(body["server"]["id"])
        return body["server"]["id"]

    async def client(self, session: aiohttp.ClientSession, n: int, deadline: float) -> None:
        rng = random.Random(self.seed * 1000 + n)
        token = await self._token(session)
        names, weights = zip(*MIX.items())
        step = 0
        while time.monotonic() < deadline:
            step += 1
            op = rng.choices(names, weights)[0]
            if op == "flavors":
                await self._call(session, op, "GET", "/compute/v2.1/flavors/detail", token, 200)
            elif op == "servers":
                await self._call(session, op, "GET", "/compute/v2.1/servers", token, 200)
            elif op == "limits":
                await self._call(session, op, "GET", "/compute/v2.1/limits", token, 200)
            elif op == "images":
                await self._call(session, op, "GET", "/image/v2/images?limit=20", token, 200)
            elif op == "keypair":
                name = f"load-{n}-{step}"
                if await self._call(session, op, "POST", "/compute/v2.1/os-keypairs", token, 200,
                                    json={"keypair": {"name": name}}) is not None:
                    self.report.keypairs.append(name)
            elif op == "metadata":
                server, key, value = rng.choice(self.targets), f"c{n}", f"v{step}"
                if await self._call(session, op, "PUT", f"/compute/v2.1/servers/{server}/metadata/{key}", token,
                                    200, json={"meta": {key: value}}) is not None:
                    self.report.metadata[(server, key)] = value
            elif op == "image":
                body = await self._call(session, op, "POST", "/image/v2/images", token, 201, json={
                    "name": f"rec-{n}-{step}", "disk_format": "raw", "container_format": "bare"})
                if body is not None:
                    self.report.images.append(body["id"])
            elif op == "token":
                started = time.monotonic()
                token = await self._token(session)
                self.report.latencies.setdefault(op, []).append(time.monotonic() - started)
            elif op == "server" and self.budget > 0:
                self.budget -= 1
                await self._create_server(session, token, f"load-{n}-{step}")

    async def read_back(self, session: aiohttp.ClientSession, token: str) -> None:
        """Every acknowledged write, read back (sequentially, after the load)."""
        async def found(path: str, what: str) -> Any:
            body = await self._call(session, "read-back", "GET", path, token, 200)
            if body is None:
                self.report.lost.append(what)
            return body

        for name in self.report.keypairs:
            await found(f"/compute/v2.1/os-keypairs/{name}", f"keypair {name}")
        for image in self.report.images:
            await found(f"/image/v2/images/{image}", f"image {image}")
        for server in self.report.servers:
            await found(f"/compute/v2.1/servers/{server}", f"server {server}")
        for server in self.targets:
            body = await found(f"/compute/v2.1/servers/{server}/metadata", f"metadata of {server}")
            for (owner, key), value in self.report.metadata.items():
                if owner == server and body is not None and body["metadata"].get(key) != value:
                    self.report.lost.append(f"metadata {server} {key}={value} (read {body['metadata'].get(key)})")

    async def run(self) -> Report:
        connector = aiohttp.TCPConnector(limit=self.clients + 4)
        timeout = aiohttp.ClientTimeout(total=120)
        async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
            token = await self.prepare(session)
            self.report.errors.clear()  # setup answers are checked by prepare() itself
            deadline = time.monotonic() + self.seconds
            await asyncio.gather(*(self.client(session, n, deadline) for n in range(self.clients)))
            errors_under_load = list(self.report.errors)
            await self.read_back(session, token)
            self.report.errors = errors_under_load + [e for e in self.report.errors if e not in errors_under_load]
        return self.report


def start_daemon(data_dir: Path) -> Daemon:
    return Daemon(data_dir, libvirt_uri="test:///default", log_level="WARNING").start()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=100)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--server-budget", type=int, default=40)
    args = parser.parse_args()
    daemon = start_daemon(Path(tempfile.mkdtemp(prefix="ncload", dir="/tmp")))
    try:
        load = Load(daemon.url, daemon.cloud()["auth"], args.clients, args.seconds, args.seed, args.server_budget)
        report = asyncio.run(load.run())
    finally:
        daemon.close()
    print(f"seed {args.seed}, {args.clients} clients, {args.seconds:.0f} s")
    print("\n".join(report.lines()))
    for line in (report.errors + report.lost)[:20]:
        print(line)
    sys.exit(1 if report.errors or report.lost else 0)


if __name__ == "__main__":
    main()
