"""Volume attachments on the real daemon and a running test guest (issue 20), with the stock `openstack` CLI's
`server add volume` and `server remove volume`: the guest reports the hot-plugged disk with the API's size and the
volume's serial, writes a marker on it, lets it go on detach; the marker is in the volume's file; a volume made from
a snapshot of it carries the marker into the guest again; the domain's definition keeps an attached volume (a start
or reboot keeps it); SIGKILL right after a plug or an unplug leaves, after a restart, a volume whose status and
attachment say what the domain holds; swap (#1104) moves the running guest onto a larger volume with its data, and
the guest sees the new size; deleting the server leaves the volumes available with their data. One guest for the
module."""
from __future__ import annotations

import signal
import subprocess
import time
import xml.etree.ElementTree as ET

import pytest
import requests

from nodecompute.compute.guests import CRASH_ENV

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
    """Started with the test hook that SIGKILLs it right after its first plug: the module's first attach is the
    crash test's (a restart costs 5-20 s on a loaded host); a test that attaches for good restarts it without."""
    started = Daemon(tmp_path_factory.mktemp("attach"), extra="[volume]\ndetach_attempts = 3\n"
                                                             "detach_wait_seconds = 5.0\n",
                     env={CRASH_ENV: "volume_plugged"}).start()
    yield started
    started.close()  # the guests and networks too: they outlive the daemon by design


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


def restart(daemon: Daemon, crash_at: str | None = None) -> None:
    """Stop the daemon if it runs (its guests run on) and start it again, with the test hook that SIGKILLs it at a
    step (each hook fires only on its own step: one start serves the check of one crash and the next crash)."""
    started = time.monotonic()
    daemon.stop()
    daemon.env.pop(CRASH_ENV, None)
    if crash_at:
        daemon.env[CRASH_ENV] = crash_at
    daemon.start()
    print(f"restart ({crash_at or 'no hook'}): {time.monotonic() - started:.1f}s")


def test_sigkill_during_attach_and_detach_leaves_the_truth(daemon, cloud, guest):
    """The daemon dies right after the plug (attach) and right after the unplug (detach), before either is
    written down: after a restart the volume's status, the attachment and the domain agree with the guest."""
    server_id, instance = guest["id"], guest["OS-EXT-SRV-ATTR:instance_name"]
    started = time.monotonic()
    volume = new_volume(cloud, name="crash")
    path = str(daemon.data_dir / "volumes" / f"volume-{volume['id']}")
    seen = len(guest_lines(cloud.console(server_id)))
    if daemon.env.get(CRASH_ENV) != "volume_plugged":
        restart(daemon, "volume_plugged")
    with pytest.raises(requests.ConnectionError):
        cloud.post(f"/servers/{server_id}/os-volume_attachments", {"volumeAttachment": {"volumeId": volume["id"]}})
    assert daemon.wait_exit() == -signal.SIGKILL
    restart(daemon, "volume_unplugged")
    wait_line(cloud, server_id, f"disk-added vdb sectors={GiB // 512} serial={volume['id'][:20]} marker=none", seen)
    shown = wait_for(cloud, f"/volumes/{volume['id']}", "volume", "in-use")
    assert [a["device"] for a in shown["attachments"]] == ["/dev/vdb"]
    assert defined_disks(daemon, instance)["vdb"] == path

    seen = len(guest_lines(cloud.console(server_id)))
    try:  # 202 comes before the unplug that ends the daemon, unless the unplug is quicker than the answer
        cloud.delete(f"/servers/{server_id}/os-volume_attachments/{volume['id']}")
    except requests.ConnectionError:
        pass
    assert daemon.wait_exit() == -signal.SIGKILL
    restart(daemon)
    wait_line(cloud, server_id, "disk-removed vdb", seen)
    shown = wait_for(cloud, f"/volumes/{volume['id']}", "volume", "available")
    assert shown["attachments"] == [] and path not in defined_disks(daemon, instance).values()
    assert cloud.get(f"/servers/{server_id}/os-volume_attachments").json() == {"volumeAttachments": []}
    print(f"crash test: {time.monotonic() - started:.1f}s")


def test_attach_mark_detach_and_carry_the_marker_through_a_snapshot(daemon, cloud, guest, tmp_path):
    if daemon.env.get(CRASH_ENV):  # run on its own: the daemon still has the crash test's hook
        restart(daemon)
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

    # Swap (#1104, admin): the running guest's disk moves onto a larger volume with its data, and grows there.
    started = time.monotonic()
    bigger = new_volume(cloud, name="bigger", size=2)
    resp = cloud.request("PUT", f"/servers/{server_id}/os-volume_attachments/{copy['id']}",
                         json={"volumeAttachment": {"volumeId": bigger["id"]}})
    assert resp.status_code == 202, resp.text
    assert wait_for(cloud, f"/volumes/{bigger['id']}", "volume", "in-use")["attachments"][0]["device"] == "/dev/vdc"
    wait_for(cloud, f"/volumes/{copy['id']}", "volume", "available")
    assert defined_disks(daemon, instance)["vdc"] == str(daemon.data_dir / "volumes" / f"volume-{bigger['id']}")
    assert run(cloud, daemon, guest, "readmark vdb").out == ["hello-volume"]  # the data came along
    assert run(cloud, daemon, guest, "cat /sys/block/vdb/size").out == [str(2 * GiB // 512)]
    assert run(cloud, daemon, guest, "mark vdb after-swap").rc == 0
    print(f"swap step: {time.monotonic() - started:.1f}s")

    assert cloud.delete(f"/servers/{server_id}").status_code == 204
    cloud.wait_gone(server_id)
    for volume_id, marker in ((copy["id"], b"hello-volume"), (bigger["id"], b"after-swap")):
        left = wait_for(cloud, f"/volumes/{volume_id}", "volume", "available")
        assert left["attachments"] == []
        assert first_sector(daemon, volume_id, tmp_path).startswith(b"NCMARK:" + marker + b"\n")
