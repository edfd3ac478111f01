"""Servers are real VMs: the test guest booted through the HTTP API reports what the API promised it.

One daemon on its own qemu:///embed root (TCG) for the module. The main guest is created with everything a user can
hand to a server (metadata, personality files, user data, a key pair, a flavor with ephemeral and swap disks) and is
then rebooted soft and hard, stopped and started, killed behind the daemon's back, kept alive across daemon restarts
(SIGTERM and SIGKILL) and deleted; the guest's own serial report is the proof at each step. Multiple create boots two
more guests. The tests run in file order and share the main guest, each checking the state it leaves behind.
"""
from __future__ import annotations

import os
import signal
import socket
import stat
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from nodecompute.domain.guest_channels import AGENT_CHANNEL
from tests.integration import guest_channel, host_views
from tests.integration.cloud import Cloud, b64, sha256

pytestmark = pytest.mark.integration

GIB = 1024 ** 3
MIB = 1024 ** 2
PUBLIC_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGzLeGBh5qrcaNdPSnh0a3bqXH7ypTM5VKOS1LSqZaHc guest@test"
FILES = {
    "/etc/nodecompute/motd": b"hello from personality\n",
    "/root/bin/run me.sh": b"#!/bin/sh\necho \xe2\x9c\x93\n\x00\xff binary tail",
}
USER_DATA = b"#cloud-config\nruncmd:\n  - echo user data reached the guest\n"
METADATA = {"role": "web server", "equation": "a=b", "greek": "\u03b1\u03b2\u03b3"}


@pytest.fixture(scope="module")
def image_id(cloud) -> str:
    """The test guest, with the command channel and the guest agent asked for (domain/guest_channels.py)."""
    return cloud.import_guest(properties={"nodecompute_test_channel": "yes", "hw_qemu_guest_agent": "yes"})


@pytest.fixture(scope="module")
def flavor(cloud) -> dict:
    body = {"flavor": {"name": "guest.disks", "ram": 128, "vcpus": 1, "disk": 1,
                       "OS-FLV-EXT-DATA:ephemeral": 1, "swap": 16}}
    resp = cloud.post("/flavors", body)
    assert resp.status_code == 200, resp.text
    return resp.json()["flavor"]


@pytest.fixture(scope="module")
def keypair(cloud) -> dict:
    resp = cloud.post("/os-keypairs", {"keypair": {"name": "guest key", "public_key": PUBLIC_KEY}})
    assert resp.status_code == 200, resp.text
    return resp.json()["keypair"]


@pytest.fixture(scope="module")
def main_guest(cloud, image_id, flavor, keypair) -> dict:
    """Created at 2.32 with the image -> local root mapping `openstack server create --image` sends, tagged."""
    resp = cloud.post("/servers", {"server": dict(
        name="Guest One", imageRef=image_id, flavorRef=flavor["id"], metadata=METADATA, key_name=keypair["name"],
        user_data=b64(USER_DATA), config_drive=True,
        personality=[{"path": path, "contents": b64(data)} for path, data in FILES.items()],
        block_device_mapping_v2=[{"boot_index": 0, "uuid": image_id, "source_type": "image",
                                  "destination_type": "local", "tag": "root"}],
    )}, headers={"X-OpenStack-Nova-API-Version": "2.32"})
    assert resp.status_code == 202, resp.text
    created = resp.json()
    server_id = created["server"]["id"]
    server = cloud.wait_status(server_id, "ACTIVE")
    report = cloud.wait_report(server_id)
    return {"id": server_id, "created": created, "server": server, "report": report}


def qemu_pid_of(daemon, server: dict) -> int:
    """The QEMU process running this server's domain (its -name is the instance name)."""
    name = server["OS-EXT-SRV-ATTR:instance_name"].encode()
    for pid in daemon.qemu_pids():
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            if b"guest=" + name + b"," in f.read():
                return pid
    raise AssertionError(f"no QEMU process for {name!r}: {daemon.qemu_pids()}")


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ", 1)[1][0] != "Z"
    except FileNotFoundError:
        return False


def action(cloud: Cloud, server_id: str, body: dict) -> None:
    resp = cloud.post(f"/servers/{server_id}/action", body)
    assert resp.status_code == 202, resp.text


