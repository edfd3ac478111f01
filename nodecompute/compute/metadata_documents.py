"""The metadata documents of a server, as Nova's metadata API builds them (nova/api/metadata/base.py): pure.

`build_tree` is what metadata_for_config_drive yields: ec2/<v>/meta-data.json for 2009-04-04 and latest,
openstack/<v>/... (meta_data.json, user_data, vendor_data.json, network_data.json, vendor_data2.json) for every
OpenStack metadata version and latest, openstack/content/NNNN for the personality files. The config drive's writer
(storage/configdrive.py) masters that tree; the metadata service (compute/metadata_paths.py, api/metadata_service.py)
serves the same documents (meta_data.json without admin_pass), so a guest reads the same thing from either.
"""
from __future__ import annotations

import base64
import json
import os
import re
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

FOLSOM, GRIZZLY, HAVANA, LIBERTY = "2012-08-10", "2013-04-04", "2013-10-17", "2015-10-15"
NEWTON_ONE, NEWTON_TWO, OCATA, ROCKY = "2016-06-30", "2016-10-06", "2017-02-22", "2018-08-27"
VICTORIA, EPOXY = "2020-10-14", "2025-04-04"
OPENSTACK_VERSIONS = (FOLSOM, GRIZZLY, HAVANA, LIBERTY, NEWTON_ONE, NEWTON_TWO, OCATA, ROCKY, VICTORIA, EPOXY)
EC2_VERSIONS = ("1.0", "2007-01-19", "2007-03-01", "2007-08-29", "2007-10-10", "2007-12-15", "2008-02-01",
                "2008-09-01", "2009-04-04")
EC2_SKIP_VERSIONS = EC2_VERSIONS[:-1]  # Nova's [api]config_drive_skip_versions default
LATEST = "latest"
RANDOM_SEED_BYTES = 512


@dataclass(frozen=True)
class InjectedFile:
    path: str
    contents: bytes
    owner: str | None = None  # Cyclades extras, copied onto the meta_data.json `files` entry when set
    group: str | None = None
    mode: int | None = None


@dataclass(frozen=True)
class DeviceMetadata:
    """One tagged device (Nova's objects.DeviceMetadata); only tagged devices reach the drive."""

    type: str  # "nic" or "disk"
    bus: str = "none"  # pci, usb, scsi, ide, xen
    address: str = "none"
    mac: str | None = None
    serial: str | None = None
    path: str | None = None
    tags: tuple[str, ...] = ()
    vlan: int | None = None
    vf_trusted: bool | None = None


@dataclass(frozen=True)
class DriveMetadata:
    uuid: str
    name: str
    hostname: str  # sanitised, without the domain; "." + dhcp_domain is added here
    launch_index: int
    availability_zone: str
    project_id: str
    reservation_id: str
    ec2_id: int  # integer serial of the server -> EC2 "i-%08x"
    flavor_name: str
    image_id: str  # "" when booted from a volume
    meta: Mapping[str, str] = field(default_factory=dict)
    public_keys: Mapping[str, str] = field(default_factory=dict)  # keypair name -> public key text
    files: Sequence[InjectedFile] = ()
    user_data: bytes | None = None
    admin_pass: str | None = None
    network_data: Mapping = field(default_factory=dict)  # {} without a network, else Nova's network_data.json
    vendor_data: Mapping = field(default_factory=dict)
    dhcp_domain: str = "novalocal"
    devices: Sequence[DeviceMetadata] = ()
    dedicated_cpus: Sequence[int] = ()
    image_ec2_id: int | None = None  # "ami-%08x"; None derives a stable id from image_id
    kernel_id: str | None = None  # EC2 ids ("aki-...", "ari-...") when the image names them
    ramdisk_id: str | None = None
    fixed_ipv4: str | None = None  # EC2 local-ipv4
    floating_ipv4: str = ""  # EC2 public-ipv4
    security_groups: Sequence[str] = ("default",)
    root_device_name: str = "/dev/vda"
    ephemeral_devices: Sequence[str] = ()
    swap_device: str | None = None
    volume_devices: Sequence[str] = ()


def sanitize_hostname(display_name: str, uuid: str) -> str:
    """nova/utils.py::sanitize_hostname with Nova's default "Server-<uuid>" for names that sanitise to nothing."""
    name = display_name.encode("latin-1", "ignore").decode("latin-1")[:63]
    name = re.sub(r"[ _.]", "-", name)
    name = re.sub(r"[^\w.-]+", "", name)
    name = name.lower().strip(".-")
    return name or f"Server-{uuid}"[:63]


