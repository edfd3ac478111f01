"""The metadata documents (compute/metadata_documents.py) and the drive's names (storage/configdrive.py), pure: no
image is written here (tests/integration/test_configdrive_readers.py writes them)."""
from __future__ import annotations

import base64
import json
from dataclasses import replace

import pytest

from nodecompute.compute.metadata_documents import (
    OPENSTACK_VERSIONS, DeviceMetadata, DriveMetadata, InjectedFile, build_tree, ec2_meta_data, openstack_meta_data,
    sanitize_hostname)
from nodecompute.storage.configdrive import ConfigDriveError, drive_layout

UUID = "8a6a7a4e-1b47-4d8c-9a3e-2f0c3b1d5e6f"
ALL_VERSIONS = [*OPENSTACK_VERSIONS, "latest"]
BASE_KEYS = {"uuid", "hostname", "name", "launch_index", "availability_zone"}
# Per version: the keys a server without meta, files, keys or admin_pass gets (Nova's _metadata_as_json).
KEYS_BY_VERSION = {
    "2012-08-10": BASE_KEYS,
    "2013-04-04": BASE_KEYS | {"random_seed"},
    "2013-10-17": BASE_KEYS | {"random_seed"},
    "2015-10-15": BASE_KEYS | {"random_seed", "project_id"},
    "2016-06-30": BASE_KEYS | {"random_seed", "project_id", "devices"},
    "2016-10-06": BASE_KEYS | {"random_seed", "project_id", "devices"},
    "2017-02-22": BASE_KEYS | {"random_seed", "project_id", "devices"},
    "2018-08-27": BASE_KEYS | {"random_seed", "project_id", "devices"},
    "2020-10-14": BASE_KEYS | {"random_seed", "project_id", "devices", "dedicated_cpus"},
    "2025-04-04": BASE_KEYS | {"random_seed", "project_id", "devices", "dedicated_cpus"},
    "latest": BASE_KEYS | {"random_seed", "project_id", "devices", "dedicated_cpus"},
}
# Per version: the files of openstack/<v>/ without user_data.
FILES_BY_VERSION = {
    "2012-08-10": {"meta_data.json"},
    "2013-04-04": {"meta_data.json"},
    "2013-10-17": {"meta_data.json", "vendor_data.json"},
    "2015-10-15": {"meta_data.json", "vendor_data.json", "network_data.json"},
    "2016-06-30": {"meta_data.json", "vendor_data.json", "network_data.json"},
}
for _later in ALL_VERSIONS[5:]:
    FILES_BY_VERSION[_later] = {"meta_data.json", "vendor_data.json", "network_data.json", "vendor_data2.json"}


def metadata(**changes) -> DriveMetadata:
    md = DriveMetadata(uuid=UUID, name="vm 1", hostname="vm-1", launch_index=0, availability_zone="nova",
                       project_id="6f70656e737461636b20697320636f6f6c", reservation_id="r-3fhpjulh", ec2_id=42,
                       flavor_name="m1.tiny", image_id="155d900f-4e14-4e4c-a73d-069cbf4541e6")
    return replace(md, **changes)


def load(tree: dict[str, bytes], path: str) -> object:
    return json.loads(tree[path])


def test_tree_has_every_version_and_only_nova_files():
    tree = build_tree(metadata())
    expected = {"ec2/2009-04-04/meta-data.json", "ec2/latest/meta-data.json"}
    expected |= {f"openstack/{v}/{name}" for v, names in FILES_BY_VERSION.items() for name in names}
    assert set(tree) == expected
    assert len(ALL_VERSIONS) == 11 and set(FILES_BY_VERSION) == set(ALL_VERSIONS)
    assert not any("password" in path for path in tree)


@pytest.mark.parametrize("version", ALL_VERSIONS)
def test_meta_data_keys_per_version(version):
    document = load(build_tree(metadata()), f"openstack/{version}/meta_data.json")
    assert set(document) == KEYS_BY_VERSION[version]
    assert document["uuid"] == UUID
    assert document["hostname"] == "vm-1.novalocal"
    assert (document["name"], document["launch_index"], document["availability_zone"]) == ("vm 1", 0, "nova")