def boot_count(cloud: Cloud, server_id: str) -> int:
    return len(cloud.boots(server_id))


def test_create_answers_the_minimal_body(main_guest, daemon):
    body = main_guest["created"]["server"]
    assert set(body) == {"id", "links", "OS-DCF:diskConfig", "security_groups", "adminPass"}
    assert body["links"][0]["href"] == f"{daemon.url}/compute/v2.1/servers/{main_guest['id']}"
    assert len(body["adminPass"]) == 12


def test_guest_reports_identity_and_metadata(main_guest):
    report = main_guest["report"]
    assert report.value("boot=") == "1"
    assert report.value("uuid=") == main_guest["id"]
    assert report.value("name=") == "Guest One"
    assert report.value("hostname=") == "guest-one.novalocal"
    assert report.value("az=") == "nova"
    assert sorted(report.values("meta ")) == sorted(f"{k}={v}" for k, v in METADATA.items())


def test_guest_sees_key_files_and_user_data(main_guest):
    report = main_guest["report"]
    assert report.values("key ") == [f"guest key {sha256(PUBLIC_KEY.encode())}"]
    assert sorted(report.values("file ")) == sorted(f"{path} {sha256(data)}" for path, data in FILES.items())
    assert report.value("userdata ") == sha256(USER_DATA)


def test_guest_disks_are_the_flavors(main_guest):
    assert main_guest["report"].value("disk ") == f"root={1 * GIB} ephemeral={1 * GIB} swap={16 * MIB}"


def assert_tagged_root_where_the_metadata_says(report) -> None:
    """The tagged local root in meta_data.json's `devices` (serial null: no volume), at the PCI address where the
    guest has its root disk; it booted from it although libvirt put the flavor's untagged ephemeral and swap disks
    at lower slots (libvirt gives the boot index of <boot dev='hd'/> to the domain's first disk, not the lowest)."""
    assert report.values("device ") == ["type=disk bus=pci address=0000:00:0c.0 serial=null tags=root"]
    roles = {line.split()[1]: line.split()[2] for line in report.values("disk-pci ")}
    assert roles["0000:00:0c.0"] == "root" and sorted(roles.values()) == ["ephemeral", "root", "swap"]


def test_the_tagged_root_is_where_the_device_metadata_says(main_guest):
    assert_tagged_root_where_the_metadata_says(main_guest["report"])


def test_guest_files_are_private(main_guest, daemon):
    """Disks, config drive and console log (which the running QEMU, root under qemu:///embed, appends to) are
    0600, their directories 0700; so is the embedded driver's root with QEMU's own logs (issue 6, item 5)."""
    inst = daemon.data_dir / "instances" / main_guest["id"]
    files = {p.name: oct(stat.S_IMODE(p.stat().st_mode)) for p in inst.iterdir()}
    assert {"disk", "disk.local", "disk.swap", "disk.config", "console.log"} <= set(files)
    assert set(files.values()) == {"0o600"}, files
    assert (inst / "console.log").stat().st_size > 0  # QEMU appended to the file we made
    for directory in (daemon.data_dir, inst.parent, inst, inst.parent / "_base", daemon.libvirt_root):
        assert stat.S_IMODE(directory.stat().st_mode) == 0o700, directory
    qemu_logs = list(daemon.libvirt_root.rglob("*.log"))
    assert qemu_logs and {oct(stat.S_IMODE(p.stat().st_mode)) for p in qemu_logs} == {"0o600"}


def test_show_tells_the_whole_server(main_guest, cloud, image_id, flavor, daemon):
    server = cloud.server(main_guest["id"])
    assert server["status"] == "ACTIVE" and server["OS-EXT-STS:vm_state"] == "active"
    assert server["OS-EXT-STS:power_state"] == 1 and server["OS-EXT-STS:task_state"] is None
    assert server["progress"] == 100
    assert server["image"]["id"] == image_id and server["flavor"]["id"] == flavor["id"]
    assert server["key_name"] == "guest key" and server["metadata"] == METADATA
    assert server["config_drive"] == "True" and server["OS-EXT-AZ:availability_zone"] == "nova"
    assert server["OS-SRV-USG:launched_at"] is not None and "fault" not in server
    assert server["OS-EXT-SRV-ATTR:instance_name"] in daemon.defined_domains()
    assert server["addresses"] == {}


