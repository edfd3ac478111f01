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

bench/boot_nic.py is the same (a)/(b) with one NIC on a project network, the raw side making its own tap.

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
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid as uuidlib
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import aiohttp

# The embedded driver in this process logs to stderr (taint and XATTR warnings, dmidecode errors); it reads where to
# when libvirt is imported, so the log goes to a file in the bench's temp dir unless LIBVIRT_LOG_OUTPUTS is set.
TMP = Path(tempfile.mkdtemp(prefix="nc-bench-boot-"))
_OWN_LIBVIRT_LOG = "LIBVIRT_LOG_OUTPUTS" not in os.environ
os.environ.setdefault("LIBVIRT_LOG_OUTPUTS", f"3:file:{TMP / 'libvirt-raw.log'}")
import libvirt  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from nodecompute.virt.embed import ensure_qemu_conf  # noqa: E402
from bench.cloud_util import Cloud  # noqa: E402
from bench.daemon_util import Daemon, qemu_pids_under  # noqa: E402

FLAVOR = "42"  # m1.nano: 128 MB, 1 vcpu, 1 GB disk
BOOT_TIMEOUT = 180.0
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


@dataclass
class Captured:
    xml: str  # the persistent domain XML as libvirt stored it for the daemon
    name: str
    uuid: str
    virt_type: str
    instance_dir: Path
    base: Path  # hard link to the daemon's cached base (same inode)
    base_format: str
    root_bytes: int
    config_drive: Path  # copy


def capture(daemon: Daemon, server_id: str, into: Path) -> Captured:
    """While the first server exists: its domain XML, a copy of its config drive, a link to its base image."""
    # the embedded driver keeps persistent definitions in <root>/etc/qemu (libvirtd: /etc/libvirt/qemu)
    xmls = sorted(daemon.libvirt_root.glob("etc/qemu/instance-*.xml")) \
        + sorted(daemon.libvirt_root.glob("etc/libvirt/qemu/instance-*.xml"))
    if len(xmls) != 1:
        raise RuntimeError(f"expected one persisted domain under {daemon.libvirt_root}/etc, found {xmls}")
    xml = xmls[0].read_text()
    instance_dir = daemon.data_dir / "instances" / server_id
    info = json.loads(subprocess.run(
        ["qemu-img", "info", "-U", "--output=json", str(instance_dir / "disk")],
        check=True, capture_output=True, text=True).stdout)
    backing = Path(info["full-backing-filename"])
    base = into / "base"
    try:
        os.link(backing, base)
    except OSError:
        shutil.copyfile(backing, base)
    drive = into / "disk.config.orig"
    shutil.copyfile(instance_dir / "disk.config", drive)
    root = ET.fromstring(xml)
    return Captured(xml=xml, name=root.findtext("name"), uuid=root.findtext("uuid"), virt_type=root.get("type", "?"),
                    instance_dir=instance_dir, base=base, base_format=info.get("backing-filename-format", "qcow2"),
                    root_bytes=int(info["virtual-size"]), config_drive=drive)


# ----- b) raw libvirt in this process ---------------------------------------------------------------------------


