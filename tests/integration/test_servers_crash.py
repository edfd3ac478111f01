"""Crash safety and failure hygiene of server create, on the real daemon with real libvirt/QEMU.

1. The daemon SIGKILLs itself (test hook NODECOMPUTE_TEST_CRASH_AT) at each step of a build: row written, overlay
   made, config drive built, domain defined, domain started. After each restart the interrupted server is ERROR
   with the "build was abandoned" fault, no server is left in BUILD, and there is no orphan: no domain, no QEMU
   process, no instance directory, no base image that no live server uses. Deleting the ERROR server works.
2. Every rejection answers the exact Nova fault body, and every injected failure (qemu-img, libvirt) ends in an
   ERROR server with a fault; either way the server rows, the instance files, the base cache, the domains and the
   QEMU processes are compared before and after (`Snapshot`): nothing is created or left behind.
"""
from __future__ import annotations

import os
import re
import shutil
import signal
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests

from nodecompute.compute.guests import BUILD_STEPS, CRASH_ENV
from nodecompute.compute.reconcile import INTERRUPTED_BUILD
from tests.api.helpers import NOVA_FAULTS
from tests.integration.cloud import BOOT_TIMEOUT, Cloud
from tests.integration.daemon import Daemon

pytestmark = pytest.mark.integration

NANO = "42"  # m1.nano: 128 MB, 1 vcpu, 1 GB disk
EPOCH = "2000-01-01T00:00:00Z"  # changes-since this lists every row, deleted ones included
GLANCE_PATCH = "application/openstack-images-v2.1-json-patch"
ISO_Z = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
SHA256 = re.compile(r"^[0-9a-f]{64}$")


# ----- what the host holds: rows, instance files, base cache, domains, QEMU processes --------------------------------

@dataclass
class Snapshot:
    live: dict[str, dict]  # id -> the admin's server detail, every field
    deleted: dict[str, dict]  # id -> detail of soft-deleted rows (listed through changes-since)
    instance_files: dict[str, tuple] = field(default_factory=dict)  # under <data_dir>/instances, except _base
    base: dict[str, tuple] = field(default_factory=dict)  # <data_dir>/instances/_base/<sha256> -> (size, inode, mtime)
    domains: list[str] = field(default_factory=list)
    qemu: list[int] = field(default_factory=list)
    displays: list[str] = field(default_factory=list)  # VNC display sockets in <data_dir>/vnc

    def building(self) -> list[str]:
        return [sid for sid, s in self.live.items() if s["status"] == "BUILD"]


def _servers(cloud: Cloud, query: str) -> dict[str, dict]:
    resp = cloud.get(f"/servers/detail?{query}")
    assert resp.status_code == 200, resp.text
    assert "servers_links" not in resp.json()  # one page holds every row
    return {s["id"]: s for s in resp.json()["servers"]}


def _tree(root: Path) -> tuple[dict[str, tuple], dict[str, tuple]]:
    """(instance files, base cache) under `root`; file entries carry size, inode and mtime, directories only exist."""
    files: dict[str, tuple] = {}
    base: dict[str, tuple] = {}
    if not root.is_dir():
        return files, base
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root)
        st = path.lstat()
        entry = ("dir",) if path.is_dir() else ("file", st.st_size, st.st_ino, st.st_mtime_ns)
        if rel.parts[0] != "_base":
            files[str(rel)] = entry
        elif len(rel.parts) > 1:
            base[str(Path(*rel.parts[1:]))] = entry
    return files, base


def snapshot(cloud: Cloud) -> Snapshot:
    daemon = cloud.daemon
    live = _servers(cloud, "all_tenants=1")
    every = _servers(cloud, f"all_tenants=1&changes-since={EPOCH}")
    assert {sid: every.get(sid) for sid in live} == live, "changes-since must list the live rows as they are"
    deleted = {sid: s for sid, s in every.items() if sid not in live}
    assert all(s["status"] == "DELETED" for s in deleted.values()), deleted
    files, base = _tree(daemon.data_dir / "instances")
    sockets = daemon.data_dir / "vnc"
    return Snapshot(live=live, deleted=deleted, instance_files=files, base=base,
                    domains=daemon.defined_domains(), qemu=sorted(daemon.qemu_pids()),
                    displays=sorted(p.name for p in sockets.iterdir()) if sockets.is_dir() else [])


def assert_nothing_on_host(snap: Snapshot) -> None:
    """No live server and nothing that a server makes: the state every test starts from and returns to."""
    assert snap.live == {}
    assert snap.instance_files == {}
    assert snap.base == {}
    assert snap.domains == []
    assert snap.qemu == []
    assert snap.displays == []


