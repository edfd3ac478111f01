"""Issue 18 on one real test guest through a real daemon (TCG), in file order: a file written into the running
guest is in a snapshot the stock CLI makes (`openstack server image create --wait`: libvirt's backup job on the
running disk), and a second server booted from that image reports it; a paused guest is snapshotted too (QEMU still
holds the disk's lock) and stays paused; three createBackup calls with rotation 2 leave the two newest backups;
changePassword sets root's password hash in the guest through its QEMU guest agent; a resize through the stock CLI
changes the memory, CPUs and disk the guest prints and a revert brings back the old disk as it was; a shelved guest
is offloaded (no QEMU) and unshelved with the file written before, and again through a daemon SIGKILLed between the
offload's undefine and its row (the offload is finished at restart); a daemon SIGKILLed in the middle of a snapshot
comes back with the server as it was, running, and no image or disk copy left.
A second guest, on a network, proves rebuild and rescue: the stock CLI's `openstack server rebuild --wait` gives it
a fresh root disk (its boot counter starts again, the file written before is gone) and a config drive with the new
user data, metadata and name, while it keeps its port and address; a daemon SIGKILLed mid-rebuild comes back and
finishes it; rescue boots a fresh copy of the image with the original disk second (the guest prints a file read
from it) and the rescue password on its drive; unrescue boots the original disk again; a resize (confirmed) and a
shelve-offload/unshelve keep its port and address, and the guest pings its network's DHCP address after every one
of these actions. Last, a daemon SIGKILLed mid-resize leaves the first guest off, in ERROR, with its old flavor.
The state rules and the failure paths: tests/api/test_server_images.py, test_server_admin_password.py,
test_server_resize.py, test_server_shelve.py, test_server_rebuild.py.
"""
from __future__ import annotations

import base64
import json
import subprocess
import time
from pathlib import Path

import pytest

from nodecompute.compute.guests import CRASH_ENV
from tests.integration import guest_channel
from tests.integration.cloud import Cloud, b64, guest_lines, sha256
from tests.integration.daemon import qemu_pids_under
from tests.integration.test_servers_clients import cli, cli_json

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def guest(admin) -> dict:
    image = admin.import_guest(properties={"nodecompute_test_channel": "yes", "hw_qemu_guest_agent": "yes"})
    server_id = admin.create_server(name="actions2", imageRef=image, flavorRef="42")["server"]["id"]
    admin.wait_status(server_id, "ACTIVE")
    admin.wait_report(server_id)
    return admin.server(server_id)


def act(cloud: Cloud, server_id: str, body: dict, version: str = "2.45") -> dict:
    resp = cloud.post(f"/servers/{server_id}/action", body, headers={"OpenStack-API-Version": f"compute {version}"})
    assert resp.status_code == 202, resp.text
    return resp.json() if resp.content else {}


def wait_image(cloud: Cloud, image_id: str, timeout: float = 120.0) -> dict:
    deadline = time.monotonic() + timeout
    while (image := cloud.http.get(f"{cloud.daemon.url}/image/v2/images/{image_id}", timeout=30).json()
           )["status"] != "active":
        assert image["status"] in ("queued", "saving") and time.monotonic() < deadline, image
        time.sleep(0.3)
    return image


def test_a_snapshot_of_the_running_guest_boots_a_server_that_has_its_file(guest, admin, daemon):
    assert guest_channel.run(admin, daemon, guest, "writefile snap1 before-snapshot").rc == 0
    made = cli_json(daemon, "server", "image", "create", "--name", "snap1", "--wait", guest["id"])
    image = wait_image(admin, made["id"])
    assert (image["image_type"], image["instance_uuid"], image["disk_format"]) == ("snapshot", guest["id"], "qcow2")
    assert admin.wait_status(guest["id"], "ACTIVE")["OS-EXT-STS:power_state"] == 1  # it ran on throughout
    second = admin.create_server(name="from-snap1", imageRef=made["id"], flavorRef="42")["server"]["id"]
    admin.wait_status(second, "ACTIVE")
    report = admin.wait_report(second)
    assert report.values("rootfile ") == ["snap1 before-snapshot"]
    assert report.value("uuid=") == second
    assert report.value("boot=") == "2"  # the boot counter lives on the root disk: the snapshot's 1, plus this boot
    assert admin.delete(f"/servers/{second}").status_code == 204


