"""Policy: one server's flavor, disk files and settings -> a DomainSpec (Nova's designer/_get_guest_config).

- Local disks on virtio in the order root, ephemeral, swap (vda, vdb, vdc: each takes the next free name);
  root qcow2 (overlay), ephemeral and swap raw, as nodecompute/storage/instance_disks.py makes them.
- The config drive is a raw, read-only cdrom on IDE (machine 'pc'), first free IDE name: hda (Nova).
- The server's name only in our metadata element (Nova: nova:instance/nova:name), never in <title>.
- SMBIOS as Nova writes it, so cloud-init and friends recognise an OpenStack guest.
- ACPI/APIC, UTC clock with Nova's x86 timers, a virtio balloon with 10 s stats.
- Serial port 0 appended to the console log file; SeaBIOS also prints there (bios useserial), so even a guest
  that never boots leaves "No bootable device." in its console output.
- VNC on the given UNIX socket (never a TCP port: see displays.py), a VGA video device and a USB tablet; nothing
  of that when vnc_socket is None.
"""
from __future__ import annotations

from nodecompute.virt.domain_xml import DiskSpec, DomainSpec, TimerSpec

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


def design_domain(*, name: str, uuid: str, display_name: str, memory_mb: int, vcpus: int, root: str,
                  ephemeral: str | None, swap: str | None, config_drive: str | None, console_log: str,
                  vnc_socket: str | None, server_id: str, project_id: str, root_format: str = "qcow2",
                  ephemeral_format: str = "raw", swap_format: str = "raw") -> DomainSpec:
    """Formats are always explicit: a raw disk declared qcow2 fails, a qcow2 declared raw is a host-file leak."""
    return DomainSpec(
        name=name,
        uuid=uuid,
        display_name=display_name,
        memory_mb=memory_mb,
        vcpus=vcpus,
        disks=_disks(((root, root_format), (ephemeral, ephemeral_format), (swap, swap_format)), config_drive),
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
    )


def nova_smbios(uuid: str) -> dict[str, str]:
    return {
        "manufacturer": SMBIOS_MANUFACTURER,
        "product": SMBIOS_PRODUCT,
        "serial": uuid,
        "uuid": uuid,
        "family": SMBIOS_FAMILY,
    }


def _disks(local_disks: tuple[tuple[str | None, str], ...], config_drive: str | None) -> tuple[DiskSpec, ...]:
    present = [(path, fmt) for path, fmt in local_disks if path is not None]
    disks = [DiskSpec(path=path, target=_device_name("vd", index), bus=LOCAL_DISK_BUS, format=fmt)
             for index, (path, fmt) in enumerate(present)]
    if config_drive is not None:
        disks.append(DiskSpec(path=config_drive, target=_device_name("hd", 0), bus=CONFIG_DRIVE_BUS,
                              device="cdrom", format="raw", readonly=True))
    return tuple(disks)


def _device_name(prefix: str, index: int) -> str:
    if not 0 <= index < 26:
        raise ValueError(f"disk index {index} out of range")
    return prefix + chr(ord("a") + index)
