#!/usr/bin/env python3
"""Server actions through the daemon's API next to the raw libvirt calls they make, in the same run.

    .venv/bin/python bench/actions.py [--runs 3]

(after `scripts/setup.sh --test` and `images/build.sh`)

One server booted through a fresh `nodecompute serve` (as bench/boot.py does), and its domain XML run as it is by
this process in another embedded driver (bench/boot.py's RawLibvirt). Both guests are waited for (`NCGUEST ready`)
before anything is timed. Each run, alternating API and raw so background load hits both alike:

- pause / unpause: `POST action` until the status is PAUSED (ACTIVE) with no task, vs virDomainSuspend (Resume);
- suspend / resume: until SUSPENDED (ACTIVE), vs virDomainManagedSave vs create until RUNNING;
- reboot SOFT: until ACTIVE with no task, vs shutdown (ACPI), wait until off, create until RUNNING (the guest must
  be ready again before the next run on either side, not timed);
- reboot HARD: vs destroy + create until RUNNING;
- rebuild (issue 18, the same image): until ACTIVE with no task, vs ACPI shutdown until off, `qemu-img create` of a
  fresh overlay on the same base (the raw side keeps its config drive; the daemon writes a new one) and create until
  RUNNING (the guest ready again before the next run, not timed);
- resize + confirm (issue 18, between m1.nano and a flavor with 64 MiB more memory, the same disk): until
  VERIFY_RESIZE, then confirmResize until ACTIVE with no task, vs ACPI shutdown until off, a reflink copy of the
  disk kept aside, the domain defined again with the other memory size and created until RUNNING, the copy
  removed (the guest ready again before the next run, not timed);
- snapshot (createImage, issue 18): until the image is active and the server has no task, vs libvirt's backup job
  on the running root disk (virDomainBackupBegin, push, full) until it completes; the API side also hashes the
  copy into the image store. The guest boots from the test guest grown to --image-gib (default 1) GiB with every
  byte past its file system written (qemu-io), so a full copy moves that much data.

The API side also pays for its HTTP round trips, rows, the instance action record and its status poll (--poll-ms).
No target is set: the ratios are what there is to see (README "Benchmarks"). On a heavily loaded 2-core host a
TCG guest may panic at boot (restarted) or not come back within BOOT_TIMEOUT (the run then stops with TimeoutError;
seen once at load 14, in the second round).
"""
from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import libvirt

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import boot  # noqa: E402  (sets the raw driver's log file before libvirt is used)
from bench.boot import BOOT_TIMEOUT, Figures, RawLibvirt, capture, kill_qemu_under  # noqa: E402
from bench import cloud_util  # noqa: E402
from bench.cloud_util import Cloud  # noqa: E402
from bench.daemon_util import Daemon  # noqa: E402
from nodecompute.virt import blockjobs, disk_devices  # noqa: E402

READY = "NCGUEST ready"
PANIC = "end Kernel panic"
RESIZED_FLAVOR = {"id": "bench-resize", "name": "bench.resize", "ram": 192, "vcpus": 1}  # disk: --image-gib


def api_action(cloud: Cloud, server_id: str, body: dict, status: str, poll: float, answer: int = 202) -> float:
    start = time.perf_counter()
    resp = cloud.post(f"/servers/{server_id}/action", body)
    if resp.status_code != answer:
        raise RuntimeError(f"{body}: {resp.status_code} {resp.text}")
    while True:
        server = cloud.server(server_id)
        if server["status"] == status and server.get("OS-EXT-STS:task_state") is None:
            return time.perf_counter() - start
        if server["status"] == "ERROR" or time.perf_counter() - start > BOOT_TIMEOUT:
            raise RuntimeError(f"{body}: server {server['status']}/{server.get('OS-EXT-STS:task_state')}")
        time.sleep(poll)


