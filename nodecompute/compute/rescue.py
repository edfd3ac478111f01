"""rescue (#319) and unrescue (#320): the server boots a rescue image with its own root disk attached second.

Rescue (domain/states.py ACTIONS "rescue": ACTIVE, SHUTOFF or ERROR, no task, the lock checked): the rescue image
is the request's `rescue_image_ref` or the server's own image (404 when it cannot be found, as Nova's image API
answers); the admin password the request's or a generated one, answered with 200 (Nova's). In the background: a
fresh overlay of the rescue image (`disk.rescue`, the image's size) and, for a server with a config drive, a
rescue drive carrying the password (`disk.config.rescue`), as Nova's libvirt driver makes them; the guest is
powered off and its domain defined with the rescue disk first, the root disk second (the config drive last), then
started: RESCUED. Unrescue powers it off, defines the server's own domain, starts it and removes the rescue files.
A failure of either leaves ERROR with a fault and the server's own domain; a stop during either boots the server
from its own disk at start (its `replay` is unrescue).

A rescue image with both hw_rescue_bus and hw_rescue_device is Nova's stable device rescue: the server's own disks
keep their device names (a volume-backed server's root volume stays vda), the rescue disk is added last on that bus
and device (the next free name) and boots first through a per-disk boot order. A volume-backed server is rescued
only so (2.87), when the rescue image (the request's, else its root volume's) has both properties. Below 2.87, or
without those properties, Nova's InstanceNotRescuable (400). A rescue image that is a volume snapshot (its
properties carry block_device_mapping) is Nova's UnsupportedRescueImage (400).
"""
from __future__ import annotations

import dataclasses
import logging
import shutil
from dataclasses import dataclass
from pathlib import Path

from nodecompute.compute.guests import BootImage, DriveContent, Guests
from nodecompute.compute.images import ImageNotFound, ImageService
from nodecompute.compute.passwords import generate_password
from nodecompute.compute.root_volumes import RootVolumes
from nodecompute.compute.server_access import check_writable, visible_server
from nodecompute.compute.server_actions import ServerActions, Started, check_state
from nodecompute.compute.tagged_disks import root_pci_slot
from nodecompute.db import images as images_db
from nodecompute.db.store import Store
from nodecompute.domain import states
from nodecompute.domain.errors import BadRequest
from nodecompute.domain.models import AuthContext
from nodecompute.domain.server_models import Server
from nodecompute.storage import configdrive, instance_disks
from nodecompute.virt import designer
from nodecompute.virt.disk_devices import BUS_PREFIX

log = logging.getLogger(__name__)

RESCUE_DISK, RESCUE_DRIVE, RESCUE_STAGING = "disk.rescue", "disk.config.rescue", "rescue.new"


@dataclass(frozen=True)
class RescueDisk:
    """The disk a rescue boots: the image, its bus and device (hw_rescue_bus/hw_rescue_device), and whether the
    image asks for Nova's stable device rescue (both properties)."""

    image: BootImage
    bus: str = designer.LOCAL_DISK_BUS
    device: str = "disk"
    stable: bool = False


