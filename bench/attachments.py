#!/usr/bin/env python3
"""Volume attach latency: the API's attach into a running test guest, next to libvirt's own hot-plug call of the
same kind of disk in the same run.

    .venv/bin/python bench/attachments.py [--runs 5] [--poll-ms 20]

(after `scripts/setup.sh --test` and `images/build.sh`)

a) API: a freshly started `nodecompute serve` (temp data dir, its own qemu:///embed root) boots the test guest
   (flavor m1.nano); per run an empty 1 GiB volume is made (untimed), then `POST /servers/{id}/os-volume_attachments`
   (2.1: it answers once the disk is plugged) and `GET /volume/v3/<p>/volumes/{id}` every --poll-ms until `in-use`
   are timed; the detach (until `available`) is not.
b) raw: that server's domain XML (bench/boot.py's capture) started in *another* embedded driver in this process,
   waited for until its guest prints `NCGUEST ready`; per run a fresh empty 1 GiB qcow2 (untimed), then
   virDomainAttachDeviceFlags(LIVE|CONFIG) of the disk XML the daemon writes (virt/disk_devices.volume_disk_xml:
   virtio, the volume's serial, the cache mode of the directory) is timed; the detach (until the guest let go) is
   not. (a) and (b) runs alternate, so background load hits both alike.

(a) also pays for what (b) gets for free: the request, the volume's rows in two transactions, the server's lock,
the device-name choice from the domain's XML, the status poll. No target is set; the ratio is reported.
Everything made is removed at the end (volumes, server, daemon, its guest, the raw domain and its QEMU).
"""
from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
import xml.etree.ElementTree as ET
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench import boot  # noqa: E402 (first: it points libvirt's log at a file before libvirt is loaded)
import libvirt  # noqa: E402

from bench.cloud_util import Cloud  # noqa: E402
from bench.daemon_util import Daemon  # noqa: E402
from nodecompute.virt import disk_devices, displays  # noqa: E402

GiB = 1 << 30
WAIT = 120.0


def volume_api(cloud: Cloud, method: str, path: str, **kw):
    return cloud.http.request(method, f"{cloud.daemon.url}/volume/v3/{cloud.project_id}{path}", timeout=60, **kw)


def wait_volume(cloud: Cloud, volume_id: str, status: str, poll: float) -> float:
    """Seconds until the volume shows `status` (polled every `poll`)."""
    start = time.perf_counter()
    while True:
        found = volume_api(cloud, "GET", f"/volumes/{volume_id}").json()["volume"]["status"]
        if found == status:
            return time.perf_counter() - start
        if found.startswith("error") or time.perf_counter() - start > WAIT:
            raise RuntimeError(f"volume {volume_id}: {found}, wanted {status}")
        time.sleep(poll)


def api_attach(cloud: Cloud, server_id: str, poll: float) -> float:
    resp = volume_api(cloud, "POST", "/volumes", json={"volume": {"size": 1}})
    volume_id = resp.json()["volume"]["id"]
    wait_volume(cloud, volume_id, "available", poll)
    start = time.perf_counter()
    resp = cloud.post(f"/servers/{server_id}/os-volume_attachments", {"volumeAttachment": {"volumeId": volume_id}})
    if resp.status_code != 200:
        raise RuntimeError(f"attach: {resp.status_code} {resp.text}")
    wait_volume(cloud, volume_id, "in-use", poll)
    seconds = time.perf_counter() - start
    cloud.delete(f"/servers/{server_id}/os-volume_attachments/{volume_id}")
    wait_volume(cloud, volume_id, "available", poll)
    volume_api(cloud, "DELETE", f"/volumes/{volume_id}")
    return seconds


def wait_ready(console: Path) -> None:
    deadline = time.monotonic() + boot.BOOT_TIMEOUT
    while "NCGUEST ready" not in console.read_text(errors="replace"):
        if time.monotonic() > deadline:
            raise TimeoutError(f"the raw guest never printed ready: {console}")
        time.sleep(0.2)


