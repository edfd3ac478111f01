"""rebuild (#303): the server gets a fresh root disk (from a new image or the same), a fresh config drive and the
request's name, metadata, files or user data, keypair and hostname; it keeps its id, ports and addresses.

Nova's order: the lock, the states (domain/states.py ACTIONS "rebuild": ACTIVE, SHUTOFF or ERROR, no task), the
keypair, trusted certificates, the image (400 "Cannot find image for rebuild"; active), the metadata and file
limits and the image against the flavor (min_ram, min_disk, the image's size). Then one transaction rewrites the
row with what the request changes and the task `rebuilding` (a compare-and-set: db/servers.py rebuild_server), so
the 202 answer shows the new image and name, as Nova's. In the background (server_actions.py runs it, recorded):

1. the new disks and config drive are made in `<instance>/rebuild.new/` (left-overs of an earlier try removed);
2. the task goes `rebuild_spawning`; the guest is powered off; each staged file replaces the live one (a rename);
3. the domain is defined again and started, unless the server was SHUTOFF (it stays so, as Nova leaves it).

A failure leaves ERROR with a fault (Nova); the staged files are removed. A stop in the middle (the crash points
`rebuild_staged`, `rebuild_swapped`) is settled at start by running the rebuild again from the row (reconcile.py's
replay): the finished rebuild, without the request's admin password, which was never stored; a 2.93 rebuild's
re-image of the root volume too (its image is kept from the claim to the end of the work: db/server_reimages.py).
"""
from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from nodecompute.compute import drive_layouts, image_properties, placement
from nodecompute.compute.guests import BootImage, DriveContent, Guests, crash_point, make_server_disks
from nodecompute.compute.images import ImageService
from nodecompute.compute.keypairs import KeypairService
from nodecompute.compute.passwords import generate_password
from nodecompute.compute.quotas import QuotaService
from nodecompute.compute.root_volumes import RootVolumes
from nodecompute.compute.network_data import nic_devices
from nodecompute.compute.server_access import check_writable, visible_server
from nodecompute.compute.server_actions import ServerActions, Started, check_state, unless_reverting
from nodecompute.compute.server_ports import ServerPorts
from nodecompute.compute.volume_boot import tagged_disk_devices
from nodecompute.db import images as images_db, server_drives, server_reimages, servers as servers_db
from nodecompute.db import volume_attachments as attachments_db
from nodecompute.db.store import Store
from nodecompute.domain import disk_config, states
from nodecompute.domain.errors import BadRequest, ComputeError, NotFound
from nodecompute.domain.guest_channels import channels_for
from nodecompute.domain.models import AuthContext, Clock, Flavor
from nodecompute.domain.server_models import InjectedFileSpec, Server, root_disk_bytes
from nodecompute.storage import instance_disks

log = logging.getLogger(__name__)

STAGING = "rebuild.new"
GIB = 1 << 30
UNCHANGED: Any = object()  # a field the request did not name (key_name and user_data may be set to null)
DriveFor = Callable[[Server, "str | None"], DriveContent]


@dataclass(frozen=True)
class RebuildRequest:
    image_ref: str
    admin_pass: str | None = None
    columns: dict[str, Any] = field(default_factory=dict)  # name, description, access IPs, diskConfig, hostname
    metadata: dict[str, str] | None = None  # None: kept
    personality: tuple[InjectedFileSpec, ...] = ()
    key_name: Any = UNCHANGED  # 2.54: a name, or None to remove the keypair
    user_data: Any = UNCHANGED  # 2.57: bytes, or None to remove it
    trusted_certs: tuple[str, ...] = ()
    preserve_ephemeral: bool = False  # Nova's libvirt driver cannot: the rebuild fails (ERROR), as there
    reimage_boot_volume: bool = False  # 2.93: a volume-backed server's root volume is re-imaged (any image)