def display_socket(daemon, server_id: str) -> Path:
    return daemon.data_dir / "vnc" / f"{server_id}.sock"


def assert_private_display(daemon, server_id: str) -> None:
    """The guest's VNC display is a UNIX socket only the daemon's user can open, and it answers."""
    path = display_socket(daemon, server_id)
    assert stat.S_ISSOCK(path.stat().st_mode) and stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    with socket.socket(socket.AF_UNIX) as client:
        client.settimeout(10)
        client.connect(str(path))
        assert client.recv(12) == b"RFB 003.008\n"


def test_display_is_a_unix_socket_and_no_tcp_port(main_guest, daemon):
    assert_private_display(daemon, main_guest["id"])
    with open(f"/proc/{qemu_pid_of(daemon, main_guest['server'])}/cmdline", "rb") as f:
        argv = f.read().split(b"\0")
    assert argv[argv.index(b"-vnc") + 1].startswith(b"vnc=unix:" + bytes(display_socket(daemon, main_guest["id"])))


def test_console_output_through_the_api_honours_length(main_guest, cloud):
    whole = cloud.console(main_guest["id"])
    assert f"NCGUEST uuid={main_guest['id']}" in whole
    tail = cloud.console(main_guest["id"], length=3)
    assert tail.splitlines() == whole.splitlines()[-3:]
    assert "NCGUEST ready" in "".join(tail.splitlines()[-3:])


def test_the_command_channel_runs_commands_in_the_guest(main_guest, cloud, daemon):
    """The image asked for the test channel and the agent: the guest found both ports at boot, a command sent on the
    channel's socket (beside the display's, mode 0600) is answered on the console log, and libvirt sees the agent."""
    report = main_guest["report"]
    assert [line.split()[0] for line in report.values("channel ")] == ["org.nodecompute.test.0"]
    assert "qga started" in report.lines
    server = cloud.server(main_guest["id"])
    path = guest_channel.channel_socket(daemon, server["OS-EXT-SRV-ATTR:instance_name"])
    assert path.parent == display_socket(daemon, main_guest["id"]).parent
    assert stat.S_ISSOCK(path.stat().st_mode) and stat.S_IMODE(path.stat().st_mode) == 0o600
    answer = guest_channel.run(cloud, daemon, server, "echo channel works; echo $((6 * 7)); exit 3")
    assert answer == guest_channel.Answer(3, ["channel works", "42"])
    agent_path, _ = guest_channel.domain_channels(daemon, server["OS-EXT-SRV-ATTR:instance_name"],
                                                  live=True)[AGENT_CHANNEL]
    assert agent_path and Path(agent_path).is_relative_to(daemon.libvirt_root)  # libvirt's own socket


def test_hypervisor_and_diagnostics_tell_the_host_and_the_guest(main_guest, cloud, daemon):
    host_views.check_hypervisor_and_diagnostics(cloud, daemon, main_guest["id"])  # issue 12


def test_host_views_with_the_stock_cli(main_guest, cloud, daemon, image_id, flavor):
    host_views.check_stock_cli(cloud, daemon, image_id, flavor["id"])  # issue 12


def test_soft_reboot_is_counted_by_the_guest(main_guest, cloud):
    before = boot_count(cloud, main_guest["id"])
    action(cloud, main_guest["id"], {"reboot": {"type": "SOFT"}})
    assert cloud.server(main_guest["id"])["status"] in ("REBOOT", "ACTIVE")
    cloud.wait_status(main_guest["id"], "ACTIVE")
    cloud.wait_report(main_guest["id"], count=before + 1)
    last = cloud.boots(main_guest["id"])[-1]
    assert last.value("boot=") == str(before + 1)
    assert last.value("uuid=") == main_guest["id"]


def test_hard_reboot_is_counted_by_the_guest(main_guest, cloud, daemon):
    before = boot_count(cloud, main_guest["id"])
    old_pid = qemu_pid_of(daemon, main_guest["server"])
    action(cloud, main_guest["id"], {"reboot": {"type": "HARD"}})
    server = cloud.wait_status(main_guest["id"], "ACTIVE")
    cloud.wait_report(main_guest["id"], count=before + 1)
    assert cloud.boots(main_guest["id"])[-1].value("boot=") == str(before + 1)
    assert qemu_pid_of(daemon, server) != old_pid  # a new QEMU: the domain was destroyed and started again
    assert_tagged_root_where_the_metadata_says(cloud.boots(main_guest["id"])[-1])


