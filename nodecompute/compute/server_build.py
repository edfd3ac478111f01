"""The build of a server, as ServerService's background task (the steps of Nova's _build_and_run_instance): the
one-host scheduler's check, the ports made while the volumes and disks are (Nova allocates networks
asynchronously), their taps made and filtered as soon as they are, while the disks are made, the config drive
written and the domain defined; start; any failure undoes what the steps made and records the server's fault. A
mixin of ServerService: it uses the service's store, guests, ports, volume_boot, groups, host_services, capacity,
action_log and clock.
"""
from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
import traceback
from collections.abc import Callable
from typing import TYPE_CHECKING

from nodecompute.compute import instance_metadata, placement
from nodecompute.compute.guests import BootImage, DriveContent, crash_point
from nodecompute.compute.network_data import nic_devices
from nodecompute.compute.requested_networks import NicRequest
from nodecompute.compute.volume_boot import tagged_disk_devices
from nodecompute.db import servers as servers_db
from nodecompute.db import volume_attachments as attachments_db
from nodecompute.domain import states
from nodecompute.domain.models import AuthContext, isotime
from nodecompute.domain.server_models import Server
from nodecompute.threads import finish_all

if TYPE_CHECKING:
    from nodecompute.compute.block_devices import BlockDevicePlan

log = logging.getLogger(__name__)

BUILD_EVENT = "compute__do_build_and_run_instance"
NO_VALID_HOST = "No valid host was found. There are not enough hosts available."