def test_a_paused_guest_is_snapshotted_and_stays_paused(guest, admin):
    act(admin, guest["id"], {"pause": None})
    admin.wait_status(guest["id"], "PAUSED")
    image_id = act(admin, guest["id"], {"createImage": {"name": "paused"}})["image_id"]
    image = wait_image(admin, image_id)
    assert image["virtual_size"] == 1 << 30 and image["size"] > 0
    assert admin.wait_status(guest["id"], "PAUSED")["OS-EXT-STS:power_state"] == 3
    act(admin, guest["id"], {"unpause": None})
    admin.wait_status(guest["id"], "ACTIVE")


def test_three_backups_with_rotation_two_leave_the_two_newest(guest, admin):
    made = []
    for index in range(3):
        body = {"createBackup": {"name": f"nightly-{index}", "backup_type": "nightly", "rotation": 2}}
        made.append(act(admin, guest["id"], body)["image_id"])
        admin.wait_status(guest["id"], "ACTIVE")
    query = f"{admin.daemon.url}/image/v2/images?instance_uuid={guest['id']}&image_type=backup"
    backups = admin.http.get(query, timeout=30).json()["images"]
    assert {i["id"] for i in backups} == set(made[1:])
    assert {(i["backup_type"], i["status"]) for i in backups} == {("nightly", "active")}


def test_change_password_sets_the_guests_root_password_through_the_agent(guest, admin, daemon):
    before = guest_channel.run(admin, daemon, guest, "pwhash root")
    assert before.rc == 0 and not before.out[0].startswith("$6$")  # locked until the agent sets one
    act(admin, guest["id"], {"changePassword": {"adminPass": "n3w-Secret"}})
    assert admin.server(guest["id"])["status"] == "ACTIVE"  # done when answered (Nova's call, not a cast)
    after = guest_channel.run(admin, daemon, guest, "pwhash root").out[0]
    salt = after.split("$")[2]
    expected = subprocess.run(["openssl", "passwd", "-6", "-salt", salt, "n3w-Secret"], capture_output=True,
                              text=True, check=True).stdout.strip()
    assert after == expected  # SHA-512 crypt of the new password


def _latest_boot(cloud: Cloud, server_id: str, readies: int):
    cloud.wait_report(server_id, count=readies)
    boot = cloud.boots(server_id)[-1]
    return (int(boot.value("mem total_kb=")), boot.value("cpus="), int(boot.value("disk root=").split()[0]),
            set(boot.values("rootfile ")))


def test_resize_changes_the_memory_and_disk_the_guest_prints_and_revert_restores_both(guest, admin, daemon):
    flavor = {"flavor": {"name": "nano-up", "ram": 256, "vcpus": 2, "disk": 2, "id": "nano-up"}}
    assert admin.post("/flavors", flavor).status_code == 200
    readies = guest_lines(admin.console(guest["id"])).count("ready")
    mem, cpus, disk, files = _latest_boot(admin, guest["id"], readies)
    assert (cpus, disk) == ("1", 1 << 30)
    cli(daemon, "server", "resize", "--flavor", "nano-up", "--wait", guest["id"])  # waits for VERIFY_RESIZE
    assert admin.server(guest["id"])["status"] == "VERIFY_RESIZE"
    grown = _latest_boot(admin, guest["id"], readies + 1)
    assert grown[0] - mem >= 100 * 1024 and grown[1:3] == ("2", 2 << 30)  # 128 MiB more, a 2 GiB disk
    assert files <= grown[3]  # the same root file system (with what was written since the last boot)
    assert guest_channel.run(admin, daemon, guest, "writefile after-resize on-the-grown-disk").rc == 0
    act(admin, guest["id"], {"revertResize": None})
    admin.wait_status(guest["id"], "ACTIVE")
    reverted = _latest_boot(admin, guest["id"], readies + 2)
    assert abs(reverted[0] - mem) < 1024  # the kernel's own share varies by a page or so between boots
    assert reverted[1:] == ("1", 1 << 30, grown[3])  # the old disk as it was: without the after-resize file
    assert admin.server(guest["id"])["flavor"]["id"] == "42"


