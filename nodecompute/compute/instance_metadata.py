"""One server's DriveMetadata, built the same way for its config drive (compute/guests.py, at build time) and for the
metadata service (compute/metadata_lookup.py, at each request), so a guest reads the same documents from either
(issue 16: one source). Pure: the caller reads the records.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from nodecompute.compute import metadata_documents
from nodecompute.domain.server_models import InjectedFileSpec, LocalDisk, Server
from nodecompute.virt import disk_devices
from nodecompute.virt.errors import InvalidDevicePath


def drive_metadata(server: Server, *, dhcp_domain: str, files: Iterable[InjectedFileSpec], user_data: bytes | None,
                   admin_pass: str | None = None, network_data: Mapping | None = None,
                   devices: Sequence[metadata_documents.DeviceMetadata] = (),
                   floating_ipv4: str = "") -> metadata_documents.DriveMetadata:
    """The documents' input for `server`: `admin_pass` only for the drive (the service never serves it);
    `floating_ipv4` (EC2 public-ipv4) only for the service, read at each request (a drive is written at build time,
    before any floating IP is associated, as Nova's)."""
    return metadata_documents.DriveMetadata(
        uuid=server.uuid, name=server.name, hostname=server.hostname, launch_index=server.launch_index,
        availability_zone=server.availability_zone, project_id=server.project_id,
        reservation_id=server.reservation_id, ec2_id=server.serial, flavor_name=server.flavor_name,
        image_id=server.image_id, meta=dict(server.metadata),
        public_keys=public_keys(server),
        files=tuple(metadata_documents.InjectedFile(path=f.path, contents=f.contents, owner=f.owner, group=f.group,
                                                    mode=f.mode) for f in files),
        user_data=user_data, admin_pass=admin_pass, network_data=dict(network_data or {}),
        dhcp_domain=dhcp_domain, devices=tuple(devices),
        fixed_ipv4=first_fixed_ipv4(server), floating_ipv4=floating_ipv4,
        ephemeral_devices=tuple(f"/dev/{name}" for disk, name, _ in local_disk_names(server)
                                if disk.kind == "ephemeral"),
        swap_device=next((f"/dev/{name}" for disk, name, _ in local_disk_names(server) if disk.kind == "swap"), None),
    )


def local_disk_names(server: Server) -> list[tuple[LocalDisk, str, str]]:
    """The device names of the server's ephemeral and swap disks, the root being vda (Nova's block device names:
    ephemeral<N> and swap in EC2's block-device-mapping): the name a mapping asked for when its bus has it and it
    is free, else the next free one on the disk's bus (virtio when the bus asked for is none of libvirt's)."""
    used, named = ["vda"], []
    for disk in server.own_local_disks:
        bus = disk.disk_bus if disk.disk_bus in disk_devices.BUS_PREFIX else "virtio"
        try:
            name = disk_devices.next_device_name(used, bus=bus, requested=disk.device_name)
        except InvalidDevicePath:
            name = disk_devices.next_device_name(used, bus=bus)
        used.append(name)
        named.append((disk, name, bus))
    return named


def public_keys(server: Server) -> dict[str, str]:
    """Name -> public key of every keypair the server holds, its first (`key_name`) first."""
    first = {server.key_name: server.key_data} if server.key_name and server.key_data else {}
    return {**first, **{name: key for name, key in server.extra_keys if name not in first}}


# A create may ask for the host name `host-<first fixed IPv4, dots as hyphens>` (K5's rule for names of 64
# characters or more, inventory 3.8, as Neutron names a port's host): the row holds this until the ports are plugged
ADDRESS_HOSTNAME = "host-{fixed_ip}"


def address_hostname(server: Server) -> str:
    """The host name ADDRESS_HOSTNAME stands for, once the server has its ports (Nova's default without one)."""
    address = first_fixed_ipv4(server)
    if address is None:
        return metadata_documents.sanitize_hostname(server.name, server.uuid)
    return ADDRESS_HOSTNAME.format(fixed_ip=address.replace(".", "-"))


def first_fixed_ipv4(server: Server) -> str | None:
    """EC2 local-ipv4: the first fixed address of the first NIC (Nova's `fixed_ips[0]`)."""
    return next((ip for nic in server.nics for _subnet, ip in nic.fixed_ips if ":" not in ip), None)