def test_version_gated_values():
    tree = build_tree(metadata(dedicated_cpus=[2, 3]))
    latest = load(tree, "openstack/latest/meta_data.json")
    assert latest["project_id"] == "6f70656e737461636b20697320636f6f6c"
    assert latest["devices"] == [] and latest["dedicated_cpus"] == [2, 3]
    assert len(base64.b64decode(latest["random_seed"], validate=True)) == 512
    seeds = {load(tree, f"openstack/{v}/meta_data.json")["random_seed"] for v in ALL_VERSIONS[1:]}
    assert len(seeds) == 10  # a fresh seed per version, like Nova's per-lookup os.urandom


def test_given_random_seed_is_used():
    tree = build_tree(metadata(), random_seed=b"\x01" * 512)
    seed = load(tree, "openstack/2013-04-04/meta_data.json")["random_seed"]
    assert base64.b64decode(seed) == b"\x01" * 512


def test_vendor_and_network_data():
    network = {"links": [{"id": "tap0", "ethernet_mac_address": "fa:16:3e:00:00:01", "type": "bridge",
                          "mtu": None, "vif_id": "p1"}],
               "networks": [{"id": "network0", "link": "tap0", "network_id": "n1", "type": "ipv4_dhcp"}],
               "services": [{"type": "dns", "address": "10.0.0.1"}]}
    tree = build_tree(metadata(vendor_data={"site": "lab"}, network_data=network))
    assert load(tree, "openstack/2013-10-17/vendor_data.json") == {"site": "lab"}
    assert load(tree, "openstack/latest/vendor_data2.json") == {"static": {"site": "lab"}}
    assert load(tree, "openstack/2015-10-15/network_data.json") == network
    empty = build_tree(metadata())
    assert empty["openstack/latest/network_data.json"] == b"{}"
    assert empty["openstack/latest/vendor_data.json"] == b"{}"
    assert load(empty, "openstack/latest/vendor_data2.json") == {"static": {}}


def test_user_data_absent_and_present():
    assert not any(path.endswith(("user_data", "user-data")) for path in build_tree(metadata()))
    tree = build_tree(metadata(user_data=b"#cloud-config\nruncmd: [echo hi]\n"))
    user_paths = {path for path in tree if path.endswith(("/user_data", "/user-data"))}
    assert user_paths == {f"openstack/{v}/user_data" for v in ALL_VERSIONS} | {
        "ec2/2009-04-04/user-data", "ec2/latest/user-data"}
    assert {tree[path] for path in user_paths} == {b"#cloud-config\nruncmd: [echo hi]\n"}


def test_empty_user_data_is_still_written():
    tree = build_tree(metadata(user_data=b""))
    assert tree["openstack/latest/user_data"] == b""


def test_files_are_numbered_from_0000_and_listed_in_every_version():
    files = [InjectedFile("/etc/a", b"A"), InjectedFile("/etc/b.conf", b"B" * 10240),
             InjectedFile("relative/c", b"", owner="root", group="wheel", mode=0o640)]
    tree = build_tree(metadata(files=files))
    assert [p for p in tree if p.startswith("openstack/content/")] == [
        "openstack/content/0000", "openstack/content/0001", "openstack/content/0002"]
    assert (tree["openstack/content/0000"], tree["openstack/content/0002"]) == (b"A", b"")
    for version in ALL_VERSIONS:
        assert load(tree, f"openstack/{version}/meta_data.json")["files"] == [
            {"path": "/etc/a", "content_path": "/content/0000"},
            {"path": "/etc/b.conf", "content_path": "/content/0001"},
            {"path": "relative/c", "content_path": "/content/0002", "owner": "root", "group": "wheel",
             "mode": 0o640}]
    assert "files" not in load(build_tree(metadata()), "openstack/latest/meta_data.json")


def test_keys_absent_and_present():
    plain = build_tree(metadata())
    assert not {"public_keys", "keys"} & set(load(plain, "openstack/latest/meta_data.json"))
    assert "public-keys" not in load(plain, "ec2/latest/meta-data.json")
    tree = build_tree(metadata(public_keys={"mykey": "ssh-ed25519 AAAAC3Nza me@host"}))
    document = load(tree, "openstack/2012-08-10/meta_data.json")
    assert document["public_keys"] == {"mykey": "ssh-ed25519 AAAAC3Nza me@host"}
    assert document["keys"] == [{"name": "mykey", "type": "ssh", "data": "ssh-ed25519 AAAAC3Nza me@host"}]
    assert load(tree, "ec2/latest/meta-data.json")["public-keys"] == {
        "0": {"openssh-key": "ssh-ed25519 AAAAC3Nza me@host"}}
    served = ec2_meta_data(metadata(public_keys={"mykey": "k"}), "latest", for_drive=False)
    assert served["public-keys"] == {"0": {"_name": "0=mykey", "openssh-key": "k"}}


