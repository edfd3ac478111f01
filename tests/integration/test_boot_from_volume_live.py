"""Boot from volume on the real daemon (issue 20): a server boots from a volume made from the test image with an
ephemeral and a swap disk from its mappings (the guest reports its config drive, its root disk: the volume, vda, the
ephemeral disk by its label and the swap disk with their sizes, and the tagged volume, ephemeral and swap disks in
meta_data.json's devices, each at the PCI address where the guest has that disk; its
a 2.93 rebuild re-images the root volume: the guest boots a fresh disk; its createImage is a snapshot of the running
volume, and a server boots from that image); another's tagged SCSI local disk and IDE volume are in its `devices`
as Nova lists them (no address); the stock `openstack` CLI's
`server create --boot-from-volume 1 --wait` and `server create --volume` reach ACTIVE; deleting the servers honours
delete_on_termination (the CLI's --boot-from-volume volume goes only when asked; --volume's stays, available).
K5 (issue 25): the test image imported as vmdk through /k5/v1/imageimport boots through /k5 from a volume; its
guest reads the metadata service, gets back its own marker through fcx-restore, and runs again after its QEMU is
killed while the daemon is down (fcx.autofailover).
One daemon for the module; two guests are watched to their reports, the CLI's two only to ACTIVE."""
from __future__ import annotations

import base64
import hashlib
import os
import signal
import subprocess
import time
import uuid
import xml.etree.ElementTree as ET

import pytest

from tests.integration import guest_channel
from tests.integration.cloud import BOOT_TIMEOUT, GUEST_IMAGE, Cloud, guest_lines
from tests.integration.daemon import Daemon
from tests.integration.test_servers_clients import cli_json
from tests.integration.test_volumes_cli import volume_api, wait_for

pytestmark = pytest.mark.integration
GiB = 1 << 30


@pytest.fixture(scope="module")
def daemon(tmp_path_factory):
    started = Daemon(tmp_path_factory.mktemp("bfv")).start()
    yield started
    started.close()  # the guests and networks too: they outlive the daemon by design


@pytest.fixture(scope="module")
def image_id(cloud) -> str:
    return cloud.import_guest(properties={"nodecompute_test_channel": "yes"})


@pytest.fixture(scope="module")
def flavor_id(cloud) -> str:
    """No local disk at all: a volume-backed server needs none (Nova's rule for zero-disk flavors)."""
    resp = cloud.post("/flavors", {"flavor": {"name": "bfv", "ram": 128, "vcpus": 1, "disk": 0}})
    assert resp.status_code == 200, resp.text
    return resp.json()["flavor"]["id"]


def defined_disks(daemon: Daemon, instance_name: str) -> dict[str, str]:
    root = ET.parse(daemon.libvirt_root / "etc" / "qemu" / f"{instance_name}.xml").getroot()
    return {d.find("target").get("dev"): d.find("source").get("file") for d in root.findall("devices/disk")
            if d.find("source") is not None}


def volume_status(cloud: Cloud, volume_id: str) -> int:
    return volume_api(cloud, "GET", f"/volumes/{volume_id}").status_code


