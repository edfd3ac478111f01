"""The tiny test guest built by images/build.sh boots under plain QEMU TCG and reports what it was given.

No libvirt here: QEMU runs directly (-machine pc -accel tcg) with the image as a qcow2 overlay on virtio, a
config drive ISO (label config-2) on IDE, a vfat ephemeral disk and a swap disk, exactly as nodecompute wires
them. The guest's NCGUEST serial lines are checked one by one, then an ACPI power button press (QMP
`system_powerdown`) must make it power itself off, and a second boot must count boot=2 on the root disk; that
boot has a NIC on QEMU's restricted user network (DHCP, no host traffic) and no config drive.
"""
from __future__ import annotations

import base64
import hashlib
import json
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.integration.guest_vm import BUILD_SCRIPT, READY_TIMEOUT, GuestVM, build_image

pytestmark = pytest.mark.integration

POWEROFF_TIMEOUT = 60.0
MIB = 1024 * 1024
ROOT_BYTES = 64 * MIB
EPHEMERAL_BYTES = 24 * MIB
SWAP_BYTES = 8 * MIB
SECOND_BOOT_MAC = "52:54:00:12:34:56"

PUBLIC_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFakeKeyForTheGuestTest nodecompute@test\n"
FILE_CONTENT = b"#!/bin/sh\necho personality \xe2\x9c\x93\n\x00\xff trailing"
USER_DATA = b"#cloud-config\nruncmd:\n  - echo hello from user data\n"
# Keys deliberately out of Nova's usual order; values with spaces, '=', quotes and non-ASCII text.
METADATA = {
    "files": [{"path": "/etc/nodecompute/personality file.sh", "content_path": "/content/0000"}],
    "public_keys": {"test key": PUBLIC_KEY},
    "meta": {"role": "web server", "equation": "a=b", "quoted": 'say "hi"', "greek": "\u03b1\u03b2\u03b3"},
    "keys": [{"name": "test key", "type": "ssh", "data": PUBLIC_KEY}],
    "random_seed": base64.b64encode(bytes(range(256)) * 2).decode(),
    "launch_index": 0,
    "devices": [],
    "availability_zone": "nova",
    "hostname": "guest-one",
    "name": "Guest \u00e9t\u00e9 one",
    "project_id": "6f70656e737461636b20697320636f6f",
    "uuid": "0b9c5e2a-8f14-4a3b-9c51-2d7e6f0a1b2c",
}


@dataclass
class BootReport:
    lines: list[str]
    ready_seconds: float
    exit_code: int | None
    serial_log: str

    def values(self, prefix: str) -> list[str]:
        return [line[len(prefix):] for line in self.lines if line.startswith(prefix)]

    def value(self, prefix: str) -> str:
        found = self.values(prefix)
        assert len(found) == 1, f"expected one {prefix!r} line, got {found}\n{self.serial_log}"
        return found[0]


def boot_and_power_off(workdir: Path, args: list[str]) -> BootReport:
    """Boots until `NCGUEST ready`, presses the ACPI power button, and waits for QEMU to exit by itself."""
    guest = GuestVM(workdir, args)
    try:
        ready_seconds = guest.boot()
        exit_code = guest.power_off(POWEROFF_TIMEOUT)
        return BootReport(guest.lines(), ready_seconds, exit_code, guest.serial_text())
    finally:
        guest.kill()


def run(*command: str) -> subprocess.CompletedProcess:
    result = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, f"{command}: {result.stderr}"
    return result


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture(scope="session")
def guest_image() -> Path:
    image = build_image()
    assert image.is_file()
    return image


@pytest.fixture(scope="module")
def workdir():
    # Short path: QEMU's UNIX socket paths must stay under 108 bytes.
    path = Path(tempfile.mkdtemp(prefix="ncguest-"))
    yield path
    shutil.rmtree(path)


@pytest.fixture(scope="module")
def metadata_bytes() -> bytes:
    return json.dumps(METADATA).encode()


def make_config_drive(workdir: Path, metadata_bytes: bytes) -> Path:
    tree = workdir / "configdrive"
    (tree / "openstack" / "latest").mkdir(parents=True)
    (tree / "openstack" / "content").mkdir()
    (tree / "openstack" / "latest" / "meta_data.json").write_bytes(metadata_bytes)
    (tree / "openstack" / "latest" / "user_data").write_bytes(USER_DATA)
    (tree / "openstack" / "content" / "0000").write_bytes(FILE_CONTENT)
    iso = workdir / "config.iso"
    run("xorriso", "-as", "mkisofs", "-quiet", "-V", "config-2", "-J", "-r", "-o", str(iso), str(tree))
    return iso


def make_raw_disk(path: Path, size: int, *mkfs: str) -> Path:
    with open(path, "wb") as disk:
        disk.truncate(size)
    run(*mkfs, str(path))
    return path


@pytest.fixture(scope="module")
def guest_disks(guest_image, workdir, metadata_bytes) -> dict[str, Path]:
    root = workdir / "root.qcow2"
    run("qemu-img", "create", "-q", "-f", "qcow2", "-b", str(guest_image), "-F", "qcow2", str(root), str(ROOT_BYTES))
    return {
        "root": root,
        "config": make_config_drive(workdir, metadata_bytes),
        "ephemeral": make_raw_disk(workdir / "ephemeral.img", EPHEMERAL_BYTES, "mkfs.vfat", "-n", "ephemeral0"),
        "swap": make_raw_disk(workdir / "swap.img", SWAP_BYTES, "mkswap"),
    }


