"""Config drive images read back by independent tools: xorriso (Rock Ridge, Joliet and plain ISO 9660 names), mtools
(vfat), and cloud-init's own ConfigDrive reader (Debian's cloud-init, run in the system python)."""
from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import time
from pathlib import Path

import pycdlib
import pytest

from nodecompute.storage import configdrive
from nodecompute.compute.metadata_documents import DriveMetadata, InjectedFile, build_tree
from nodecompute.storage.configdrive import ConfigDriveError, drive_layout, write_iso, write_vfat

pytestmark = pytest.mark.integration

UUID = "0d2b4f3c-5e6a-4b7c-8d9e-0f1a2b3c4d5e"
MAC = "fa:16:3e:12:34:56"
SYSTEM_PYTHON = "/usr/bin/python3"
CLOUD_INIT_READER = r"""
import base64, json, sys
from cloudinit.sources.DataSourceConfigDrive import read_config_drive
from cloudinit.sources.helpers.openstack import convert_net_json
found = read_config_drive(sys.argv[1])
md = found["metadata"]
print(json.dumps({
    "version": found["version"],
    "instance-id": md["instance-id"],
    "local-hostname": md["local-hostname"],
    "public-keys": md["public_keys"],
    "admin_pass": md.get("admin_pass"),
    "dsmode": found.get("dsmode"),
    "files": {path: base64.b64encode(data).decode() for path, data in found["files"].items()},
    "userdata": base64.b64encode(found["userdata"]).decode(),
    "vendordata": found["vendordata"],
    "ec2-instance-id": found["ec2-metadata"]["instance-id"],
    "network": convert_net_json(found["networkdata"], known_macs={sys.argv[2]: "eth0"}),
}))
"""
NETWORK_DATA = {
    "links": [{"id": "tap0d2b4f3c-5e", "ethernet_mac_address": MAC, "type": "bridge", "mtu": None,
               "vif_id": "7c0a8a4e-9d1b-4e2f-a3b4-c5d6e7f80910"}],
    "networks": [{"id": "network0", "link": "tap0d2b4f3c-5e", "network_id": "2e3f4a5b-6c7d-4e8f-9a0b-1c2d3e4f5a6b",
                  "type": "ipv4_dhcp"}],
    "services": [{"type": "dns", "address": "192.0.2.53"}],
}
FILES = [InjectedFile("/etc/banner.txt", b"hello\n"), InjectedFile("/opt/app/blob.bin", bytes(range(256)) * 40)]


def require(tool: str) -> str:
    path = shutil.which(tool)
    assert path, f"{tool} is missing: scripts/setup.sh --test installs xorriso, mtools, dosfstools and cloud-init"
    return path


def run(*argv: str, env: dict | None = None) -> str:
    result = subprocess.run(argv, capture_output=True, text=True, env=env)
    assert result.returncode == 0, f"{argv[0]} exited {result.returncode}:\n{result.stderr}"
    return result.stdout