def test_a_guest_boots_from_a_volume_made_from_the_image(daemon, cloud, image_id):
    started = time.monotonic()
    resp = cloud.post("/flavors", {"flavor": {"name": "bfv-local", "ram": 128, "vcpus": 1, "disk": 0,
                                              "OS-FLV-EXT-DATA:ephemeral": 1, "swap": 32}})
    assert resp.status_code == 200, resp.text
    flavor_id = resp.json()["flavor"]["id"]
    resp = cloud.post("/servers", {"server": {
        "name": "bfv-guest", "imageRef": "", "flavorRef": flavor_id, "config_drive": True, "networks": "none",
        "block_device_mapping_v2": [{"boot_index": 0, "uuid": image_id, "source_type": "image",
                                     "destination_type": "volume", "volume_size": 1, "delete_on_termination": True,
                                     "tag": "root"},
                                    # an ephemeral (the flavor's size) and a swap disk (MiB) from the mappings
                                    {"source_type": "blank", "destination_type": "local", "guest_format": "ext4",
                                     "tag": "scratch"},
                                    {"source_type": "blank", "destination_type": "local", "guest_format": "swap",
                                     "volume_size": 16, "tag": "swap"}]}},
        headers={"X-OpenStack-Nova-API-Version": "2.42"})
    assert resp.status_code == 202, resp.text
    server_id = resp.json()["server"]["id"]
    server = cloud.wait_status(server_id, "ACTIVE")
    assert server["image"] == ""
    report = cloud.wait_report(server_id)
    assert (report.value("boot="), report.value("uuid=")) == ("1", server_id)  # read off its config drive
    # the 1 GiB volume (not the image's size), the ephemeral disk the guest finds by its label, the swap disk
    assert report.value("disk ") == f"root={GiB} ephemeral={GiB} swap={16 << 20}"
    volume_id = server["os-extended-volumes:volumes_attached"][0]["id"]
    # the tagged root volume and local disks in meta_data.json's `devices` (2.42; a local disk's serial is null),
    # each at the PCI address where the guest has that disk (its kernel names them in PCI order, vda the disk at
    # 0d, not as the domain's targets: hence the tags)
    assert report.values("device ") == [f"type=disk bus=pci address=0000:00:18.0 serial={volume_id} tags=root",
                                        "type=disk bus=pci address=0000:00:0d.0 serial=null tags=scratch",
                                        "type=disk bus=pci address=0000:00:0e.0 serial=null tags=swap"]
    roles = {line.split()[1]: line.split()[2] for line in report.values("disk-pci ")}
    assert {address: roles[address] for address in ("0000:00:18.0", "0000:00:0d.0", "0000:00:0e.0")} == {
        "0000:00:18.0": "root", "0000:00:0d.0": "ephemeral", "0000:00:0e.0": "swap"}
    volume = wait_for(cloud, f"/volumes/{volume_id}", "volume", "in-use")
    assert [a["device"] for a in volume["attachments"]] == ["/dev/vda"]
    disks = defined_disks(daemon, cloud.server(server_id)["OS-EXT-SRV-ATTR:instance_name"])
    assert disks["vda"] == str(daemon.data_dir / "volumes" / f"volume-{volume_id}")
    # 2.93: rebuild re-images the root volume (the same volume) from the image: the guest boots a fresh disk, its
    # boot counter (kept on the root file system) starts again at 1
    seen, rebuild_started = len(guest_lines(cloud.console(server_id))), time.monotonic()
    resp = cloud.post(f"/servers/{server_id}/action", {"rebuild": {"imageRef": image_id}},
                      headers={"X-OpenStack-Nova-API-Version": "2.93"})
    assert resp.status_code == 202, resp.text
    assert cloud.wait_status(server_id, "ACTIVE")["os-extended-volumes:volumes_attached"][0]["id"] == volume_id
    deadline = time.monotonic() + BOOT_TIMEOUT
    while "ready" not in (after := guest_lines(cloud.console(server_id))[seen:]):
        assert time.monotonic() < deadline, after
        time.sleep(0.5)
    assert [line for line in after if line.startswith("boot=")] == ["boot=1"]
    print(f"2.93 rebuild re-imaged the root volume: {time.monotonic() - rebuild_started:.1f}s")
    # createImage of the running guest: its volume's snapshot through libvirt's backup job, an image of size 0
    resp = cloud.post(f"/servers/{server_id}/action", {"createImage": {"name": "bfv-snap"}},
                      headers={"X-OpenStack-Nova-API-Version": "2.45"})
    assert resp.status_code == 202, resp.text
    image = cloud.get(f"/images/{resp.json()['image_id']}").json()["image"]
    assert (image["status"], image["OS-EXT-IMG-SIZE:size"]) == ("ACTIVE", 0)
    from_snapshot = cloud.create_server(name="from-snap", imageRef=image["id"], flavorRef=flavor_id)["server"]["id"]
    again = cloud.wait_status(from_snapshot, "ACTIVE")
    made = wait_for(cloud, f"/volumes/{again['os-extended-volumes:volumes_attached'][0]['id']}", "volume", "in-use")
    assert made["snapshot_id"] and made["bootable"] == "true"
    for gone in (server_id, from_snapshot):
        assert cloud.delete(f"/servers/{gone}").status_code == 204
        cloud.wait_gone(gone)
    deadline = time.monotonic() + 60
    while volume_status(cloud, made["id"]) != 404:  # delete_on_termination (the image's mapping kept it)
        assert time.monotonic() < deadline
        time.sleep(0.2)
    # the first root volume has the image's snapshot: Cinder refuses its deletion, Nova logs it, it stays
    assert wait_for(cloud, f"/volumes/{volume_id}", "volume", "available")["attachments"] == []
    print(f"boot from volume, guest report, delete: {time.monotonic() - started:.1f}s")


