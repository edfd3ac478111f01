"""ServerService: what the server API asks for, with Nova's checks, states and background tasks. Create writes
the rows first (BUILD) and returns; a tracked background task per server (server_tasks.py) makes the disks, the
domain and the config drive; deleting a building server cancels it (the step in flight finishes, then the build's
undo removes what the steps made). Actions are data (server_actions.py); resize.py, shelve.py, rebuild.py and
rescue.py have their own.
"""
from __future__ import annotations

import dataclasses
import logging
from collections.abc import Awaitable, Callable, Container
from datetime import timedelta
from typing import TYPE_CHECKING

from nodecompute.domain import disk_config, states
from nodecompute.domain.errors import BadRequest, Forbidden, InstanceInvalidState, InstanceNotFound, NotFound
from nodecompute.compute.flavors import FlavorService
from nodecompute.compute.host_services import HostServices
from nodecompute.compute.guests import BootImage, DriveContent, Guests, crash_point
from nodecompute.compute.images import ImageService
from nodecompute.compute.keypairs import KeypairService
from nodecompute.compute.passwords import generate_password  # noqa: F401 (admin_actions imports it from here)
from nodecompute.domain.models import AuthContext, Clock
from nodecompute.compute import drive_layouts, placement, resize, shelve
from nodecompute.compute.block_devices import NO_VOLUMES, plan_block_devices
from nodecompute.compute.local_disk_plan import plan_local_disks
from nodecompute.compute.boot_sources import flavor_for_boot, image_for_boot, with_image_mappings
from nodecompute.compute.quotas import QuotaService
from nodecompute.compute.server_zones import repinned
from nodecompute.compute.server_interfaces import InterfaceService
from nodecompute.compute.server_ports import ServerPorts
from nodecompute.compute.server_access import check_visible, check_writable
from nodecompute.compute.instance_actions import ActionLog
from nodecompute.compute.server_actions import ServerActions
from nodecompute.compute.server_admin import ServerAdmin
from nodecompute.compute.server_locks import ServerLocks
from nodecompute.compute.server_groups import ServerGroupService
from nodecompute.compute.server_admin_password import ServerAdminPassword
from nodecompute.compute.server_images import ServerImages
from nodecompute.compute.server_build import NO_VALID_HOST, ServerBuild  # noqa: F401 (tests import NO_VALID_HOST)
from nodecompute.compute.server_rows import server_rows
from nodecompute.compute.rebuild import ServerRebuilds, drive_for
from nodecompute.compute.rescue import ServerRescues
from nodecompute.compute.server_tasks import ServerTasks
from nodecompute.domain.server_models import (ActionRequest, CreateRequest, CreateResult, Server, ServerFilters,
                                              ServerRef, filters_for_project)
from nodecompute.caching import KeptLists, VersionedCache
from nodecompute.config import Config
from nodecompute.db import instance_actions as actions_db, server_drives, server_lists, servers as servers_db
from nodecompute.db.store import Store

if TYPE_CHECKING:
    from nodecompute.compute.volume_boot import VolumeBoot

log = logging.getLogger(__name__)

ALL_SERIALS = 1 << 62  # host_usage of every live server
# A page of servers all kept rendered needs only its ids: read on the event loop when the page is small and the
# query (filters and marker by index) ends within the budget, as it usually does in ~50 us, a third of a reader
# thread's round trip; else, and for a page with servers not kept, on the reader thread (issue 22).
INLINE_PAGE_LIMIT = 200
SERVERS_SHOWN_KEPT = 256  # servers read by a show (or an action's lookup) kept while the data version stays
INLINE_READ_BUDGET_S = 0.0002


