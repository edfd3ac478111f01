"""The test guest on a network: DHCP, the metadata service, TCP and ICMP tools, hot-plugged NICs.

One guest, no config drive, one NIC on QEMU's user network in restricted mode (no traffic leaves QEMU): its
network is 169.254.0.0/16 so that 169.254.169.254 lies inside it, where `guestfwd ... cmd:` hands each guest
connection to tests/integration/mds_responder.py (stdin/stdout, no host socket). A `hostfwd` on 127.0.0.1 reaches
the TCP port the guest's user-data script listens on. A second NIC is hot-plugged over QMP.
"""
from __future__ import annotations

import base64
import hashlib
import json
import shutil
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from tests.integration.guest_vm import GuestVM, build_image

pytestmark = pytest.mark.integration

RESPONDER = Path(__file__).with_name("mds_responder.py")
MAC = "52:54:00:12:34:56"
GUEST_IP = "169.254.0.15"
SLIRP_HOST = "169.254.0.2"
LISTEN_PORT = 8080
PUBLIC_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMetadataServiceKey test@mds\n"
FILE_CONTENT = b"fetched from the metadata service\n"
USER_SCRIPT = b"#!/bin/sh\necho starting a listener\nlisten 8080\n"
INSTANCE_ID = "i-00000017"
METADATA = {
    "uuid": "3e1f4d2c-6a5b-4c3d-8e9f-0a1b2c3d4e5f",
    "name": "network guest",
    "hostname": "network-guest",
    "availability_zone": "nova",
    "meta": {"role": "metadata client"},
    "public_keys": {"mds key": PUBLIC_KEY},
    "files": [{"path": "/etc/nodecompute/from-mds.txt", "content_path": "/content/0000"}],
    "devices": [{"type": "nic", "bus": "pci", "address": "0000:00:02.0", "mac": MAC, "tags": ["mgmt"]}],
}


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def free_local_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def make_metadata_tree(root: Path) -> Path:
    (root / "openstack" / "latest").mkdir(parents=True)
    (root / "openstack" / "content").mkdir()
    (root / "latest" / "meta-data").mkdir(parents=True)
    (root / "openstack" / "latest" / "meta_data.json").write_text(json.dumps(METADATA))
    (root / "openstack" / "latest" / "user_data").write_bytes(USER_SCRIPT)
    (root / "openstack" / "content" / "0000").write_bytes(FILE_CONTENT)
    (root / "latest" / "meta-data" / "instance-id").write_text(INSTANCE_ID)
    return root


@pytest.fixture(scope="module")
def workdir():
    path = Path(tempfile.mkdtemp(prefix="ncgn-"))  # short: QEMU's socket paths stay under 108 bytes
    yield path
    shutil.rmtree(path)


@pytest.fixture(scope="module")
def host_port() -> int:
    return free_local_port()


@pytest.fixture(scope="module")
def guest(workdir, host_port):
    root = workdir / "root.qcow2"
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", "-b", str(build_image()), "-F", "qcow2", str(root)],
                   check=True)
    service = make_metadata_tree(workdir / "mds")
    netdev = (f"user,id=n0,restrict=on,net=169.254.0.0/16,host={SLIRP_HOST},dhcpstart={GUEST_IP},"
              f"hostfwd=tcp:127.0.0.1:{host_port}-{GUEST_IP}:{LISTEN_PORT},"
              f"guestfwd=tcp:169.254.169.254:80-cmd:{sys.executable} {RESPONDER} {service}")
    args = ["-drive", f"file={root},if=virtio,format=qcow2",
            "-netdev", netdev, "-device", f"virtio-net-pci,netdev=n0,mac={MAC}"]
    vm = GuestVM(workdir, args, channel=True)
    try:
        print(f"network guest boot-to-ready under TCG: {vm.boot():.1f}s")
        yield vm
    finally:
        vm.kill()


@pytest.fixture(scope="module")
def channel(guest):
    chan = guest.channel()
    yield chan
    chan.close()


def test_dhcp_lease_is_applied_and_reported(guest, channel):
    # The restricted user network offers no router: the lease has no gateway.
    assert guest.value("nic ") == f"eth0 mac={MAC} ip={GUEST_IP}/16 gw=none"
    assert f"inet {GUEST_IP}/16 " in channel.ok("ip -4 addr show dev eth0")


