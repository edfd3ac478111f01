"""Policy: one server's flavor, disk files and settings -> a DomainSpec (Nova's designer/_get_guest_config).

- The disks are a list of GuestDisk in boot order; each gets its device name from disk_devices.next_device_name,
  the policy hot-plug uses too: the name it asked for when free, else the next free one on its bus (vda, vdb ...
  on virtio, hda ... on IDE). `image_backed_disks` is Nova's layout for a server booted from an image: root,
  ephemeral, swap on virtio (root qcow2 overlay, ephemeral and swap raw, as storage/instance_disks.py makes them),
  then the config drive as a raw, read-only cdrom on IDE (machine 'pc'): hda.
- The server's name only in our metadata element (Nova: nova:instance/nova:name), never in <title>.
- SMBIOS as Nova writes it, so cloud-init and friends recognise an OpenStack guest.
- ACPI/APIC, UTC clock with Nova's x86 timers, a virtio balloon with 10 s stats.
- Serial port 0: an interactive UNIX socket (the serial console) logged to the console log file, or, without a
  socket, the log file alone; SeaBIOS also prints there (bios useserial), so even a guest that never boots leaves
  "No bootable device." in its console output.
- VNC on the given UNIX socket (never a TCP port: see displays.py), a VGA video device and a USB tablet; nothing
  of that when vnc_socket is None.
- virtio NICs on the taps the host made for the server's ports (type='ethernet', the port's MAC), in port order.
- virtio-serial channels as given (domain/guest_channels.py chooses them; libvirt adds the controller).
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from nodecompute.virt.disk_devices import next_device_name
from nodecompute.virt.domain_xml import ChannelSpec, DiskSpec, DomainSpec, InterfaceSpec, TimerSpec

SMBIOS_MANUFACTURER = "OpenStack Foundation"
SMBIOS_PRODUCT = "OpenStack Nova"
SMBIOS_FAMILY = "Virtual Machine"
NOVA_X86_TIMERS = (
    TimerSpec("pit", tickpolicy="delay"),
    TimerSpec("rtc", tickpolicy="catchup"),
    TimerSpec("hpet", present=False),
)
MEM_STATS_PERIOD_SECONDS = 10
LOCAL_DISK_BUS = "virtio"
CONFIG_DRIVE_BUS = "ide"


@dataclass(frozen=True)
class GuestDisk:
    """One disk of the domain before it has a device name. The format is always explicit: a raw disk declared qcow2
    fails, a qcow2 declared raw is a host-file leak."""

    path: str
    format: str
    bus: str = LOCAL_DISK_BUS
    device: str = "disk"  # disk | cdrom
    readonly: bool = False
    serial: str | None = None
    requested: str | None = None  # a device name asked for (/dev/vdb); None: the next free one
    pci_slot: int | None = None  # pinned PCI slot (a tagged disk: its device metadata names the address)
    boot_order: int | None = None  # a per-disk boot order (Nova's stable device rescue: the rescue disk's 1)


def image_backed_disks(*, root: str, ephemeral: str | None = None, swap: str | None = None,
                       config_drive: str | None = None, root_format: str = "qcow2",
                       config_drive_device: str = "cdrom", local: Sequence[GuestDisk] = (),
                       root_pci_slot: int | None = None) -> list[GuestDisk]:
    """`config_drive_device`: "cdrom" for an ISO 9660 drive, "disk" for a vfat one (writable, as in Nova's libvirt
    driver); `local`: the ephemeral and swap disks block device mappings asked for (in place of the flavor's);
    `root_pci_slot`: a tagged root's pinned slot (it still boots first, below or above the other disks' slots:
    libvirt gives the first disk of <boot dev='hd'/> the boot index)."""
    disks = [GuestDisk(root, root_format, pci_slot=root_pci_slot)]
    disks += [GuestDisk(path, "raw") for path in (ephemeral, swap) if path is not None]
    disks += local
    if config_drive is not None:
        disks.append(GuestDisk(config_drive, "raw", bus=CONFIG_DRIVE_BUS, device=config_drive_device,
                               readonly=config_drive_device == "cdrom"))  # QEMU has no read-only IDE disk
    return disks


def volume_backed_disks(*, root: GuestDisk, ephemeral: str | None = None, swap: str | None = None,
                        config_drive: str | None = None, config_drive_device: str = "cdrom",
                        local: Sequence[GuestDisk] = ()) -> list[GuestDisk]:
    """A server booted from a volume (Nova's layout): the root volume first, then the local ephemeral and swap,
    then the config drive."""
    return [root] + image_backed_disks(root="", ephemeral=ephemeral, swap=swap, config_drive=config_drive,
                                       config_drive_device=config_drive_device, local=local)[1:]


def name_disks(disks: Sequence[GuestDisk]) -> tuple[DiskSpec, ...]:
    """Device names in list order: the requested name where free, else the next free one of the disk's bus."""
    named: list[DiskSpec] = []
    for disk in disks:
        target = next_device_name([d.target for d in named], bus=disk.bus, requested=disk.requested)
        named.append(DiskSpec(path=disk.path, target=target, bus=disk.bus, device=disk.device, format=disk.format,
                              serial=disk.serial, readonly=disk.readonly, pci_slot=disk.pci_slot,
                              boot_order=disk.boot_order))
    return tuple(named)


def design_domain(*, name: str, uuid: str, display_name: str, memory_mb: int, vcpus: int,
                  disks: Sequence[GuestDisk], console_log: str, vnc_socket: str | None, server_id: str,
                  project_id: str, channels: Sequence[ChannelSpec] = (), serial_socket: str | None = None,
                  interfaces: Sequence[InterfaceSpec] = ()) -> DomainSpec:
    return DomainSpec(
        name=name,
        uuid=uuid,
        display_name=display_name,
        memory_mb=memory_mb,
        vcpus=vcpus,
        disks=name_disks(disks),
        console_log=console_log,
        vnc_socket=vnc_socket,
        tags={"server_id": server_id, "project_id": project_id},
        smbios=nova_smbios(uuid),
        features=("acpi", "apic"),
        clock_offset="utc",
        timers=NOVA_X86_TIMERS,
        bios_serial=True,
        video_model="vga",
        usb_tablet=vnc_socket is not None,
        memballoon_period=MEM_STATS_PERIOD_SECONDS,
        channels=tuple(channels),
        serial_socket=serial_socket,
        interfaces=tuple(interfaces),
    )


def nova_smbios(uuid: str) -> dict[str, str]:
    return {
        "manufacturer": SMBIOS_MANUFACTURER,
        "product": SMBIOS_PRODUCT,
        "serial": uuid,
        "uuid": uuid,
        "family": SMBIOS_FAMILY,
    }