class ServerService(ServerBuild):
    def __init__(self, store: Store, cfg: Config, guests: Guests, *, capacity: placement.HostCapacity,
                 flavors: FlavorService, images: ImageService, keypairs: KeypairService, quotas: QuotaService,
                 clock: Clock, host_services: HostServices, groups: ServerGroupService,
                 ports: ServerPorts | None = None) -> None:
        self.store = store
        self.clock = clock
        self.cfg = cfg
        self.guests = guests
        self.capacity = capacity
        self.flavors = flavors
        self.images = images
        self.keypairs = keypairs
        self.quotas = quotas
        self.host_services = host_services
        self.groups = groups
        self.ports = ports or ServerPorts(store, cfg, None, clock)
        guests.interfaces = self.ports.interfaces
        self.tasks = ServerTasks()
        self.shown: VersionedCache[Server] = VersionedCache(SERVERS_SHOWN_KEPT)  # frozen: shared by every reader
        self.kept_lists = KeptLists(cfg.compute.list_ids_kept)  # ([compute] list_ids_kept: ~100 bytes each)
        self.action_log = ActionLog(store, clock, cfg.host_name)
        self.actions = ServerActions(store, guests, self.tasks, clock, self.action_log)
        self.locks = ServerLocks(store, clock, self.action_log)
        self.admin = ServerAdmin(store, clock, self.action_log, host_services)
        self.images_of = ServerImages(store, guests, images, self.actions, clock)  # createImage, createBackup
        self.admin_password = ServerAdminPassword(store, self.actions)  # changePassword
        self.resizes = resize.ServerResizes(store, guests, self.actions, flavors, quotas, clock, host_services,
                                            capacity)
        self.shelves = shelve.ServerShelves(store, guests, images, self.actions, self.images_of, clock, cfg)
        drive = drive_for(store, self.ports)
        self.rebuilds = ServerRebuilds(store, guests, images, keypairs, quotas, self.actions, clock, drive)
        self.rescues = ServerRescues(store, images, self.actions, drive)  # rescue, unrescue
        self.interfaces = InterfaceService(store, self.ports, guests, self.tasks)
        # a deleted server's volumes are let go (set by the attachments service, compute/volume_attachments.py)
        self.release_volumes: Callable[[Server], Awaitable[None]] | None = None
        self.volume_boot: VolumeBoot | None = None  # the volumes of a create's mappings (the same service sets it)

    # ----- reads -------------------------------------------------------------------------------------------------

    def get(self, ctx: AuthContext, server_id: str) -> Server:
        """The live server the caller may see (else 404). One shown again while the database stays at the same
        version (a client polling it: a create's `--wait`) is not read again."""
        version = self.store.data_version()  # before the read: what is kept under it is never older
        return check_visible(ctx, self.shown.get_or_make(
            version, server_id, lambda: self.store.read(servers_db.get_server, server_id)))

    async def list(self, ctx: AuthContext, filters: ServerFilters, *, brief: bool = False,
                   known: Container[str] = frozenset(), version: int | None = None
                   ) -> list[Server] | list[ServerRef] | list[Server | str]:
        """A page of servers (ids and names when `brief`; one in `known` as its uuid), read off the event loop; or
        the ids the same query gave at the same data version, when every one is in `known` (KeptLists: a client
        polling its servers, or a page of them, is answered without a read).
        `version`: data_version() as the caller read it just before (else read here), before any read."""
        if filters.all_tenants and not ctx.is_admin:
            raise Forbidden("Policy doesn't allow os_compute_api:servers:index:get_all_tenants to be performed.")
        project = filters.project_id if ctx.is_admin and filters.project_id else ctx.project_id
        project = None if filters.all_tenants and not filters.project_id else project
        filters = filters_for_project(filters, project)
        if brief:
            return await self.store.read_in_thread(server_lists.list_server_refs, filters)
        if version is None:
            version = self.store.data_version()  # before the read: what is kept under it is never older
        ids = self.kept_lists.get(version, filters)
        if ids is not None and all(map(known.__contains__, ids)):  # the same list again, every server kept
            return ids
        if known and filters.limit <= INLINE_PAGE_LIMIT and not server_lists.matches_by_regex(filters):
            # a page of kept servers: its ids read inline, if quick
            ids = self.store.read_within(INLINE_READ_BUDGET_S, server_lists.page_ids, filters)
            if ids is not None and all(map(known.__contains__, ids)):
                self.kept_lists.add(version, filters, ids)
                return ids
        page = await self.store.read_in_thread(server_lists.list_servers_except, filters, known)
        ids = page if all(map(str.__instancecheck__, page)) else [
            entry if isinstance(entry, str) else entry.uuid for entry in page]
        self.kept_lists.add(version, filters, ids)  # the servers read are kept next (rendered_pages)
        return page

    def data_version(self) -> int:  # moves whenever stored data may have changed (caches of rendered servers)
        return self.store.data_version()

    def console_output(self, ctx: AuthContext, server_id: str, length: int | None) -> str:
        server = self.get(ctx, server_id)
        if server.vm_state == states.BUILDING:
            raise InstanceInvalidState(action="get_console_output", uuid=server.uuid, attr="vm_state",
                                       state=server.vm_state)
        text = self.guests.read_console(server.uuid)
        if length is not None:
            lines = text.splitlines(keepends=True)
            text = "".join(lines[-length:]) if length > 0 else ""
        return text

    # ----- create ------------------------------------------------------------------------------------------------

    def _check_requested(self, req: CreateRequest) -> None:
        """2.63: this cloud validates no image signatures, so trusted certificates cannot be honoured (Nova's
        CertificateValidationFailed, 400, before any server exists); 2.74: the one host and its one node are the
        only destinations (Nova's ComputeHostNotFound)."""
        if req.trusted_certs:
            raise BadRequest(f"Image signature certificate validation failed for certificate: "
                             f"{req.trusted_certs[0]}. This cloud does not validate image signatures.")
        for name in (req.requested_host, req.requested_node):
            if name and name != self.cfg.host_name:
                raise BadRequest(f"Compute host {name} could not be found.")

    async def create(self, ctx: AuthContext, req: CreateRequest) -> CreateResult:
        plan = await self.ports.plan(ctx, req)
        requested_image = req.image_ref  # Nova's instance.image_ref: shown even when the root is a volume
        req = with_image_mappings(self.images, ctx, req)
        devices = plan_block_devices(req.image_ref, req.block_devices, req.max_count)
        flavor = flavor_for_boot(self.flavors, ctx, req.flavor_ref)
        if devices.volumes and self.volume_boot is None:
            raise BadRequest(NO_VOLUMES)
        root = self.volume_boot.check(ctx, devices) if devices.volumes else None
        local_disks = plan_local_disks(devices.blanks, flavor, image_root=devices.root_volume is None)
        if devices.root_volume is not None:  # volume-backed: Nova checks only the memory, any flavor disk will do
            image = root
            if requested_image:  # Nova's _get_image: an imageRef beside the volume root is the server's image and
                # its properties the boot metadata (the root's own image metadata otherwise)
                given = image_for_boot(self.images, ctx, requested_image)
                image = dataclasses.replace(root, id=given.id, properties=dict(given.properties),
                                            min_ram=given.min_ram, min_disk=given.min_disk)
            placement.check_memory_fit(flavor, image)
        else:
            image = image_for_boot(self.images, ctx, devices.image_ref)
            placement.check_fit(ctx, flavor, image)
        disk_config.check_allowed(image.properties, req.disk_config, image.id)  # before any row (server_rows.py)
        key_data = self._public_key(ctx, req.key_name) if req.key_name is not None else None
        extra_keys = [(name, self._public_key(ctx, name)) for name in req.extra_key_names]
        zone = req.availability_zone
        if zone and zone != self.cfg.compute.availability_zone:
            raise BadRequest("The requested availability zone is not available")
        self._check_requested(req)
        placement.check_injection_limits(self.quotas.limits(ctx.project_id), len(req.metadata), req.personality)
        count = placement.count_within_quota(self.quotas, ctx, flavor, req.min_count, req.max_count)
        group = self.groups.group_for_create(ctx, req.scheduler_hints, count)
        admin_pass = req.admin_pass or generate_password()
        rows = [{**row, "extra_keys": extra_keys, "local_disks": local_disks, "root_disk_tag": devices.root_tag}
                for row in self._rows(ctx, req, flavor, image, key_data, count, devices.root_volume is not None)]
        if devices.volumes:  # the servers' rows with the reservations of the volumes they take
            reserved = self.volume_boot.reservations(rows[0]["uuid"], self.cfg.host_name, devices)
            servers = await self.store.write(self.volume_boot.insert_tx, rows, req.metadata, req.personality,
                                             req.tags, reserved, self.clock())
        else:
            servers = await self.store.write(servers_db.insert_servers, rows, req.metadata, req.personality,
                                             req.tags)
        if group is not None:
            await self.groups.join(group, servers)
        if req.config_drive_format is not None:  # kept for the server's rebuilds and rescues
            await self.store.write(server_drives.set_drives, [server.uuid for server in servers],
                                   req.config_drive_format, req.config_drive_layout or "")
        crash_point("row_written")
        extra = drive_layouts.extra_files(req.config_drive_layout, req.metadata, req.personality)
        drive = DriveContent(files=req.personality, user_data=req.user_data, admin_pass=admin_pass,
                             drive_format=req.config_drive_format, extra_files=extra + req.config_drive_files)
        boot = None if devices.root_volume else BootImage(
            image_id=image.id, sha256=image.content_sha256, disk_format=image.disk_format,
            virtual_size=image.virtual_size)
        for server in servers:
            action_id = await self.action_log.start(ctx, server, "create")
            self.track(server.uuid, self._build_recorded(server, boot, drive, ctx, plan.nics, action_id, devices))
        return CreateResult(servers=tuple(servers), admin_pass=admin_pass, reservation_id=rows[0]["reservation_id"])

    def _public_key(self, ctx: AuthContext, name: str) -> str:
        try:
            return self.keypairs.get(ctx.user_id, name).public_key
        except NotFound:
            raise BadRequest("Invalid key_name provided.") from None

    def _rows(self, ctx, req: CreateRequest, flavor, image, key_data, count: int, root_is_volume: bool
              ) -> list[dict]:
        extra_specs = self.flavors.extra_specs(flavor.flavorid, ctx.project_id, ctx.is_admin)
        return server_rows(self.cfg, ctx, req, flavor, image, key_data, count, extra_specs, self.clock(),
                           root_is_volume)

    def has_room_for(self, ctx: AuthContext, req: CreateRequest) -> bool:
        """Whether the server asked for would fit now (the compute service up, the host's capacity beside every
        live server; a volume-backed one without its flavor's root disk): the Cyclades dialect answers 503 before
        a create that the scheduler would refuse."""
        flavor = self.flavors.get_for_project(req.flavor_ref, ctx.project_id, ctx.is_admin)
        req = with_image_mappings(self.images, ctx, req)
        on_volume = plan_block_devices(req.image_ref, req.block_devices, req.max_count).root_volume is not None
        used = placement.HostUsage(**self.store.read(servers_db.host_usage, ALL_SERIALS))
        return self.host_services.compute_accepts_servers() and placement.room_for(self.capacity, used, flavor,
                                                                                    on_volume)

    # ----- update, delete ----------------------------------------------------------------------------------------

    async def update(self, ctx: AuthContext, server_id: str, values: dict) -> Server:
        server = self.get(ctx, server_id)
        check_writable(ctx, server)
        if "pinned_availability_zone" in values:  # 2.104
            values = {**values, "pinned_availability_zone": repinned(server, values["pinned_availability_zone"])}
        updated = await self.store.write(servers_db.update_server, server_id, values, now=self.clock())
        if updated is None:
            raise InstanceNotFound(instance_id=server_id)
        return updated

    async def delete(self, ctx: AuthContext, server_id: str) -> None:
        """DELETE: a soft delete when a reclaim interval is set and the server was launched once, else at once."""
        server = self.get(ctx, server_id)
        check_writable(ctx, server)
        await self.resizes.confirm_on_delete(ctx, server)
        if self.cfg.compute.reclaim_instance_interval > 0 and server.launched_at is not None:
            await self.tasks.cancel(server.uuid)  # Nova's soft delete checks no task either
            await self.actions.begin(ctx, "soft_delete", server, (server.task_state,))
            return
        await self.hard_delete(ctx, server)

    async def force_delete(self, ctx: AuthContext, server_id: str) -> None:
        """forceDelete (#325): at once, in any state (Nova checks only the lock)."""
        server = self.get(ctx, server_id)
        check_writable(ctx, server)
        await self.resizes.confirm_on_delete(ctx, server)
        await self.hard_delete(ctx, server)

    async def restore(self, ctx: AuthContext, server_id: str) -> None:
        """restore (#326): a SOFT_DELETED server powers on again."""
        await self.actions.request(ctx, server_id, ActionRequest("restore"))

    async def hard_delete(self, ctx: AuthContext | None, server: Server) -> None:
        """Delete now. Asked by nobody (ctx None: the reclaim), the event joins the server's last action (Nova)."""
        if ctx is None:
            action_id = self.store.read(actions_db.last_action_id, server.uuid)
        else:
            action_id = await self.action_log.start(ctx, server, "delete")
        await self.tasks.cancel(server.uuid)  # a build is cancelled and cleaned up; an action is abandoned
        await self.store.write(servers_db.update_server, server.uuid, {"task_state": states.DELETING}, now=self.clock())
        async with self.tasks.lock(server.uuid):
            async with self.action_log.event(action_id, "compute_terminate_instance"):
                await self.finish_delete(server)

    async def reclaim(self) -> int:
        """Nova's _reclaim_queued_deletes: delete the SOFT_DELETED servers idle for the reclaim interval."""
        interval = self.cfg.compute.reclaim_instance_interval
        if interval <= 0:
            return 0
        due = self.store.read(servers_db.soft_deleted_before, self.clock() - timedelta(seconds=interval))
        for server in due:
            log.info("reclaiming soft-deleted server %s", server.uuid)
            await self.hard_delete(None, server)
        return len(due)

    async def finish_delete(self, server: Server) -> None:
        await self.guests.destroy(server.uuid, server.instance_name)
        await self.ports.unplug_all(server.uuid)
        if self.release_volumes is not None:
            await self.release_volumes(server)
        await self.store.write(servers_db.mark_deleted, server.uuid, now=self.clock())
        await self.prune_base_cache()
        log.info("server %s deleted", server.uuid)

    async def prune_base_cache(self) -> None:
        in_use = self.store.read(servers_db.image_sha256_in_use)
        files = self.guests.files
        await self.guests.base_cache.prune(in_use, stored=lambda sha256: files.path_for(sha256).exists())

    # ----- actions (server_actions.py) -------------------------------------------------------------------------

    async def act(self, ctx: AuthContext, server_id: str, req: ActionRequest) -> None:
        await self.actions.request(ctx, server_id, req)

    def _check_metadata_state(self, ctx: AuthContext, server: Server) -> None:
        check_writable(ctx, server)
        if server.vm_state not in states.ALLOWED["update_metadata"] or server.task_state is not None:
            attr, state = ("task_state", server.task_state) if server.task_state else ("vm_state", server.vm_state)
            raise InstanceInvalidState(action="update_metadata", uuid=server.uuid, attr=attr, state=state)

    async def set_metadata(self, ctx: AuthContext, server_id: str, metadata: dict[str, str], *, replace: bool) -> dict:
        server = self.get(ctx, server_id)
        self._check_metadata_state(ctx, server)
        merged = dict(metadata) if replace else {**server.metadata, **metadata}
        placement.check_metadata_count(self.quotas.limits(ctx.project_id), len(merged))
        fn = servers_db.replace_metadata if replace else servers_db.merge_metadata
        await self.store.write(fn, server.uuid, metadata, now=self.clock())
        return self.store.read(servers_db.get_server, server.uuid).metadata

    async def delete_metadata_item(self, ctx: AuthContext, server_id: str, key: str) -> None:
        server = self.get(ctx, server_id)
        self._check_metadata_state(ctx, server)
        await self.store.write(servers_db.delete_metadata_key, server.uuid, key, now=self.clock())

    async def _set(self, server: Server, values: dict) -> None:
        await self.store.write(servers_db.update_server, server.uuid, values, now=self.clock())

    def track(self, server_uuid: str, coro: Awaitable[None]) -> None:
        self.tasks.track(server_uuid, coro)

    async def wait_idle(self) -> None:
        """Wait for every background task (tests, shutdown)."""
        await self.tasks.wait_idle()

    async def close(self) -> None:
        """On shutdown: background tasks stop where they are; guests keep running."""
        await self.tasks.close()