def _at_least(version: str, required: str) -> bool:
    order = (*OPENSTACK_VERSIONS, LATEST)
    return order.index(version) >= order.index(required)


def _dumps(document: object) -> bytes:
    return json.dumps(document).encode("utf-8")


def _fqdn(md: DriveMetadata) -> str:
    return f"{md.hostname}.{md.dhcp_domain}" if md.dhcp_domain else md.hostname


def _files_entries(md: DriveMetadata) -> list[dict]:
    entries = []
    for index, injected in enumerate(md.files):
        entry: dict = {"path": injected.path, "content_path": f"/content/{index:04d}"}
        extras = {"owner": injected.owner, "group": injected.group, "mode": injected.mode}
        entry.update({key: value for key, value in extras.items() if value is not None})
        entries.append(entry)
    return entries


def content_modes(md: DriveMetadata) -> dict[str, int]:
    """Tree path -> permission bits of the personality files given a mode (the Cyclades extra), for the drive's
    own copy of each (Rock Ridge)."""
    return {f"openstack/content/{index:04d}": injected.mode & 0o7777
            for index, injected in enumerate(md.files) if injected.mode is not None}


def _device_entry(device: DeviceMetadata, version: str) -> dict | None:
    """nova/api/metadata/base.py::_get_device_metadata for one device; None when it is not shown."""
    entry: dict = {}
    if device.type == "nic":
        if _at_least(version, OCATA) and device.vlan is not None:
            entry["vlan"] = device.vlan
        if _at_least(version, ROCKY):
            entry["vf_trusted"] = bool(device.vf_trusted)
        entry.update(type="nic", mac=device.mac)
        if not (device.tags or "vlan" in entry or "vf_trusted" in entry):
            return None
    elif device.type == "disk":
        # Nova's libvirt driver sets the serial from the mapping's volume id (null for a local disk), never a path
        entry.update(type="disk", serial=device.serial)
        if device.path is not None:
            entry["path"] = device.path
    else:
        return None
    entry.update(bus=device.bus, address=device.address)
    if device.tags:
        entry["tags"] = list(device.tags)
    return entry


def openstack_meta_data(md: DriveMetadata, version: str, *, random_seed: bytes | None = None,
                        include_admin_pass: bool = True) -> dict:
    """meta_data.json for one OpenStack version (Nova's _metadata_as_json); the metadata service passes
    include_admin_pass=False."""
    document: dict = {"uuid": md.uuid}
    if md.meta:
        document["meta"] = dict(md.meta)
    if md.files:
        document["files"] = _files_entries(md)
    if md.admin_pass and include_admin_pass:
        document["admin_pass"] = md.admin_pass
    if md.public_keys:
        document["public_keys"] = dict(md.public_keys)
        document["keys"] = [{"name": name, "type": "ssh", "data": key} for name, key in md.public_keys.items()]
    document.update(hostname=_fqdn(md), name=md.name, launch_index=md.launch_index,
                    availability_zone=md.availability_zone)
    if _at_least(version, GRIZZLY):
        seed = random_seed if random_seed is not None else os.urandom(RANDOM_SEED_BYTES)
        document["random_seed"] = base64.b64encode(seed).decode("ascii")
    if _at_least(version, LIBERTY):
        document["project_id"] = md.project_id
    if _at_least(version, NEWTON_ONE):
        entries = (_device_entry(device, version) for device in md.devices)
        document["devices"] = [entry for entry in entries if entry is not None]
    if _at_least(version, VICTORIA):
        document["dedicated_cpus"] = list(md.dedicated_cpus)
    return document


def _ami_id(md: DriveMetadata) -> str | None:
    """Nova keeps an integer per image (s3_images) for "ami-%08x"; without one, derive a stable id per image."""
    if md.image_ec2_id is not None:
        return "ami-%08x" % md.image_ec2_id
    return "ami-%08x" % zlib.crc32(md.image_id.encode()) if md.image_id else None