def api_snapshot(cloud: Cloud, server_id: str, poll: float) -> float:
    """createImage (2.45) until the image is active and the server idle; the image is deleted afterwards."""
    start = time.perf_counter()
    resp = cloud.post(f"/servers/{server_id}/action", {"createImage": {"name": "bench"}},
                      headers={"OpenStack-API-Version": "compute 2.45"})
    if resp.status_code != 202:
        raise RuntimeError(f"createImage: {resp.status_code} {resp.text}")
    image_id = resp.json()["image_id"]
    while True:
        image = cloud.http.get(f"{cloud.daemon.url}/image/v2/images/{image_id}", timeout=30).json()
        if image["status"] == "active" and cloud.server(server_id).get("OS-EXT-STS:task_state") is None:
            elapsed = time.perf_counter() - start
            break
        # active a moment before the server's task clears: poll on
        if image.get("status") not in ("queued", "saving", "active") or time.perf_counter() - start > BOOT_TIMEOUT:
            raise RuntimeError(f"createImage: image {image}")
        time.sleep(poll)
    cloud.http.delete(f"{cloud.daemon.url}/image/v2/images/{image_id}", timeout=30)
    return elapsed


def full_image(dest: Path, gib: int) -> Path:
    """The test guest as qcow2, grown to `gib` GiB, every byte after its own file system written (the guest reads
    its file system only), so that copies of it move `gib` GiB."""
    source = cloud_util.guest_image()
    subprocess.run(["qemu-img", "convert", "-O", "qcow2", str(source), str(dest)], check=True)
    used = int(json.loads(subprocess.run(["qemu-img", "info", "--output=json", str(dest)], check=True,
                                         capture_output=True, text=True).stdout)["virtual-size"])
    subprocess.run(["qemu-img", "resize", "-q", str(dest), str(gib << 30)], check=True)
    subprocess.run(["qemu-io", "-f", "qcow2", "-c", f"write -P 0x5a {used} {(gib << 30) - used}", str(dest)],
                   check=True, capture_output=True)
    return dest


def api_resize(cloud: Cloud, server_id: str, flavor_id: str, poll: float) -> float:
    """resize until VERIFY_RESIZE, then confirmResize until ACTIVE with no task."""
    return (api_action(cloud, server_id, {"resize": {"flavorRef": flavor_id}}, "VERIFY_RESIZE", poll)
            + api_action(cloud, server_id, {"confirmResize": None}, "ACTIVE", poll, answer=204))


def wait_ready(read: Callable[[], str], count: int, restart: Callable[[], object] | None = None) -> None:
    """Until the guest printed `ready` `count` times. A guest kernel that panics at boot (under TCG on a loaded host:
    "IO-APIC + timer doesn't work") is started again by `restart`, when given."""
    deadline = time.monotonic() + BOOT_TIMEOUT
    panics = read().count(PANIC)
    while (text := read()).count(READY) < count:
        if restart is not None and text.count(PANIC) > panics:
            panics = text.count(PANIC)
            print("guest kernel panicked at boot (host load); starting it again", file=sys.stderr)
            restart()
        if time.monotonic() > deadline:
            raise TimeoutError(f"guest not ready ({count}) within {BOOT_TIMEOUT}s")
        time.sleep(0.2)


def timed(call: Callable[[], object], until: Callable[[], bool] = lambda: True) -> float:
    start = time.perf_counter()
    call()
    while not until():
        if time.perf_counter() - start > BOOT_TIMEOUT:
            raise TimeoutError("raw call did not reach its state")
        time.sleep(0.001)
    return time.perf_counter() - start