def test_tagged_disks_on_other_buses_are_listed_as_novas_without_an_address(daemon, cloud, image_id):
    """A tagged local disk on SCSI and a tagged volume on IDE: in meta_data.json's `devices` with their bus and no
    address, as Nova's libvirt driver lists them (it formats no drive address), after the tagged root volume at its
    pinned PCI slot; the domain has them on those buses (libvirt adds the SCSI controller)."""
    resp = cloud.post("/flavors", {"flavor": {"name": "bfv-buses", "ram": 128, "vcpus": 1, "disk": 0,
                                              "OS-FLV-EXT-DATA:ephemeral": 1}})
    assert resp.status_code == 200, resp.text
    resp = cloud.post("/servers", {"server": {
        "name": "bfv-buses", "imageRef": "", "flavorRef": resp.json()["flavor"]["id"], "config_drive": True,
        "networks": "none",
        "block_device_mapping_v2": [{"boot_index": 0, "uuid": image_id, "source_type": "image",
                                     "destination_type": "volume", "volume_size": 1, "delete_on_termination": True,
                                     "tag": "root"},
                                    {"source_type": "blank", "destination_type": "local", "guest_format": "ext4",
                                     "disk_bus": "scsi", "tag": "scratch"},
                                    {"source_type": "blank", "destination_type": "volume", "volume_size": 1,
                                     "disk_bus": "ide", "delete_on_termination": True, "tag": "db"}]}},
        headers={"X-OpenStack-Nova-API-Version": "2.42"})
    assert resp.status_code == 202, resp.text
    server_id = resp.json()["server"]["id"]
    server = cloud.wait_status(server_id, "ACTIVE")
    report = cloud.wait_report(server_id)
    assert report.value("boot=") == "1"
    volumes = {volume_api(cloud, "GET", f"/volumes/{v['id']}").json()["volume"]["bootable"]: v["id"]
               for v in server["os-extended-volumes:volumes_attached"]}
    assert report.values("device ") == [f"type=disk bus=pci address=0000:00:18.0 serial={volumes['true']} tags=root",
                                        "type=disk bus=scsi address=none serial=null tags=scratch",
                                        f"type=disk bus=ide address=none serial={volumes['false']} tags=db"]
    root = ET.parse(daemon.libvirt_root / "etc" / "qemu" / f"{server['OS-EXT-SRV-ATTR:instance_name']}.xml").getroot()
    buses = [d.find("target").get("bus") for d in root.findall("devices/disk")]
    assert sorted(buses) == ["ide", "ide", "scsi", "virtio"]  # the root volume, scratch, db and the config drive
    assert root.find("devices/controller[@type='scsi']") is not None
    assert cloud.delete(f"/servers/{server_id}").status_code == 204
    cloud.wait_gone(server_id)
    deadline = time.monotonic() + 60
    while any(volume_status(cloud, volume_id) != 404 for volume_id in volumes.values()):  # delete_on_termination
        assert time.monotonic() < deadline
        time.sleep(0.2)


