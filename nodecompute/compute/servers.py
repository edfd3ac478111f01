"""ServerService: what the server API asks for, with Nova's checks, states and background tasks.

Create writes the rows first (BUILD) and returns; a tracked background task per server makes the disks, the
domain and the config drive. Deleting a building server cancels that task: the step in flight finishes (thread
calls are never abandoned, nodecompute/threads.py), then the build's undo removes what the steps made. Actions
check the allowed states, then compare-and-set the task_state so two actions cannot race, and run in the
background under a per-server lock.
"""
from __future__ import annotations

import asyncio
import logging
import secrets
import traceback
import uuid as uuidlib
from collections.abc import Awaitable, Callable
import dataclasses

from nodecompute.domain import states
from nodecompute.domain.errors import BadRequest, Conflict, Forbidden, InstanceInvalidState, NotFound, QuotaExceeded
from nodecompute.compute.flavors import FlavorService
from nodecompute.compute.guests import BootImage, DriveContent, Guests, crash_point
from nodecompute.compute.images import ImageService
from nodecompute.compute.keypairs import KeypairService
from nodecompute.domain.models import AuthContext, isotime, utcnow
from nodecompute.compute.quotas import QuotaService
from nodecompute.domain.server_models import CreateRequest, CreateResult, Server, ServerFilters
from nodecompute.config import Config
from nodecompute.db import servers as sdb
from nodecompute.db.store import Store
from nodecompute.storage import configdrive
from nodecompute.storage.instance_disks import root_disk_bytes

log = logging.getLogger(__name__)

NO_VALID_HOST = "No valid host was found. There are not enough hosts available."
ZERO_DISK_FLAVOR = "Only volume-backed servers are allowed for flavors with zero disk."
PASSWORD_GROUPS = ("23456789", "ABCDEFGHJKLMNPQRSTUVWXYZ", "abcdefghijkmnopqrstuvwxyz")
CPU_ALLOCATION_RATIO = 4.0  # Nova's initial_cpu_allocation_ratio
RESERVED_HOST_MEMORY_MB = 512
GIB = 1 << 30


def generate_password(length: int = 12) -> str:
    """Nova's rule: at least one character of each group, the rest from all groups."""
    chars = [secrets.choice(group) for group in PASSWORD_GROUPS]
    everything = "".join(PASSWORD_GROUPS)
    chars += [secrets.choice(everything) for _ in range(length - len(chars))]
    secrets.SystemRandom().shuffle(chars)
    return "".join(chars)


