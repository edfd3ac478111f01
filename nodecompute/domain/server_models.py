"""Server records and the requests the server service takes. No I/O."""
from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple


GIB = 1 << 30


def root_disk_bytes(root_gb: int, image_virtual_size: int) -> int:
    """The root disk's size: the flavor's, or the image's own when the flavor's disk is 0 (Nova)."""
    return root_gb * GIB if root_gb else image_virtual_size


@dataclass(frozen=True)
class LocalDisk:
    """An ephemeral or swap disk of a server, in its instance directory (Nova's blank -> local mapping)."""

    kind: str  # ephemeral | swap
    file: str  # its name in the instance directory: disk.local, disk.swap (the flavor's), disk.eph<N>, disk.swap
    size_bytes: int
    guest_format: str | None  # the file system made on it: vfat, ext4 ...; "swap"
    label: str | None  # the file system's label (Nova's "ephemeral<N>")
    disk_format: str = "raw"  # raw (the flavor's disks, resized with it) | qcow2 (a mapping's)
    device_name: str | None = None  # asked for in the mapping (/dev/vdb)
    disk_bus: str | None = None
    tag: str | None = None  # the mapping's device tag (2.32, 2.42): in the device metadata

    def as_dict(self) -> dict:
        return dict(vars(self))


FLAVOR_EPHEMERAL, FLAVOR_SWAP = "disk.local", "disk.swap"


def flavor_local_disks(ephemeral_gb: int, swap_mb: int) -> tuple[LocalDisk, ...]:
    """A flavor's own ephemeral (vfat, label ephemeral0: Nova's default file system without an os_type) and swap
    disks, raw, when no mapping names any."""
    disks = []
    if ephemeral_gb:
        disks.append(LocalDisk("ephemeral", FLAVOR_EPHEMERAL, ephemeral_gb * GIB, "vfat", "ephemeral0"))
    if swap_mb:
        disks.append(LocalDisk("swap", FLAVOR_SWAP, swap_mb << 20, "swap", None))
    return tuple(disks)


@dataclass(frozen=True)
class ServerFault:
    code: int
    message: str
    created: datetime
    details: str | None = None


@dataclass(frozen=True)
class ServerNic:
    """One port a server is plugged into (compute/server_ports.py), as the server views and the guest see it."""

    port_id: str
    network_id: str
    network_name: str
    mac: str
    fixed_ips: tuple[tuple[str, str], ...] = ()  # (subnet id, address)
    tag: str | None = None
    made_by_server: bool = True  # the server made the port (deleted with it); False: a given port, only unbound
    mtu: int | None = None
    position: int = 0
    pci_slot: int | None = None  # a tagged NIC's pinned PCI slot (db/server_nics.py), None: unpinned
    security_groups: tuple[str, ...] = ()  # the names of the port's groups (the id where a group has no name)
    floating_ips: tuple[tuple[str, str], ...] = ()  # (fixed address, floating address) on this port

    @property
    def tap(self) -> str:
        """Nova's and Neutron's device name: "tap" + the first 11 characters of the port id."""
        return ("tap" + self.port_id)[:14]


@dataclass(frozen=True)
class AttachedVolume:
    """A volume of the server as its views list it (os-extended-volumes:volumes_attached)."""

    id: str
    delete_on_termination: bool = False


