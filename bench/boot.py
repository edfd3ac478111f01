#!/usr/bin/env python3
"""Boot latency: create-to-ACTIVE through the daemon's API, next to a raw libvirt define+start in the same run.

    .venv/bin/python bench/boot.py [--runs 5] [--concurrent 10]

(after `scripts/setup.sh --test` and `images/build.sh`)

a) API: a freshly started `nodecompute serve` (temp data dir, its own qemu:///embed root), the test guest imported
   with `nodecompute image import`; `POST /servers` (flavor m1.nano, config_drive true), then `GET /servers/{id}`
   every --poll-ms until ACTIVE with no task_state. Each server is deleted (and waited for) before the next run.
   The first server's persisted domain XML, config drive and base image are captured for (b).
b) raw: the same domain XML defined and started by this process in *another* embedded driver
   (`qemu:///embed?root=<short /tmp dir>`, default libvirt event loop on a thread), on its own disks: a fresh qcow2
   overlay on the same base per run and a copy of the config drive. The connection is opened and
   getCapabilities() called before timing; each run times defineXML + create until the domain is RUNNING;
   destroy/undefine between runs are not timed. (a) and (b) runs alternate, so background load hits both alike.
c) burst: --concurrent creates issued at once (asyncio + aiohttp), wall time until every one is ACTIVE, polled with
   one `GET /servers/detail` every --poll-ms. The daemon is configured with room for them: the scheduler's vCPU
   capacity is host cpus x 4 (Nova's cpu_allocation_ratio), 8 on a 2-core host, so max_vcpus is raised to
   --concurrent when that is more (and the instance/core quota when --concurrent is above 10).
d) context for (c), no target: the same number of raw define+start at once (one thread each) in the raw driver.

bench/boot_nic.py is the same (a)/(b) with one NIC on a project network, the raw side making its own tap; the raw
side's driver (b, d) is bench/raw_libvirt.py, shared with them and with bench/actions.py and bench/attachments.py.

Targets: median API create-to-ACTIVE <= 1.3x the median raw define+start; burst wall time < 3x one create.
(a) also pays for what (b) gets for free: the qcow2 overlay (qemu-img), the config drive, the DB rows and the poll
interval. A guest boots under TCG at 100% of a core, so on a small host (d) shows how much of (c) is the host itself.
Everything made is removed at the end (servers, daemon, its guests, the raw domains and their QEMU processes).
libvirt's own messages from the raw driver go to <temp dir>/libvirt-raw.log (kept with --keep); its forked helpers
may still print "Invalid XATTR timestamp" warnings on stderr (DAC owner tracking; harmless, the daemon logs the same).
"""
from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import aiohttp

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

# first: it points the raw driver's libvirt log at a file in its temp dir before libvirt is imported
from bench.raw_libvirt import BOOT_TIMEOUT, OWN_LIBVIRT_LOG, TMP, RawLibvirt, capture, kill_qemu_under  # noqa: E402
from bench.cloud_util import Cloud  # noqa: E402
from bench.daemon_util import Daemon  # noqa: E402

FLAVOR = "42"  # m1.nano: 128 MB, 1 vcpu, 1 GB disk
GONE_TIMEOUT = 60.0
API_TARGET = 1.3  # API create-to-ACTIVE / raw define+start
BURST_TARGET = 3.0  # burst wall time / one create
DEFAULT_CPU_ALLOCATION = 4  # the daemon's CPU_ALLOCATION_RATIO: capacity is host cpus x 4


@dataclass
class Figures:
    name: str
    values: list[float] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(self.values)

    def row(self) -> str:
        v = self.values
        return f"{self.name:<44} {len(v):>3}  {self.median:8.3f}  {min(v):8.3f}  {max(v):8.3f}"


# ----- a) through the daemon's API ------------------------------------------------------------------------------


def server_body(name: str, image_id: str) -> dict:
    return {"server": {"name": name, "imageRef": image_id, "flavorRef": FLAVOR, "config_drive": True}}


def api_boot(cloud: Cloud, image_id: str, name: str, poll: float,
             body: dict | None = None) -> tuple[float, str, dict[str, float]]:
    """POST /servers (`body`, else server_body's), poll until ACTIVE. Returns (seconds, server id, first time each
    task_state was seen, and "launched_at": the daemon's own moment of ACTIVE, read from the server's
    OS-SRV-USG:launched_at, which it stamps in the same write, once libvirt's start has returned). The POST and
    the polls go through cloud.light(): on 2 cores the client's CPU is taken from the boot it measures."""
    client = cloud.light()
    try:
        client.call("GET", "/flavors/" + FLAVOR)  # the connection open and warm before anything is timed
        wall = time.time()  # launched_at is the daemon's wall clock (the same host's)
        start = time.perf_counter()
        status, created = client.call("POST", "/servers", body or server_body(name, image_id))
        if status != 202:
            raise RuntimeError(f"create {name}: {status} {created}")
        server_id = created["server"]["id"]
        seen: dict[str, float] = {"POST returned": time.perf_counter() - start}
        deadline = start + BOOT_TIMEOUT
        while True:
            status, shown = client.call("GET", f"/servers/{server_id}")
            if status != 200:
                raise RuntimeError(f"show {name}: {status} {shown}")
            server = shown["server"]
            now = time.perf_counter() - start
            task = server.get("OS-EXT-STS:task_state")
            seen.setdefault(task or server["status"], now)
            if server["status"] == "ACTIVE" and task is None:
                seen["launched_at"] = launched_seconds(server["OS-SRV-USG:launched_at"], wall)
                return now, server_id, seen
            if server["status"] == "ERROR":
                raise RuntimeError(f"server {name} went to ERROR: {server.get('fault')}")
            if time.perf_counter() > deadline:
                raise TimeoutError(f"server {name} still {server['status']}/{task} after {BOOT_TIMEOUT}s")
            time.sleep(poll)
    finally:
        client.close()