class RawLibvirt:
    """Our own embedded QEMU driver (a different root from the daemon's), with libvirt's default event loop.

    Slot 0 runs the captured XML as it is (only the instance directory moved to our own copies); slots 1.. (the raw
    burst) get their own name, UUID and directory."""

    def __init__(self, root: Path, work: Path, captured: Captured) -> None:
        self.root = root
        self.work = work
        self.captured = captured
        self.uri = f"qemu:///embed?root={root}"
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._timer: int | None = None
        self.conn: libvirt.virConnect | None = None
        self.doms: dict[int, libvirt.virDomain] = {}

    def open(self) -> None:
        ensure_qemu_conf(self.root)
        libvirt.registerErrorHandler(lambda _ctx, _err: None, None)
        libvirt.virEventRegisterDefaultImpl()
        # a periodic no-op timer wakes the loop, so the thread notices _stop
        self._timer = libvirt.virEventAddTimeout(100, lambda _timer, _opaque: None, None)
        self._thread = threading.Thread(target=self._run_loop, name="libvirt-events", daemon=True)
        self._thread.start()
        self.conn = libvirt.open(self.uri)
        self.conn.getCapabilities()  # probes (and caches) QEMU's capabilities before anything is timed

    def _run_loop(self) -> None:
        while not self._stop.is_set():
            libvirt.virEventRunDefaultImpl()

    def _slot_dir(self, slot: int) -> Path:
        return self.work / f"slot{slot}"

    def _xml(self, slot: int) -> str:
        cap = self.captured
        xml = cap.xml.replace(str(cap.instance_dir), str(self._slot_dir(slot)))
        if str(cap.instance_dir) in xml or str(cap.instance_dir.parent) in xml:
            raise RuntimeError("the captured XML still names the daemon's files:\n" + xml)
        if slot:
            xml = xml.replace(cap.uuid, str(uuidlib.uuid4())).replace(
                f"<name>{cap.name}</name>", f"<name>{cap.name}-raw{slot}</name>")
        return xml

    def prepare(self, slot: int = 0) -> str:
        """Untimed: a fresh overlay on the base, a fresh copy of the config drive, an empty console log."""
        work = self._slot_dir(slot)
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir()
        subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", "-b", str(self.captured.base),
                        "-F", self.captured.base_format, str(work / "disk"), str(self.captured.root_bytes)],
                       check=True)
        shutil.copyfile(self.captured.config_drive, work / "disk.config")
        (work / "console.log").touch()
        return self._xml(slot)

    def boot(self, xml: str, slot: int = 0) -> float:
        """Timed: defineXML + create until the domain state is RUNNING."""
        assert self.conn is not None
        start = time.perf_counter()
        dom = self.doms[slot] = self.conn.defineXML(xml)
        dom.create()
        while dom.state()[0] != libvirt.VIR_DOMAIN_RUNNING:
            if time.perf_counter() - start > BOOT_TIMEOUT:
                raise TimeoutError(f"raw domain {dom.name()} not RUNNING")
            time.sleep(0.001)
        return time.perf_counter() - start

    def burst(self, count: int) -> tuple[float, list[float]]:
        """`count` define+start at once, one thread each: (wall until all RUNNING, each one's own time)."""
        xmls = [self.prepare(slot) for slot in range(1, count + 1)]
        gate = threading.Barrier(count + 1)
        times: list[float] = []
        errors: list[BaseException] = []

        def one(slot: int, xml: str) -> None:
            gate.wait()
            try:
                times.append(self.boot(xml, slot))
            except BaseException as exc:  # noqa: BLE001 - reported by the caller
                errors.append(exc)

        threads = [threading.Thread(target=one, args=(slot, xml)) for slot, xml in enumerate(xmls, 1)]
        for thread in threads:
            thread.start()
        start = time.perf_counter()
        gate.wait()
        for thread in threads:
            thread.join(BOOT_TIMEOUT)
        wall = time.perf_counter() - start
        if errors:
            raise errors[0]
        return wall, sorted(times)

    def remove(self) -> None:
        """Untimed: destroy and undefine every domain we started."""
        for slot, dom in list(self.doms.items()):
            try:
                if dom.isActive():
                    dom.destroy()
            except libvirt.libvirtError:
                pass
            try:
                dom.undefineFlags(libvirt.VIR_DOMAIN_UNDEFINE_MANAGED_SAVE | libvirt.VIR_DOMAIN_UNDEFINE_NVRAM)
            except libvirt.libvirtError:
                pass
            del self.doms[slot]

    def versions(self) -> str:
        assert self.conn is not None

        def dotted(v: int) -> str:
            return f"{v // 1000000}.{v // 1000 % 1000}.{v % 1000}"
        return f"libvirt {dotted(self.conn.getLibVersion())}, QEMU {dotted(self.conn.getVersion())}"

    def close(self) -> None:
        self.remove()
        if self.conn is not None:
            for dom in self.conn.listAllDomains(0):  # anything left by an interrupted run
                try:
                    if dom.isActive():
                        dom.destroy()
                    dom.undefine()
                except libvirt.libvirtError:
                    pass
            self.conn.close()
            self.conn = None
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
        if self._timer is not None:
            libvirt.virEventRemoveTimeout(self._timer)
        kill_qemu_under(self.root)


def kill_qemu_under(root: Path) -> None:
    """SIGKILL any QEMU whose command line names `root` (only after an interrupted run is there any)."""
    for pid in qemu_pids_under(root):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


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
    if _OWN_LIBVIRT_LOG:
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