class ServerRescues:
    def __init__(self, store: Store, images: ImageService, actions: ServerActions, drive_for) -> None:
        self.store = store
        self.images = images
        self.actions = actions
        self.drive_for = drive_for  # (server, admin password) -> its config drive's content (servers.py)
        self.root_volumes: RootVolumes | None = None  # a volume-backed server's (set by the attachments service)
        actions.work["unrescue"] = unrescue_guest

    async def rescue(self, ctx: AuthContext, server_id: str, rescue_image_ref: str | None,
                     admin_pass: str | None, *, allow_volume_backed: bool = False) -> str:
        """Check and start the rescue; the admin password of the rescued guest. `allow_volume_backed`: 2.87 (a
        volume-backed server is rescued when the rescue image asks for a stable device rescue)."""
        server = visible_server(self.store, ctx, server_id)
        check_writable(ctx, server)
        check_state(states.ACTIONS["rescue"], server)
        image = None
        if rescue_image_ref is not None:  # Nova's image API: 404 when it is not found, 400 when not active
            image = self.images.get_for_boot(rescue_image_ref, ctx.project_id)
            if set(image.properties) & {"block_device_mapping", "img_block_device_mapping"}:
                raise BadRequest(f"Requested rescue image '{rescue_image_ref}' is not supported")  # a volume snapshot
        properties = image.properties if image is not None else server.image_properties
        stable = {"hw_rescue_bus", "hw_rescue_device"} <= set(properties)  # Nova's check_hw_rescue_props
        if server.volume_backed and not (allow_volume_backed and stable):  # Nova's InstanceNotRescuable
            raise BadRequest(f"Instance {server.uuid} cannot be rescued: Cannot rescue a volume-backed instance")
        if image is None:  # the server's own image (a volume-backed one's: its root volume's), deleted or not
            own = self.root_volumes.image_of(server) if server.volume_backed and self.root_volumes else server.image_id
            image = self.store.read(lambda db: images_db.get_image(db, own or "", include_deleted=True))
            if image is None:
                raise ImageNotFound(f"Image {own} could not be found.")
        boot = BootImage(image_id=image.id, sha256=image.content_sha256, disk_format=image.disk_format,
                         virtual_size=image.virtual_size or 0)
        password = admin_pass or generate_password()
        bus = str(properties.get("hw_rescue_bus", designer.LOCAL_DISK_BUS))
        device = str(properties.get("hw_rescue_device", "disk"))
        rescue_disk = RescueDisk(boot, bus if bus in BUS_PREFIX else designer.LOCAL_DISK_BUS,
                                 device if device in ("disk", "cdrom") else "disk", stable)
        await self.actions.begin(ctx, "rescue", server, (None,), work=self._work(rescue_disk, password))
        return password

    async def unrescue(self, ctx: AuthContext, server_id: str) -> None:
        server = visible_server(self.store, ctx, server_id)
        check_writable(ctx, server)
        check_state(states.ACTIONS["unrescue"], server)
        await self.actions.begin(ctx, "unrescue", server, (None,))

    def _work(self, image: RescueDisk, password: str):
        async def work(guests: Guests, server: Server, started: Started) -> None:
            try:
                await self._rescue_guest(guests, server, image, password)
            except BaseException:
                await _restore_own_domain(guests, server)
                raise
        return work

    async def _rescue_guest(self, guests: Guests, server: Server, rescue: RescueDisk, password: str) -> None:
        inst = guests.instance_dir(server.uuid)
        staging = inst / RESCUE_STAGING
        image = rescue.image
        _remove_rescue_files(inst)
        base = await guests.base_cache.ensure(image.sha256, guests.files.path_for(image.sha256), image.disk_format)
        try:
            made = await instance_disks.create_instance_disks(
                staging, base=base, base_format=image.disk_format, root_gb=0,
                image_virtual_size=image.virtual_size, ephemeral_gb=0, swap_mb=0)
            made.root.replace(inst / RESCUE_DISK)
        finally:
            await instance_disks.remove_instance_dir(staging)
        first = designer.GuestDisk(str(inst / RESCUE_DISK), "qcow2", bus=rescue.bus, device=rescue.device,
                                   readonly=rescue.device == "cdrom")
        if rescue.stable:  # Nova's stable device rescue: the server's own disks keep their device names, the
            # rescue disk comes last (the next free name on its bus) and boots first (boot order 1)
            disks = [d for d in guests.disks(server) if d.path != str(inst / "disk.config")]
            first = dataclasses.replace(first, boot_order=1)
        else:  # the legacy rescue: the rescue disk first (vda), the root disk second (a tagged one where it was)
            disks = [first, designer.GuestDisk(str(inst / instance_disks.ROOT), "qcow2",
                                               pci_slot=root_pci_slot(server))]
        if server.config_drive:
            content: DriveContent = self.drive_for(server, password)
            await guests.build_config_drive(server, content, inst / RESCUE_DRIVE)
            device = "disk" if configdrive.is_vfat(inst / RESCUE_DRIVE) else "cdrom"  # a vfat drive stays one
            disks += designer.image_backed_disks(root="", config_drive=str(inst / RESCUE_DRIVE),
                                                 config_drive_device=device)[1:]
        if rescue.stable:
            disks.append(first)
        await guests.power_off(server)
        await guests.define(server, disks)
        await guests.start(server)


async def unrescue_guest(guests: Guests, server: Server, started: Started) -> None:
    """The server's own domain again, started; the rescue files removed. Also the settling of a rescue or an
    unrescue a stop cut short (reconcile.py replays it). The rescue system is destroyed, not shut down, as Nova's
    unrescue does (a rescue image that does not boot, stuck in its firmware, would never answer ACPI)."""
    await guests.power_off(server, clean_timeout=0)
    await guests.define(server)
    await guests.start(server)
    _remove_rescue_files(guests.instance_dir(server.uuid))


async def _restore_own_domain(guests: Guests, server: Server) -> None:
    """After a failed rescue: the server's own domain defined (not started), no rescue files."""
    try:
        await guests.hv.destroy(server.instance_name)
        await guests.define(server)
    except Exception:
        log.exception("server %s: could not define its own domain again after a failed rescue", server.uuid)
    _remove_rescue_files(guests.instance_dir(server.uuid))


def _remove_rescue_files(inst: Path) -> None:
    for name in (RESCUE_DISK, RESCUE_DRIVE):
        (inst / name).unlink(missing_ok=True)
    shutil.rmtree(inst / RESCUE_STAGING, ignore_errors=True)  # a rescue's, cut short by a stop
