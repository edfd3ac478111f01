"""shelve (#321), shelveOffload (#322) and unshelve (#323) on this one host, as Nova's libvirt driver does them.

shelve (ACTIVE, SHUTOFF, PAUSED or SUSPENDED, no task; task `shelving`): an image "<name>-shelved" is made at
once (queued, Nova's snapshot properties, compute/server_images.py's record); in the background the guest is
powered off (a suspended guest's saved memory dropped), its root disk copied into the image
(shelving_image_pending_upload, shelving_image_uploading); the server is SHELVED, and with `[compute]
shelved_offload_time` 0 (Nova's default) offloaded at once. shelveOffload (admin, SHELVED; shelving_offloading):
the domain is undefined and the instance's disks removed (its config drive and console log stay), the server is
SHELVED_OFFLOADED with no host. unshelve (SHELVED or SHELVED_OFFLOADED; unshelving): an offloaded server gets a
standalone copy of the image as its root disk (fresh ephemeral and swap disks), the domain is defined and started,
the server is ACTIVE on this host and the image deleted (Nova). From 2.77 an offloaded server may be unshelved into
an availability zone (this host's one), from 2.91 to a host (admin; this host) or with the zone unpinned (null).

A failure leaves the server as it was (a shelve's unfinished image deleted). A stop in the middle (`settle`): an
unfinished shelve is abandoned (its image deleted; the power-state sync says whether the guest still runs), an
offload and an unshelve are done again from the beginning (each step may run twice).
"""
from __future__ import annotations

import logging
import uuid as uuidlib
from datetime import timedelta

from nodecompute.compute.guests import Guests, crash_point
from nodecompute.compute.images import ImageService
from nodecompute.compute.server_access import check_writable, visible_server
from nodecompute.compute.server_actions import ServerActions, Started, check_state
from nodecompute.compute.server_images import ServerImages
from nodecompute.config import Config
from nodecompute.db import images as images_db
from nodecompute.db import server_migrations as shelves_db
from nodecompute.db import servers as servers_db
from nodecompute.db.store import Store
from nodecompute.domain import states
from nodecompute.domain.errors import BadRequest, ComputeError, Conflict, Forbidden
from nodecompute.domain.image_models import Image
from nodecompute.domain.models import AuthContext, Clock
from nodecompute.domain.server_models import Server
from nodecompute.storage import instance_disks, resize_disks
from nodecompute.storage.image_files import SNAPSHOT_TEMP_PREFIX
from nodecompute.virt import guest_power

log = logging.getLogger(__name__)

ZONE_NOT_AVAILABLE = "The requested availability zone is not available"
KEEP = object()  # unshelve without a zone: the pinned zone stays as it is