def test_state_rules_refuse_with_a_conflict(main_guest, cloud):
    resp = cloud.post(f"/servers/{main_guest['id']}/action", {"os-start": None})
    assert resp.status_code == 409, resp.text
    fault = resp.json()["conflictingRequest"]
    assert fault["code"] == 409
    assert fault["message"] == (f"Cannot 'start' instance {main_guest['id']} while it is in vm_state active")
    resp = cloud.post(f"/servers/{main_guest['id']}/action", {"reboot": {"type": "SOFTLY"}})
    assert resp.status_code == 400 and resp.json()["badRequest"]["code"] == 400


def test_stop_and_start(main_guest, cloud, daemon):
    before = boot_count(cloud, main_guest["id"])
    pid = qemu_pid_of(daemon, main_guest["server"])
    action(cloud, main_guest["id"], {"os-stop": None})
    server = cloud.wait_status(main_guest["id"], "SHUTOFF")
    assert server["OS-EXT-STS:power_state"] == 4 and server["OS-EXT-STS:vm_state"] == "stopped"
    deadline = time.monotonic() + 30
    while alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not alive(pid)
    assert guest_said_poweroff(cloud, main_guest["id"])  # it shut down cleanly on the ACPI button
    resp = cloud.post(f"/servers/{main_guest['id']}/action", {"os-stop": None})
    assert resp.status_code == 409
    action(cloud, main_guest["id"], {"os-start": None})
    cloud.wait_status(main_guest["id"], "ACTIVE")
    cloud.wait_report(main_guest["id"], count=before + 1)
    assert cloud.boots(main_guest["id"])[-1].value("boot=") == str(before + 1)
    assert_private_display(daemon, main_guest["id"])  # the new QEMU made it anew, and it is private again


def guest_said_poweroff(cloud: Cloud, server_id: str) -> bool:
    return cloud.boots(server_id)[-1].lines[-1] == "poweroff"


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL], ids=["SIGTERM", "SIGKILL"])
def test_guest_survives_daemon_stop_and_restart(main_guest, cloud, daemon, sig):
    pid = qemu_pid_of(daemon, main_guest["server"])
    code = daemon.stop(sig)
    assert code == (0 if sig == signal.SIGTERM else -signal.SIGKILL)
    time.sleep(1)
    assert alive(pid)
    daemon.start()
    fresh = Cloud(daemon)
    server = fresh.wait_status(main_guest["id"], "ACTIVE")
    assert server["OS-EXT-STS:power_state"] == 1
    assert qemu_pid_of(daemon, server) == pid
    assert f"NCGUEST uuid={main_guest['id']}" in fresh.console(main_guest["id"])


def test_guest_killed_behind_the_daemons_back_becomes_shutoff(main_guest, daemon):
    cloud = Cloud(daemon)
    before = boot_count(cloud, main_guest["id"])
    os.kill(qemu_pid_of(daemon, main_guest["server"]), signal.SIGKILL)
    server = cloud.wait_status(main_guest["id"], "SHUTOFF", timeout=60)  # after the 15 s stop-event grace
    assert server["OS-EXT-STS:power_state"] == 4
    action(cloud, main_guest["id"], {"os-start": None})
    cloud.wait_status(main_guest["id"], "ACTIVE")
    cloud.wait_report(main_guest["id"], count=before + 1)


