"""Boot from volume on the real daemon (issue 20): a server boots from a volume made from the test image with an
ephemeral and a swap disk from its mappings (the guest reports its config drive, its root disk: the volume, vda, the
ephemeral disk by its label and the swap disk with their sizes, and the tagged volume in meta_data.json's devices; its
a 2.93 rebuild re-images the root volume: the guest boots a fresh disk; its createImage is a snapshot of the running
volume, and a server boots from that image), and the stock `openstack` CLI's
`server create --boot-from-volume 1 --wait` and `server create --volume` reach ACTIVE; deleting the servers honours
delete_on_termination (the CLI's --boot-from-volume volume goes only when asked; --volume's stays, available).
One daemon for the module; one guest is watched to its report, the CLI's two only to ACTIVE."""
from __future__ import annotations

import time
import xml.etree.ElementTree as ET

import pytest

from tests.integration.cloud import BOOT_TIMEOUT, Cloud, guest_lines
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
                                    {"source_type": "blank", "destination_type": "local", "guest_format": "ext4"},
                                    {"source_type": "blank", "destination_type": "local", "guest_format": "swap",
                                     "volume_size": 16}]}}, headers={"X-OpenStack-Nova-API-Version": "2.42"})
    assert resp.status_code == 202, resp.text
    server_id = resp.json()["server"]["id"]
    server = cloud.wait_status(server_id, "ACTIVE")
    assert server["image"] == ""
    report = cloud.wait_report(server_id)
    assert (report.value("boot="), report.value("uuid=")) == ("1", server_id)  # read off its config drive
    # the 1 GiB volume (not the image's size), the ephemeral disk the guest finds by its label, the swap disk
    assert report.value("disk ") == f"root={GiB} ephemeral={GiB} swap={16 << 20}"
    volume_id = server["os-extended-volumes:volumes_attached"][0]["id"]
    # the tagged root volume in meta_data.json's `devices` (2.42), at the PCI address the guest has it
    assert report.values("device ") == [f"type=disk bus=pci address=0000:00:18.0 serial={volume_id} tags=root"]
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


def test_a_k5_guest_boots_from_its_system_volume_and_reads_the_metadata_service(daemon, cloud, image_id, flavor_id):
    """Issue 25's Proof: a server made through /k5 from a volume made from the test image (the mapping's values all
    strings, as K5's example), on a network (K5 requires one) and with no config drive, reaches ACTIVE, reads its
    metadata from 169.254.169.254 (the DHCP port's listener, option 121), is the same server through /compute/v2.1,
    its name of 64 characters giving the host name host-<eth0 fixed IP> (inventory 3.8); its system volume cannot
    be detached (400)."""
    started = time.monotonic()
    network = cloud.http.post(f"{daemon.url}/networking/v2.0/networks", json={"network": {"name": "k5"}}, timeout=60)
    assert network.status_code == 201, network.text
    network_id = network.json()["network"]["id"]
    subnet = cloud.http.post(f"{daemon.url}/networking/v2.0/subnets", json={"subnet": {
        "network_id": network_id, "ip_version": 4, "cidr": str(daemon.subnet_range)}}, timeout=60)
    assert subnet.status_code == 201, subnet.text
    k5 = f"{daemon.url}/k5/v2/{cloud.project_id}"
    name = "k5-" + "x" * 61  # 64 characters: host-<eth0 fixed IP>
    resp = cloud.http.post(f"{k5}/servers", timeout=60, json={"server": {
        "name": name, "imageRef": image_id, "flavorRef": flavor_id, "networks": [{"uuid": network_id}],
        "metadata": {"fcx.autofailover": "false"},
        "block_device_mapping_v2": [{"boot_index": "0", "uuid": image_id, "source_type": "image",
                                     "destination_type": "volume", "volume_size": "1", "device_name": "/dev/vda",
                                     "delete_on_termination": "True"}]}})
    assert resp.status_code == 202, resp.text
    server_id = resp.json()["server"]["id"]
    server = cloud.wait_status(server_id, "ACTIVE")  # the same server through /compute/v2.1
    # the imageRef it was given shows (Nova's instance.image_ref, "" only when a create gives none: issue 20)
    assert (server["config_drive"], server["image"]["id"]) == ("", image_id)
    report = cloud.wait_report(server_id)
    lines = report.lines
    assert lines.index("configdrive=none") < lines.index("source=metadata-service") < lines.index(
        f"uuid={server_id}")
    address = server["addresses"]["k5"][0]["addr"]
    assert report.value("hostname=").split(".")[0] == "host-" + address.replace(".", "-")
    volume_id = server["os-extended-volumes:volumes_attached"][0]["id"]
    detach = cloud.http.delete(f"{k5}/servers/{server_id}/os-volume_attachments/{volume_id}", timeout=60)
    assert detach.status_code == 400, detach.text
    assert cloud.http.get(f"{k5}/servers/{server_id}", timeout=60).json()["server"]["status"] == "ACTIVE"
    assert cloud.delete(f"/servers/{server_id}").status_code == 204
    cloud.wait_gone(server_id)
    deadline = time.monotonic() + 60
    while volume_status(cloud, volume_id) != 404:  # delete_on_termination "True", no snapshot
        assert time.monotonic() < deadline
        time.sleep(0.2)
    print(f"k5 system volume boot, metadata service report, delete: {time.monotonic() - started:.1f}s")