def assert_only_new_row(before: Snapshot, after: Snapshot, new_id: str) -> None:
    """`after` is `before` plus the row `new_id`; files, base cache, domains and processes are untouched."""
    assert new_id not in before.live and new_id in after.live
    assert {sid: s for sid, s in after.live.items() if sid != new_id} == before.live
    assert after.deleted == before.deleted
    assert after.instance_files == before.instance_files
    assert after.base == before.base
    assert after.domains == before.domains
    assert after.qemu == before.qemu
    assert after.displays == before.displays


def stored_sha256(daemon: Daemon) -> str:
    """The content address of the (one) imported image: the name its base gets in the cache."""
    names = [p.name for p in (daemon.data_dir / "images").iterdir() if SHA256.match(p.name)]
    assert len(names) == 1, names
    return names[0]


def assert_nova_fault(resp: requests.Response, code: int, message: str) -> None:
    """tests/api/helpers.py::assert_fault over HTTP, and the body must be exactly Nova's."""
    assert resp.status_code == code, (resp.status_code, resp.text)
    assert resp.headers["Content-Type"].startswith("application/json"), resp.headers["Content-Type"]
    assert resp.headers["x-openstack-request-id"].startswith("req-")
    assert resp.headers["x-compute-request-id"] == resp.headers["x-openstack-request-id"]
    assert resp.json() == {NOVA_FAULTS[code]: {"code": code, "message": message}}


def delete_server(cloud: Cloud, server_id: str) -> None:
    resp = cloud.delete(f"/servers/{server_id}")
    assert resp.status_code == 204, resp.text
    cloud.wait_gone(server_id)
    assert cloud.get(f"/servers/{server_id}").status_code == 404


def delete_all(cloud: Cloud) -> None:
    """Cleanup of what a failed test may have left (the assertions are in the tests)."""
    for server_id in _servers(cloud, "all_tenants=1"):
        cloud.delete(f"/servers/{server_id}")


def failed_build(cloud: Cloud, message_part: str, **server) -> dict:
    """Create a server whose build must fail; return it, ERROR with a build fault naming the failure."""
    server_id = cloud.create_server(**server)["server"]["id"]
    shown = cloud.wait_status(server_id, "ERROR", timeout=120)
    assert shown["OS-EXT-STS:vm_state"] == "error"
    assert shown["OS-EXT-STS:power_state"] == 0
    fault = shown["fault"]
    assert fault["code"] == 500, fault
    assert fault["message"].startswith(f"Build of instance {server_id} failed: "), fault
    assert message_part in fault["message"], fault
    assert ISO_Z.match(fault["created"]), fault
    assert "Traceback" in fault["details"], fault  # the admin sees the details of a 500 fault
    return shown


def assert_failure_leaves_nothing(cloud: Cloud, sha256: str, message_part: str, **server) -> None:
    """Two failed builds. The first one starts from an empty host: afterwards only its ERROR row is left, and the
    base of its image, which stays cached while a live row (this ERROR server) uses the image. The second one
    starts from there and must change nothing but add its own row. Deleting both empties the host again."""
    empty = snapshot(cloud)
    assert_nothing_on_host(empty)
    first = failed_build(cloud, message_part, **server)
    held = snapshot(cloud)
    assert set(held.live) == {first["id"]}
    assert held.instance_files == {}, "the failed build left instance files"
    assert set(held.base) == {sha256}
    assert held.domains == [] and held.qemu == []
    second = failed_build(cloud, message_part, **server)
    assert_only_new_row(held, snapshot(cloud), second["id"])
    delete_server(cloud, first["id"])
    delete_server(cloud, second["id"])
    final = snapshot(cloud)
    assert_nothing_on_host(final)  # the base went with the last server using the image
    assert {first["id"], second["id"]} <= set(final.deleted)


# ----- 1. SIGKILL at each build step ---------------------------------------------------------------------------------

class CrashHost:
    """One data dir reused from step to step while each step leaves it clean; a fresh one after a failed step."""

    def __init__(self, tmp_path_factory) -> None:
        self.factory = tmp_path_factory
        self.daemons: list[Daemon] = []
        self.clean = False
        self.image_id: str | None = None

    def acquire(self) -> Daemon:
        if not self.daemons or not self.clean:
            self.daemons.append(Daemon(self.factory.mktemp("crash")))
            self.image_id = None
        self.clean = False
        return self.daemons[-1]

    def retire(self) -> None:
        for daemon in self.daemons:
            daemon.close()


@pytest.fixture(scope="module")
def crash_host(tmp_path_factory):
    host = CrashHost(tmp_path_factory)
    yield host
    host.retire()


@pytest.fixture
def crash_daemon(crash_host):
    daemon = crash_host.acquire()
    yield daemon
    daemon.env.pop(CRASH_ENV, None)
    daemon.stop()
    daemon.kill_guests()