@dataclass(frozen=True)
class Server:
    uuid: str
    serial: int
    name: str
    project_id: str
    user_id: str
    hostname: str
    flavorid: str
    flavor_name: str
    memory_mb: int
    vcpus: int
    root_gb: int
    root_disk_bytes: int  # root_gb in bytes, or the image's virtual size when the flavor's disk is 0
    ephemeral_gb: int
    swap: int
    image_id: str
    image_sha256: str | None
    key_name: str | None
    key_data: str | None
    config_drive: bool
    access_ipv4: str
    access_ipv6: str
    disk_config: str
    availability_zone: str
    vm_state: str
    task_state: str | None
    power_state: int
    progress: int
    launch_index: int
    reservation_id: str
    host: str | None
    locked: bool
    scheduler_hints: dict[str, Any]
    fault: ServerFault | None
    created_at: datetime
    updated_at: datetime
    launched_at: datetime | None
    terminated_at: datetime | None
    deleted_at: datetime | None
    deleted: bool
    metadata: dict[str, str] = field(default_factory=dict)
    description: str | None = None
    tags: tuple[str, ...] = ()  # sorted
    flavor_extra_specs: dict[str, str] = field(default_factory=dict)  # the flavor's, as they were at create
    user_data: bytes | None = None
    device_tags: tuple[DeviceTag, ...] = ()
    guest_channels: tuple[str, ...] = ()  # virtio-serial port names (domain/guest_channels.py)
    extra_keys: tuple[tuple[str, str], ...] = ()  # (name, public key) of its keypairs after the first (Cyclades)
    nics: tuple[ServerNic, ...] = ()  # its ports, in the order they were plugged
    locked_by: str | None = None  # "owner" or "admin" while locked (Nova)
    locked_reason: str | None = None  # 2.73
    pinned_availability_zone: str | None = None  # the zone asked for at create (Nova's request spec), 2.96
    image_properties: dict[str, str] = field(default_factory=dict)  # the image's, as copied at create (2.98)
    volumes: tuple[AttachedVolume, ...] = ()  # its volume attachments, in the order they were made
    server_groups: tuple[str, ...] = ()  # the group it is a member of (2.71); read for one server, not for lists

    root_is_volume: bool = False  # booted from a volume (its image_id is the imageRef asked for, or "")
    local_disks: tuple[LocalDisk, ...] | None = None  # from blank -> local mappings; None: the flavor's own
    root_disk_tag: str | None = None  # the device tag of the image -> local root mapping (2.32, 2.42)

    @property
    def own_local_disks(self) -> tuple[LocalDisk, ...]:
        """Its ephemeral and swap disks: the ones its mappings asked for (with the flavor's beside them where no
        mapping of that kind was given, as Nova's _get_flavor_defined_bdms), else the flavor's."""
        return self.local_disks if self.local_disks is not None else flavor_local_disks(self.ephemeral_gb, self.swap)

    @property
    def volume_backed(self) -> bool:
        """Booted from a volume: its root disk is a volume. Its image is the request's imageRef (a volume-backed
        server's snapshot image: Nova shows its id) or none (Nova shows `image` as "")."""
        return self.root_is_volume or not self.image_id

    @property
    def instance_name(self) -> str:
        """The libvirt domain name, Nova's instance_name_template."""
        return f"instance-{self.serial:08x}"


SERVER_FIELDS = frozenset(Server.__dataclass_fields__)


def server_from_fields(values: dict[str, Any]) -> Server:
    """The Server whose fields are `values` (every field, no other key), without the frozen dataclass's __init__:
    that sets each of some fifty fields through object.__setattr__, which was most of the cost of reading a list
    of a thousand servers. The result is the same frozen Server (equal to Server(**values))."""
    if values.keys() != SERVER_FIELDS:
        raise TypeError(f"Server fields missing or unknown: {sorted(values.keys() ^ SERVER_FIELDS)}")
    server = object.__new__(Server)
    server.__dict__.update(values)
    return server


@dataclass(frozen=True)
class DeviceTag:
    """A device tag asked for at create (2.32, 2.42): `kind` "disk" (a block_device_mapping_v2 item) or "nic" (a
    `networks` item), `index` its position in that list. Kept for the features that put tagged devices into the
    metadata (volumes, networking)."""

    kind: str
    index: int
    tag: str


@dataclass(frozen=True)
class InjectedFileSpec:
    path: str
    contents: bytes
    owner: str | None = None  # Cyclades' personality extras (D22, D65); None when not given
    group: str | None = None
    mode: int | None = None


@dataclass(frozen=True)
class BlockDeviceRequest:
    """One block device mapping of a create request, as given (block_device_mapping_v2, or the legacy
    block_device_mapping with legacy=True); compute/block_devices.py decides what it means."""

    source_type: str | None = None  # image | volume | snapshot | blank
    destination_type: str | None = None  # local | volume
    boot_index: int | None = None
    uuid: str | None = None  # of the image, volume or snapshot (v2's uuid or image_id)
    volume_id: str | None = None
    snapshot_id: str | None = None
    volume_size: int | None = None  # GiB
    device_name: str | None = None
    device_type: str | None = None
    disk_bus: str | None = None
    guest_format: str | None = None
    delete_on_termination: bool = False
    no_device: bool = False
    legacy: bool = False
    volume_type: str | None = None  # 2.67: the type of a volume the mapping makes
    tag: str | None = None  # 2.32, 2.42+: the device's tag (meta_data.json `devices`)
    virtual_name: str | None = None  # legacy: "swap" or "ephemeral<N>" (a blank -> local disk)


@dataclass(frozen=True)
class NetworkRequest:
    """One entry of a create request's `networks` list; compute/requested_networks.py decides what it means."""

    uuid: str | None = None
    port: str | None = None
    fixed_ip: str | None = None
    tag: str | None = None