def ec2_block_device_mapping(md: DriveMetadata) -> dict[str, str]:
    """nova/block_device.py::instance_block_mapping: ami, root, ephemeralN, swap, ebsN."""
    mapping = {"ami": md.root_device_name.removeprefix("/dev/"), "root": md.root_device_name}
    mapping.update({f"ephemeral{n}": device for n, device in enumerate(md.ephemeral_devices)})
    if md.swap_device:
        mapping["swap"] = md.swap_device
    mapping.update({f"ebs{n}": device for n, device in enumerate(sorted(md.volume_devices))})
    return mapping


def _ec2_at_least(version: str, required: str) -> bool:
    return EC2_VERSIONS.index(version) >= EC2_VERSIONS.index(required)


def ec2_meta_data(md: DriveMetadata, version: str, *, for_drive: bool = True) -> dict:
    """EC2 meta-data.json (Nova's get_ec2_metadata). The drive copy drops public-keys/0/_name ("0=<keyname>"),
    which the metadata service needs for its listing."""
    version = EC2_VERSIONS[-1] if version == LATEST else version
    fqdn = _fqdn(md)
    document: dict = {
        "ami-id": _ami_id(md), "ami-launch-index": md.launch_index, "ami-manifest-path": "FIXME",
        "instance-id": "i-%08x" % md.ec2_id, "hostname": fqdn, "local-ipv4": md.fixed_ipv4,
        "reservation-id": md.reservation_id, "security-groups": list(md.security_groups),
    }
    if md.public_keys:
        name, key = next(iter(md.public_keys.items()))
        document["public-keys"] = {"0": {"openssh-key": key} if for_drive else {"_name": f"0={name}",
                                                                               "openssh-key": key}}
    if _ec2_at_least(version, "2007-01-19"):
        document.update({"local-hostname": fqdn, "public-hostname": fqdn, "public-ipv4": md.floating_ipv4})
    if _ec2_at_least(version, "2007-08-29"):
        document["instance-type"] = md.flavor_name
    if _ec2_at_least(version, "2007-12-15"):
        document["block-device-mapping"] = ec2_block_device_mapping(md)
        document.update({key: value for key, value in (("kernel-id", md.kernel_id),
                                                       ("ramdisk-id", md.ramdisk_id)) if value})
    if _ec2_at_least(version, "2008-02-01"):
        document["placement"] = {"availability-zone": md.availability_zone}
    if _ec2_at_least(version, "2008-09-01"):
        document["instance-action"] = "none"
    return document


def openstack_version_files(md: DriveMetadata, version: str, *, random_seed: bytes | None = None,
                            include_admin_pass: bool = True) -> dict[str, bytes]:
    """The files of openstack/<version>/, name -> contents, in Nova's order: meta_data.json, user_data (when
    given), vendor_data.json (>= HAVANA), network_data.json (>= LIBERTY), vendor_data2.json (>= NEWTON_TWO).
    The drive and the metadata service (include_admin_pass=False) both serve these."""
    files = {"meta_data.json": _dumps(openstack_meta_data(md, version, random_seed=random_seed,
                                                          include_admin_pass=include_admin_pass))}
    if md.user_data is not None:
        files["user_data"] = md.user_data
    if _at_least(version, HAVANA):
        files["vendor_data.json"] = _dumps(dict(md.vendor_data))
    if _at_least(version, LIBERTY):
        files["network_data.json"] = _dumps(dict(md.network_data))
    if _at_least(version, NEWTON_TWO):
        files["vendor_data2.json"] = _dumps({"static": dict(md.vendor_data)})
    return files


def build_tree(md: DriveMetadata, *, random_seed: bytes | None = None,
               ec2_skip_versions: Sequence[str] = EC2_SKIP_VERSIONS) -> dict[str, bytes]:
    """Every file of the drive, path (relative, '/'-separated) -> contents, in the order Nova yields them."""
    tree: dict[str, bytes] = {}
    for version in (*EC2_VERSIONS, LATEST):
        if version in ec2_skip_versions:
            continue
        if md.user_data is not None:
            tree[f"ec2/{version}/user-data"] = md.user_data
        tree[f"ec2/{version}/meta-data.json"] = _dumps(ec2_meta_data(md, version))
    for version in (*OPENSTACK_VERSIONS, LATEST):
        for name, contents in openstack_version_files(md, version, random_seed=random_seed).items():
            tree[f"openstack/{version}/{name}"] = contents
    for index, injected in enumerate(md.files):
        tree[f"openstack/content/{index:04d}"] = injected.contents
    return tree
