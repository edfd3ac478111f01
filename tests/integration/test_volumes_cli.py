"""Block storage on the real daemon with the stock `openstack` CLI (issue 19): volume create (empty and from the test
image), snapshot create, a volume from that snapshot, volume list, set, delete, image create --volume, quota show and
limits show, found through the catalog's block-storage entry. The files are read back: the volume made from the test
image, and the one made from a snapshot of it, have the image's bytes (qemu-img compare), and so does the image
uploaded from the volume. Then a SIGKILL while a volume is being made from an image, and a restart: the volume says
`error` and no file is left."""
from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from nodecompute.db.store import connect
from tests.integration.cloud import Cloud, guest_image
from tests.integration.daemon import Daemon
from tests.integration.test_servers_clients import cli, cli_json

pytestmark = pytest.mark.integration
WAIT = 120.0
NO_GUESTS = "test:///default"  # block storage needs no hypervisor: libvirt's test driver opens in milliseconds


@pytest.fixture(scope="module")
def daemon(tmp_path_factory):
    """The real daemon, on libvirt's test driver (an embedded QEMU driver takes seconds to open)."""
    started = Daemon(tmp_path_factory.mktemp("volumes"), libvirt_uri=NO_GUESTS).start()
    yield started
    started.close()  # the guests and networks too: they outlive the daemon by design


def volume_api(cloud: Cloud, method: str, path: str, **kw):
    return cloud.http.request(method, f"{cloud.daemon.url}/volume/v3/{cloud.project_id}{path}", timeout=60, **kw)


def wait_for(cloud: Cloud, path: str, key: str, *wanted: str) -> dict:
    deadline = time.monotonic() + WAIT
    while True:
        resp = volume_api(cloud, "GET", path)
        assert resp.status_code == 200, resp.text
        found = resp.json()[key]
        if found["status"] in wanted:
            return found
        assert found["status"] not in ("error", "error_deleting") and time.monotonic() < deadline, found
        time.sleep(0.2)


def wait_gone(cloud: Cloud, path: str) -> None:
    deadline = time.monotonic() + WAIT
    while volume_api(cloud, "GET", path).status_code != 404:
        assert time.monotonic() < deadline, path
        time.sleep(0.2)


def same_content(first: Path, first_format: str, second: Path, second_format: str) -> bool:
    done = subprocess.run(["qemu-img", "compare", "-q", "-f", first_format, "-F", second_format, str(first),
                           str(second)])
    assert done.returncode in (0, 1), done
    return done.returncode == 0


def test_stock_cli_volumes_snapshots_images_and_quotas(daemon):
    """The nine commands of the issue through the CLI; the rest (uploads, waits, reads) through the API."""
    cloud = Cloud(daemon)
    volumes_dir = daemon.data_dir / "volumes"
    image_id = cloud.import_guest("volguest")
    empty = cli_json(daemon, "volume", "create", "--size", "1", "vol-empty")
    assert (empty["size"], empty["status"], empty["type"]) == (1, "creating", "__DEFAULT__")
    from_image = cli_json(daemon, "volume", "create", "--image", "volguest", "--size", "1", "vol-image")
    wait_for(cloud, f"/volumes/{empty['id']}", "volume", "available")
    made = wait_for(cloud, f"/volumes/{from_image['id']}", "volume", "available")
    assert made["bootable"] == "true" and made["volume_image_metadata"]["image_id"] == image_id
    assert same_content(volumes_dir / f"volume-{from_image['id']}", "qcow2", guest_image(), "qcow2")

    snapshot = cli_json(daemon, "volume", "snapshot", "create", "--volume", "vol-image", "snap")
    wait_for(cloud, f"/snapshots/{snapshot['id']}", "snapshot", "available")
    resp = volume_api(cloud, "POST", "/volumes", json={"volume": {"snapshot_id": snapshot["id"], "size": 2,
                                                                  "name": "vol-snap"}})
    assert resp.status_code == 202, resp.text
    from_snapshot = wait_for(cloud, f"/volumes/{resp.json()['volume']['id']}", "volume", "available")
    assert same_content(volumes_dir / f"volume-{from_snapshot['id']}", "qcow2", guest_image(), "qcow2")

    listed = cli_json(daemon, "volume", "list")
    assert sorted((v["Name"], v["Status"], v["Size"]) for v in listed) == [
        ("vol-empty", "available", 1), ("vol-image", "available", 1), ("vol-snap", "available", 2)]
    cli(daemon, "volume", "set", "--name", "renamed", "--description", "set by the CLI", "--property", "k=v",
        "vol-empty")
    shown = wait_for(cloud, f"/volumes/{empty['id']}", "volume", "available")
    assert (shown["name"], shown["description"], shown["metadata"]) == ("renamed", "set by the CLI", {"k": "v"})

    # qcow2: the default raw would store (and hash) the whole 1 GiB, seconds of md5 alone; the conversion to raw is
    # covered by the adapter's tests (tests/unit/test_storage_volumes.py)
    uploaded = cli_json(daemon, "image", "create", "--volume", "vol-image", "--disk-format", "qcow2", "from-volume")
    assert (uploaded["status"], uploaded["disk_format"], uploaded["volume_type"]) == ("uploading", "qcow2",
                                                                                      "__DEFAULT__")
    wait_for(cloud, f"/volumes/{from_image['id']}", "volume", "available")
    glance = cloud.http.get(f"{daemon.url}/image/v2/images/{uploaded['image_id']}", timeout=30).json()
    assert (glance["name"], glance["status"], glance["disk_format"]) == ("from-volume", "active", "qcow2")
    stored = daemon.data_dir / "images" / _sha256(daemon, uploaded["image_id"])
    assert same_content(stored, "qcow2", guest_image(), "qcow2")

    quotas = {row["Resource"]: row["Limit"] for row in cli_json(daemon, "quota", "show")}
    assert (quotas["volumes"], quotas["gigabytes"], quotas["snapshots"], quotas["volumes___DEFAULT__"]) == (
        10, 1000, 10, -1)
    limits = {row["Name"]: row["Value"] for row in cli_json(daemon, "limits", "show", "--absolute")}
    assert (limits["total_volumes_used"], limits["total_gigabytes_used"], limits["total_snapshots_used"]) == (3, 5, 1)
    assert limits["max_total_volumes"] == 10

    assert volume_api(cloud, "DELETE", f"/snapshots/{snapshot['id']}").status_code == 202
    wait_gone(cloud, f"/snapshots/{snapshot['id']}")
    cli(daemon, "volume", "delete", "renamed", "vol-image", "vol-snap")
    for volume in (empty, from_image, from_snapshot):
        wait_gone(cloud, f"/volumes/{volume['id']}")
    assert volume_api(cloud, "GET", "/volumes").json()["volumes"] == []
    assert sorted(p.name for p in volumes_dir.iterdir()) == []