def test_shelve_offload_leaves_no_qemu_and_unshelve_boots_the_same_disk(guest, admin, daemon):
    assert guest_channel.run(admin, daemon, guest, "writefile shelf before-shelve").rc == 0
    readies = guest_lines(admin.console(guest["id"])).count("ready")
    act(admin, guest["id"], {"shelve": None})  # offloaded at once (shelved_offload_time 0, Nova's default)
    server = admin.wait_status(guest["id"], "SHELVED_OFFLOADED")
    assert (server["OS-EXT-SRV-ATTR:host"], qemu_pids_under(Path(guest["id"]))) == (None, [])  # QEMU names it
    shelved = admin.http.get(f"{daemon.url}/image/v2/images?name={guest['name']}-shelved", timeout=30).json()
    assert [i["status"] for i in shelved["images"]] == ["active"]
    act(admin, guest["id"], {"unshelve": None})
    admin.wait_status(guest["id"], "ACTIVE")
    assert "shelf before-shelve" in _latest_boot(admin, guest["id"], readies + 1)[3]
    gone = admin.http.get(f"{daemon.url}/image/v2/images/{shelved['images'][0]['id']}", timeout=30)
    assert gone.status_code == 404  # deleted once unshelved, as Nova does


def test_a_daemon_killed_mid_offload_comes_back_offloaded_and_unshelves_the_kept_disk(guest, admin, daemon):
    """SIGKILL with the domain and the disks gone but the row not yet SHELVED_OFFLOADED (crash point
    shelve_offloaded): at restart the offload is done again, and unshelve boots what the shelve image kept."""
    assert guest_channel.run(admin, daemon, guest, "writefile shelf2 before-the-kill").rc == 0
    readies = guest_lines(admin.console(guest["id"])).count("ready")
    assert daemon.stop() == 0
    daemon.env[CRASH_ENV] = "shelve_offloaded"
    try:
        daemon.start()
        act(Cloud(daemon), guest["id"], {"shelve": None})
        assert daemon.wait_exit() == -9  # SIGKILLed between the offload's undefine and its row
    finally:
        del daemon.env[CRASH_ENV]
    assert qemu_pids_under(Path(guest["id"])) == []
    daemon.start()
    cloud = Cloud(daemon)
    server = cloud.wait_status(guest["id"], "SHELVED_OFFLOADED")
    assert (server["OS-EXT-STS:task_state"], server["OS-EXT-SRV-ATTR:host"]) == (None, None)
    assert not (daemon.data_dir / "instances" / guest["id"] / "disk").exists()
    act(cloud, guest["id"], {"unshelve": None})
    cloud.wait_status(guest["id"], "ACTIVE")
    assert "shelf2 before-the-kill" in _latest_boot(cloud, guest["id"], readies + 1)[3]


def test_a_daemon_killed_mid_snapshot_comes_back_with_the_server_as_it_was(guest, admin, daemon):
    images_before = {i["id"] for i in admin.http.get(f"{daemon.url}/image/v2/images", timeout=30).json()["images"]}
    qemu = daemon.qemu_pids()
    assert daemon.stop() == 0
    daemon.env[CRASH_ENV] = "snapshot_copied"
    try:
        daemon.start()
        cloud = Cloud(daemon)
        act(cloud, guest["id"], {"createImage": {"name": "cut-short"}})
        assert daemon.wait_exit() == -9  # SIGKILLed with the copy made and the image saving
    finally:
        del daemon.env[CRASH_ENV]
    assert list((daemon.data_dir / "images").glob(".*snapshot-*"))  # the copy it left
    daemon.start()
    cloud = Cloud(daemon)
    server = cloud.wait_status(guest["id"], "ACTIVE")
    assert (server["OS-EXT-STS:task_state"], server["OS-EXT-STS:power_state"]) == (None, 1)
    assert daemon.qemu_pids() == qemu  # the guest ran on through both
    images = cloud.http.get(f"{daemon.url}/image/v2/images", timeout=30).json()["images"]
    assert {i["id"] for i in images} == images_before
    assert not list((daemon.data_dir / "images").glob(".*snapshot-*"))


