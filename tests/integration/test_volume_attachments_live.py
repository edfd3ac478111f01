"""Volume attachments on the real daemon and a running test guest (issue 20), with the stock `openstack` CLI's
`server add volume` and `server remove volume`: the guest reports the hot-plugged disk with the API's size and the
volume's serial, writes a marker on it, lets it go on detach; the marker is in the volume's file; a volume made from
a snapshot of it carries the marker into the guest again; the domain's definition keeps an attached volume (a start
or reboot keeps it); deleting the server leaves the volume available with its data. One guest for the module."""
from __future__ import annotations

import subprocess
import time
import xml.etree.ElementTree as ET

import pytest

from tests.integration.cloud import Cloud, guest_lines
from tests.integration.daemon import Daemon
from tests.integration.guest_channel import run
from tests.integration.test_servers_clients import cli
from tests.integration.test_volumes_cli import volume_api, wait_for

pytestmark = pytest.mark.integration
GiB = 1 << 30
WAIT = 120.0


@pytest.fixture(scope="module")
def daemon(tmp_path_factory):
    started = Daemon(tmp_path_factory.mktemp("attach"), extra="[volume]\ndetach_attempts = 3\n"
                                                             "detach_wait_seconds = 5.0\n").start()
    yield started
    started.stop()


@pytest.fixture(scope="module")
def cloud(daemon) -> Cloud:
    return Cloud(daemon)


@pytest.fixture(scope="module")
def guest(cloud) -> dict:
    image_id = cloud.import_guest(properties={"nodecompute_test_channel": "yes"})
    resp = cloud.post("/flavors", {"flavor": {"name": "attach", "ram": 128, "vcpus": 1, "disk": 1}})
    assert resp.status_code == 200, resp.text
    flavor_id = resp.json()["flavor"]["id"]
    server_id = cloud.create_server(name="attach-guest", imageRef=image_id, flavorRef=flavor_id)["server"]["id"]
    cloud.wait_status(server_id, "ACTIVE")
    cloud.wait_report(server_id)
    return cloud.server(server_id)


def wait_line(cloud: Cloud, server_id: str, line: str, after: int) -> None:
    """Wait for `NCGUEST <line>` among the guest's report lines after the first `after` ones."""
    deadline = time.monotonic() + WAIT
    while line not in guest_lines(cloud.console(server_id))[after:]:
        assert time.monotonic() < deadline, f"no {line!r}: {guest_lines(cloud.console(server_id))[after:]}"
        time.sleep(0.3)


def new_volume(cloud: Cloud, **fields) -> dict:
    resp = volume_api(cloud, "POST", "/volumes", json={"volume": {"size": 1, **fields}})
    assert resp.status_code == 202, resp.text
    return wait_for(cloud, f"/volumes/{resp.json()['volume']['id']}", "volume", "available")


def first_sector(daemon: Daemon, volume_id: str, tmp_path) -> bytes:
    out = tmp_path / f"{volume_id}.head"
    subprocess.run(["qemu-img", "dd", "-f", "qcow2", "-O", "raw", "bs=512", "count=1",
                    f"if={daemon.data_dir / 'volumes' / f'volume-{volume_id}'}", f"of={out}"], check=True)
    return out.read_bytes()


def defined_disks(daemon: Daemon, instance_name: str) -> dict[str, str]:
    root = ET.parse(daemon.libvirt_root / "etc" / "qemu" / f"{instance_name}.xml").getroot()
    return {d.find("target").get("dev"): d.find("source").get("file") for d in root.findall("devices/disk")
            if d.find("source") is not None}


def test_attach_mark_detach_and_carry_the_marker_through_a_snapshot(daemon, cloud, guest, tmp_path):
    server_id, instance = guest["id"], guest["OS-EXT-SRV-ATTR:instance_name"]
    volume = new_volume(cloud, name="data")
    seen = len(guest_lines(cloud.console(server_id)))
    cli(daemon, "server", "add", "volume", server_id, volume["id"])
    wait_line(cloud, server_id, f"disk-added vdb sectors={GiB // 512} serial={volume['id'][:20]} marker=none", seen)
    resp = cloud.get(f"/servers/{server_id}/os-volume_attachments")
    assert resp.json()["volumeAttachments"] == [{"id": volume["id"], "volumeId": volume["id"], "serverId": server_id,
                                                 "device": "/dev/vdb"}]
    assert wait_for(cloud, f"/volumes/{volume['id']}", "volume", "in-use")["attachments"][0]["device"] == "/dev/vdb"
    assert defined_disks(daemon, instance)["vdb"] == str(daemon.data_dir / "volumes" / f"volume-{volume['id']}")
    assert run(cloud, daemon, guest, "mark vdb hello-volume").rc == 0

    seen = len(guest_lines(cloud.console(server_id)))
    cli(daemon, "server", "remove", "volume", server_id, volume["id"])
    wait_line(cloud, server_id, "disk-removed vdb", seen)
    wait_for(cloud, f"/volumes/{volume['id']}", "volume", "available")
    assert "vdb" not in defined_disks(daemon, instance)
    assert first_sector(daemon, volume["id"], tmp_path).startswith(b"NCMARK:hello-volume\n")

    resp = volume_api(cloud, "POST", "/snapshots", json={"snapshot": {"volume_id": volume["id"]}})
    assert resp.status_code == 202, resp.text
    snapshot = wait_for(cloud, f"/snapshots/{resp.json()['snapshot']['id']}", "snapshot", "available")
    copy = new_volume(cloud, name="copy", snapshot_id=snapshot["id"])
    seen = len(guest_lines(cloud.console(server_id)))
    resp = cloud.post(f"/servers/{server_id}/os-volume_attachments",
                      {"volumeAttachment": {"volumeId": copy["id"], "device": "/dev/vdc"}})
    assert resp.status_code == 200 and resp.json()["volumeAttachment"]["device"] == "/dev/vdc", resp.text
    wait_line(cloud, server_id, f"disk-added vdb sectors={GiB // 512} serial={copy['id'][:20]} "
                                "marker=hello-volume", seen)  # the guest's kernel names it by bus order

    assert cloud.delete(f"/servers/{server_id}").status_code == 204
    cloud.wait_gone(server_id)
    left = wait_for(cloud, f"/volumes/{copy['id']}", "volume", "available")
    assert left["attachments"] == []
    assert first_sector(daemon, copy["id"], tmp_path).startswith(b"NCMARK:hello-volume\n")