def reservation_id() -> str:
    return "r-" + "".join(secrets.choice("abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(8))


class ServerService:
    def __init__(self, store: Store, cfg: Config, guests: Guests, *, flavors: FlavorService, images: ImageService,
                 keypairs: KeypairService, quotas: QuotaService) -> None:
        self.store = store
        self.cfg = cfg
        self.guests = guests
        self.flavors = flavors
        self.images = images
        self.keypairs = keypairs
        self.quotas = quotas
        self._tasks: dict[str, asyncio.Task] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    # ----- reads -------------------------------------------------------------------------------------------------

    def get(self, ctx: AuthContext, server_id: str) -> Server:
        server = self.store.read(sdb.get_server, server_id)
        if server.project_id != ctx.project_id and not ctx.is_admin:
            raise NotFound(f"Instance {server_id} could not be found.")
        return server

    async def list(self, ctx: AuthContext, filters: ServerFilters) -> list[Server]:
        if filters.all_tenants and not ctx.is_admin:
            raise Forbidden("Policy doesn't allow os_compute_api:servers:index:get_all_tenants to be performed.")
        project = filters.project_id if ctx.is_admin and filters.project_id else ctx.project_id
        if filters.all_tenants and not filters.project_id:
            project = None
        filters = dataclasses.replace(filters, project_id=project)
        if filters.name:  # a user's regex runs on every candidate row: off the event loop
            return await self.store.read_in_thread(sdb.list_servers, filters)
        return self.store.read(sdb.list_servers, filters)

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

    async def create(self, ctx: AuthContext, req: CreateRequest) -> CreateResult:
        flavor = self._flavor_for_boot(ctx, req.flavor_ref)
        image = self._image_for_boot(ctx, req.image_ref)
        self._check_fit(ctx, flavor, image)
        key_data = None
        if req.key_name is not None:
            try:
                key_data = self.keypairs.get(ctx.user_id, req.key_name).public_key
            except NotFound:
                raise BadRequest("Invalid key_name provided.") from None
        zone = req.availability_zone
        if zone and zone != self.cfg.compute.availability_zone:
            raise BadRequest("The requested availability zone is not available")
        self._check_injection_limits(ctx, req)
        count = self._count_within_quota(ctx, flavor, req.min_count, req.max_count)
        admin_pass = req.admin_pass or generate_password()
        rows = self._rows(ctx, req, flavor, image, key_data, count)
        servers = await self.store.write(sdb.insert_servers, rows, req.metadata, req.personality, req.tags)
        crash_point("row_written")
        drive = DriveContent(files=req.personality, user_data=req.user_data, admin_pass=admin_pass)
        boot = BootImage(image_id=image.id, sha256=image.content_sha256, disk_format=image.disk_format,
                         virtual_size=image.virtual_size)
        for server in servers:
            self.track(server.uuid, self._build(server, boot, drive))
        return CreateResult(servers=tuple(servers), admin_pass=admin_pass, reservation_id=rows[0]["reservation_id"])

    def _flavor_for_boot(self, ctx: AuthContext, ref: str):
        flavor_id = ref.rstrip("/").rsplit("/", 1)[-1]
        try:
            flavor = self.flavors.get_for_project(flavor_id, ctx.project_id, ctx.is_admin)
        except NotFound:
            raise BadRequest(f"Flavor {flavor_id} could not be found.") from None
        if flavor.disabled:
            raise BadRequest("Flavor is disabled.")
        return flavor

    def _image_for_boot(self, ctx: AuthContext, ref: str):
        image_id = ref.rstrip("/").rsplit("/", 1)[-1]
        try:
            image = self.images.get_for_boot(image_id, ctx.project_id)
        except NotFound:
            raise BadRequest(f"Image {image_id} could not be found.") from None
        if image.status != "active":
            raise BadRequest(f"Image {image_id} is not active.")
        return image

    @staticmethod
    def _check_fit(ctx: AuthContext, flavor, image) -> None:
        """Nova's _validate_flavor_image_nostatus for an image-backed server (there are no volumes yet)."""
        gib = 1024 ** 3
        if image.min_ram > flavor.memory_mb:
            raise BadRequest("Flavor's memory is too small for requested image.")
        if flavor.root_gb:
            if image.min_disk > flavor.root_gb:
                raise BadRequest(f"Flavor's disk is too small for requested image. Flavor disk is "
                                 f"{flavor.root_gb * gib} bytes, minimum requested disk is {image.min_disk * gib} bytes.")
            if (image.virtual_size or 0) > flavor.root_gb * gib:
                raise BadRequest(f"Flavor's disk is too small for requested image. Flavor disk is "
                                 f"{flavor.root_gb * gib} bytes, image is {image.virtual_size} bytes.")
        elif not ctx.is_admin:
            # os_compute_api:servers:create:zero_disk_flavor (admin only): the root disk would be the image's
            # virtual size, whatever it is. Admins get that, and the host's disk room counts it.
            raise Forbidden(ZERO_DISK_FLAVOR)

    def _check_injection_limits(self, ctx: AuthContext, req: CreateRequest) -> None:
        limits = self.quotas.limits(ctx.project_id)
        _check_metadata_count(limits, len(req.metadata))
        if limits["injected_files"] >= 0 and len(req.personality) > limits["injected_files"]:
            raise QuotaExceeded("Personality file limit exceeded")
        for spec in req.personality:
            if limits["injected_file_path_bytes"] >= 0 and len(spec.path.encode()) > limits["injected_file_path_bytes"]:
                raise QuotaExceeded(f"Personality file path exceeds maximum {limits['injected_file_path_bytes']}")
            if limits["injected_file_content_bytes"] >= 0 and len(spec.contents) > limits["injected_file_content_bytes"]:
                raise QuotaExceeded(
                    f"Personality file content exceeds maximum {limits['injected_file_content_bytes']}")

    def _count_within_quota(self, ctx: AuthContext, flavor, min_count: int, max_count: int) -> int:
        per_instance = {"instances": 1, "cores": flavor.vcpus, "ram": flavor.memory_mb}
        room = self.quotas.headroom(ctx.project_id, ctx.user_id, per_instance)
        if room < min_count:
            # Let the quota service word the refusal for the resource that ran out (Nova's message).
            self.quotas.check(ctx.project_id, ctx.user_id, {k: v * min_count for k, v in per_instance.items()})
            raise QuotaExceeded("Quota exceeded for instances: Requested %d, but already used and reserved more "
                                "than allowed" % min_count)
        return min(max_count, room)

    def _rows(self, ctx, req: CreateRequest, flavor, image, key_data, count: int) -> list[dict]:
        now = isotime(utcnow())
        rid = reservation_id()
        disk_config = req.disk_config or (
            "AUTO" if str(image.properties.get("auto_disk_config", "")).lower() == "true" else "MANUAL")
        wants_drive = (req.config_drive or self.cfg.compute.force_config_drive
                       or image.properties.get("img_config_drive") == "mandatory")
        extra_specs = self.flavors.extra_specs(flavor.flavorid, ctx.project_id, ctx.is_admin)
        rows = []
        for index in range(count):
            server_uuid = str(uuidlib.uuid4())
            name = f"{req.name}-{index + 1}" if count > 1 else req.name
            rows.append({
                "uuid": server_uuid, "name": name, "project_id": ctx.project_id, "user_id": ctx.user_id,
                "hostname": configdrive.sanitize_hostname(name, server_uuid),
                "flavorid": flavor.flavorid, "flavor_name": flavor.name, "memory_mb": flavor.memory_mb,
                "vcpus": flavor.vcpus, "root_gb": flavor.root_gb,
                "root_disk_bytes": root_disk_bytes(flavor.root_gb, image.virtual_size or 0),
                "ephemeral_gb": flavor.ephemeral_gb,
                "swap": flavor.swap, "image_id": image.id, "image_sha256": image.content_sha256,
                "key_name": req.key_name, "key_data": key_data, "user_data": req.user_data,
                "config_drive": int(bool(wants_drive)), "access_ipv4": req.access_ipv4,
                "access_ipv6": req.access_ipv6, "disk_config": disk_config,
                "availability_zone": self.cfg.compute.availability_zone, "vm_state": states.BUILDING,
                "task_state": states.SCHEDULING, "power_state": states.NOSTATE, "launch_index": index,
                "reservation_id": rid, "host": self.cfg.host_name, "scheduler_hints": req.scheduler_hints,
                "created_at": now, "updated_at": now, "description": req.description,
                "flavor_extra_specs": extra_specs, "device_tags": req.device_tags,
            })
        return rows

    async def _build(self, server: Server, image: BootImage, drive: DriveContent) -> None:
        try:
            await self._set(server, {"task_state": states.NETWORKING})
            if not await self._host_has_room(server):
                raise _BuildFailure(NO_VALID_HOST)
            await self._set(server, {"task_state": states.BLOCK_DEVICE_MAPPING})
            await self.guests.make_disks(server, image)
            crash_point("overlay_made")
            await self._set(server, {"task_state": states.SPAWNING})
            if server.config_drive:
                await self.guests.build_config_drive(server, drive)
            crash_point("drive_built")
            await self.guests.define(server)
            crash_point("domain_defined")
            await self.guests.start(server)
            crash_point("domain_started")
            await self._set(server, {"vm_state": states.ACTIVE, "task_state": None, "power_state": states.RUNNING,
                                     "launched_at": isotime(utcnow()), "progress": 100})
            log.info("server %s (%s) is ACTIVE", server.uuid, server.instance_name)
        except asyncio.CancelledError:
            await asyncio.shield(self.guests.destroy(server.uuid, server.instance_name))
            raise
        except Exception as exc:
            log.error("build of server %s failed: %s", server.uuid, exc, exc_info=not isinstance(exc, _BuildFailure))
            await self.guests.destroy(server.uuid, server.instance_name)
            message = str(exc) if isinstance(exc, _BuildFailure) else f"Build of instance {server.uuid} failed: {exc}"
            details = None if isinstance(exc, _BuildFailure) else traceback.format_exc()
            await self.store.write(sdb.set_fault, server.uuid, 500, message, details)

    async def _host_has_room(self, server: Server) -> bool:
        """The one-host scheduler: the server must fit the host's capacity beside every other server."""
        host = self.guests.hv.host
        max_vcpus = self.cfg.compute.max_vcpus or int(host.vcpus * CPU_ALLOCATION_RATIO)
        max_ram = self.cfg.compute.max_memory_mb or host.memory_mb - RESERVED_HOST_MEMORY_MB
        max_disk = self.cfg.compute.max_disk_gb * GIB or self.guests.disk_capacity()
        used = self.store.read(sdb.host_usage, server.serial)  # this server and every earlier one
        return used["cores"] <= max_vcpus and used["ram"] <= max_ram and used["disk"] <= max_disk

    # ----- update, delete ----------------------------------------------------------------------------------------

    async def update(self, ctx: AuthContext, server_id: str, values: dict) -> Server:
        self._check_writable(ctx, self.get(ctx, server_id))
        updated = await self.store.write(sdb.update_server, server_id, values)
        if updated is None:
            raise NotFound(f"Instance {server_id} could not be found.")
        return updated

    async def delete(self, ctx: AuthContext, server_id: str) -> None:
        server = self.get(ctx, server_id)
        self._check_writable(ctx, server)
        running = self._tasks.get(server.uuid)
        if running is not None:  # a build is cancelled and cleaned up; an action is abandoned
            running.cancel()
            await asyncio.gather(running, return_exceptions=True)
        await self.store.write(sdb.update_server, server.uuid, {"task_state": states.DELETING})
        async with self._lock(server.uuid):
            await self.finish_delete(server)

    async def finish_delete(self, server: Server) -> None:
        await self.guests.destroy(server.uuid, server.instance_name)
        await self.store.write(sdb.mark_deleted, server.uuid)
        await self.prune_base_cache()
        log.info("server %s deleted", server.uuid)

    async def prune_base_cache(self) -> None:
        in_use = self.store.read(sdb.image_sha256_in_use)
        await self.guests.base_cache.prune(in_use)

    # ----- actions -----------------------------------------------------------------------------------------------

    async def reboot(self, ctx: AuthContext, server_id: str, hard: bool) -> None:
        action = "reboot_hard" if hard else "reboot"
        task = states.REBOOTING_HARD if hard else states.REBOOTING
        expected = (None, *states.SOFT_REBOOT_TASKS, *states.HARD_REBOOT_TASKS[1:]) if hard else (None,)
        server = await self._begin(ctx, server_id, action, task, expected)
        self.track(server.uuid, self.run_reboot(server, hard))

    def resume_reboot(self, server: Server) -> None:
        """Redo a reboot a stop interrupted, hard, in the background (reconcile.py)."""
        self.track(server.uuid, self.run_reboot(server, hard=True))

    async def run_reboot(self, server: Server, hard: bool) -> None:
        async def work() -> None:
            if hard or not await self.guests.soft_reboot(server):
                if not hard:
                    log.warning("server %s did not shut down for a soft reboot; rebooting hard", server.uuid)
                await self._set(server, {"task_state": states.REBOOT_STARTED_HARD if hard else states.REBOOT_STARTED})
                await self.guests.hard_reboot(server)
            await self._set(server, {"vm_state": states.ACTIVE, "task_state": None, "power_state": states.RUNNING})
        await self._guarded(server, "reboot", work)

    async def start_server(self, ctx: AuthContext, server_id: str) -> None:
        server = await self._begin(ctx, server_id, "start", states.POWERING_ON, (None,))

        async def work() -> None:
            await self.guests.define(server)
            await self.guests.start(server)
            await self._set(server, {"vm_state": states.ACTIVE, "task_state": None, "power_state": states.RUNNING})
        self.track(server.uuid, self._guarded(server, "start", work))

    async def stop_server(self, ctx: AuthContext, server_id: str) -> None:
        server = await self._begin(ctx, server_id, "stop", states.POWERING_OFF, (None,))

        async def work() -> None:
            await self.guests.power_off(server)
            await self._set(server, {"vm_state": states.STOPPED, "task_state": None, "power_state": states.SHUTDOWN})
        self.track(server.uuid, self._guarded(server, "stop", work))

    async def _begin(self, ctx: AuthContext, server_id: str, action: str, task: str,
                     expected: tuple[str | None, ...]) -> Server:
        server = self.get(ctx, server_id)
        self._check_writable(ctx, server)
        name = "reboot" if action == "reboot_hard" else action
        if server.vm_state not in states.ALLOWED[action]:
            raise InstanceInvalidState(action=name, uuid=server.uuid, attr="vm_state", state=server.vm_state)
        if server.task_state not in expected:
            raise InstanceInvalidState(action=name, uuid=server.uuid, attr="task_state", state=server.task_state)
        updated = await self.store.write(sdb.update_server, server.uuid, {"task_state": task},
                                         expected_task_state=expected)
        if updated is None:
            current = self.store.read(sdb.get_server, server.uuid)
            raise InstanceInvalidState(action=name, uuid=server.uuid, attr="task_state", state=current.task_state)
        return updated

    async def _guarded(self, server: Server, action: str, work: Callable[[], Awaitable[None]]) -> None:
        async with self._lock(server.uuid):
            try:
                await work()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.error("%s of server %s failed: %s", action, server.uuid, exc, exc_info=True)
                await self.store.write(sdb.set_fault, server.uuid, 500, f"{action} failed: {exc}", traceback.format_exc())

    # ----- metadata ----------------------------------------------------------------------------------------------

    def _check_metadata_state(self, ctx: AuthContext, server: Server) -> None:
        self._check_writable(ctx, server)
        if server.vm_state not in states.ALLOWED["update_metadata"] or server.task_state is not None:
            attr, state = ("task_state", server.task_state) if server.task_state else ("vm_state", server.vm_state)
            raise InstanceInvalidState(action="update_metadata", uuid=server.uuid, attr=attr, state=state)

    async def set_metadata(self, ctx: AuthContext, server_id: str, metadata: dict[str, str], *, replace: bool) -> dict:
        server = self.get(ctx, server_id)
        self._check_metadata_state(ctx, server)
        merged = dict(metadata) if replace else {**server.metadata, **metadata}
        _check_metadata_count(self.quotas.limits(ctx.project_id), len(merged))
        fn = sdb.replace_metadata if replace else sdb.merge_metadata
        await self.store.write(fn, server.uuid, metadata)
        return self.store.read(sdb.get_server, server.uuid).metadata

    async def delete_metadata_item(self, ctx: AuthContext, server_id: str, key: str) -> None:
        server = self.get(ctx, server_id)
        self._check_metadata_state(ctx, server)
        await self.store.write(sdb.delete_metadata_key, server.uuid, key)

    # ----- helpers -----------------------------------------------------------------------------------------------

    @staticmethod
    def _check_writable(ctx: AuthContext, server: Server) -> None:
        if not ctx.can_write:
            raise Forbidden("Policy doesn't allow os_compute_api:servers to be performed.")
        if server.locked and not ctx.is_admin:
            raise Conflict(f"Instance {server.uuid} is locked")

    async def _set(self, server: Server, values: dict) -> None:
        await self.store.write(sdb.update_server, server.uuid, values)

    def _lock(self, server_uuid: str) -> asyncio.Lock:
        return self._locks.setdefault(server_uuid, asyncio.Lock())

    def track(self, server_uuid: str, coro: Awaitable[None]) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks[server_uuid] = task
        task.add_done_callback(lambda t, u=server_uuid: self._tasks.pop(u, None) if self._tasks.get(u) is t else None)

    async def wait_idle(self) -> None:
        """Wait for every background task (tests, shutdown)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks.values()), return_exceptions=True)

    async def close(self) -> None:
        """On shutdown: background tasks stop where they are; guests keep running."""
        for task in list(self._tasks.values()):
            task.cancel()
        await asyncio.gather(*list(self._tasks.values()), return_exceptions=True)


def _check_metadata_count(limits: dict[str, int], count: int) -> None:
    """metadata_items is a per-server limit: the count is checked alone, nothing else is 'used'."""
    allowed = limits["metadata_items"]
    if allowed >= 0 and count > allowed:
        raise QuotaExceeded(resource="metadata_items", req=count, used=0, allowed=allowed)


class _BuildFailure(Exception):
    """A build failure whose message is meant for the user (the server's fault)."""