def test_crash_steps_are_the_build_steps():
    assert BUILD_STEPS == ("row_written", "overlay_made", "drive_built", "domain_defined", "domain_started")


@pytest.mark.parametrize("step", BUILD_STEPS)
def test_sigkill_during_build_leaves_no_orphan(crash_host, crash_daemon, step):
    daemon = crash_daemon
    daemon.env[CRASH_ENV] = step
    daemon.start()
    cloud = Cloud(daemon)
    if crash_host.image_id is None:
        crash_host.image_id = cloud.import_guest()
    sha256 = stored_sha256(daemon)
    assert_nothing_on_host(snapshot(cloud))

    name = f"crash-{step}"
    try:
        resp = cloud.post("/servers", {"server": {"name": name, "imageRef": crash_host.image_id, "flavorRef": NANO}})
    except requests.ConnectionError:  # killed between the row and the answer
        assert step == "row_written"
        created_id = None
    else:
        assert resp.status_code == 202, resp.text
        created_id = resp.json()["server"]["id"]
    assert daemon.wait_exit(timeout=BOOT_TIMEOUT) == -signal.SIGKILL, daemon.log_tail()
    assert f"test hook: killing the daemon at build step {step}" in daemon.log_tail(200)

    # What the crash left behind, so the restart below has something real to clean up.
    leftover, base = _tree(daemon.data_dir / "instances")
    dirs = {path for path in leftover if "/" not in path}
    if step == "row_written":
        assert dirs == set() and base == {}
    else:
        assert len(dirs) == 1 and set(base) == {sha256}
        inst = dirs.pop()
        assert created_id is None or inst == created_id
        expected = {"disk", "console.log"} | ({"disk.config"} if step != "overlay_made" else set())
        assert {path.split("/", 1)[1] for path in leftover if "/" in path} == expected
        # the guest that outlived the daemon still has its display socket
        assert (daemon.data_dir / "vnc" / f"{inst}.sock").exists() == (step == "domain_started")
    assert len(daemon.defined_domains()) == (1 if step in ("domain_defined", "domain_started") else 0)
    assert len(daemon.qemu_pids()) == (1 if step == "domain_started" else 0)  # the guest outlived the daemon

    daemon.env.pop(CRASH_ENV)
    daemon.start()
    cloud = Cloud(daemon)
    after = snapshot(cloud)
    assert after.building() == []
    assert [s["name"] for s in after.live.values()] == [name]
    (server,) = after.live.values()
    assert created_id is None or server["id"] == created_id
    assert server["status"] == "ERROR"
    assert server["OS-EXT-STS:vm_state"] == "error" and server["OS-EXT-STS:task_state"] is None
    assert server["fault"]["code"] == 500 and server["fault"]["message"] == INTERRUPTED_BUILD, server["fault"]
    assert ISO_Z.match(server["fault"]["created"])
    assert after.domains == [], "a domain of the interrupted build is still defined"
    assert after.qemu == [], "the interrupted build's guest is still running"
    assert after.instance_files == {}, "an instance directory of the interrupted build is left"
    # The base stays cached while a live row (the ERROR server) uses its image, and only then.
    assert set(after.base) == (set() if step == "row_written" else {sha256})

    delete_server(cloud, server["id"])
    final = snapshot(cloud)
    assert_nothing_on_host(final)
    assert final.deleted[server["id"]]["status"] == "DELETED"
    assert daemon.stop() in (0, -signal.SIGTERM)
    crash_host.clean = True


# ----- 2. rejections and injected failures change nothing -----------------------------------------------------------

@dataclass
class Host:
    daemon: Daemon
    cloud: Cloud
    image_id: str
    sha256: str
    min_disk_image_id: str = ""
    cpu300_flavor_id: str = ""


def _set_quota(cloud: Cloud, **values: int) -> None:
    resp = cloud.request("PUT", f"/os-quota-sets/{cloud.project_id}", json={"quota_set": values})
    assert resp.status_code == 200, resp.text


@pytest.fixture(scope="module")
def host(tmp_path_factory):
    """A daemon whose scheduler lets a 300-vcpu server through (max_vcpus = 1000), so libvirt is the one to refuse."""
    daemon = Daemon(tmp_path_factory.mktemp("failures"), extra="max_vcpus = 1000\n")
    try:
        daemon.start()
        cloud = Cloud(daemon)
        image_id = cloud.import_guest()
        # The same content again, as an image asking for a 2 GB root disk (Glance min_disk).
        min_disk_image_id = cloud.import_guest("testguest-min-disk-2")
        resp = cloud.http.patch(f"{daemon.url}/image/v2/images/{min_disk_image_id}", timeout=30,
                                data='[{"op": "replace", "path": "/min_disk", "value": 2}]',
                                headers={"Content-Type": GLANCE_PATCH})
        assert resp.status_code == 200 and resp.json()["min_disk"] == 2, resp.text
        resp = cloud.post("/flavors", {"flavor": {"name": "cpu300", "ram": 64, "vcpus": 300, "disk": 1}})
        assert resp.status_code == 200, resp.text
        _set_quota(cloud, cores=1000)
        yield Host(daemon, cloud, image_id, stored_sha256(daemon), min_disk_image_id, resp.json()["flavor"]["id"])
    finally:
        daemon.close()