def _neutron(cloud: Cloud, method: str, path: str, body: dict | None = None, status: int = 200) -> dict:
    resp = cloud.http.request(method, f"{cloud.daemon.url}/networking/v2.0{path}", json=body, timeout=60)
    assert resp.status_code == status, resp.text
    return resp.json() if resp.content else {}


@pytest.fixture(scope="module")
def net_guest(guest, admin, daemon) -> dict:
    """A guest with a config drive on a network of its own (the module's image), booted once."""
    network = _neutron(admin, "POST", "/networks", {"network": {"name": "rebuildnet"}}, 201)["network"]
    cidr = next(daemon.subnet_range.subnets(new_prefix=25))
    _neutron(admin, "POST", "/subnets", {"subnet": {"network_id": network["id"], "ip_version": 4,
                                                    "cidr": str(cidr)}}, 201)
    body = {"name": "rebuilt", "imageRef": guest["image"]["id"], "flavorRef": "42", "config_drive": True,
            "networks": [{"uuid": network["id"]}]}
    resp = admin.post("/servers", {"server": body}, headers={"OpenStack-API-Version": "compute 2.90"})
    assert resp.status_code == 202, resp.text
    server_id = resp.json()["server"]["id"]
    admin.wait_status(server_id, "ACTIVE")
    report = admin.wait_report(server_id)
    assert report.value("boot=") == "1" and report.value("nic eth0 ")
    return admin.server(server_id)


def _last_boot(cloud: Cloud, server_id: str, boots: int):
    cloud.wait_report(server_id, count=boots)
    found = cloud.boots(server_id)
    assert len(found) == boots, [report.lines[:2] for report in found]
    return found[-1]


def _pings_its_network(cloud: Cloud, daemon, server: dict) -> None:
    """The guest pings its network's DHCP address (answered in the network's own namespace): the action left the
    guest plugged into its network, its tap and filter rules in place."""
    (port,) = _neutron(cloud, "GET", f"/ports?device_id={server['id']}")["ports"]
    (dhcp,) = _neutron(cloud, "GET", f"/ports?network_id={port['network_id']}&device_owner=network:dhcp")["ports"]
    answer = guest_channel.run(cloud, daemon, server, f"ping -c 1 -W 2 {dhcp['fixed_ips'][0]['ip_address']}")
    assert answer.rc == 0, answer


def _port(cloud: Cloud, server_id: str) -> tuple[str, str, str]:
    (port,) = _neutron(cloud, "GET", f"/ports?device_id={server_id}")["ports"]
    return port["id"], port["mac_address"], port["fixed_ips"][0]["ip_address"]


def test_the_cli_rebuild_gives_a_fresh_disk_and_drive_and_keeps_the_address(net_guest, admin, daemon, tmp_path):
    server_id = net_guest["id"]
    port = _port(admin, server_id)
    first = admin.boots(server_id)[0]
    assert guest_channel.run(admin, daemon, net_guest, "writefile old gone-after-rebuild").rc == 0
    user_data = tmp_path / "user-data"
    user_data.write_bytes(b"#!/bin/sh\necho rebuilt-by-the-cli\n")
    out = cli(daemon, "server", "rebuild", "--image", net_guest["image"]["id"], "--name", "rebuilt-cli", "--property",
              "role=rebuilt", "--user-data", str(user_data), "--wait", server_id, "-f", "json").stdout
    shown = json.loads(out[out.index("{"):])  # after --wait's "Complete" line
    assert shown["id"] == server_id and shown["name"] == "rebuilt-cli"
    server = admin.wait_status(server_id, "ACTIVE")
    assert (server["OS-EXT-STS:power_state"], server["metadata"]) == (1, {"role": "rebuilt"})
    boot = _last_boot(admin, server_id, 2)
    assert boot.value("boot=") == "1" and boot.values("rootfile ") == []  # a fresh root disk
    assert boot.value("userdata ") == sha256(user_data.read_bytes())
    assert (boot.value("name="), boot.values("meta ")) == ("rebuilt-cli", ["role=rebuilt"])
    assert boot.value("uuid=") == server_id and boot.value("nic eth0 ") == first.value("nic eth0 ")
    assert _port(admin, server_id) == port and port[2] in boot.value("nic eth0 ")  # the same port and address
    _pings_its_network(admin, daemon, net_guest)
    actions = admin.get(f"/servers/{server_id}/os-instance-actions").json()["instanceActions"]
    assert actions[0]["action"] == "rebuild"