def test_the_stock_cli_boots_from_volumes(daemon, cloud, image_id, flavor_id):
    started = time.monotonic()
    made = cli_json(daemon, "server", "create", "--image", image_id, "--flavor", flavor_id, "--boot-from-volume",
                    "1", "--wait", "cli-bfv")
    assert (made["status"], made["image"]) == ("ACTIVE", "N/A (booted from volume)")
    made_volume = cloud.server(made["id"])["os-extended-volumes:volumes_attached"][0]["id"]

    resp = volume_api(cloud, "POST", "/volumes", json={"volume": {"size": 1, "imageRef": image_id,
                                                                  "name": "cli-root"}})
    assert resp.status_code == 202, resp.text
    root = wait_for(cloud, f"/volumes/{resp.json()['volume']['id']}", "volume", "available")
    given = cli_json(daemon, "server", "create", "--volume", root["id"], "--flavor", flavor_id, "--wait",
                     "cli-volume")
    assert given["status"] == "ACTIVE"
    assert wait_for(cloud, f"/volumes/{root['id']}", "volume", "in-use")["attachments"][0]["device"] == "/dev/vda"
    for server_id in (made["id"], given["id"]):
        assert cloud.delete(f"/servers/{server_id}").status_code == 204
        cloud.wait_gone(server_id)
    assert wait_for(cloud, f"/volumes/{root['id']}", "volume", "available")["attachments"] == []
    assert wait_for(cloud, f"/volumes/{made_volume}", "volume", "available")  # the CLI asked no deletion
    print(f"CLI --boot-from-volume and --volume: {time.monotonic() - started:.1f}s")


def k5_import_of_the_test_image_as_vmdk(daemon: Daemon, cloud: Cloud) -> str:
    """The test image converted to vmdk (qemu-img), put where K5's object paths resolve (<data_dir>/objects until
    object storage exists) and imported with its SHA1 through /k5/v1/imageimport (#2401): the image's id."""
    container = daemon.data_dir / "objects" / cloud.project_id / "uploads"
    container.mkdir(parents=True)
    vmdk = container / "guest.vmdk"
    subprocess.run(["qemu-img", "convert", "-f", "qcow2", "-O", "vmdk", str(GUEST_IMAGE), str(vmdk)], check=True)
    auth = daemon.cloud()["auth"]
    image_id = str(uuid.uuid4())
    made = cloud.http.post(f"{daemon.url}/k5/v1/imageimport", timeout=60, json={
        "name": "k5-guest", "location": f"/v1/AUTH_{cloud.project_id}/uploads/guest.vmdk", "id": image_id,
        "conversion": True, "os_type": "ubuntu", "user_name": auth["username"], "domain_name": "Default",
        "password": base64.b64encode(auth["password"].encode()).decode(), "min_disk": 1,
        "checksum": hashlib.sha1(vmdk.read_bytes()).hexdigest(), "property-nodecompute_test_channel": "yes"})
    assert made.status_code == 201, made.text
    status_url = f"{daemon.url}/k5/v1/imageimport/{made.json()['import_id']}/status"
    deadline = time.monotonic() + 60
    while (status := cloud.http.get(status_url, timeout=60).json())["import_status"] != "succeeded":
        assert status["import_status"] in ("queued", "processing") and time.monotonic() < deadline, status
        time.sleep(0.2)
    image = cloud.http.get(f"{daemon.url}/k5/image/v2/images/{image_id}", timeout=60).json()
    assert (image["status"], image["disk_format"], image["container_format"]) == ("active", "raw", "bare")
    return image_id


def instance_pid(daemon: Daemon, server: dict) -> int:
    """The pid of the server's QEMU (the embedded driver's pid file), one of the daemon's own guests."""
    name = server["OS-EXT-SRV-ATTR:instance_name"]
    pid = int((daemon.libvirt_root / "run" / "qemu" / f"{name}.pid").read_text().strip())
    assert pid in daemon.qemu_pids()
    return pid