def test_meta_and_admin_pass():
    tree = build_tree(metadata(meta={"dsmode": "local", "role": "web"}, admin_pass="s3cret"))
    document = load(tree, "openstack/latest/meta_data.json")
    assert document["meta"] == {"dsmode": "local", "role": "web"}
    assert document["admin_pass"] == "s3cret"
    served = openstack_meta_data(metadata(admin_pass="s3cret"), "latest", include_admin_pass=False)
    assert "admin_pass" not in served
    assert not {"meta", "admin_pass"} & set(load(build_tree(metadata(admin_pass="")), "openstack/latest/meta_data.json"))


def test_dhcp_domain():
    assert load(build_tree(metadata(dhcp_domain="example.org")), "openstack/latest/meta_data.json")[
        "hostname"] == "vm-1.example.org"
    assert load(build_tree(metadata(dhcp_domain="")), "ec2/latest/meta-data.json")["hostname"] == "vm-1"


def test_ec2_meta_data_keys():
    md = metadata(fixed_ipv4="10.0.0.5", floating_ipv4="203.0.113.9", kernel_id="aki-00000001",
                  swap_device="/dev/vdc", ephemeral_devices=["/dev/vdb"], volume_devices=["/dev/vde", "/dev/vdd"],
                  image_ec2_id=7)
    document = load(build_tree(md), "ec2/2009-04-04/meta-data.json")
    assert document == {
        "ami-id": "ami-00000007", "ami-launch-index": 0, "ami-manifest-path": "FIXME",
        "instance-id": "i-0000002a", "hostname": "vm-1.novalocal", "local-ipv4": "10.0.0.5",
        "reservation-id": "r-3fhpjulh", "security-groups": ["default"], "local-hostname": "vm-1.novalocal",
        "public-hostname": "vm-1.novalocal", "public-ipv4": "203.0.113.9", "instance-type": "m1.tiny",
        "block-device-mapping": {"ami": "vda", "root": "/dev/vda", "ephemeral0": "/dev/vdb", "swap": "/dev/vdc",
                                 "ebs0": "/dev/vdd", "ebs1": "/dev/vde"},
        "kernel-id": "aki-00000001", "placement": {"availability-zone": "nova"}, "instance-action": "none"}
    assert load(build_tree(md), "ec2/latest/meta-data.json") == document
    assert set(ec2_meta_data(md, "1.0")) == {"ami-id", "ami-launch-index", "ami-manifest-path", "instance-id",
                                             "hostname", "local-ipv4", "reservation-id", "security-groups"}


def test_ami_id_is_stable_per_image_and_null_without_one():
    first, second = ec2_meta_data(metadata(), "latest"), ec2_meta_data(metadata(uuid="other"), "latest")
    assert first["ami-id"] == second["ami-id"] and first["ami-id"].startswith("ami-") and len(first["ami-id"]) == 12
    assert ec2_meta_data(metadata(image_id=""), "latest")["ami-id"] is None


def test_devices_are_version_gated():
    nic = DeviceMetadata(type="nic", bus="pci", address="0000:00:03.0", mac="fa:16:3e:00:00:01", tags=("mgmt",),
                         vlan=100)
    disk = DeviceMetadata(type="disk", bus="scsi", address="0:0:0:1", serial="vol-1", tags=("db",))
    untagged = DeviceMetadata(type="nic", bus="pci", address="0000:00:04.0", mac="fa:16:3e:00:00:02")
    tree = build_tree(metadata(devices=[nic, disk, untagged]))
    devices = {v: load(tree, f"openstack/{v}/meta_data.json")["devices"] for v in ALL_VERSIONS[4:]}
    disk_entry = {"type": "disk", "serial": "vol-1", "bus": "scsi", "address": "0:0:0:1", "tags": ["db"]}
    assert devices["2016-06-30"] == [
        {"type": "nic", "mac": "fa:16:3e:00:00:01", "bus": "pci", "address": "0000:00:03.0", "tags": ["mgmt"]},
        disk_entry]
    assert devices["2017-02-22"][0]["vlan"] == 100 and "vf_trusted" not in devices["2017-02-22"][0]
    # From 2018-08-27 Nova always adds vf_trusted, which also un-hides NICs without tags.
    assert devices["2018-08-27"][0]["vf_trusted"] is False and len(devices["2018-08-27"]) == 3