def test_a_daemon_killed_mid_rebuild_comes_back_and_finishes_it(net_guest, admin, daemon):
    server_id = net_guest["id"]
    instance_dir = daemon.data_dir / "instances" / server_id
    assert daemon.stop() == 0
    daemon.env[CRASH_ENV] = "rebuild_staged"
    try:
        daemon.start()
        body = {"rebuild": {"imageRef": net_guest["image"]["id"], "user_data": b64(b"after the crash")}}
        act(Cloud(daemon), server_id, body, "2.57")
        assert daemon.wait_exit() == -9  # SIGKILLed with the new disks staged, the guest still running
    finally:
        del daemon.env[CRASH_ENV]
    assert (instance_dir / "rebuild.new" / "disk").exists()
    daemon.start()
    cloud = Cloud(daemon)
    server = cloud.wait_status(server_id, "ACTIVE")
    assert (server["OS-EXT-STS:task_state"], server["OS-EXT-STS:power_state"]) == (None, 1)
    boot = _last_boot(cloud, server_id, 3)
    assert boot.value("boot=") == "1" and boot.value("userdata ") == sha256(b"after the crash")
    assert not (instance_dir / "rebuild.new").exists()
    assert sorted(p.name for p in instance_dir.iterdir()) == ["console.log", "disk", "disk.config"]
    _pings_its_network(cloud, daemon, net_guest)


# The file `keep` on the original disk, wherever the guest's init mounted it (it finds its root by label, and both
# disks carry the label NCROOT): as mounted, else mounted read-only for this.
READ_ORIGINAL = ("grep -q '^/dev/vdb ' /proc/mounts || "
                 "{ mkdir -p /mnt/orig && mount -t vfat -o ro /dev/vdb /mnt/orig; }; "
                 "cat \"$(awk '$1 == \"/dev/vdb\" { print $2; exit }' /proc/mounts)/ncfiles/keep\"")
IMAGE_SECTORS, ROOT_SECTORS = "sectors=65536", "sectors=2097152"  # the image's 32 MiB; flavor 42's 1 GiB root


def test_rescue_boots_the_image_with_the_original_disk_second_and_unrescue_boots_it_again(net_guest, admin,
                                                                                          daemon):
    server_id = net_guest["id"]
    assert guest_channel.run(admin, daemon, net_guest, "writefile keep rescued-from-vdb").rc == 0
    resp = admin.post(f"/servers/{server_id}/action", {"rescue": {"adminPass": "R3scue-pw"}})
    assert (resp.status_code, resp.json()) == (200, {"adminPass": "R3scue-pw"})
    server = admin.wait_status(server_id, "RESCUE")
    assert (server["OS-EXT-STS:vm_state"], server["OS-EXT-STS:power_state"]) == ("rescued", 1)
    boot = _last_boot(admin, server_id, 4)
    disks = {line.split()[0]: line.split()[1] for line in boot.values("disk-present ")}
    assert disks == {"vda": IMAGE_SECTORS, "vdb": ROOT_SECTORS}  # a fresh copy of the image first, the root second
    assert json.loads(base64.b64decode(boot.value("metajson ")))["admin_pass"] == "R3scue-pw"  # the rescue drive
    read = guest_channel.run(admin, daemon, net_guest, READ_ORIGINAL)
    assert (read.rc, read.out) == (0, ["rescued-from-vdb"])  # the guest read its file on the original disk
    _pings_its_network(admin, daemon, net_guest)  # the rescue guest is on the server's network
    act(admin, server_id, {"unrescue": None})
    admin.wait_status(server_id, "ACTIVE")
    boot = _last_boot(admin, server_id, 5)
    assert boot.values("disk-present ") == [f"vda {ROOT_SECTORS} serial=none marker=none"]  # its own disk again
    assert boot.values("rootfile ") == ["keep rescued-from-vdb"]
    assert boot.value("nic eth0 ").startswith(f"mac={_port(admin, server_id)[1]} ip={_port(admin, server_id)[2]}/")
    assert not (daemon.data_dir / "instances" / server_id / "disk.rescue").exists()
    _pings_its_network(admin, daemon, net_guest)