class ServerRebuilds:
    def __init__(self, store: Store, guests: Guests, images: ImageService, keypairs: KeypairService,
                 quotas: QuotaService, actions: ServerActions, clock: Clock, drive_for: DriveFor) -> None:
        self.store = store
        self.guests = guests
        self.images = images
        self.keypairs = keypairs
        self.quotas = quotas
        self.actions = actions
        self.clock = clock
        self.drive_for = drive_for
        # a volume-backed server's root volume (compute/root_volumes.py; set by the attachments service)
        self.root_volumes: RootVolumes | None = None
        actions.work["rebuild"] = self._work(None)  # the replay after a stop: no admin password

    async def rebuild(self, ctx: AuthContext, server_id: str, req: RebuildRequest) -> tuple[Server, str]:
        """Check, rewrite the row, start the work; the server as rewritten and its admin password."""
        server = visible_server(self.store, ctx, server_id)
        check_writable(ctx, server)
        check_state(states.ACTIONS["rebuild"], server)
        values = {**req.columns, **self._keypair(ctx, req)}
        if req.trusted_certs and not server.volume_backed:  # as create (compute/servers.py): this cloud validates no image signatures
            raise BadRequest(f"Image signature certificate validation failed for certificate: "
                             f"{req.trusted_certs[0]}. This cloud does not validate image signatures.")
        try:
            image = self.images.get_for_boot(req.image_ref, ctx.project_id)
        except NotFound:
            raise BadRequest("Cannot find image for rebuild") from None
        # the request's diskConfig, else the new image's (Nova's _inherit_properties_from_image)
        values["disk_config"] = disk_config.for_boot(image.properties, req.columns.get("disk_config"), image.id)
        metadata_count = len(req.metadata if req.metadata is not None else server.metadata)
        placement.check_injection_limits(self.quotas.limits(ctx.project_id), metadata_count, req.personality)
        flavor = Flavor(server.flavorid, server.flavor_name, server.memory_mb, server.vcpus, server.root_gb)
        reimage: str | None = None
        if server.volume_backed:  # Nova: before 2.93 the same image only (not re-imaged); from 2.93 any, re-imaged
            root = self.root_volumes.of(server) if self.root_volumes else None
            if root is None:
                raise ComputeError("Unable to find root block device mapping for volume-backed instance.")
            if req.trusted_certs:
                raise BadRequest("Image certificate validation is not supported for volume-backed servers.")
            if image.id != root.image_id and not req.reimage_boot_volume:
                raise BadRequest(f"Image {image.id} is unacceptable: Unable to rebuild with a different image for "
                                 f"a volume-backed server.")
            placement.check_memory_fit(flavor, image)
            if image.min_disk > root.size_gb:  # Nova's VolumeSmallerThanMinDisk against the root's volume_size
                raise BadRequest(f"Volume is smaller than the minimum size specified in image metadata. Volume "
                                 f"size is {root.size_gb * GIB} bytes, minimum size is {image.min_disk * GIB} "
                                 f"bytes.")
            reimage = image.id if req.reimage_boot_volume else None
        else:
            placement.check_fit(ctx, flavor, image)
        if req.user_data is not UNCHANGED:
            values["user_data"] = req.user_data
        values.update(task_state=states.REBUILDING, progress=0)
        values.update(guest_channels=json.dumps(list(channels_for(image.properties))),
                      image_properties=json.dumps(image_properties.copied(image.properties)))
        if not server.volume_backed:  # Nova keeps a volume-backed server's image_ref empty over a rebuild
            values.update(image_id=image.id, image_sha256=image.content_sha256,
                          root_disk_bytes=root_disk_bytes(server.root_gb, image.virtual_size or 0))
        admin_pass = req.admin_pass or generate_password()
        claimed: list[Server] = []

        async def claim() -> Server | None:
            found = await self.store.write(unless_reverting("rebuild", _claim), server.uuid, values, req.metadata,
                                           req.personality, reimage, now=self.clock())
            claimed.extend([found] if found is not None else [])
            return found

        work = _cannot_preserve_ephemeral if req.preserve_ephemeral else self._work(admin_pass, reimage)
        await self.actions.begin(ctx, "rebuild", server, (None,), work=work, claim=claim)
        return claimed[0], admin_pass

    def _keypair(self, ctx: AuthContext, req: RebuildRequest) -> dict[str, Any]:
        """2.54: the caller's keypair by name (Nova looks in the requesting user's keys), or none."""
        if req.key_name is UNCHANGED:
            return {}
        if req.key_name is None:
            return {"key_name": None, "key_data": None, "extra_keys": "[]"}
        try:
            keypair = self.keypairs.get(ctx.user_id, req.key_name)
        except NotFound:
            raise BadRequest("Invalid key_name provided.") from None
        return {"key_name": keypair.name, "key_data": keypair.public_key, "extra_keys": "[]"}

    def _work(self, admin_pass: str | None, reimage: str | None = None):
        """`reimage`: the image a volume-backed server's root volume is re-imaged from (2.93); the replay after a
        stop reads it from the claim's record (the volume is whole, old or new: root_volumes.py, and is re-imaged
        again)."""
        async def work(guests: Guests, server: Server, started: Started) -> None:
            staging = guests.instance_dir(server.uuid) / STAGING
            image_id = reimage or self.store.read(server_reimages.reimage_of, server.uuid)
            try:
                await self._rebuild_guest(guests, server, admin_pass, started, image_id)
            finally:
                await instance_disks.remove_instance_dir(staging)
                if image_id is not None:
                    await self.store.write(server_reimages.set_reimage, server.uuid, None)
        return work

    async def _rebuild_guest(self, guests: Guests, server: Server, admin_pass: str | None,
                             started: Started, reimage: str | None) -> None:
        inst = guests.instance_dir(server.uuid)
        staging = inst / STAGING
        await instance_disks.remove_instance_dir(staging)  # an earlier try's, cut short by a stop
        # a volume-backed server's root volume is re-imaged below (2.93) or kept; fresh ephemeral and swap disks
        # (its mappings' or the flavor's: Nova's rebuild spawns them anew, preserve_ephemeral is refused)
        image = None if server.volume_backed else self.store.read(_boot_image, server.image_id)
        await make_server_disks(guests.base_cache, guests.files, staging, server, image)
        if server.config_drive:
            await guests.build_config_drive(server, self.drive_for(server, admin_pass), staging / "disk.config")
        crash_point("rebuild_staged")  # the crash tests' SIGKILL: new disks staged, the old ones in use
        await started()
        await guests.power_off(server)
        for staged in sorted(staging.iterdir()):
            os.replace(staged, inst / staged.name)
        if reimage is not None and self.root_volumes is not None:
            await self.root_volumes.reimage(server, reimage)
        crash_point("rebuild_swapped")  # the crash tests' SIGKILL: the new disks in place, the domain off
        await guests.define(server)
        if server.vm_state != states.STOPPED:
            await guests.start(server)


