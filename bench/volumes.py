#!/usr/bin/env python3
"""Block storage latency: volume create (empty, and from a 1 GiB image) and snapshot through the daemon's API, next
to the raw qemu-img calls that make the same files, in the same run.

    .venv/bin/python bench/volumes.py [--runs 5] [--poll-ms 20]

A freshly started `nodecompute serve` (temp data dir; libvirt's test driver: volumes need no hypervisor) gets a
1 GiB raw image of random bytes through the Glance API. Then, per run, alternating with the raw calls so background
load hits both alike:
a) empty:      POST /volume/v3/<p>/volumes {size 1}, polled (GET every --poll-ms) until `available`,
               vs `qemu-img create -f qcow2 <file> 1G`;
b) from image: the same with imageRef (the daemon converts the stored raw image into a standalone qcow2),
               vs `qemu-img convert -f raw -O qcow2 <image> <file>`;
c) snapshot:   POST /snapshots of the volume from (b), until `available`,
               vs `qemu-img convert -f qcow2 -O qcow2 <volume> <file>`.
Each raw call is also reported with an fsync of its file after it (the daemon fsyncs every file it makes before the
volume is `available`: a 1 GiB copy is then bound by the disk, not by qemu-img).
Each API volume and snapshot is deleted (and waited for) before the next run; the raw files are removed.

What the API pays beyond the raw call: the request and the rows, `qemu-img measure` (the free space check),
`qemu-img info` of the source, fsync of the file and its directory, the link to its final name, and the poll
interval. No target is set; the ratios are reported (README "Benchmarks").
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.integration.cloud import Cloud  # noqa: E402
from tests.integration.daemon import Daemon  # noqa: E402

GiB = 1 << 30
TIMEOUT = 300.0


@dataclass
class Figures:
    name: str
    values: list[float] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(self.values)

    def row(self) -> str:
        v = self.values
        return f"{self.name:<38} {len(v):>3}  {self.median:8.3f}  {min(v):8.3f}  {max(v):8.3f}"


class Volumes:
    def __init__(self, cloud: Cloud, poll: float) -> None:
        self.cloud = cloud
        self.poll = poll
        self.root = f"{cloud.daemon.url}/volume/v3/{cloud.project_id}"

    def call(self, method: str, path: str, status: int, **kw) -> dict:
        resp = self.cloud.http.request(method, self.root + path, timeout=60, **kw)
        if resp.status_code != status:
            raise RuntimeError(f"{method} {path}: {resp.status_code} {resp.text}")
        return resp.json() if resp.content else {}

    def until(self, path: str, key: str, status: str, start: float) -> float:
        while True:
            found = self.call("GET", path, 200)[key]
            if found["status"] == status:
                return time.perf_counter() - start
            if found["status"].startswith("error") or time.perf_counter() - start > TIMEOUT:
                raise RuntimeError(f"{path}: {found['status']}")
            time.sleep(self.poll)

    def create(self, **volume) -> tuple[float, str]:
        start = time.perf_counter()
        made = self.call("POST", "/volumes", 202, json={"volume": {"size": 1, **volume}})["volume"]
        return self.until(f"/volumes/{made['id']}", "volume", "available", start), made["id"]

    def snapshot(self, volume_id: str) -> tuple[float, str]:
        start = time.perf_counter()
        made = self.call("POST", "/snapshots", 202, json={"snapshot": {"volume_id": volume_id}})["snapshot"]
        return self.until(f"/snapshots/{made['id']}", "snapshot", "available", start), made["id"]

    def delete(self, kind: str, item_id: str) -> None:
        self.call("DELETE", f"/{kind}/{item_id}", 202)
        deadline = time.perf_counter() + TIMEOUT
        while self.cloud.http.get(f"{self.root}/{kind}/{item_id}", timeout=60).status_code != 404:
            if time.perf_counter() > deadline:
                raise TimeoutError(f"{kind} {item_id} still there")
            time.sleep(self.poll)


def timed(*argv: str, synced: Path | None = None) -> tuple[float, float]:
    """(seconds of the command, seconds of the command and an fsync of `synced`: what the daemon does to make a
    volume durable before it says `available`)."""
    start = time.perf_counter()
    subprocess.run(argv, check=True)
    ran = time.perf_counter() - start
    if synced is not None:
        fd = os.open(synced, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    return ran, time.perf_counter() - start


def random_raw(path: Path, size: int) -> None:
    with open(path, "wb") as f:
        for _ in range(size // (64 << 20)):
            f.write(os.urandom(64 << 20))


def upload(cloud: Cloud, path: Path) -> str:
    url = f"{cloud.daemon.url}/image/v2/images"
    image = cloud.http.post(url, json={"name": "bench-1g", "disk_format": "raw", "container_format": "bare"},
                            timeout=60).json()
    with open(path, "rb") as f:
        resp = cloud.http.put(f"{url}/{image['id']}/file", data=f, timeout=600,
                              headers={"Content-Type": "application/octet-stream"})
    if resp.status_code != 204:
        raise RuntimeError(f"upload: {resp.status_code} {resp.text}")
    return image["id"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--poll-ms", type=int, default=20)
    parser.add_argument("--keep", action="store_true", help="keep the temp dir")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="nc-bench-volumes-"))
    (tmp / "data").mkdir()
    daemon = Daemon(tmp / "data", libvirt_uri="test:///default", log_level="INFO")
    figures = {name: Figures(name) for name in (
        "API create empty", "raw qemu-img create", "raw qemu-img create + fsync", "API create from 1 GiB image",
        "raw qemu-img convert image", "raw qemu-img convert image + fsync", "API snapshot",
        "raw qemu-img convert volume", "raw qemu-img convert volume + fsync")}

    def raw(name: str, argv: tuple[str, ...]) -> None:
        made = next(Path(arg) for arg in reversed(argv) if arg.startswith(str(tmp)))
        ran, synced = timed(*argv, synced=made)
        figures[name].values.append(ran)
        figures[name + " + fsync"].values.append(synced)

    try:
        daemon.start()
        cloud = Cloud(daemon)
        volumes = Volumes(cloud, args.poll_ms / 1000)
        source = tmp / "image.raw"
        random_raw(source, GiB)
        image_id = upload(cloud, source)
        print(f"1 GiB raw image of random bytes uploaded as {image_id}", flush=True)
        for run in range(args.runs):
            seconds, empty = volumes.create()
            figures["API create empty"].values.append(seconds)
            raw("raw qemu-img create", ("qemu-img", "create", "-q", "-f", "qcow2", str(tmp / "raw-empty.qcow2"), "1G"))
            seconds, from_image = volumes.create(imageRef=image_id)
            figures["API create from 1 GiB image"].values.append(seconds)
            raw("raw qemu-img convert image", ("qemu-img", "convert", "-q", "-f", "raw", "-O", "qcow2", str(source),
                                               str(tmp / "raw-from-image.qcow2")))
            seconds, snapshot = volumes.snapshot(from_image)
            figures["API snapshot"].values.append(seconds)
            raw("raw qemu-img convert volume", ("qemu-img", "convert", "-q", "-f", "qcow2", "-O", "qcow2",
                                                str(tmp / "raw-from-image.qcow2"), str(tmp / "raw-snapshot.qcow2")))
            volumes.delete("snapshots", snapshot)
            for volume_id in (empty, from_image):
                volumes.delete("volumes", volume_id)
            for name in ("raw-empty.qcow2", "raw-from-image.qcow2", "raw-snapshot.qcow2"):
                (tmp / name).unlink()
            print(f"run {run + 1}/{args.runs} done", flush=True)
    finally:
        daemon.stop()
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)
    print(f"\n{'figure (seconds)':<38} {'n':>3}  {'median':>8}  {'min':>8}  {'max':>8}")
    for figure in figures.values():
        print(figure.row())
    print()
    for api, plain in (("API create empty", "raw qemu-img create"),
                       ("API create from 1 GiB image", "raw qemu-img convert image"),
                       ("API snapshot", "raw qemu-img convert volume")):
        ratio = figures[api].median / figures[plain].median
        synced = figures[api].median / figures[plain + " + fsync"].median
        print(f"{api}: {ratio:.2f}x the raw call, {synced:.2f}x the raw call + fsync")
    return 0


if __name__ == "__main__":
    sys.exit(main())