def test_the_networked_guest_keeps_its_address_and_pings_after_resize_and_unshelve(net_guest, admin, daemon):
    """Resize (confirmed) and shelve-offload/unshelve of the guest on a network: the same port and address after
    each, the guest up again on them and pinging its network."""
    server_id = net_guest["id"]
    port = _port(admin, server_id)
    flavor = {"flavor": {"name": "nano-net", "ram": 192, "vcpus": 1, "disk": 1, "id": "nano-net"}}
    assert admin.post("/flavors", flavor).status_code == 200
    boots = len(admin.boots(server_id))
    act(admin, server_id, {"resize": {"flavorRef": "nano-net"}})
    admin.wait_status(server_id, "VERIFY_RESIZE")
    resp = admin.post(f"/servers/{server_id}/action", {"confirmResize": None})
    assert resp.status_code == 204, resp.text
    admin.wait_status(server_id, "ACTIVE")
    boot = _last_boot(admin, server_id, boots + 1)
    assert _port(admin, server_id) == port and boot.value("nic eth0 ").startswith(f"mac={port[1]} ip={port[2]}/")
    _pings_its_network(admin, daemon, net_guest)
    act(admin, server_id, {"shelve": None})
    admin.wait_status(server_id, "SHELVED_OFFLOADED")
    act(admin, server_id, {"unshelve": None})
    admin.wait_status(server_id, "ACTIVE")
    boot = _last_boot(admin, server_id, boots + 2)
    assert _port(admin, server_id) == port and boot.value("nic eth0 ").startswith(f"mac={port[1]} ip={port[2]}/")
    _pings_its_network(admin, daemon, net_guest)


def test_a_daemon_killed_mid_resize_comes_back_with_the_old_server_and_a_fault(guest, admin, daemon):
    """Last: the guest ends powered off, in ERROR (a hard reboot would boot it again, tests/api/
    test_server_resize.py shows that on the test driver)."""
    instance = daemon.data_dir / "instances" / guest["id"]
    assert daemon.stop() == 0
    daemon.env[CRASH_ENV] = "resize_disks_kept"
    try:
        daemon.start()
        act(Cloud(daemon), guest["id"], {"resize": {"flavorRef": "nano-up"}})
        assert daemon.wait_exit() == -9  # SIGKILLed with the guest off and its disks kept
    finally:
        del daemon.env[CRASH_ENV]
    assert (instance / "before-resize" / "disk").exists()
    daemon.start()
    cloud = Cloud(daemon)
    server = cloud.wait_status(guest["id"], "ERROR")
    assert (server["flavor"]["id"], server["OS-EXT-STS:task_state"]) == ("42", None)
    assert "resize was rolled back" in server["fault"]["message"]
    assert not (instance / "before-resize").exists() and qemu_pids_under(Path(guest["id"])) == []
    migrations = cloud.get(f"/os-migrations?instance_uuid={guest['id']}",
                           headers={"OpenStack-API-Version": "compute 2.23"}).json()["migrations"]
    assert [m["status"] for m in migrations][:2] == ["error", "reverted"]