@pytest.fixture(scope="module")
def drive_metadata() -> DriveMetadata:
    return DriveMetadata(
        uuid=UUID, name="Web Server 01", hostname="web-server-01", launch_index=0, availability_zone="nova",
        project_id="a1b2c3d4e5f6", reservation_id="r-xk2l9m3n", ec2_id=7, flavor_name="m1.tiny",
        image_id="155d900f-4e14-4e4c-a73d-069cbf4541e6", meta={"dsmode": "local", "role": "web"},
        public_keys={"ops": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIG9wcyBrZXk ops@example"}, files=FILES,
        user_data=b"#cloud-config\nruncmd:\n  - [touch, /tmp/ok]\n", admin_pass="Adm1nPa55",
        network_data=NETWORK_DATA, vendor_data={"site": "lab"})


@pytest.fixture(scope="module")
def tree(drive_metadata) -> dict[str, bytes]:
    return build_tree(drive_metadata)


@pytest.fixture(scope="module")
def iso(tmp_path_factory, tree) -> Path:
    dest = tmp_path_factory.mktemp("iso") / "disk.config"
    started = time.perf_counter()
    write_iso(tree, dest)
    elapsed_ms = (time.perf_counter() - started) * 1000
    print(f"\nconfig drive ISO: {len(tree)} files, {dest.stat().st_size // 1024} KiB, write_iso {elapsed_ms:.1f} ms")
    return dest


def files_under(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def xorriso_extract(image: Path, dest: Path, *read_fs: str) -> dict[str, bytes]:
    run(require("xorriso"), *read_fs, "-osirrox", "on", "-indev", str(image), "-extract", "/", str(dest))
    return files_under(dest)


def xorriso_names(image: Path, *read_fs: str) -> set[str]:
    out = run(require("xorriso"), *read_fs, "-indev", str(image), "-find", "/")
    return {line.strip("'") for line in out.splitlines() if line.startswith("'")} - {"/"}


def cloud_init_read(drive_dir: Path) -> dict:
    assert Path(SYSTEM_PYTHON).exists() and subprocess.run(
        [SYSTEM_PYTHON, "-c", "import cloudinit"], capture_output=True).returncode == 0, \
        "cloud-init is missing: apt-get install cloud-init (Debian's, in the system python)"
    return json.loads(run(SYSTEM_PYTHON, "-c", CLOUD_INIT_READER, str(drive_dir), MAC))


def assert_cloud_init_sees(found: dict, md: DriveMetadata) -> None:
    assert found["version"] == 2
    assert found["instance-id"] == md.uuid
    assert found["local-hostname"] == "web-server-01.novalocal"
    assert found["public-keys"] == dict(md.public_keys)
    assert found["admin_pass"] == md.admin_pass
    assert found["dsmode"] == "local"
    assert {path: base64.b64decode(data) for path, data in found["files"].items()} == {
        f.path: f.contents for f in md.files}
    assert base64.b64decode(found["userdata"]) == md.user_data
    assert found["vendordata"] == {"site": "lab"}
    assert found["ec2-instance-id"] == "i-00000007"
    assert found["network"]["config"][0]["mac_address"] == MAC
    assert found["network"]["config"][0]["subnets"] == [{"type": "dhcp4"}]
    assert {"type": "nameserver", "address": "192.0.2.53"} in found["network"]["config"]


def test_iso_volume_is_config_2(iso):
    pvd = run(require("xorriso"), "-indev", str(iso), "-pvd_info")
    assert "Volume Id    : config-2" in pvd.splitlines()


def test_rock_ridge_tree_is_the_tree(iso, tree, tmp_path):
    assert xorriso_extract(iso, tmp_path / "rr") == tree


def test_joliet_tree_is_the_tree(iso, tree, tmp_path):
    assert xorriso_extract(iso, tmp_path / "joliet", "-read_fs", "norock") == tree
    assert xorriso_names(iso, "-read_fs", "norock") == {e.joliet_path for e in drive_layout(tree)}


def test_plain_iso9660_names_match_the_layout(iso, tree):
    names = xorriso_names(iso, "-read_fs", "ecma119", "-ecma119_map", "unmapped")
    assert names == {e.iso_path for e in drive_layout(tree)}
    assert "/OPENSTACK/2018_08_27/META_DATA.JSON;1" in names and "/OPENSTACK/CONTENT/0001.;1" in names


def test_three_name_sets_stay_distinct_when_names_clash(tmp_path):
    tree = {"d/a-b.txt": b"1", "d/A_B.TXT": b"2", "d/what?.txt": b"3", "Dir-1/x": b"4", "dir_1/x": b"5"}
    layout = drive_layout(tree)
    write_iso(tree, tmp_path / "clash.iso")
    assert xorriso_extract(tmp_path / "clash.iso", tmp_path / "rr") == tree
    assert xorriso_names(tmp_path / "clash.iso", "-read_fs", "norock") == {e.joliet_path for e in layout}
    assert "/d/what_.txt" in {e.joliet_path for e in layout}
    assert xorriso_names(tmp_path / "clash.iso", "-read_fs", "ecma119", "-ecma119_map", "unmapped") == {
        e.iso_path for e in layout}


def test_cloud_init_reads_the_rock_ridge_tree(iso, drive_metadata, tmp_path):
    xorriso_extract(iso, tmp_path / "rr")
    assert_cloud_init_sees(cloud_init_read(tmp_path / "rr"), drive_metadata)


def test_cloud_init_reads_the_joliet_tree(iso, drive_metadata, tmp_path):
    xorriso_extract(iso, tmp_path / "joliet", "-read_fs", "norock")
    assert_cloud_init_sees(cloud_init_read(tmp_path / "joliet"), drive_metadata)


def test_write_iso_replaces_atomically(tree, tmp_path, monkeypatch):
    dest = tmp_path / "disk.config"
    dest.write_bytes(b"previous drive")

    def write_half_then_fail(self, out, *args, **kwargs):
        out.write(b"\0" * 4096)
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(pycdlib.PyCdlib, "write_fp", write_half_then_fail)  # configdrive imports it when writing
    with pytest.raises(ConfigDriveError):
        write_iso(tree, dest)
    assert dest.read_bytes() == b"previous drive"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["disk.config"]
    monkeypatch.undo()
    write_iso(tree, dest)
    assert dest.read_bytes()[0x8001:0x8006] == b"CD001" and oct(dest.stat().st_mode & 0o777) == "0o600"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["disk.config"]


@pytest.fixture(scope="module")
def vfat(tmp_path_factory, tree) -> Path:
    dest = tmp_path_factory.mktemp("vfat") / "disk.config"
    started = time.perf_counter()
    write_vfat(tree, dest)
    print(f"\nconfig drive vfat: write_vfat {(time.perf_counter() - started) * 1000:.1f} ms")
    return dest


MTOOLS_ENV = {**os.environ, "MTOOLS_SKIP_CHECK": "1"}


def test_vfat_label_size_and_names(vfat, tree):
    assert vfat.stat().st_size == 64 * 1024 * 1024
    assert "Volume label is config-2" in run(require("mlabel"), "-s", "-i", str(vfat), "::", env=MTOOLS_ENV)
    listing = run(require("mdir"), "-/", "-b", "-i", str(vfat), "::/", env=MTOOLS_ENV)
    files = {line.removeprefix("::/") for line in listing.splitlines() if not line.endswith("/")}
    assert files == set(tree)


def test_cloud_init_reads_the_vfat_drive(vfat, tree, drive_metadata, tmp_path):
    out = tmp_path / "fat"
    out.mkdir()
    run(require("mcopy"), "-s", "-n", "-i", str(vfat), "::/openstack", "::/ec2", str(out), env=MTOOLS_ENV)
    assert files_under(out) == tree
    assert_cloud_init_sees(cloud_init_read(out), drive_metadata)


def test_vfat_overflow_fails_and_keeps_the_old_drive(tmp_path):
    dest = tmp_path / "disk.config"
    dest.write_bytes(b"previous drive")
    with pytest.raises(ConfigDriveError):
        write_vfat({"openstack/content/0000": b"\0" * (65 * 1024 * 1024)}, dest)
    assert dest.read_bytes() == b"previous drive"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["disk.config"]


def test_vfat_refuses_names_fat_cannot_tell_apart(tmp_path):
    with pytest.raises(ConfigDriveError, match="differ only in case"):
        write_vfat({"openstack/Latest/x": b"", "openstack/latest/x": b""}, tmp_path / "disk.config")
    assert list(tmp_path.iterdir()) == []