def _sha256(daemon: Daemon, image_id: str) -> str:
    """The stored file of an image is named by its sha256 (the Glance API shows sha512 and md5)."""
    db = connect(daemon.data_dir / "nodecompute.db")
    try:
        return db.execute("SELECT content_sha256 FROM images WHERE id = ?", [image_id]).fetchone()[0]
    finally:
        db.close()


def slow_qemu_img(directory: Path) -> Path:
    """A qemu-img whose `convert` really converts, records its pid, then hangs: the partial file is complete but
    never linked, as when the daemon dies in the middle of a copy."""
    wrapper_dir = directory / "slow-bin"
    wrapper_dir.mkdir()
    wrapper = wrapper_dir / "qemu-img"
    real = subprocess.run(["which", "qemu-img"], check=True, capture_output=True, text=True).stdout.strip()
    wrapper.write_text(
        "#!/bin/sh\n"
        f'if [ "$1" = convert ]; then {real} "$@" || exit 2; echo $$ > {directory}/convert.pid; exec sleep 300; fi\n'
        f'exec {real} "$@"\n')
    wrapper.chmod(0o755)
    return wrapper_dir


def test_sigkill_while_a_volume_is_made_from_an_image_then_restart(tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("volcrash")
    slow = slow_qemu_img(data_dir)
    daemon = Daemon(data_dir, libvirt_uri=NO_GUESTS, env={"PATH": f"{slow}:{os.environ['PATH']}"}).start()
    pid_file, hanging = data_dir / "convert.pid", None
    try:
        cloud = Cloud(daemon)
        image_id = cloud.import_guest("crashguest")
        resp = volume_api(cloud, "POST", "/volumes", json={"volume": {"size": 1, "imageRef": image_id}})
        assert resp.status_code == 202, resp.text
        volume_id = resp.json()["volume"]["id"]
        deadline = time.monotonic() + WAIT
        while not pid_file.exists() or not pid_file.read_text().strip():
            assert time.monotonic() < deadline, daemon.log_tail()
            time.sleep(0.1)
        hanging = int(pid_file.read_text())
        partials = [p.name for p in (data_dir / "volumes").iterdir()]
        assert len(partials) == 1 and partials[0].startswith(f".partial-volume-{volume_id}.")
        assert volume_api(cloud, "GET", f"/volumes/{volume_id}").json()["volume"]["status"] == "creating"
        daemon.stop(signal.SIGKILL)
    finally:
        if hanging is not None:
            os.kill(hanging, signal.SIGKILL)  # the hanging qemu-img this test started (its `sleep`)
        daemon.stop()
    restarted = Daemon(data_dir, libvirt_uri=NO_GUESTS).start()
    try:
        cloud = Cloud(restarted)
        shown = volume_api(cloud, "GET", f"/volumes/{volume_id}").json()["volume"]
        assert shown["status"] == "error"
        assert list((data_dir / "volumes").iterdir()) == []
        assert "partial volume files left by an interrupted write" in restarted.log_tail(200)
        assert volume_api(cloud, "DELETE", f"/volumes/{volume_id}").status_code == 202
        wait_gone(cloud, f"/volumes/{volume_id}")
    finally:
        restarted.stop()