def virtio_drive(path: Path, fmt: str) -> list[str]:
    return ["-drive", f"file={path},if=virtio,format={fmt}"]


@pytest.fixture(scope="module")
def first_boot(guest_disks, workdir) -> BootReport:
    drives = [
        *virtio_drive(guest_disks["root"], "qcow2"),
        *virtio_drive(guest_disks["ephemeral"], "raw"),
        *virtio_drive(guest_disks["swap"], "raw"),
        "-drive", f"file={guest_disks['config']},if=ide,media=cdrom,readonly=on,format=raw",
    ]
    report = boot_and_power_off(workdir, drives)
    print(f"guest boot-to-ready under TCG: {report.ready_seconds:.1f}s")
    return report


@pytest.fixture(scope="module")
def second_boot(first_boot, guest_disks, workdir) -> BootReport:
    """Same root disk again, now without config drive, ephemeral or swap disk, but with a NIC."""
    nic = ["-netdev", "user,id=n0,restrict=on", "-device", f"virtio-net-pci,netdev=n0,mac={SECOND_BOOT_MAC}"]
    return boot_and_power_off(workdir, virtio_drive(guest_disks["root"], "qcow2") + nic)


def test_build_is_a_small_qcow2_and_cached(guest_image):
    info = json.loads(run("qemu-img", "info", "--output=json", str(guest_image)).stdout)
    assert info["format"] == "qcow2"
    assert info["virtual-size"] <= 64 * MIB
    assert guest_image.stat().st_size <= 32 * MIB
    modified = guest_image.stat().st_mtime_ns
    started = time.monotonic()
    again = run("bash", str(BUILD_SCRIPT))
    assert again.stdout.strip().splitlines()[-1] == str(guest_image)
    assert "up to date" in again.stderr
    assert guest_image.stat().st_mtime_ns == modified
    assert time.monotonic() - started < 10


def test_first_boot_counts_one(first_boot):
    assert first_boot.value("boot=") == "1"


def test_reports_server_identity(first_boot):
    assert first_boot.value("uuid=") == METADATA["uuid"]
    assert first_boot.value("name=") == METADATA["name"]
    assert first_boot.value("hostname=") == METADATA["hostname"]
    assert first_boot.value("az=") == METADATA["availability_zone"]


def test_reports_every_meta_entry_in_order(first_boot):
    assert first_boot.values("meta ") == [f"{key}={value}" for key, value in METADATA["meta"].items()]


def test_reports_public_key_hash(first_boot):
    assert first_boot.values("key ") == [f"test key {sha256(PUBLIC_KEY.encode())}"]


def test_injected_file_written_in_guest(first_boot):
    assert first_boot.values("file ") == [f"/etc/nodecompute/personality file.sh {sha256(FILE_CONTENT)}"]


def test_reports_user_data_hash(first_boot):
    assert first_boot.value("userdata ") == sha256(USER_DATA)


def test_metajson_is_the_whole_file(first_boot, metadata_bytes):
    assert base64.b64decode(first_boot.value("metajson ")) == metadata_bytes


def test_reports_disk_sizes(first_boot):
    assert first_boot.value("disk ") == f"root={ROOT_BYTES} ephemeral={EPHEMERAL_BYTES} swap={SWAP_BYTES}"


def test_first_boot_reports_its_source_machine_and_every_disk(first_boot):
    assert first_boot.value("source=") == "configdrive"
    assert 150_000 < int(first_boot.value("mem total_kb=")) <= 192 * 1024
    assert first_boot.value("cpus=") == "1"
    assert first_boot.values("disk-present ") == [
        f"vda sectors={ROOT_BYTES // 512} serial=none marker=none",
        f"vdb sectors={EPHEMERAL_BYTES // 512} serial=none marker=none",
        f"vdc sectors={SWAP_BYTES // 512} serial=none marker=none",
    ]


def test_cloud_config_user_data_is_only_hashed(first_boot):
    assert not first_boot.values("userscript"), first_boot.serial_log
    assert first_boot.values("metadata-service") == [] and first_boot.values("nic ") == []


def test_acpi_power_button_powers_off(first_boot):
    assert first_boot.lines[-1] == "poweroff", first_boot.serial_log
    assert first_boot.exit_code == 0, "QEMU did not exit by itself after system_powerdown"
    assert first_boot.ready_seconds < READY_TIMEOUT


def test_second_boot_counts_two_and_sees_no_extra_disks(second_boot):
    assert second_boot.value("boot=") == "2"
    assert second_boot.value("configdrive=") == "none"
    assert second_boot.value("disk ") == f"root={ROOT_BYTES} ephemeral=0 swap=0"
    assert second_boot.lines[-1] == "poweroff"
    assert second_boot.exit_code == 0


def test_second_boot_gets_a_dhcp_lease_and_finds_no_metadata_service(second_boot):
    # QEMU's restricted user network hands out no router and no DNS server, so no gateway and no route to
    # 169.254.169.254: the guest gives up on the metadata service at once.
    assert second_boot.value("nic ") == f"eth0 mac={SECOND_BOOT_MAC} ip=10.0.2.15/24 gw=none"
    assert second_boot.value("metadata-service=") == "none"
    assert second_boot.values("source=") == []
    assert second_boot.ready_seconds < READY_TIMEOUT