def test_metadata_comes_from_the_metadata_service(guest, workdir):
    lines = guest.lines()
    assert lines.index("configdrive=none") < lines.index("source=metadata-service") < lines.index(
        f"uuid={METADATA['uuid']}")
    assert guest.value("name=") == METADATA["name"]
    assert guest.value("hostname=") == METADATA["hostname"]
    assert guest.values("meta ") == ["role=metadata client"]
    assert guest.values("key ") == [f"mds key {sha256(PUBLIC_KEY.encode())}"]
    assert guest.values("file ") == [f"/etc/nodecompute/from-mds.txt {sha256(FILE_CONTENT)}"]
    assert guest.value("userdata ") == sha256(USER_SCRIPT)
    assert json.loads(base64.b64decode(guest.value("metajson "))) == METADATA
    assert guest.value("instance-id=") == INSTANCE_ID
    assert guest.values("device ") == [f"type=nic bus=pci address=0000:00:02.0 mac={MAC} tags=mgmt"]
    requested = (workdir / "mds.requests").read_text().split()
    assert requested[:4] == ["/openstack/latest/meta_data.json", "/openstack/latest/user_data",
                             "/latest/meta-data/instance-id", "/openstack/content/0000"]


def test_user_data_script_from_the_service_listens_for_the_host(guest, host_port):
    guest.wait_for_line("userscript rc=0")
    assert guest.values("userscript out ") == ["starting a listener", f"listening {LISTEN_PORT}"]
    with socket.create_connection(("127.0.0.1", host_port), timeout=30) as conn:
        conn.settimeout(30)
        banner = conn.makefile("rb").readline()
    assert banner == f"ncguest-banner host={METADATA['hostname']} port={LISTEN_PORT}\n".encode()
    guest.wait_for_line(f"listen {LISTEN_PORT} accepted")


def test_ping_and_connect(channel):
    assert "1 packets received" in channel.ok(f"ping -c 1 -W 5 {SLIRP_HOST}")
    assert channel.ok(f"connect {GUEST_IP} {LISTEN_PORT}") == \
        f"ncguest-banner host={METADATA['hostname']} port={LISTEN_PORT}"
    assert channel.run(f"connect {GUEST_IP} 8099").rc != 0
    channel.ok("listen 8081")
    assert channel.ok("connect 127.0.0.1 8081").endswith("port=8081")
    assert channel.ok("unlisten 8081") == "stopped 8081"
    assert channel.run("connect 127.0.0.1 8081").rc != 0


def test_hot_plugged_nic_gets_a_lease_and_the_hook_applies_routes(guest, channel):
    guest.qmp.execute("netdev_add", type="user", id="n1", restrict=True, net="10.0.3.0/24")
    guest.qmp.execute("device_add", driver="virtio-net-pci", netdev="n1", id="nic1", mac="52:54:00:aa:bb:01")
    ifname = guest.wait_for_match(r"nic (eth\d) mac=52:54:00:aa:bb:01 ip=10\.0\.3\.15/24 gw=none").group(1)
    # The lease hook with what a full DHCP server sends: a router, DNS, and option 121 (which wins over it).
    channel.ok(f"interface={ifname} ip=10.0.3.15 mask=24 router=10.0.3.9 dns='10.0.3.3 10.0.3.4' "
               "domain=example.test staticroutes='10.99.0.0/16 10.0.3.2 0.0.0.0/0 10.0.3.7 10.98.0.0/16 0.0.0.0' "
               "/etc/nodecompute/udhcpc-hook bound")
    guest.wait_for_line(f"nic {ifname} mac=52:54:00:aa:bb:01 ip=10.0.3.15/24 gw=10.0.3.7")
    routes = channel.ok(f"ip route show dev {ifname}").splitlines()
    assert [route.split(" dev ")[0] for route in routes if "metric" in route] == [
        "default via 10.0.3.7", "10.98.0.0/16", "10.99.0.0/16 via 10.0.3.2"]
    assert channel.ok("cat /etc/resolv.conf").splitlines() == [
        "search example.test", "nameserver 10.0.3.3", "nameserver 10.0.3.4"]
    # Without option 121 the router option makes the default route.
    channel.ok(f"interface={ifname} ip=10.0.3.15 mask=24 router=10.0.3.9 /etc/nodecompute/udhcpc-hook renew")
    assert "default via 10.0.3.9" in channel.ok(f"ip route show dev {ifname}")
    # Spoofing tests change the guest's own addresses with busybox ip.
    assert channel.ok(f"ip link set {ifname} address 52:54:00:de:ad:01 && cat /sys/class/net/{ifname}/address") \
        == "52:54:00:de:ad:01"
    guest.qmp.execute("device_del", id="nic1")
    guest.qmp.wait_event("DEVICE_DELETED", 30, device="nic1")
    guest.wait_for_line(f"nic-removed {ifname}")


def test_hot_plugged_nic_without_dhcp_says_so(guest):
    # A NIC with no network behind it: 3 unanswered discovers, then the no-lease line.
    guest.qmp.execute("device_add", driver="virtio-net-pci", id="nic2", mac="52:54:00:aa:bb:02")
    ifname = guest.wait_for_match(r"nic (eth\d) mac=52:54:00:aa:bb:02 ip=none").group(1)
    guest.qmp.execute("device_del", id="nic2")
    guest.qmp.wait_event("DEVICE_DELETED", 30, device="nic2")
    guest.wait_for_line(f"nic-removed {ifname}")
