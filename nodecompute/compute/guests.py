"""Guest lifecycle on this host: disks, config drive and libvirt domain for one server row.

Every step that makes something (instance directory, overlay, config drive, domain, display socket) has its undo
in `destroy`, which is idempotent: a failed or interrupted build, a delete and the start-up reconciliation all use
it, so no step can leave an orphan behind. `crash_point` lets the crash tests kill the daemon between steps.
"""
from __future__ import annotations

import asyncio
import functools
import logging
import os
import signal
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from nodecompute import filemodes
from nodecompute.compute import metadata_documents
from nodecompute.compute.instance_metadata import drive_metadata
from nodecompute.compute.tagged_disks import root_pci_slot, slotted_local_disks
from nodecompute.domain import states
from nodecompute.domain.guest_channels import TEST_CHANNEL
from nodecompute.domain.server_models import InjectedFileSpec, Server
from nodecompute.config import Config
from nodecompute.storage import configdrive, instance_disks
from nodecompute.storage.image_files import ImageFiles
from nodecompute.threads import run_in_thread
from nodecompute.virt import blockjobs, designer, disk_devices, displays, domain_xml, guest_power, leftovers
from nodecompute.virt.errors import HypervisorError
from nodecompute.virt.hypervisor import Hypervisor

log = logging.getLogger(__name__)

CRASH_ENV = "NODECOMPUTE_TEST_CRASH_AT"  # test hook: SIGKILL ourselves at this build step
BUILD_STEPS = ("row_written", "overlay_made", "drive_built", "domain_defined", "domain_started")
RESTORE_LOADED = "restore_loaded"  # ... or in the middle of a resume's restore (virt/leftovers.py)


def crash_point(step: str) -> None:
    if os.environ.get(CRASH_ENV) == step:
        log.warning("test hook: killing the daemon at build step %s", step)
        os.kill(os.getpid(), signal.SIGKILL)


@dataclass(frozen=True)
class BootImage:
    image_id: str
    sha256: str
    disk_format: str
    virtual_size: int


@dataclass(frozen=True)
class DriveContent:
    files: tuple[InjectedFileSpec, ...]
    user_data: bytes | None
    admin_pass: str | None
    network_data: Mapping = field(default_factory=dict)  # network_data.json ({} without a NIC)
    devices: Sequence[metadata_documents.DeviceMetadata] = ()  # tagged devices (meta_data.json `devices`)
    drive_format: str | None = None  # a dialect's format for this server's drive (None: config_drive_format)
    extra_files: tuple[tuple[str, bytes], ...] = ()  # (path, contents) beside Nova's tree (Helion's /meta.js)