@dataclass(frozen=True)
class CreateRequest:
    """A validated, decoded server create request (the API layer did the schema checks)."""

    name: str
    image_ref: str
    flavor_ref: str
    metadata: dict[str, str] = field(default_factory=dict)
    personality: tuple[InjectedFileSpec, ...] = ()
    user_data: bytes | None = None
    config_drive: bool = False
    key_name: str | None = None
    extra_key_names: tuple[str, ...] = ()  # keypairs installed besides key_name (Cyclades' SNF:key_names)
    availability_zone: str | None = None
    access_ipv4: str = ""
    access_ipv6: str = ""
    disk_config: str | None = None
    min_count: int = 1
    max_count: int = 1
    return_reservation_id: bool = False
    scheduler_hints: dict[str, Any] = field(default_factory=dict)
    admin_pass: str | None = None
    block_devices: tuple[BlockDeviceRequest, ...] = ()
    networks: str | tuple[NetworkRequest, ...] | None = None  # "auto", "none", a list, or not given
    security_groups: tuple[str, ...] = ()  # names
    description: str | None = None
    tags: tuple[str, ...] = ()
    device_tags: tuple[DeviceTag, ...] = ()
    trusted_certs: tuple[str, ...] = ()  # 2.63 trusted_image_certificates
    requested_host: str | None = None  # 2.74 host
    requested_node: str | None = None  # 2.74 hypervisor_hostname
    hostname: str | None = None  # 2.90 (a FQDN from 2.94); None: made from the name
    # a dialect's own config drive (Helion, D65): its format (None: the host's), its layout (compute/drive_layouts.py:
    # files made from the server beside Nova's tree, again at each rebuild and rescue) and files at paths
    config_drive_format: str | None = None
    config_drive_files: tuple[tuple[str, bytes], ...] = ()
    config_drive_layout: str | None = None
    # a dialect whose guests never get a drive (K5, D65: the metadata service only), not even a forced one
    no_config_drive: bool = False


@dataclass(frozen=True)
class CreateResult:
    servers: tuple[Server, ...]
    admin_pass: str
    reservation_id: str


@dataclass(frozen=True)
class ServerFilters:
    name: str | None = None
    statuses: tuple[str, ...] = ()
    image: str | None = None
    flavor: str | None = None
    changes_since: datetime | None = None
    reservation_id: str | None = None
    all_tenants: bool = False
    project_id: str | None = None
    limit: int = 1000
    marker: str | None = None
    sort: tuple[tuple[str, str], ...] = (("created_at", "desc"),)
    tags: tuple[str, ...] = ()  # has every one of them
    tags_any: tuple[str, ...] = ()  # has at least one
    not_tags: tuple[str, ...] = ()  # lacks at least one
    not_tags_any: tuple[str, ...] = ()  # has none of them
    changes_before: datetime | None = None  # updated at or before (2.66)
    locked: bool | None = None  # 2.73
    exact: tuple[tuple[str, str], ...] = ()  # (filter name, value): Nova's exact-match filters (user_id, vm_state...)
    patterns: tuple[tuple[str, str], ...] = ()  # (filter name, RE2 pattern): Nova's regex filters (key_name...)
    ip: str | None = None  # RE2 pattern matched from the start of a fixed IPv4 address of the server's ports
    ip6: str | None = None  # the same for IPv6 (2.5 for non-admins)


@functools.lru_cache(maxsize=256)
def filters_for_project(filters: ServerFilters, project_id: str | None) -> ServerFilters:
    """`filters` listing `project_id`'s servers (None: every project's), the same object for the same pair: a
    query parsed once is asked again and again (api/server_list_query.py), and a replace of its 22 fields per
    request was 10 us of a page's 300."""
    return filters if filters.project_id == project_id else dataclasses.replace(filters, project_id=project_id)


class ServerRef(NamedTuple):
    """What the brief server list shows of a server (its id and name; the links come from the id)."""

    uuid: str
    name: str


@dataclass(frozen=True)
class ActionRequest:
    """A server action that runs in the background: its name in domain/states.py ACTIONS (the API parsed the body
    into it: "reboot" with type HARD is "reboot_hard"). `work`: the work of another action to run under this one's
    states (a vendor dialect's soft reboot done hard, D36: "reboot" with the work of "reboot_hard")."""

    action: str
    work: str | None = None


@dataclass(frozen=True)
class ConsoleOutputRequest:
    """os-getConsoleOutput: the last `length` lines, or all of them (None)."""

    length: int | None = None