@pytest.fixture(scope="module")
def k5_guest(daemon, cloud, flavor_id) -> dict:
    """Issue 25's guest: the test image converted to vmdk and imported through /k5/v1/imageimport, a server made
    through /k5 from a volume made from that image (the mapping's values all strings, as K5's example), on a
    network (K5 requires one), its name of 64 characters; the server's view once its guest has reported."""
    started = time.monotonic()
    image_id = k5_import_of_the_test_image_as_vmdk(daemon, cloud)
    print(f"k5 import of the test image as vmdk: {time.monotonic() - started:.1f}s")
    network = cloud.http.post(f"{daemon.url}/networking/v2.0/networks", json={"network": {"name": "k5"}}, timeout=60)
    assert network.status_code == 201, network.text
    network_id = network.json()["network"]["id"]
    subnet = cloud.http.post(f"{daemon.url}/networking/v2.0/subnets", json={"subnet": {
        "network_id": network_id, "ip_version": 4, "cidr": str(daemon.subnet_range)}}, timeout=60)
    assert subnet.status_code == 201, subnet.text
    name = "k5-" + "x" * 61  # 64 characters: host-<eth0 fixed IP>
    resp = cloud.http.post(f"{daemon.url}/k5/v2/{cloud.project_id}/servers", timeout=60, json={"server": {
        "name": name, "imageRef": image_id, "flavorRef": flavor_id, "networks": [{"uuid": network_id}],
        "metadata": {"fcx.autofailover": "false"},
        "block_device_mapping_v2": [{"boot_index": "0", "uuid": image_id, "source_type": "image",
                                     "destination_type": "volume", "volume_size": "1", "device_name": "/dev/vda",
                                     "delete_on_termination": "True"}]}})
    assert resp.status_code == 202, resp.text
    server_id = resp.json()["server"]["id"]
    cloud.wait_status(server_id, "ACTIVE")
    cloud.wait_report(server_id)
    print(f"k5 import, system volume boot, guest report: {time.monotonic() - started:.1f}s")
    return {**cloud.server(server_id), "imported_image": image_id}


def test_a_k5_guest_boots_from_its_system_volume_and_reads_the_metadata_service(daemon, cloud, k5_guest):
    """Issue 25's Proof: the test image imported as vmdk (#2401) is an active raw image; the server booted through
    /k5 from a volume of it with no config drive reached ACTIVE, read its metadata from 169.254.169.254 (the DHCP
    port's listener, option 121), is the same server through /compute/v2.1, its name of 64 characters giving the
    host name host-<eth0 fixed IP> (inventory 3.8); its system volume cannot be detached (400)."""
    server_id, image_id = k5_guest["id"], k5_guest["imported_image"]
    image = cloud.http.get(f"{daemon.url}/k5/image/v2/images/{image_id}", timeout=60).json()
    assert (image["status"], image["disk_format"], image["container_format"]) == ("active", "raw", "bare")
    # the imageRef it was given shows (Nova's instance.image_ref, "" only when a create gives none: issue 20)
    assert (k5_guest["config_drive"], k5_guest["image"]["id"]) == ("", image_id)
    report = cloud.wait_report(server_id)
    lines = report.lines
    assert lines.index("configdrive=none") < lines.index("source=metadata-service") < lines.index(
        f"uuid={server_id}")
    address = k5_guest["addresses"]["k5"][0]["addr"]
    assert report.value("hostname=").split(".")[0] == "host-" + address.replace(".", "-")
    k5 = f"{daemon.url}/k5/v2/{cloud.project_id}"
    volume_id = k5_guest["os-extended-volumes:volumes_attached"][0]["id"]
    detach = cloud.http.delete(f"{k5}/servers/{server_id}/os-volume_attachments/{volume_id}", timeout=60)
    assert detach.status_code == 400, detach.text
    assert cloud.http.get(f"{k5}/servers/{server_id}", timeout=60).json()["server"]["status"] == "ACTIVE"