class Guests:
    def __init__(self, cfg: Config, hv: Hypervisor, files: ImageFiles, base_cache: instance_disks.BaseCache,
                 display_dir: Path) -> None:
        self.cfg = cfg
        self.hv = hv
        self.files = files
        self.base_cache = base_cache
        self.dir_access = filemodes.guest_dir_access(cfg.libvirt_uri)  # 0750 group libvirt-qemu under system
        self.display_dir = display_dir  # VNC display sockets (virt/displays.py: prepared and checked at start)
        self.on_consoles_gone: Callable[[str], Awaitable[None]] | None = None
        # The server's NICs for its domain, their taps made (compute/server_ports.py); none without networking.
        self.interfaces: Callable[[Server], Awaitable[Sequence[domain_xml.InterfaceSpec]]] | None = None
        # a server's attached volumes as disks (set by the attachments service, compute/volume_attachments.py)
        self.volume_disks: Callable[[str], list[designer.GuestDisk]] = lambda server_uuid: []
        # told the device names a definition of the server's own disks gave (the attachments service records the
        # names of volumes attached while the server had no domain: shelved offloaded)
        self.disks_named: Callable[[Server, tuple[domain_xml.DiskSpec, ...]], Awaitable[None]] | None = None

    def instance_dir(self, server_uuid: str) -> Path:
        return self.cfg.instances_dir / server_uuid

    def console_log(self, server_uuid: str) -> Path:
        return self.instance_dir(server_uuid) / "console.log"

    def display_socket(self, server_uuid: str) -> Path:
        return displays.socket_path(self.display_dir, server_uuid)

    def channel_socket(self, server_uuid: str) -> Path:
        """The test command channel's UNIX socket (beside the display's: the same directory, the same rules)."""
        return displays.channel_path(self.display_dir, server_uuid)

    def serial_socket(self, server_uuid: str) -> Path:
        """The serial console's UNIX socket (port 0, logged to console.log; the same directory, the same rules)."""
        return displays.serial_path(self.display_dir, server_uuid)

    def channels(self, server: Server) -> list[domain_xml.ChannelSpec]:
        """The server's virtio-serial channels: the test channel on our socket, the agent's where libvirt likes."""
        return [domain_xml.ChannelSpec(name, str(self.channel_socket(server.uuid)) if name == TEST_CHANNEL else None)
                for name in server.guest_channels]

    def disk_capacity(self) -> int:
        """Bytes of the file system holding the instance disks (Nova's DISK_GB inventory: its total size)."""
        path = self.cfg.instances_dir
        while not path.exists() and path != path.parent:
            path = path.parent
        fs = os.statvfs(path)
        return fs.f_blocks * fs.f_frsize

    async def make_disks(self, server: Server, image: BootImage | None) -> None:
        """The local disks: the root from the image (none for a volume-backed server: image None), ephemeral, swap."""
        inst = self.instance_dir(server.uuid)
        filemodes.make_dir(inst, self.dir_access)
        await make_server_disks(self.base_cache, self.files, inst, server, image)
        # Ours, 0600, before QEMU (root under qemu:///embed) appends to it: it can show an admin password.
        filemodes.create_file(self.console_log(server.uuid))

    def disks(self, server: Server) -> list[designer.GuestDisk]:
        """The server's disks in boot order: the local ones, then its attached volumes; a volume-backed server's
        root volume first (vda), then its local ones, then its other volumes."""
        inst = self.instance_dir(server.uuid)
        volumes = self.volume_disks(server.uuid)
        drive = inst / "disk.config"
        mapped = server.local_disks is not None  # the disks its mappings asked for, not the flavor's
        local = {"ephemeral": str(inst / "disk.local") if server.ephemeral_gb and not mapped else None,
                 "swap": str(inst / "disk.swap") if server.swap and not mapped else None,
                 "local": [designer.GuestDisk(str(inst / disk.file), disk.disk_format, bus=bus, requested=name,
                                              pci_slot=slot)  # a tagged one where its device metadata says
                           for disk, name, bus, slot in slotted_local_disks(server)
                           if mapped],
                 "config_drive": str(drive) if server.config_drive else None,
                 "config_drive_device": "disk" if server.config_drive and configdrive.is_vfat(drive) else "cdrom"}
        if server.volume_backed and volumes:
            return designer.volume_backed_disks(root=volumes[0], **local) + volumes[1:]
        return designer.image_backed_disks(root=str(inst / "disk"), root_pci_slot=root_pci_slot(server),
                                           **local) + volumes

    def _domain_xml(self, server: Server, interfaces: Sequence[domain_xml.InterfaceSpec] = (),
                    disks: list[designer.GuestDisk] | None = None) -> str:
        spec = designer.design_domain(
            name=server.instance_name, uuid=server.uuid, display_name=server.name, memory_mb=server.memory_mb,
            vcpus=server.vcpus, disks=self.disks(server) if disks is None else disks, console_log=str(self.console_log(server.uuid)),
            vnc_socket=str(self.display_socket(server.uuid)), server_id=server.uuid, project_id=server.project_id,
            channels=self.channels(server), interfaces=interfaces,
            serial_socket=str(self.serial_socket(server.uuid)),
        )
        return domain_xml.render(spec, self.hv.host)

    async def interfaces_of(self, server: Server) -> Sequence[domain_xml.InterfaceSpec]:
        """The server's NICs for its domain, their taps made and filtered (none without networking)."""
        return await self.interfaces(server) if self.interfaces is not None and server.nics else ()

    async def define(self, server: Server, disks: list[designer.GuestDisk] | None = None, *,
                     interfaces: Sequence[domain_xml.InterfaceSpec] | None = None) -> None:
        """The server's domain, with its own disks unless given others (a rescue's: compute/rescue.py), and its NICs
        (made here unless `interfaces_of` gave them already)."""
        if interfaces is None:
            interfaces = await self.interfaces_of(server)
        own = disks is None
        disks = self.disks(server) if own else disks
        await self.hv.define(self._domain_xml(server, interfaces, disks))
        if own and self.disks_named is not None:
            await self.disks_named(server, designer.name_disks(disks))

    async def build_config_drive(self, server: Server, content: DriveContent, dest: Path | None = None) -> None:
        """Written once, before the domain is defined and first started (Nova); reused by hard reboots. A rebuild
        and a rescue write theirs elsewhere (`dest`)."""
        md = drive_metadata(server, dhcp_domain=self.cfg.compute.dhcp_domain, files=content.files,
                            user_data=content.user_data, admin_pass=content.admin_pass,
                            network_data=content.network_data, devices=content.devices)
        tree = metadata_documents.build_tree(md)
        for path, contents in content.extra_files:
            tree.setdefault(path.strip("/"), contents)
        dest = dest or self.instance_dir(server.uuid) / "disk.config"
        drive_format = content.drive_format or self.cfg.compute.config_drive_format
        write = configdrive.write_vfat if drive_format == "vfat" else functools.partial(
            configdrive.write_iso, file_modes=metadata_documents.content_modes(md))
        await run_in_thread(write, tree, dest)  # a delete's undo must not race a drive still being written

    async def start(self, server: Server, timeout: float = 60.0) -> None:
        power = await self.hv.start(server.instance_name)
        displays.restrict(self.display_socket(server.uuid))  # QEMU made it anew (0775, in a 0700 directory)
        displays.restrict(self.channel_socket(server.uuid))  # the same, when there is a test channel
        displays.restrict(self.serial_socket(server.uuid))  # the same, once the domain has a serial console
        if power != states.RUNNING and not await self.wait_power(server, states.RUNNING, timeout):
            raise HypervisorError(f"domain {server.instance_name} did not reach running within {timeout:.0f}s")

    async def wait_power(self, server: Server, wanted: int, timeout: float) -> bool:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            if await self.hv.power_state(server.instance_name) == wanted:
                return True
            if loop.time() >= deadline:
                return False
            await asyncio.sleep(0.1)

    async def power_off(self, server: Server, clean_timeout: float = 60.0, retry_interval: float = 10.0) -> None:
        """ACPI shutdown, re-sent every retry_interval for up to clean_timeout, then destroy (Nova's power_off)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + clean_timeout
        while loop.time() < deadline:
            if await self.hv.power_state(server.instance_name) != states.RUNNING:
                break
            await self.hv.shutdown(server.instance_name)
            if await self.wait_power(server, states.SHUTDOWN, min(retry_interval, deadline - loop.time())):
                break
        await self.hv.destroy(server.instance_name)
        await self._consoles_gone(server.uuid)

    async def _consoles_gone(self, server_uuid: str) -> None:
        """The server's display and serial console are gone (stopped, deleted): revoke its console tokens and
        close its open console sessions (compute/consoles.py sets the hook)."""
        if self.on_consoles_gone is not None:
            await self.on_consoles_gone(server_uuid)

    async def hard_reboot(self, server: Server) -> None:
        """Destroy, regenerate the domain XML from the database, start (the config drive is reused). A suspended
        server's saved memory is dropped: it boots afresh (Nova undefines the domain with its managed save)."""
        await self.hv.destroy(server.instance_name)
        if await guest_power.drop_managed_save(self.hv, server.instance_name):
            log.info("server %s: dropped the saved memory of its suspend for a hard reboot", server.uuid)
        await self.define(server)
        await self.start(server)

    async def soft_reboot(self, server: Server, timeout: float = 120.0, retry_interval: float = 10.0) -> bool:
        """ACPI shutdown (re-sent every retry_interval: a guest still booting may miss the first press), wait for
        the guest to power off, start it again. False when the guest did not comply within timeout."""
        before = await self.hv.domain_id(server.instance_name)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        next_press = loop.time()
        while loop.time() < deadline:
            current = await self.hv.domain_id(server.instance_name)
            if current is None:  # off (libvirt's "being shut down" state still has a domain id)
                await self.start(server)
                return True
            if current != before:
                return True  # the guest rebooted itself
            if loop.time() >= next_press:
                await self.hv.shutdown(server.instance_name)
                next_press = loop.time() + retry_interval
            await asyncio.sleep(0.2)
        return False

    # Each of these is a no-op when the domain is already where it leads: a replay after a stop (reconcile.py) runs
    # them again on a domain the first run may have reached.
    async def pause(self, server: Server) -> None:
        if await self.hv.power_state(server.instance_name) != states.PAUSED:
            await guest_power.pause(self.hv, server.instance_name)

    async def unpause(self, server: Server) -> None:
        if await self.hv.power_state(server.instance_name) != states.RUNNING:
            await guest_power.unpause(self.hv, server.instance_name)

    async def suspend(self, server: Server) -> None:
        """Managed save: the memory to disk, the domain off (power state SHUTDOWN, as Nova shows a suspended one)."""
        if await self.hv.power_state(server.instance_name) in (states.RUNNING, states.PAUSED):
            await guest_power.managed_save(self.hv, server.instance_name)

    async def resume(self, server: Server) -> None:
        """Start the domain as it is defined: libvirt restores the saved memory (Nova recreates it from its XML)."""
        if os.environ.get(CRASH_ENV) == RESTORE_LOADED:
            await leftovers.kill_when_restore_loaded(self.hv, server.instance_name)
        await self.start(server)

    async def power_on(self, server: Server) -> None:
        """Start a stopped server afresh from today's definition (Nova's power_on is a hard reboot: it undefines
        the domain with its managed save), never from memory a suspend once saved."""
        if await guest_power.drop_managed_save(self.hv, server.instance_name):
            log.warning("server %s: dropped a saved memory image before powering it on", server.uuid)
        await self.define(server)
        await self.start(server)

    async def copy_root_disk(self, server: Server, dest: Path) -> None:
        """The root disk as it is now into a new standalone qcow2 `dest` (createImage, createBackup): libvirt's
        backup job while QEMU holds the disk (running or paused: its image lock keeps qemu-img out), qemu-img
        when the domain is off (stopped, or suspended: its memory is in the managed save, not on the disk)."""
        root = self.instance_dir(server.uuid) / instance_disks.ROOT
        if await self.hv.power_state(server.instance_name) in (states.RUNNING, states.PAUSED):
            disks = await disk_devices.list_disks(self.hv, server.instance_name)
            target = next((disk.target for disk in disks if disk.source == str(root)), None)
            if target is None:
                raise HypervisorError(f"domain {server.instance_name} has no disk {root}")
            await blockjobs.backup_disk(self.hv, server.instance_name, target, dest)
        else:
            await instance_disks.copy_to_qcow2(root, dest)

    async def inject_nmi(self, server: Server) -> None:
        await guest_power.inject_nmi(self.hv, server.instance_name)

    async def destroy(self, server_uuid: str, instance_name: str) -> None:
        """Remove the domain and every file of the server. Idempotent."""
        await self.hv.destroy(instance_name)
        await self.hv.undefine(instance_name)
        self.display_socket(server_uuid).unlink(missing_ok=True)
        self.channel_socket(server_uuid).unlink(missing_ok=True)
        self.serial_socket(server_uuid).unlink(missing_ok=True)
        await self._consoles_gone(server_uuid)
        await instance_disks.remove_instance_dir(self.instance_dir(server_uuid))

    def read_console(self, server_uuid: str) -> str:
        from nodecompute.virt.console import read_console_tail

        return read_console_tail(self.console_log(server_uuid), self.cfg.compute.console_log_max_bytes)


async def make_server_disks(base_cache, files, inst: Path, server: Server, image: BootImage | None) -> None:
    """A server's local disks in `inst`: the root from the image (none for a volume-backed server: image None),
    the ephemeral and swap disks (its mappings' or the flavor's)."""
    mapped = server.local_disks is not None
    ephemeral_gb, swap_mb = (0, 0) if mapped else (server.ephemeral_gb, server.swap)
    if image is None:
        await instance_disks.create_extra_disks(inst, ephemeral_gb=ephemeral_gb, swap_mb=swap_mb)
    else:
        base = await base_cache.ensure(image.sha256, files.path_for(image.sha256), image.disk_format)
        await instance_disks.create_instance_disks(
            inst, base=base, base_format=image.disk_format, root_gb=server.root_gb,
            image_virtual_size=image.virtual_size, ephemeral_gb=ephemeral_gb, swap_mb=swap_mb,
            templates=base_cache.templates)
    if mapped:
        await instance_disks.create_local_disks(inst, server.local_disks)