def _claim(db, uuid: str, values: dict, metadata, files, reimage: str | None, *, now) -> Server | None:
    """The rebuild's compare-and-set and, in the same transaction, the image its work re-images from (if any)."""
    found = servers_db.rebuild_server(db, uuid, values, metadata, files, now=now)
    if found is not None:
        server_reimages.set_reimage(db, uuid, reimage)
    return found


async def _cannot_preserve_ephemeral(guests: Guests, server: Server, started: Started) -> None:
    raise RuntimeError("The current driver does not support preserving ephemeral partitions.")


def _boot_image(db, image_id: str) -> BootImage:
    """The row's image (deleted since or not: its data stays while a server uses it)."""
    image = images_db.get_image(db, image_id, include_deleted=True)
    if image is None:
        raise NotFound(f"Image {image_id} could not be found.")
    return BootImage(image_id=image.id, sha256=image.content_sha256, disk_format=image.disk_format,
                     virtual_size=image.virtual_size or 0)


def drive_for(store: Store, ports: ServerPorts) -> DriveFor:
    """The config drive content of a server as its row stands (a rebuild's, a rescue's): its files and user data,
    its NICs' network data, the given admin password; in the format and layout chosen at its create, if any (the
    layout's files made from the server's metadata and files as they are now)."""
    def content(server: Server, admin_pass: str | None) -> DriveContent:
        files = tuple(store.read(servers_db.server_files, server.uuid))
        own = store.read(server_drives.drive_of, server.uuid)
        drive_format, layout = own if own is not None else (None, None)
        metadata = store.read(servers_db.get_server, server.uuid).metadata if layout else {}
        return DriveContent(files=files, user_data=server.user_data, admin_pass=admin_pass,
                            network_data=ports.network_data(server) if server.nics else {},
                            devices=(*tagged_disk_devices(server, store.read(attachments_db.of_server, server.uuid)),
                                     *nic_devices(server.nics)),  # disks first, as Nova's domain XML
                            drive_format=drive_format, extra_files=drive_layouts.extra_files(layout, metadata, files))
    return content