class ServerBuild:
    async def _build_recorded(self, server: Server, image: BootImage | None, drive: DriveContent,
                              ctx: AuthContext, nics: tuple[NicRequest, ...], action_id: int,
                              devices: BlockDevicePlan) -> None:
        try:
            async with self.action_log.event(action_id, BUILD_EVENT):
                await self._build(server, image, drive, ctx, nics, devices)
        except _BuildFailed:
            pass  # the server has its fault; the event its Error

    async def _build(self, server: Server, image: BootImage | None, drive: DriveContent, ctx: AuthContext,
                     nics: tuple[NicRequest, ...], devices: BlockDevicePlan) -> None:
        began = time.perf_counter()
        try:
            await self._set(server, {"task_state": states.NETWORKING})
            if not await self._host_has_room(server):
                raise _BuildFailure(NO_VALID_HOST)
            # As Nova does, the ports are made while the disks are (its allocation is asynchronous). Once their rows
            # are written, their DHCP entries and filtering are loaded on one side while the taps, the config drive
            # and the domain are made on the other (a definition names its taps, it does not open them: the start
            # does); the guest starts once both sides are done. Each side runs to its end before a failure of the
            # other is raised, so the undo finds all they made.
            plugged: asyncio.Future[Server] = asyncio.get_running_loop().create_future()
            _, server = await finish_all(self._ports_and_binding(ctx, server, nics, plugged),
                                         self._disks_and_domain(ctx, server, image, devices, drive, nics, plugged))
            starting = time.perf_counter()
            await self.guests.start(server)
            log.debug("build of server %s: %.3f s before libvirt's start, %.3f s in it (bench/boot_nic.py --keep)",
                      server.uuid, starting - began, time.perf_counter() - starting)
            crash_point("domain_started")
            await self._set(server, {"vm_state": states.ACTIVE, "task_state": None, "power_state": states.RUNNING,
                                     "launched_at": isotime(self.clock()), "progress": 100})
            log.info("server %s (%s) is ACTIVE", server.uuid, server.instance_name)
        except asyncio.CancelledError:
            await asyncio.shield(self._undo_build(server))
            raise
        except Exception as exc:
            log.error("build of server %s failed: %s", server.uuid, exc, exc_info=not isinstance(exc, _BuildFailure))
            await self._undo_build(server)
            message = str(exc) if isinstance(exc, _BuildFailure) else f"Build of instance {server.uuid} failed: {exc}"
            details = None if isinstance(exc, _BuildFailure) else traceback.format_exc()
            await self.store.write(servers_db.set_fault, server.uuid, 500, message, details, now=self.clock())
            raise _BuildFailed(message) from exc

    async def _ports_and_binding(self, ctx: AuthContext, server: Server, nics: tuple[NicRequest, ...],
                                 plugged: asyncio.Future[Server]) -> None:
        """The ports (NETWORKING), handed to the disks' side through `plugged` as soon as their rows are written
        (their DHCP entries are made meanwhile; cancelled if they failed before), then plugged on their taps and
        filtered."""
        def hand_over() -> None:
            plugged.set_result(self.store.read(servers_db.get_server, server.uuid))

        try:
            if nics:
                await self.ports.plug(ctx, server, nics, hand_over)
        except BaseException:
            plugged.cancel()
            raise
        if not plugged.done() and nics:  # no port told its rows written
            hand_over()
        elif not plugged.done():  # no ports
            plugged.set_result(server)
        await self.ports.bind_all(plugged.result())  # the server read once its ports' rows were written

    async def _disks_and_domain(self, ctx: AuthContext, server: Server, image: BootImage | None,
                                devices: BlockDevicePlan, drive: DriveContent, nics: tuple[NicRequest, ...],
                                plugged: asyncio.Future[Server]) -> Server:
        """The volumes and local disks, then (the ports' rows written) the taps beside the config drive and the
        domain: the server as it is then."""
        tagged = await self._block_devices(ctx, server, image, devices)
        server = await plugged
        if nics:
            drive = dataclasses.replace(drive, network_data=self.ports.network_data(server),
                                        devices=nic_devices(server.nics))
        if server.hostname == instance_metadata.ADDRESS_HOSTNAME:
            await self._set(server, {"hostname": instance_metadata.address_hostname(server)})
            server = self.store.read(servers_db.get_server, server.uuid)
        drive = dataclasses.replace(drive, devices=(*tagged, *drive.devices))  # disks first, as Nova's domain XML
        crash_point("overlay_made")
        await finish_all(self._set(server, {"task_state": states.SPAWNING}), self.ports.make_taps(server),
                         self._drive_and_domain(server, drive))
        return server

    async def _block_devices(self, ctx: AuthContext, server: Server, image: BootImage | None,
                             devices: BlockDevicePlan) -> tuple:
        """The build's volumes and local disks (BLOCK_DEVICE_MAPPING): the tagged disks for meta_data.json's
        `devices` (2.32, 2.42+). The state is written while they are made (the writer may still be busy with the
        ports' rows; a restart undoes an unfinished build whatever its task state)."""
        await finish_all(self._set(server, {"task_state": states.BLOCK_DEVICE_MAPPING}),
                         self._volumes_and_disks(ctx, server, image, devices))
        attachments = self.store.read(attachments_db.of_server, server.uuid) if devices.volumes else []
        return tagged_disk_devices(server, attachments)

    async def _volumes_and_disks(self, ctx: AuthContext, server: Server, image: BootImage | None,
                                 devices: BlockDevicePlan) -> None:
        if devices.volumes:
            await self.volume_boot.prepare(ctx, server, devices)
        await self.guests.make_disks(server, image)

    async def _drive_and_domain(self, server: Server, drive: DriveContent) -> None:
        """The config drive, then the domain (its disks tell the drive's format from the file). Its NICs are the
        ports' taps, made beside this; a SIGKILL at either crash point finds them made or not (the restart undoes
        the build either way)."""
        if server.config_drive:
            await self.guests.build_config_drive(server, drive)
        crash_point("drive_built")
        await self.guests.define(server, interfaces=self.ports.interface_specs(server))
        crash_point("domain_defined")

    async def _undo_build(self, server: Server) -> None:
        await self.guests.destroy(server.uuid, server.instance_name)
        await self.ports.unplug_all(server.uuid)
        if self.release_volumes is not None:  # Nova's _cleanup_volumes: detached, deleted if delete_on_termination
            await self.release_volumes(server)

    async def _host_has_room(self, server: Server) -> bool:
        """The one-host scheduler: the compute service must be enabled and up (Nova's ComputeFilter), the server's
        group policy must hold (server_groups.py), and the server must fit the host's capacity beside every earlier
        server."""
        if not self.host_services.compute_accepts_servers() or not self.groups.admits(server):
            return False
        used = placement.HostUsage(**self.store.read(servers_db.host_usage, server.serial))
        return placement.host_has_room(self.capacity, used)


class _BuildFailed(Exception):
    """A build failed and its failure was recorded (the server's fault)."""


class _BuildFailure(Exception):
    """A build failure whose message is meant for the user (the server's fault)."""