class ServerShelves:
    def __init__(self, store: Store, guests: Guests, images: ImageService, actions: ServerActions,
                 snapshots: ServerImages, clock: Clock, cfg: Config) -> None:
        self.store = store
        self.guests = guests
        self.images = images
        self.actions = actions
        self.snapshots = snapshots
        self.clock = clock
        self.cfg = cfg

    async def _task(self, server: Server, task: str) -> None:
        await self.store.write(servers_db.update_server, server.uuid, {"task_state": task}, now=self.clock())

    # ----- shelve -------------------------------------------------------------------------------------------------

    async def shelve(self, ctx: AuthContext, server_id: str) -> None:
        server = visible_server(self.store, ctx, server_id)
        check_writable(ctx, server)
        check_state(states.ACTIONS["shelve"], server)
        if server.volume_backed:  # Nova: no image (the volumes keep the disks), offloaded at once
            await self.actions.begin(ctx, "shelve", server, (None,), work=self._shelve_volume_backed)
            return
        image = await self.images.create(ctx, *self.snapshots.record(ctx, server, f"{server.name}-shelved", {}))
        try:
            await self.actions.begin(ctx, "shelve", server, (None,), work=self._shelve_work(ctx, image))
        except BaseException:
            await self.images.delete_unfinished(image.id)
            raise

    def _shelve_work(self, ctx: AuthContext, image: Image):
        async def work(guests: Guests, server: Server, started: Started) -> None:
            try:
                await guests.power_off(server)
                await guest_power.drop_managed_save(guests.hv, server.instance_name)
                await self._task(server, states.SHELVING_IMAGE_PENDING_UPLOAD)
                await self.images.upload_produced(ctx, image.id, lambda: self._produce(server))
            except BaseException:
                await self.images.delete_unfinished(image.id)
                raise
            await self.store.write(shelves_db.set_shelved, server.uuid, image.id, server.host, now=self.clock())
            await self.store.write(servers_db.update_server, server.uuid, {
                "vm_state": states.SHELVED, "task_state": None, "power_state": states.SHUTDOWN}, now=self.clock())
            if self.cfg.compute.shelved_offload_time == 0:
                await self._offload(server)
        return work

    async def _shelve_volume_backed(self, guests: Guests, server: Server, started: Started) -> None:
        await guests.power_off(server)
        await guest_power.drop_managed_save(guests.hv, server.instance_name)
        await self.store.write(servers_db.update_server, server.uuid, {
            "vm_state": states.SHELVED, "task_state": None, "power_state": states.SHUTDOWN}, now=self.clock())
        await self._offload(server)

    async def _produce(self, server: Server):
        dest = self.images.files.images_dir / f"{SNAPSHOT_TEMP_PREFIX}{uuidlib.uuid4()}"
        try:
            await self.guests.copy_root_disk(server, dest)
            await self._task(server, states.SHELVING_IMAGE_UPLOADING)
            return await self.images.files.adopt(dest, "qcow2")
        finally:
            dest.unlink(missing_ok=True)

    # ----- shelveOffload ------------------------------------------------------------------------------------------

    async def shelve_offload(self, ctx: AuthContext, server_id: str) -> None:
        server = visible_server(self.store, ctx, server_id)
        if not ctx.is_admin:
            raise Forbidden("Policy doesn't allow os_compute_api:os-shelve:shelve_offload to be performed.")
        check_state(states.ACTIONS["shelve_offload"], server)
        await self.actions.begin(ctx, "shelve_offload", server, (None,), work=self._offload_work)

    async def _offload_work(self, guests: Guests, server: Server, started: Started) -> None:
        await self._offload(server)

    async def _offload(self, server: Server) -> None:
        """The domain and the disks go; the instance directory keeps the config drive and the console log. The
        power state is the missing domain's (Nova reads it from the driver after the destroy: NOSTATE)."""
        await self._task(server, states.SHELVING_OFFLOADING)
        await self.guests.power_off(server, clean_timeout=0)
        await self.guests.hv.undefine(server.instance_name)
        inst = self.guests.instance_dir(server.uuid)
        await resize_disks.drop(inst)
        for name in (*resize_disks.DISKS, *(disk.file for disk in server.local_disks or ())):
            (inst / name).unlink(missing_ok=True)
        crash_point("shelve_offloaded")
        await self.store.write(servers_db.update_server, server.uuid, {
            "vm_state": states.SHELVED_OFFLOADED, "task_state": None, "power_state": states.NOSTATE, "host": None},
            now=self.clock())

    async def offload_due(self, offload_seconds: int) -> int:
        """Offload the servers shelved for `offload_seconds` (Nova's _poll_shelved_instances)."""
        due = self.store.read(shelves_db.shelved_before, self.clock() - timedelta(seconds=offload_seconds))
        for server_uuid in due:
            server = self.store.read(servers_db.get_server, server_uuid)
            try:
                await self.actions.begin(None, "shelve_offload", server, (None,), work=self._offload_work)
            except ComputeError as exc:
                log.warning("server %s could not be offloaded: %s", server_uuid, exc)
        return len(due)

    # ----- unshelve -----------------------------------------------------------------------------------------------

    async def unshelve(self, ctx: AuthContext, server_id: str, zone=KEEP, host: str | None = None) -> None:
        """`zone`: KEEP (not given), None (2.91: unpin) or a zone name; `host` (2.91, admin): a compute host."""
        server = visible_server(self.store, ctx, server_id)
        check_writable(ctx, server)
        check_state(states.ACTIONS["unshelve"], server)
        if (zone is not KEEP or host is not None) and server.vm_state != states.SHELVED_OFFLOADED:
            raise Conflict(f"Specifying an availability zone or a host when unshelving server {server.uuid} with "
                           f"status {server.vm_state.upper()} is not supported. The server status must be "
                           f"SHELVED_OFFLOADED.")
        if host is not None:
            if not ctx.is_admin:
                raise Forbidden("Policy doesn't allow os_compute_api:os-shelve:unshelve_to_host to be performed.")
            if host != self.cfg.host_name:
                raise BadRequest(f"Compute host {host} could not be found.")
        if zone is not KEEP and zone is not None and zone != self.cfg.compute.availability_zone:
            raise BadRequest(ZONE_NOT_AVAILABLE)
        pin = {} if zone is KEEP else {"pinned_availability_zone": zone}
        await self.actions.begin(ctx, "unshelve", server, (None,), work=self._unshelve_work(ctx, pin))

    def _unshelve_work(self, ctx: AuthContext | None, pin: dict):
        async def work(guests: Guests, server: Server, started: Started) -> None:
            await self._unshelve(ctx, server, pin)
        return work

    async def _unshelve(self, ctx: AuthContext | None, server: Server, pin: dict) -> None:
        shelf = self.store.read(shelves_db.shelved, server.uuid)
        inst = self.guests.instance_dir(server.uuid)
        mapped = server.local_disks is not None  # the ephemeral and swap disks its mappings asked for
        ephemeral_gb, swap_mb = (0, 0) if mapped else (server.ephemeral_gb, server.swap)
        if server.volume_backed:  # offloaded: its root is its volume; fresh local ephemeral and swap
            await instance_disks.create_extra_disks(inst, ephemeral_gb=ephemeral_gb, swap_mb=swap_mb)
        elif not (inst / instance_disks.ROOT).exists():  # offloaded: the root disk from the shelved image
            image = self.store.read(lambda db: images_db.get_image(db, shelf["image_id"])) if shelf else None
            if image is None or image.content_sha256 is None:
                raise ComputeError(f"The shelved image of server {server.uuid} is gone: it cannot be unshelved.")
            partial = inst / f"{instance_disks.TEMP_PREFIX}{instance_disks.ROOT}"
            await instance_disks.copy_to_qcow2(self.images.files.path_for(image.content_sha256), partial)
            partial.rename(inst / instance_disks.ROOT)
            await resize_disks.grow(inst, root_bytes=server.root_disk_bytes, ephemeral_gb=ephemeral_gb,
                                    swap_mb=swap_mb, keep_local=mapped)
        if server.local_disks and not (inst / server.local_disks[0].file).exists():  # offloaded: made anew (a spawn)
            await instance_disks.create_local_disks(inst, server.local_disks)
        here = await self.store.write(servers_db.update_server, server.uuid, {"host": self.cfg.host_name, **pin},
                                      now=self.clock())
        await self.guests.define(here)
        await self.guests.start(here)
        await self.store.write(servers_db.update_server, server.uuid, {
            "vm_state": states.ACTIVE, "task_state": None, "power_state": states.RUNNING}, now=self.clock())
        if shelf is not None:
            await self.store.write(shelves_db.clear_shelved, server.uuid)
            try:
                await self.images.delete(AuthContext.system("unshelve", self.clock(), server.project_id),
                                         shelf["image_id"])
            except ComputeError as exc:  # deleted already, or protected: Nova logs it too
                log.warning("server %s: its shelved image %s was not deleted: %s", server.uuid, shelf["image_id"],
                            exc)

    # ----- after a stop -------------------------------------------------------------------------------------------

    async def settle(self, server: Server) -> bool:
        """At start: a shelve cut short is abandoned (its image deleted, the task cleared), an offload or an
        unshelve is done again. False when the server's task is none of these."""
        if server.task_state in (states.SHELVING, states.SHELVING_IMAGE_PENDING_UPLOAD,
                                 states.SHELVING_IMAGE_UPLOADING):
            await self.snapshots.abandon(server)
        elif server.task_state == states.SHELVING_OFFLOADING:
            await self._offload(server)
        elif server.task_state == states.UNSHELVING:
            await self._unshelve(None, server, {})
        else:
            return False
        log.warning("server %s: settled the %s a stop cut short", server.uuid, server.task_state)
        return True