def test_delete_removes_domain_and_files(main_guest, daemon):
    cloud = Cloud(daemon)
    server = cloud.server(main_guest["id"])
    name = server["OS-EXT-SRV-ATTR:instance_name"]
    pid = qemu_pid_of(daemon, server)
    instance_dir = daemon.data_dir / "instances" / main_guest["id"]
    assert instance_dir.is_dir()
    since = (datetime.now(timezone.utc) - timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    resp = cloud.delete(f"/servers/{main_guest['id']}")
    assert resp.status_code == 204, resp.text
    cloud.wait_gone(main_guest["id"])
    assert name not in daemon.defined_domains()
    assert not alive(pid)
    assert not instance_dir.exists()
    assert not display_socket(daemon, main_guest["id"]).exists()
    listed = cloud.get(f"/servers/detail?changes-since={since}").json()["servers"]
    assert [(s["id"], s["status"]) for s in listed if s["id"] == main_guest["id"]] == [(main_guest["id"], "DELETED")]


def test_delete_while_building_cancels_the_build(cloud, image_id, daemon):
    created = cloud.create_server(name="short-lived", imageRef=image_id, flavorRef="42")
    server_id = created["server"]["id"]
    assert cloud.delete(f"/servers/{server_id}").status_code == 204
    cloud.wait_gone(server_id)
    assert not (daemon.data_dir / "instances" / server_id).exists()
    names = [s["OS-EXT-SRV-ATTR:instance_name"] for s in cloud.get("/servers/detail").json()["servers"]]
    assert set(daemon.defined_domains()) <= set(names)


def test_a_name_ending_in_a_newline_boots(cloud, image_id, daemon):
    """Nova's name pattern lets a trailing newline through; libvirt refuses one in a domain <title>, so the name
    lives only in our metadata element (as Nova keeps it in nova:name)."""
    name = "trailing newline\n"
    server_id = cloud.create_server(name=name, imageRef=image_id, flavorRef="42")["server"]["id"]
    server = cloud.wait_status(server_id, "ACTIVE")
    assert server["name"] == name
    definition = daemon.libvirt_root / "etc" / "qemu" / f"{server['OS-EXT-SRV-ATTR:instance_name']}.xml"
    assert "<nodecompute:name>trailing newline\n</nodecompute:name>" in definition.read_text()
    assert cloud.delete(f"/servers/{server_id}").status_code == 204
    cloud.wait_gone(server_id)


def test_multiple_create_boots_two_guests_named_by_novas_rule(cloud, image_id, daemon):
    resp = cloud.post("/servers", {"server": {"name": "multi", "imageRef": image_id, "flavorRef": "42",
                                              "min_count": 2, "max_count": 2, "return_reservation_id": True}})
    assert resp.status_code == 202, resp.text
    reservation = resp.json()["reservation_id"]
    listed = cloud.get(f"/servers/detail?reservation_id={reservation}").json()["servers"]
    by_name = {s["name"]: s["id"] for s in listed}
    assert sorted(by_name) == ["multi-1", "multi-2"]
    for name, server_id in by_name.items():
        cloud.wait_status(server_id, "ACTIVE")
        report = cloud.wait_report(server_id)
        assert report.value("name=") == name and report.value("uuid=") == server_id
        assert report.value("hostname=") == f"{name}.novalocal"
    for server_id in by_name.values():
        assert cloud.delete(f"/servers/{server_id}").status_code == 204
    for server_id in by_name.values():
        cloud.wait_gone(server_id)
    assert daemon.defined_domains() == [] and daemon.qemu_pids() == []
    leftovers = [p.name for p in (daemon.data_dir / "instances").iterdir() if p.name != "_base"]
    assert leftovers == []


def test_deleting_the_image_never_breaks_its_server(cloud, daemon):
    image_id = cloud.import_guest(name="short-lived-image")
    server_id = cloud.create_server(name="orphaned-image", imageRef=image_id, flavorRef="42")["server"]["id"]
    cloud.wait_status(server_id, "ACTIVE")
    cloud.wait_report(server_id)
    assert cloud.delete(f"/images/{image_id}").status_code == 204
    assert cloud.get(f"/images/{image_id}").status_code == 404
    action(cloud, server_id, {"reboot": {"type": "HARD"}})  # QEMU reopens the overlay and its base
    cloud.wait_status(server_id, "ACTIVE")
    cloud.wait_report(server_id, count=2)
    last = cloud.boots(server_id)[-1]
    assert last.value("boot=") == "2" and last.value("uuid=") == server_id
    assert cloud.server(server_id)["image"]["id"] == image_id
    assert cloud.delete(f"/servers/{server_id}").status_code == 204
    cloud.wait_gone(server_id)
    assert daemon.defined_domains() == [] and daemon.qemu_pids() == []
    assert [p.name for p in (daemon.data_dir / "instances").iterdir() if p.name != "_base"] == []