def raw_attach(dom: libvirt.virDomain, work: Path) -> float:
    path = work / f"volume-{uuid.uuid4()}"
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", str(path), str(GiB)], check=True)
    disk = disk_devices.VolumeDisk(path=str(path), target="vdb", serial=disk_devices.serial_for(path.name[7:]),
                                   cache=disk_devices.cache_mode_for(work))
    xml = disk_devices.volume_disk_xml(disk)
    flags = libvirt.VIR_DOMAIN_AFFECT_LIVE | libvirt.VIR_DOMAIN_AFFECT_CONFIG
    start = time.perf_counter()
    dom.attachDeviceFlags(xml, flags)
    seconds = time.perf_counter() - start
    dom.detachDeviceFlags(xml, flags)
    deadline = time.monotonic() + WAIT
    while disk_devices.find_disk(ET.fromstring(dom.XMLDesc(0)), "vdb") is not None:
        if time.monotonic() > deadline:
            raise TimeoutError("the raw guest kept vdb")
        time.sleep(0.1)
    path.unlink()
    return seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="attaches per side, at least 5")
    parser.add_argument("--poll-ms", type=float, default=20.0, help="status poll interval, at most 20 ms")
    args = parser.parse_args()
    if args.runs < 5 or not 0 < args.poll_ms <= 20:
        parser.error("--runs must be at least 5 and --poll-ms in (0, 20]")
    poll = args.poll_ms / 1000
    tmp = Path(tempfile.mkdtemp(prefix="nc-bench-attach-"))
    raw_root = Path(tempfile.mkdtemp(prefix="ncraw", dir="/tmp"))  # short: UNIX socket paths are limited
    (tmp / "data").mkdir()
    raw_work = tmp / "raw"
    raw_work.mkdir()
    daemon = Daemon(tmp / "data")
    raw: boot.RawLibvirt | None = None
    try:
        daemon.start()
        cloud = Cloud(daemon)
        image_id = cloud.import_guest()
        server_id = cloud.create_server(**boot.server_body("attach-bench", image_id)["server"])["server"]["id"]
        cloud.wait_status(server_id, "ACTIVE")
        cloud.wait_report(server_id)
        captured = boot.capture(daemon, server_id, raw_work)
        raw_sockets = raw_root / "sockets"  # the daemon's guest keeps its display and serial sockets
        raw_sockets.mkdir(mode=0o700)
        captured.xml = captured.xml.replace(str(displays.socket_dir(daemon.data_dir)), str(raw_sockets))
        raw = boot.RawLibvirt(raw_root, raw_work, captured)
        raw.open()
        raw.boot(raw.prepare())
        wait_ready(raw_work / "slot0" / "console.log")
        dom = raw.doms[0]

        api, raw_times = [], []
        print(f"{args.runs} runs per side, poll every {args.poll_ms:g} ms; 1 GiB empty qcow2 volumes\n")
        for run in range(args.runs):
            api.append(api_attach(cloud, server_id, poll))
            raw_times.append(raw_attach(dom, raw_work))
            print(f"run {run + 1}: API {api[-1]:6.3f} s   raw {raw_times[-1]:6.3f} s")
        print(f"\n{raw.versions()}\n")
        print(f"{'figure (seconds)':<48} {'n':>3}  {'median':>8}  {'min':>8}  {'max':>8}")
        for label, values in (("a) API attach -> in-use", api), ("b) raw attachDeviceFlags(LIVE|CONFIG)", raw_times)):
            print(f"{label:<48} {len(values):>3}  {statistics.median(values):8.3f}  {min(values):8.3f}  "
                  f"{max(values):8.3f}")
        ratio = statistics.median(api) / statistics.median(raw_times)
        print(f"\na/b  API attach / raw hot-plug (medians)  {ratio:6.2f}x  (no target)")
        return 0
    finally:
        daemon.close()
        if raw is not None:
            raw.close()
        boot.kill_qemu_under(raw_root)
        for path in (tmp, raw_root, boot.TMP):
            shutil.rmtree(path, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