def test_k5_fcx_restore_brings_back_the_marker_the_guest_wrote(daemon, cloud, k5_guest):
    """#1230 on a real guest: the guest writes marker A on its system volume, the volume is snapshotted, the guest
    writes B, the server is stopped, fcx-restore reverts the volume to the snapshot, the server is started: the
    guest reads A."""
    started = time.monotonic()
    server_id, volume_id = k5_guest["id"], k5_guest["os-extended-volumes:volumes_attached"][0]["id"]
    k5, k5_volume = f"{daemon.url}/k5/v2/{cloud.project_id}", f"{daemon.url}/k5/volume/v2/{cloud.project_id}"
    assert guest_channel.run(cloud, daemon, k5_guest, "writefile k5mark A-before-the-snapshot").rc == 0
    made = cloud.http.post(f"{k5_volume}/snapshots", timeout=60,
                           json={"snapshot": {"volume_id": volume_id, "force": True, "name": "k5-system"}})
    assert made.status_code == 202, made.text
    snapshot = wait_for(cloud, f"/snapshots/{made.json()['snapshot']['id']}", "snapshot", "available")
    assert guest_channel.run(cloud, daemon, k5_guest, "writefile k5mark B-after-the-snapshot").rc == 0
    boots = len(cloud.boots(server_id))
    assert cloud.http.post(f"{k5}/servers/{server_id}/action", json={"os-stop": None}, timeout=60).status_code == 202
    cloud.wait_status(server_id, "SHUTOFF")
    restore = cloud.http.post(f"{k5_volume}/snapshots/{snapshot['id']}/action", json={"fcx-restore": {}}, timeout=60)
    assert restore.status_code == 202, restore.text
    wait_for(cloud, f"/volumes/{volume_id}", "volume", "in-use")
    assert cloud.http.post(f"{k5}/servers/{server_id}/action", json={"os-start": None}, timeout=60).status_code == 202
    cloud.wait_status(server_id, "ACTIVE")
    # the root files are reported early in a boot, before the guest looks for a config drive (K5: none)
    cloud.wait_report(server_id, last_line="configdrive=none", count=boots + 1)
    assert cloud.boots(server_id)[-1].values("rootfile ") == ["k5mark A-before-the-snapshot"]
    print(f"k5 fcx-restore of the guest's own marker: {time.monotonic() - started:.1f}s")


def test_k5_autofailover_runs_the_guest_again_after_a_kill_while_the_daemon_was_down(daemon, cloud, k5_guest):
    """fcx.autofailover "true" (metadata POST, D42's 202 echoing the key sent): the guest's QEMU, started through
    the daemon, killed by its pid while the daemon is stopped; the daemon's start runs the guest again."""
    started = time.monotonic()
    server_id = k5_guest["id"]
    metadata = cloud.http.post(f"{daemon.url}/k5/v2/{cloud.project_id}/servers/{server_id}/metadata", timeout=60,
                               json={"metadata": {"fcx.autofailover": "true"}})
    assert (metadata.status_code, metadata.json()) == (202, {"metadata": {"fcx.autofailover": "true"}})
    boots = len(cloud.boots(server_id))
    qemu = instance_pid(daemon, k5_guest)
    assert daemon.stop() == 0
    os.kill(qemu, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while qemu in daemon.qemu_pids():
        assert time.monotonic() < deadline
        time.sleep(0.1)
    daemon.start()
    cloud = Cloud(daemon)
    cloud.wait_status(server_id, "ACTIVE")
    deadline = time.monotonic() + BOOT_TIMEOUT
    while len(reports := cloud.boots(server_id)) < boots + 1:  # its first report line: the boot counter
        assert time.monotonic() < deadline, cloud.console(server_id, 40)
        time.sleep(0.5)
    # the same system volume booted once more (the counter lives on it)
    assert int(reports[-1].value("boot=")) == int(reports[-2].value("boot=")) + 1
    assert instance_pid(daemon, k5_guest) != qemu
    print(f"k5 autofailover after a kill while the daemon was down: {time.monotonic() - started:.1f}s")


def test_the_k5_servers_delete_keeps_its_system_volume_that_has_a_snapshot(daemon, k5_guest):
    """delete_on_termination "True" never deletes a volume that has snapshots (the fcx-restore test made one)."""
    cloud = Cloud(daemon)  # (a new token: the daemon may have restarted)
    volume_id = k5_guest["os-extended-volumes:volumes_attached"][0]["id"]
    snapshots = volume_api(cloud, "GET", "/snapshots").json()["snapshots"]
    assert [s["volume_id"] for s in snapshots].count(volume_id) == 1  # (none: it goes, test_k5_system_volume.py)
    assert cloud.delete(f"/servers/{k5_guest['id']}").status_code == 204
    cloud.wait_gone(k5_guest["id"])
    assert wait_for(cloud, f"/volumes/{volume_id}", "volume", "available")["attachments"] == []