@pytest.mark.parametrize(("display_name", "expected"), [
    ("vm1", "vm1"),
    ("My Server_1.example", "my-server-1-example"),
    ("  --Web 01--  ", "web-01"),
    ("a!b@c#d$", "abcd"),
    ("Café ünï", "café-ünï"),  # latin-1 letters are word characters and survive, as in Nova
    ("日本語", f"Server-{UUID}"),  # outside latin-1: dropped, then empty -> default
    ("...---", f"Server-{UUID}"),
    ("", f"Server-{UUID}"),
    ("x" * 62 + " y", "x" * 62),  # cut to 63 first (leaving a trailing space -> '-'), then stripped
    ("A" * 80, "a" * 63),
])
def test_sanitize_hostname(display_name, expected):
    assert sanitize_hostname(display_name, UUID) == expected


def test_layout_names_follow_one_list():
    tree = build_tree(metadata(user_data=b"x", files=[InjectedFile("/etc/a", b"A")]))
    layout = {entry.rr_path: entry for entry in drive_layout(tree)}
    assert set(tree) < set(layout)
    for path, entry in layout.items():
        assert entry.joliet_path == "/" + path
        assert (entry.contents is None) == (path not in tree)
    assert layout["openstack/2012-08-10"].iso_path == "/OPENSTACK/2012_08_10"
    assert layout["openstack/latest/meta_data.json"].iso_path == "/OPENSTACK/LATEST/META_DATA.JSON;1"
    assert layout["openstack/latest/user_data"].iso_path == "/OPENSTACK/LATEST/USER_DATA.;1"
    assert layout["openstack/latest/vendor_data2.json"].iso_path == "/OPENSTACK/LATEST/VENDOR_DATA2.JSON;1"
    assert layout["ec2/latest/meta-data.json"].iso_path == "/EC2/LATEST/META_DATA.JSON;1"
    assert layout["openstack/content/0000"].iso_path == "/OPENSTACK/CONTENT/0000.;1"


def test_layout_never_collides():
    tree = {"d/a-b.txt": b"1", "d/A_B.TXT": b"2", "d/a.b.txt": b"3", "d/" + "n" * 70 + ".json": b"4",
            "d/" + "n" * 70 + ".jsonx": b"5", "Dir-1/x": b"6", "dir_1/x": b"7", "d/what?.txt": b"8"}
    layout = drive_layout(tree)
    iso_names = [entry.iso_path for entry in layout]
    joliet_names = [entry.joliet_path.casefold() for entry in layout]
    assert len(set(iso_names)) == len(iso_names) == len(layout) == len(tree) + 3
    assert len(set(joliet_names)) == len(joliet_names)
    for entry in layout:
        leaf = entry.iso_path.rsplit("/", 1)[-1]
        stem = leaf.removesuffix(";1")
        assert set(stem) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.")
        assert len(stem.replace(".", "")) <= 31 and len(entry.joliet_path.rsplit("/", 1)[-1]) <= 64
        assert (entry.contents is None) != leaf.endswith(";1")
    assert {e.joliet_path for e in layout if e.rr_path == "d/what?.txt"} == {"/d/what_.txt"}


@pytest.mark.parametrize("bad", ["/abs", "a//b", "a/../b", "", "a/./b"])
def test_layout_rejects_bad_paths(bad):
    with pytest.raises(ConfigDriveError, match="must be relative"):
        drive_layout({bad: b""})


def test_layout_rejects_file_and_directory_with_one_name():
    with pytest.raises(ConfigDriveError, match="both a file and a directory"):
        drive_layout({"a": b"", "a/b": b""})


def test_a_vfat_drive_is_told_from_an_iso_one(tmp_path):
    """The drive's own bytes say how the domain attaches it (a vfat drive as a disk, an ISO as a cdrom)."""
    from nodecompute.storage.configdrive import is_vfat, write_iso, write_vfat

    tree = {"openstack/latest/meta_data.json": b"{}", "meta.js": b"{}"}
    write_vfat(tree, tmp_path / "vfat.config")
    write_iso(tree, tmp_path / "iso.config")
    assert is_vfat(tmp_path / "vfat.config") and not is_vfat(tmp_path / "iso.config")
    assert not is_vfat(tmp_path / "missing.config")
