"""Keeping rows and domains true to each other (behaviour.md section 9.8, nova-facts 2.15).

- At start, under a driver the daemon owns (qemu:///embed), first what a killed predecessor left inside libvirt is
  settled (virt/leftovers.py: a restore cut short, a stale managed save, an orphaned backup job); then interrupted
  builds become ERROR (their partial disks and domain removed), interrupted deletes finish,
  interrupted actions (reboots, starts, stops: the `interrupted`/`replay` columns of domain/states.py ACTIONS) run
  again, interrupted createImage/createBackup/changePassword are abandoned (the task cleared, an unfinished image
  and its disk copy removed), tagged domains without a live row are reaped (under our own qemu:///embed root) or
  reported (under a shared libvirtd), instance directories and display sockets without a
  row are removed, and servers whose VNC display still listens on TCP (defined before displays became UNIX
  sockets) are named in the log: they keep it until their next stop/start or hard reboot. The daemon waits at most
  START_WAIT for the servers' recovery before it listens; the rest goes on in the background (at_start). A server
  ACTIVE at the last stop whose metadata `fcx.autofailover` is "true" (K5's automatic failover, behaviour.md
  section 12) and whose guest the sync found gone is started again (`Redo.restart`); "false", other values and
  ERROR servers not.
- Lifecycle events: a small record goes on the hypervisor's queue; one consumer syncs that server's power state,
  waiting 15 s after a stop event so a reboot's stop+start does not look like a stop.
- Periodically: the same power-state sync for every server, and the purge of deleted rows past retention; and,
  with a reclaim interval, the reclaim of soft-deleted servers; with a resize confirm window, the confirmation
  of resizes left unconfirmed.
"""
from __future__ import annotations

import asyncio
import functools
import logging
import shutil
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta

from nodecompute.domain import states
from nodecompute.compute.guests import Guests
from nodecompute.domain.models import Clock
from nodecompute.domain.server_models import Server
from nodecompute.config import Config
from nodecompute.db import servers as servers_db
from nodecompute.db.store import Store
from nodecompute.virt import displays, leftovers
from nodecompute.virt.errors import HypervisorError
from nodecompute.virt.hypervisor import Hypervisor

log = logging.getLogger(__name__)

STOP_EVENT_DELAY = 15.0
SYNC_INTERVAL = 600.0
START_WAIT = 20.0  # seconds the start-up recovery may hold the daemon back from listening (at_start)
INTERRUPTED_BUILD = "The server was being built when nodecompute stopped; the build was abandoned."
AUTOFAILOVER = "fcx.autofailover"  # metadata key: "true" restarts a guest found gone at start


def fails_over(server: Server) -> bool:
    return (server.vm_state == states.ACTIVE and server.task_state is None
            and str(server.metadata.get(AUTOFAILOVER, "")).strip().lower() == "true")


@dataclass(frozen=True)
class Redo:
    """The server service's calls that finish or redo a task interrupted by a stop (its locks and task tracking)."""

    finish_delete: Callable[[Server], Awaitable[None]]
    replay: Callable[..., Awaitable[bool]]  # server_actions.py (server, action=its own): False when none was cut short
    prune_base_cache: Callable[[], Awaitable[None]]
    reclaim: Callable[[], Awaitable[int]] | None = None  # servers.py: reclaims the soft-deleted servers due
    abandon: Callable[[Server], Awaitable[None]] | None = None  # server_images.py: createImage, changePassword...
    settle_resize: Callable[[Server], Awaitable[bool]] | None = None  # resize.py: False when no resize was cut short
    confirm_resizes: Callable[[int], Awaitable[int]] | None = None  # resize.py: those unconfirmed for the window
    settle_shelve: Callable[[Server], Awaitable[bool]] | None = None  # shelve.py: False when none was cut short
    restart: Callable[[Server], Awaitable[None]] | None = None  # server_actions.py: a start with no caller
    offload_shelved: Callable[[int], Awaitable[int]] | None = None  # shelve.py: those shelved for the offload time
    release_volumes: Callable[[Server], Awaitable[None]] | None = None  # an abandoned build's (as a failed build's)