def launched_seconds(launched_at: str, wall_start: float) -> float:
    """Seconds from wall_start (time.time()) to a server's OS-SRV-USG:launched_at (naive UTC, microseconds)."""
    stamp = datetime.fromisoformat(launched_at).replace(tzinfo=timezone.utc).timestamp()
    return stamp - wall_start


def delete_and_wait(cloud: Cloud, server_id: str) -> None:
    resp = cloud.delete(f"/servers/{server_id}")
    if resp.status_code not in (204, 404):
        raise RuntimeError(f"delete {server_id}: {resp.status_code} {resp.text}")
    cloud.wait_gone(server_id, GONE_TIMEOUT)


# ----- c) a burst of creates ------------------------------------------------------------------------------------


async def burst(url: str, token: str, image_id: str, count: int, poll: float) -> tuple[float, list[float], list[str]]:
    """`count` POST /servers at once; wall time until all are ACTIVE, and each server's own time to ACTIVE."""
    headers = {"X-Auth-Token": token}
    base = f"{url}/compute/v2.1"
    async with aiohttp.ClientSession(headers=headers, connector=aiohttp.TCPConnector(limit=count + 1)) as session:
        async def create(i: int) -> str:
            async with session.post(f"{base}/servers", json=server_body(f"burst-{i}", image_id)) as resp:
                body = await resp.json()
                if resp.status != 202:
                    raise RuntimeError(f"create burst-{i}: {resp.status} {body}")
                return body["server"]["id"]

        start = time.perf_counter()
        ids = await asyncio.gather(*(create(i) for i in range(count)))
        active: dict[str, float] = {}
        while len(active) < count:
            async with session.get(f"{base}/servers/detail") as resp:
                servers = (await resp.json())["servers"]
            now = time.perf_counter() - start
            for server in servers:
                if server["id"] not in ids or server["id"] in active:
                    continue
                if server["status"] == "ACTIVE" and server.get("OS-EXT-STS:task_state") is None:
                    active[server["id"]] = now
                elif server["status"] == "ERROR":
                    raise RuntimeError(f"burst server {server['name']} went to ERROR: {server.get('fault')}")
            if now > BOOT_TIMEOUT:
                raise TimeoutError(f"{count - len(active)} burst servers not ACTIVE after {BOOT_TIMEOUT}s")
            if len(active) < count:
                await asyncio.sleep(poll)
        wall = max(active.values())

        async def delete(server_id: str) -> None:
            async with session.delete(f"{base}/servers/{server_id}") as resp:
                if resp.status not in (204, 404):
                    raise RuntimeError(f"delete {server_id}: {resp.status} {await resp.text()}")

        await asyncio.gather(*(delete(i) for i in ids))
        return wall, sorted(active.values()), list(ids)