def test_libvirt_refusal_on_real_qemu_leaves_nothing(host):
    """pc-i440fx takes at most 255 vcpus: libvirt refuses to define the domain, after the disks and the config
    drive were made. The build must undo them."""
    cloud = host.cloud
    try:
        assert_failure_leaves_nothing(cloud, host.sha256, "Maximum CPUs greater than specified machine type limit",
                                      name="too-many-cpus", imageRef=host.image_id, flavorRef=host.cpu300_flavor_id)
    finally:
        delete_all(cloud)


def test_rejections_answer_nova_faults_and_change_nothing(host):
    cloud = host.cloud
    project = cloud.project_id
    no_image, no_network = str(uuid.uuid4()), str(uuid.uuid4())
    gib = 1 << 30
    rejections = [
        ({"flavorRef": "no-such-flavor"}, 400, "Flavor no-such-flavor could not be found."),
        ({"imageRef": no_image}, 400, "Can not find requested image"),
        ({"imageRef": host.min_disk_image_id}, 400,
         f"Flavor's disk is too small for requested image. Flavor disk is {gib} bytes, minimum requested disk is "
         f"{2 * gib} bytes."),
        # the holder below already uses one of the 10 instances
        ({"min_count": 11, "max_count": 12}, 403,
         "Quota exceeded for instances: Requested 11, but already used 1 of 10 instances"),
        ({"security_groups": [{"name": "web"}]}, 400, f"Security group web not found for project {project}."),
        ({"networks": [{"uuid": no_network}]}, 400, f"Network {no_network} could not be found."),
        ({"key_name": "no-such-key"}, 400, "Invalid key_name provided."),
        ({"personality": [{"path": "/etc/a-path-longer-than-16", "contents": "YQ=="}]}, 403,
         "Personality file path exceeds maximum 16"),
    ]
    try:
        assert_nothing_on_host(snapshot(cloud))
        # A live server holding the base of the image, so that "the base cache is unchanged" means something.
        holder = failed_build(cloud, "Maximum CPUs", name="holder", imageRef=host.image_id,
                              flavorRef=host.cpu300_flavor_id)
        _set_quota(cloud, injected_file_path_bytes=16)
        before = snapshot(cloud)
        assert set(before.live) == {holder["id"]} and set(before.base) == {host.sha256}
        for fields, code, message in rejections:
            body = {"server": {"name": "rejected", "imageRef": host.image_id, "flavorRef": NANO, **fields}}
            assert_nova_fault(cloud.post("/servers", body), code, message)
            assert snapshot(cloud) == before, fields
        delete_server(cloud, holder["id"])
        assert_nothing_on_host(snapshot(cloud))
    finally:
        _set_quota(cloud, injected_file_path_bytes=255)
        delete_all(cloud)


@pytest.fixture(scope="module")
def broken_qemu_img(tmp_path_factory):
    """A daemon whose PATH finds a qemu-img that fails `create` and runs the real one for everything else."""
    real = shutil.which("qemu-img")
    assert real is not None
    bindir = tmp_path_factory.mktemp("bin")
    wrapper = bindir / "qemu-img"
    wrapper.write_text(
        "#!/bin/sh\n"
        'if [ "$1" = create ]; then\n'
        '    echo "qemu-img: injected failure: No space left on device" >&2\n'
        "    exit 1\n"
        "fi\n"
        f'exec {real} "$@"\n'
    )
    wrapper.chmod(0o755)
    daemon = Daemon(tmp_path_factory.mktemp("qemuimg"), env={"PATH": f"{bindir}:{os.environ['PATH']}"})
    try:
        daemon.start()
        cloud = Cloud(daemon)
        image_id = cloud.import_guest()
        yield Host(daemon, cloud, image_id, stored_sha256(daemon))
    finally:
        daemon.close()


def test_qemu_img_failure_leaves_nothing(broken_qemu_img):
    host = broken_qemu_img
    try:
        assert_failure_leaves_nothing(host.cloud, host.sha256,
                                      "qemu-img failed (exit 1): qemu-img: injected failure: No space left on device",
                                      name="no-overlay", imageRef=host.image_id, flavorRef=NANO)
    finally:
        delete_all(host.cloud)