class RawGuest:
    """The raw domain of slot 0 and its console log."""

    def __init__(self, raw: RawLibvirt) -> None:
        self.raw = raw
        self.dom = raw.doms[0]
        self.log = raw.work / "slot0" / "console.log"

    def console(self) -> str:
        return self.log.read_text(errors="replace")

    def state(self) -> int:
        return self.dom.state()[0]

    def running(self) -> bool:
        return self.state() == libvirt.VIR_DOMAIN_RUNNING

    def off(self) -> bool:
        return self.state() == libvirt.VIR_DOMAIN_SHUTOFF

    def _power_off_by_acpi(self, start: float) -> None:
        """ACPI power-off, waited for until SHUTOFF (at most BOOT_TIMEOUT after `start`)."""
        self.dom.shutdown()
        while not self.off():
            if time.perf_counter() - start > BOOT_TIMEOUT:
                raise TimeoutError("raw guest did not power off on ACPI")
            time.sleep(0.001)

    def _start(self) -> None:
        """Start the domain, waited for until RUNNING."""
        self.dom.create()
        while not self.running():
            time.sleep(0.001)

    def pause(self) -> float:
        return timed(self.dom.suspend)

    def unpause(self) -> float:
        return timed(self.dom.resume)

    def suspend(self) -> float:
        return timed(lambda: self.dom.managedSave(0))

    def resume(self) -> float:
        return timed(self.dom.create, self.running)

    def reboot_soft(self) -> float:
        start = time.perf_counter()
        self._power_off_by_acpi(start)
        self._start()
        return time.perf_counter() - start

    def reboot_hard(self) -> float:
        return timed(lambda: (self.dom.destroy(), self.dom.create()), self.running)

    def rebuild(self) -> float:
        """What the daemon's rebuild does to the guest: ACPI power-off, a fresh overlay on the base, start."""
        cap = self.raw.captured
        disk = self.raw.work / "slot0" / "disk"
        start = time.perf_counter()
        self._power_off_by_acpi(start)
        subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", "-b", str(cap.base), "-F", cap.base_format,
                        str(disk), str(cap.root_bytes)], check=True)
        self._start()
        return time.perf_counter() - start

    def resize(self, memory_mb: int) -> float:
        """What the daemon's resize and confirm do to the guest: ACPI power-off, the disk copied aside (reflink
        where the file system can), the domain defined with the new memory and started, the copy removed."""
        disk = self.raw.work / "slot0" / "disk"
        kept = disk.with_name("disk.before-resize")
        start = time.perf_counter()
        self._power_off_by_acpi(start)
        subprocess.run(["cp", "--reflink=auto", "--sparse=always", str(disk), str(kept)], check=True)
        xml = re.sub(r"<(memory|currentMemory) unit='KiB'>\d+</", lambda m: f"<{m.group(1)} unit='KiB'>"
                     f"{memory_mb * 1024}</", self.dom.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE))
        self.dom = self.raw.doms[0] = self.raw.conn.defineXML(xml)
        self._start()
        kept.unlink()
        return time.perf_counter() - start

    def snapshot(self) -> float:
        """The backup job the daemon's createImage runs (virt/blockjobs.py), straight on the raw domain."""
        dest = self.raw.work / "snapshot.qcow2"
        dest.unlink(missing_ok=True)
        targets = [disk.target for disk in disk_devices.parse_disks(self.dom.XMLDesc(0))]
        elapsed = timed(lambda: self.dom.backupBegin(blockjobs._backup_xml(targets, targets[0], dest), None, 0),
                        lambda: blockjobs._finished_job(self.dom) is not None)
        dest.unlink(missing_ok=True)
        return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="rounds of every action per side, 1..20")
    parser.add_argument("--image-gib", type=int, default=1, help="the guest image's size, all of it data, 1..4")
    parser.add_argument("--poll-ms", type=float, default=20.0, help="status poll interval, at most 20 ms")
    args = parser.parse_args()
    if not 1 <= args.runs <= 20 or not 0 < args.poll_ms <= 20 or not 1 <= args.image_gib <= 4:
        parser.error("--runs must be in 1..20, --poll-ms in (0, 20] and --image-gib in 1..4")
    poll = args.poll_ms / 1000
    tmp = boot.TMP
    (tmp / "data").mkdir()
    raw_root = Path(tempfile.mkdtemp(prefix="ncraw", dir="/tmp"))
    (tmp / "raw").mkdir()
    daemon = Daemon(tmp / "data")
    raw: RawLibvirt | None = None
    try:
        daemon.start()
        cloud = Cloud(daemon)
        image_id = cloud.import_guest("testguest-full", path=full_image(tmp / "full.qcow2", args.image_gib))
        flavor = {"id": "bench-full", "name": "bench.full", "ram": 128, "vcpus": 1, "disk": args.image_gib}
        if (resp := cloud.post("/flavors", {"flavor": flavor})).status_code != 200:
            raise RuntimeError(f"flavor create: {resp.status_code} {resp.text}")
        body = boot.server_body("bench-actions", image_id)
        body["server"]["flavorRef"] = flavor["id"]
        resp = cloud.post("/servers", body)
        server_id = resp.json()["server"]["id"]
        cloud.wait_status(server_id, "ACTIVE")
        raw = RawLibvirt(raw_root, tmp / "raw", capture(daemon, server_id, tmp / "raw"))
        raw.open()
        raw.boot(raw.prepare())
        guest = RawGuest(raw)
        api_boots = raw_boots = 1
        hard = {"reboot": {"type": "HARD"}}
        api_restart = lambda: api_action(cloud, server_id, hard, "ACTIVE", poll)  # noqa: E731
        wait_ready(lambda: cloud.console(server_id), api_boots, api_restart)
        wait_ready(guest.console, raw_boots, guest.reboot_hard)
        resp = cloud.post("/flavors", {"flavor": {**RESIZED_FLAVOR, "disk": args.image_gib}})
        if resp.status_code != 200:
            raise RuntimeError(f"flavor create: {resp.status_code} {resp.text}")
        sizes = [(RESIZED_FLAVOR["id"], RESIZED_FLAVOR["ram"]), (flavor["id"], flavor["ram"])]  # alternating

        def resize_pair(side: int) -> float:
            flavor_id, memory_mb = sizes[0]
            if side:  # the raw side runs second: then the next run goes back
                sizes.reverse()
                return guest.resize(memory_mb)
            return api_resize(cloud, server_id, flavor_id, poll)

        pairs: list[tuple[str, Callable[[], float], Callable[[], float]]] = [
            ("pause", lambda: api_action(cloud, server_id, {"pause": None}, "PAUSED", poll), guest.pause),
            ("unpause", lambda: api_action(cloud, server_id, {"unpause": None}, "ACTIVE", poll), guest.unpause),
            ("suspend", lambda: api_action(cloud, server_id, {"suspend": None}, "SUSPENDED", poll), guest.suspend),
            ("resume", lambda: api_action(cloud, server_id, {"resume": None}, "ACTIVE", poll), guest.resume),
            ("reboot SOFT", lambda: api_action(cloud, server_id, {"reboot": {"type": "SOFT"}}, "ACTIVE", poll),
             guest.reboot_soft),
            ("reboot HARD", lambda: api_action(cloud, server_id, {"reboot": {"type": "HARD"}}, "ACTIVE", poll),
             guest.reboot_hard),
            ("rebuild", lambda: api_action(cloud, server_id, {"rebuild": {"imageRef": image_id}}, "ACTIVE", poll),
             guest.rebuild),
            ("resize", lambda: resize_pair(0), lambda: resize_pair(1)),
            ("snapshot", lambda: api_snapshot(cloud, server_id, poll), guest.snapshot),
        ]
        figures = {name: (Figures(f"API {name}"), Figures(f"raw {name}")) for name, _, _ in pairs}
        for run in range(args.runs):
            for name, api_call, raw_call in pairs:
                api_fig, raw_fig = figures[name]
                api_fig.values.append(api_call())
                raw_fig.values.append(raw_call())
                if name.startswith("reboot") or name in ("rebuild", "resize"):  # ready again on both sides (untimed)
                    api_boots, raw_boots = api_boots + 1, raw_boots + 1
                    wait_ready(lambda: cloud.console(server_id), api_boots, api_restart)
                    wait_ready(guest.console, raw_boots, guest.reboot_hard)
            print(f"run {run + 1}: " + ", ".join(f"{name} {figures[name][0].values[-1]:.3f}/"
                                                 f"{figures[name][1].values[-1]:.3f} s" for name, _, _ in pairs))
        print(f"\n{raw.versions()}; poll {args.poll_ms:g} ms\n")
        print(f"{'figure (seconds)':<44} {'n':>3}  {'median':>8}  {'min':>8}  {'max':>8}")
        for api_fig, raw_fig in figures.values():
            print(api_fig.row())
            print(raw_fig.row())
        print()
        for name, (api_fig, raw_fig) in figures.items():
            print(f"{name:<12} API / raw (medians)  {api_fig.median / raw_fig.median:7.2f}x")
        return 0
    finally:
        daemon.close()
        if raw is not None:
            raw.close()
        kill_qemu_under(raw_root)
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.rmtree(raw_root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