# ----- main -----------------------------------------------------------------------------------------------------


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="boots per side for (a) and (b), at least 5")
    parser.add_argument("--concurrent", type=int, default=10, help="servers created at once in (c), 2..20")
    parser.add_argument("--poll-ms", type=float, default=20.0, help="status poll interval, at most 20 ms")
    parser.add_argument("--keep", action="store_true", help="keep the temp dir (daemon log, database) for profiling")
    try:
        args = parser.parse_args()
        if args.runs < 5 or args.runs > 50:
            parser.error("--runs must be between 5 and 50")
        if not 2 <= args.concurrent <= 20:
            parser.error("--concurrent must be between 2 and 20")
        if not 0 < args.poll_ms <= 20:
            parser.error("--poll-ms must be in (0, 20]")
    except SystemExit:
        shutil.rmtree(TMP, ignore_errors=True)
        raise
    poll = args.poll_ms / 1000

    tmp = TMP
    (tmp / "data").mkdir()
    raw_root = Path(tempfile.mkdtemp(prefix="ncraw", dir="/tmp"))  # short: UNIX socket paths are limited
    raw_work = tmp / "raw"
    raw_work.mkdir()
    cpus = os.cpu_count() or 1
    capacity = max(cpus * DEFAULT_CPU_ALLOCATION, args.concurrent)
    # Room for the burst: scheduler capacity and the admin quota must allow --concurrent m1.nano servers.
    extra = (f"max_vcpus = {capacity}\n[quota]\ninstances = {max(10, args.concurrent)}\n"
             f"cores = {max(20, args.concurrent)}\n")
    daemon = Daemon(tmp / "data", extra=extra)
    if OWN_LIBVIRT_LOG:
        daemon.env.pop("LIBVIRT_LOG_OUTPUTS", None)  # the daemon logs as it always does
    raw: RawLibvirt | None = None
    cloud: Cloud | None = None
    live: list[str] = []
    try:
        daemon.start()
        cloud = Cloud(daemon)
        image_id = cloud.import_guest()

        api = Figures("a) API create -> ACTIVE (1 server)")
        rawf = Figures("b) raw defineXML + create -> RUNNING")
        print(f"{cpus} cores; {args.runs} runs per side, poll every {args.poll_ms:g} ms; flavor m1.nano, "
              f"config_drive true; daemon max_vcpus = {capacity}\n")
        for run in range(args.runs):
            seconds, server_id, seen = api_boot(cloud, image_id, f"bench-{run}", poll)
            live.append(server_id)
            api.values.append(seconds)
            if raw is None:
                captured = capture(daemon, server_id, raw_work)
                raw = RawLibvirt(raw_root, raw_work, captured)
                raw.open()
            delete_and_wait(cloud, server_id)
            live.remove(server_id)
            rawf.values.append(raw.boot(raw.prepare()))
            raw.remove()
            print(f"run {run + 1}: API {seconds:6.3f} s   raw {rawf.values[-1]:6.3f} s   (API, first seen at: "
                  + ", ".join(f"{k} {v:.3f}" for k, v in seen.items()) + ")")

        print(f"\nc) {args.concurrent} creates at once ...")
        wall, per_server, ids = asyncio.run(
            burst(daemon.url, cloud.http.headers["X-Auth-Token"], image_id, args.concurrent, poll))
        live.extend(ids)
        for server_id in ids:
            cloud.wait_gone(server_id, GONE_TIMEOUT)
            live.remove(server_id)
        burstf = Figures(f"c) {args.concurrent} API creates at once: each", per_server)
        wallf = Figures(f"c) {args.concurrent} API creates at once: wall", [wall])

        print(f"d) {args.concurrent} raw define+start at once (context for c) ...")
        assert raw is not None
        raw_wall, raw_each = raw.burst(args.concurrent)
        raw.remove()
        raw_burstf = Figures(f"d) {args.concurrent} raw define+start at once: each", raw_each)
        raw_wallf = Figures(f"d) {args.concurrent} raw define+start at once: wall", [raw_wall])

        api_ratio = api.median / rawf.median
        burst_ratio = wall / api.median
        print(f"\n{cpus} cores (os.cpu_count()); virt type {raw.captured.virt_type}"
              f"{' (TCG, no KVM)' if raw.captured.virt_type == 'qemu' else ''}; {raw.versions()}; "
              f"poll {args.poll_ms:g} ms\n")
        print(f"{'figure (seconds)':<44} {'n':>3}  {'median':>8}  {'min':>8}  {'max':>8}")
        for fig in (api, rawf, burstf, wallf, raw_burstf, raw_wallf):
            print(fig.row())
        print()
        print(f"a/b  API create / raw define+start (medians)  {api_ratio:5.2f}x  target <= {API_TARGET}x  "
              f"{verdict(api_ratio <= API_TARGET)}")
        print(f"c/a  burst wall / one API create (median)     {burst_ratio:5.2f}x  target <  {BURST_TARGET}x  "
              f"{verdict(burst_ratio < BURST_TARGET)}")
        print(f"c/d  API burst wall / raw burst wall          {wall / raw_wall:5.2f}x  (context, no target)")
        print(f"d/b  raw burst wall / one raw define+start    {raw_wall / rawf.median:5.2f}x  (context, no target)")
        return 0
    finally:
        if cloud is not None:
            try:  # whatever an interrupted run left, not only what we know of
                live += [s["id"] for s in cloud.get("/servers").json()["servers"] if s["id"] not in live]
            except Exception as exc:  # noqa: BLE001 - best effort
                print(f"cleanup: list servers: {exc}", file=sys.stderr)
            for server_id in list(live):
                try:
                    cloud.delete(f"/servers/{server_id}")
                    cloud.wait_gone(server_id, GONE_TIMEOUT)
                except Exception as exc:  # noqa: BLE001 - best effort, the guests are killed below anyway
                    print(f"cleanup: delete {server_id}: {exc}", file=sys.stderr)
        daemon.close()
        if raw is not None:
            raw.close()
        kill_qemu_under(raw_root)
        for path in (raw_root,) if args.keep else (tmp, raw_root):
            shutil.rmtree(path, ignore_errors=True)
        if args.keep:
            print(f"kept {tmp} (daemon log: {daemon.log_path})")


if __name__ == "__main__":
    sys.exit(main())