class Reconciler:
    def __init__(self, store: Store, guests: Guests, hv: Hypervisor, cfg: Config, redo: Redo, *, clock: Clock,
                 reap_orphans: bool, settle_domains: bool = False, stop_event_delay: float = STOP_EVENT_DELAY) -> None:
        self.store = store
        self.clock = clock
        self.guests = guests
        self.hv = hv
        self.cfg = cfg
        self.redo = redo
        self.reap_orphans = reap_orphans
        self.settle_domains = settle_domains  # the daemon owns the driver: its jobs died with the last process
        self.stop_event_delay = stop_event_delay
        self._pending: dict[str, asyncio.TimerHandle] = {}
        self._recovery: asyncio.Task | None = None  # at_start's chains, while they run

    async def at_start(self, wait: float = START_WAIT) -> None:
        """Recover every server (their chains in one task, in row order), waiting at most `wait` seconds for
        them: a domain libvirt keeps busy (a job it waits 30 s for, from a predecessor killed mid-start) must not
        keep the daemon from listening. Servers the chains have not reached by then keep their task states, so
        their actions answer 409 until the chains get there; the rest of the start-up runs meanwhile."""
        for partial in self.guests.files.remove_snapshot_partials():
            log.warning("removed %s, the disk copy of a snapshot a stop cut short", partial)
        servers = self.store.read(servers_db.list_all_live)
        by_name = {s.instance_name: s for s in servers}
        self._recovery = asyncio.create_task(self._recover_all(servers))
        done, _ = await asyncio.wait({self._recovery}, timeout=wait)
        if done:
            self._recovery.result()  # a failure fails the start, as before the wait was bounded
        else:
            log.warning("the start-up recovery of %d servers is still running after %.0f s: the daemon listens "
                        "meanwhile and the recovery goes on in the background", len(servers), wait)
            self._recovery.add_done_callback(functools.partial(_log_failure, what="the start-up recovery"))
        domains = await self.hv.list_ours()
        for name, tags in domains.items():
            server = by_name.get(name)
            if server is not None and server.uuid == tags.get("server_id"):
                continue
            row = self.store.read(servers_db.find_server, tags.get("server_id", ""))
            if self.reap_orphans or (row is not None and row.deleted):
                log.warning("reaping domain %s (server %s has no live row)", name, tags.get("server_id"))
                await self.hv.destroy(name)
                await self.hv.undefine(name)
            else:
                log.warning("domain %s is tagged for server %s, which has no row; left alone", name, tags.get("server_id"))
        self._remove_orphan_dirs({s.uuid for s in servers})
        self._remove_orphan_sockets({s.uuid for s in servers})
        await self._report_tcp_displays(by_name)
        await self.redo.prune_base_cache()

    async def _recover_all(self, servers: list[Server]) -> None:
        for server in servers:
            await self._settle(server)
            await self._recover(server)
            if fails_over(server):
                await self._fail_over(server)

    async def _recover(self, server: Server) -> None:
        task = server.task_state
        if server.vm_state == states.BUILDING or task in states.BUILD_TASKS:
            log.warning("server %s was building at the last stop: ERROR", server.uuid)
            await self.guests.destroy(server.uuid, server.instance_name)
            await self.store.write(servers_db.set_fault, server.uuid, 500, INTERRUPTED_BUILD, now=self.clock())
            if self.redo.release_volumes is not None:  # Nova's _cleanup_volumes of a failed build
                await self.redo.release_volumes(server)
        elif task == states.DELETING:
            await self.redo.finish_delete(server)
        elif task in states.ABANDONED_TASKS and self.redo.abandon is not None:
            await self.redo.abandon(server)  # the server as it was, an unfinished image deleted
            await self.sync_power_state(server.uuid)
        elif self.redo.settle_resize is not None and await self.redo.settle_resize(server):
            pass  # a resize rolled back (ERROR), a revert or confirm finished
        elif self.redo.settle_shelve is not None and await self.redo.settle_shelve(server):
            await self.sync_power_state(server.uuid)  # an abandoned shelve: does the guest still run?
        elif task in states.SOFT_REBOOT_TASKS and await self._soft_reboot_of_a_running_guest(server):
            pass  # retried soft
        elif not await self.redo.replay(server):  # an interrupted action runs again (domain/states.py ACTIONS)
            await self.sync_power_state(server.uuid)

    async def _soft_reboot_of_a_running_guest(self, server: Server) -> bool:
        """Nova's _init_instance for a soft reboot a stop cut short before it went hard, its guest still running:
        retried soft (the guest shuts down by ACPI and starts again; Nova retries its REBOOT_PENDING soft). False,
        so the rule's replay (HARD) runs, when the guest does not run, as Nova's, and when it had gone hard
        (REBOOT_STARTED: here the ACPI wait timed out; Nova clears the task of a running guest then, which would
        leave an unresponsive guest unrebooted)."""
        if server.task_state == states.REBOOT_STARTED or \
                await self.hv.power_state(server.instance_name) != states.RUNNING:
            return False
        return await self.redo.replay(server, "reboot")  # which logs the redo

    async def _fail_over(self, server: Server) -> None:
        now = self.store.read(servers_db.find_server, server.uuid)
        if self.redo.restart is None or now is None or now.vm_state != states.STOPPED or now.task_state is not None:
            return
        log.warning("server %s (%s true) found its guest gone at start: starting it again", server.uuid, AUTOFAILOVER)
        await self.redo.restart(now)

    async def _settle(self, server: Server) -> None:
        if not self.settle_domains:
            return
        try:
            steps = await leftovers.settle(self.hv, server.instance_name)
        except HypervisorError as err:  # the server's own recovery below still runs; the daemon still starts
            log.error("server %s: settling what a killed daemon left in domain %s failed: %s", server.uuid,
                      server.instance_name, err)
            return
        if steps:
            log.warning("server %s (task %s): domain %s had what a killed daemon left inside libvirt: %s",
                        server.uuid, server.task_state, server.instance_name, ", ".join(steps))

    def _remove_orphan_dirs(self, live: set[str]) -> None:
        root = self.cfg.instances_dir
        if not root.is_dir():
            return
        for entry in root.iterdir():
            if entry.name == "_base" or not entry.is_dir():
                continue
            if entry.name.removesuffix("_del") not in live or entry.name.endswith("_del"):
                log.warning("removing orphan instance directory %s", entry)
                shutil.rmtree(entry, ignore_errors=True)

    def _remove_orphan_sockets(self, live: set[str]) -> None:
        """Display and test channel sockets (virt/displays.py) of servers without a live row."""
        root = self.guests.display_dir
        for suffix in (displays.SOCKET_SUFFIX, displays.CHANNEL_SUFFIX, displays.SERIAL_SUFFIX):
            for entry in root.glob(f"*{suffix}") if root.is_dir() else ():
                if entry.name.removesuffix(suffix) not in live:
                    log.warning("removing orphan socket %s", entry)
                    entry.unlink(missing_ok=True)

    async def _report_tcp_displays(self, by_name: dict[str, Server]) -> None:
        for name, address in sorted((await self.hv.tcp_displays()).items()):
            server = by_name.get(name)
            if server is not None:
                log.warning("server %s (domain %s) still has its VNC display on TCP %s, defined before displays "
                            "became UNIX sockets: it moves to %s at its next stop/start or hard reboot",
                            server.uuid, name, address, self.guests.display_socket(server.uuid))

    async def sync_power_state(self, server_uuid: str) -> None:
        """Nova's _sync_instance_power_state for one server, skipped while it has a task. An action that ran
        while libvirt was asked (a soft delete, a stop and start) makes it give up: what it read is stale, and its
        write only lands on the vm_state it read (compare-and-set), so it never turns a SOFT_DELETED server into
        a SHUTOFF one."""
        server = self.store.read(servers_db.find_server, server_uuid)
        if server is None or server.deleted or server.task_state is not None:
            return
        power = await self.hv.power_state(server.instance_name)
        now = self.store.read(servers_db.find_server, server_uuid)
        if now is None or (now.deleted, now.vm_state, now.power_state, now.task_state) != (
                False, server.vm_state, server.power_state, None):
            return
        values: dict = {}
        if power != server.power_state:
            values["power_state"] = power
        if server.vm_state == states.ACTIVE and power in (states.SHUTDOWN, states.CRASHED):
            log.info("server %s shut down by itself", server.uuid)
            await self.hv.destroy(server.instance_name)
            values.update(vm_state=states.STOPPED, power_state=states.SHUTDOWN)
        elif server.vm_state == states.ACTIVE and power == states.NOSTATE:
            log.warning("server %s: domain %s is unexpectedly not found", server.uuid, server.instance_name)
        elif server.vm_state == states.STOPPED and power not in (states.NOSTATE, states.SHUTDOWN, states.CRASHED):
            log.info("server %s is running but should be stopped: stopping", server.uuid)
            await self.hv.destroy(server.instance_name)
            values["power_state"] = states.SHUTDOWN
        if values:
            await self.store.write(servers_db.update_server, server.uuid, values, now=self.clock(),
                                   expected_task_state=(None,), expected_vm_state=server.vm_state)

    async def consume_events(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            event = await self.hv.events.get()
            server_uuid = event.uuid
            if server_uuid is None:
                continue
            previous = self._pending.pop(server_uuid, None)
            if previous is not None:
                previous.cancel()
            delay = self.stop_event_delay if event.kind in ("stopped", "shutdown", "crashed") else 0.0
            self._pending[server_uuid] = loop.call_later(delay, self._sync_soon, server_uuid)

    def _sync_soon(self, server_uuid: str) -> None:
        self._pending.pop(server_uuid, None)
        task = asyncio.ensure_future(self.sync_power_state(server_uuid))
        task.add_done_callback(_log_failure)

    async def periodic(self, interval: float = SYNC_INTERVAL) -> None:
        while True:
            await asyncio.sleep(interval)
            try:
                for server in self.store.read(servers_db.list_all_live):
                    await self.sync_power_state(server.uuid)
                retention = timedelta(seconds=self.cfg.compute.deleted_retention)
                await self.store.write(servers_db.purge_deleted, self.clock() - retention)
            except Exception:
                log.exception("periodic reconciliation failed")

    async def reclaim_periodically(self) -> None:
        """Nova's _reclaim_queued_deletes every reclaim_instance_interval seconds (never when it is 0)."""
        interval = self.cfg.compute.reclaim_instance_interval
        if interval <= 0 or self.redo.reclaim is None:
            return
        await _every(interval, self.redo.reclaim, "reclaiming soft-deleted servers failed")

    async def confirm_resizes_periodically(self) -> None:
        """Nova's _poll_unconfirmed_resizes: resizes unconfirmed for resize_confirm_window seconds are confirmed
        (never when it is 0), checked every minute or every half window if that is shorter."""
        window = self.cfg.compute.resize_confirm_window
        if window <= 0 or self.redo.confirm_resizes is None:
            return
        confirm = self.redo.confirm_resizes
        await _every(min(60.0, max(1.0, window / 2)), lambda: confirm(window), "confirming resizes failed")

    async def offload_shelved_periodically(self) -> None:
        """Nova's _poll_shelved_instances: servers shelved for shelved_offload_time seconds (above 0) are
        offloaded, checked every minute or every half of that time if shorter."""
        offload_time = self.cfg.compute.shelved_offload_time
        if offload_time <= 0 or self.redo.offload_shelved is None:
            return
        offload = self.redo.offload_shelved
        await _every(min(60.0, max(1.0, offload_time / 2)), lambda: offload(offload_time),
                     "offloading shelved servers failed")

    def close(self) -> None:
        if self._recovery is not None:
            self._recovery.cancel()
        for handle in self._pending.values():
            handle.cancel()
        self._pending.clear()


def _log_failure(task: asyncio.Task, what: str = "power state sync") -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("%s failed", what, exc_info=task.exception())


async def _every(seconds: float, job: Callable[[], Awaitable[object]], failing: str) -> None:
    """Run `job` every `seconds`, for ever; a failure is logged (`failing`) and the next round runs anyway."""
    while True:
        await asyncio.sleep(seconds)
        try:
            await job()
        except Exception:
            log.exception(failing)
