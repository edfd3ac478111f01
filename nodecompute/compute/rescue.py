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
"""
from __future__ import annotations

import logging
import shutil
from pathlib import Path

from nodecompute.compute.guests import BootImage, DriveContent, Guests
from nodecompute.compute.images import ImageNotFound, ImageService
from nodecompute.compute.passwords import generate_password
from nodecompute.compute.server_access import check_writable, visible_server
from nodecompute.compute.server_actions import ServerActions, Started, check_state
from nodecompute.db import images as images_db
from nodecompute.db.store import Store
from nodecompute.domain import states
from nodecompute.domain.errors import BadRequest
from nodecompute.domain.models import AuthContext
from nodecompute.domain.server_models import Server
from nodecompute.storage import configdrive, instance_disks
from nodecompute.virt import designer

log = logging.getLogger(__name__)

RESCUE_DISK, RESCUE_DRIVE, RESCUE_STAGING = "disk.rescue", "disk.config.rescue", "rescue.new"


class ServerRescues:
    def __init__(self, store: Store, images: ImageService, actions: ServerActions, drive_for) -> None:
        self.store = store
        self.images = images
        self.actions = actions
        self.drive_for = drive_for  # (server, admin password) -> its config drive's content (servers.py)
        actions.work["unrescue"] = unrescue_guest

    async def rescue(self, ctx: AuthContext, server_id: str, rescue_image_ref: str | None,
                     admin_pass: str | None) -> str:
        """Check and start the rescue; the admin password of the rescued guest."""
        server = visible_server(self.store, ctx, server_id)
        check_writable(ctx, server)
        check_state(states.ACTIONS["rescue"], server)
        if server.volume_backed:  # Nova's InstanceNotRescuable when no stable-device rescue image is named
            raise BadRequest(f"Instance {server.uuid} cannot be rescued: Cannot rescue a volume-backed instance")
        if rescue_image_ref is not None:  # Nova's image API: 404 when it is not found, 400 when not active
            image = self.images.get_for_boot(rescue_image_ref, ctx.project_id)
        else:  # the server's own image, deleted since or not (its base stays cached while the server uses it)
            image = self.store.read(lambda db: images_db.get_image(db, server.image_id, include_deleted=True))
            if image is None:
                raise ImageNotFound(f"Image {server.image_id} could not be found.")
        boot = BootImage(image_id=image.id, sha256=image.content_sha256, disk_format=image.disk_format,
                         virtual_size=image.virtual_size or 0)
        password = admin_pass or generate_password()
        await self.actions.begin(ctx, "rescue", server, (None,), work=self._work(boot, password))
        return password

    async def unrescue(self, ctx: AuthContext, server_id: str) -> None:
        server = visible_server(self.store, ctx, server_id)
        check_writable(ctx, server)
        check_state(states.ACTIONS["unrescue"], server)
        await self.actions.begin(ctx, "unrescue", server, (None,))

    def _work(self, image: BootImage, password: str):
        async def work(guests: Guests, server: Server, started: Started) -> None:
            try:
                await self._rescue_guest(guests, server, image, password)
            except BaseException:
                await _restore_own_domain(guests, server)
                raise
        return work

    async def _rescue_guest(self, guests: Guests, server: Server, image: BootImage, password: str) -> None:
        inst = guests.instance_dir(server.uuid)
        staging = inst / RESCUE_STAGING
        _remove_rescue_files(inst)
        base = await guests.base_cache.ensure(image.sha256, guests.files.path_for(image.sha256), image.disk_format)
        try:
            made = await instance_disks.create_instance_disks(
                staging, base=base, base_format=image.disk_format, root_gb=0,
                image_virtual_size=image.virtual_size, ephemeral_gb=0, swap_mb=0)
            made.root.replace(inst / RESCUE_DISK)
        finally:
            await instance_disks.remove_instance_dir(staging)
        disks = [designer.GuestDisk(str(inst / RESCUE_DISK), "qcow2"),
                 designer.GuestDisk(str(inst / instance_disks.ROOT), "qcow2")]
        if server.config_drive:
            content: DriveContent = self.drive_for(server, password)
            await guests.build_config_drive(server, content, inst / RESCUE_DRIVE)
            device = "disk" if configdrive.is_vfat(inst / RESCUE_DRIVE) else "cdrom"  # a vfat drive stays one
            disks += designer.image_backed_disks(root="", config_drive=str(inst / RESCUE_DRIVE),
                                                 config_drive_device=device)[1:]
        await guests.power_off(server)
        await guests.define(server, disks)
        await guests.start(server)


async def unrescue_guest(guests: Guests, server: Server, started: Started) -> None:
    """The server's own domain again, started; the rescue files removed. Also the settling of a rescue or an
    unrescue a stop cut short (reconcile.py replays it)."""
    await guests.power_off(server)
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
