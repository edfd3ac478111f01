"""Server actions as data: the rules in domain/states.py ACTIONS say where an action may start, what the server
shows while it runs and where it ends; WORK below says what it does to the guest. Every action runs the same way:

1. `request` checks the caller (a writer; a locked server only for admins), the vm_state against the rule's
   `allowed`, the task_state against its `expected` and that the server was launched once (Nova's
   check_instance_state), then compare-and-sets the task_state to the rule's `task` (two actions cannot race),
   records the instance action (instance_actions.py) and tracks the work in the background;
2. the work runs under the server's lock (server_tasks.py) as the action's event; `started()` moves the task_state
   to the rule's `started` when the guest itself is touched; when the work returns the server takes the rule's
   `done` states with no task; when it raises, the server gets a fault and ERROR (an action without a task, the
   crash dump, only records the failed event, as Nova).
3. At start-up, reconcile.py hands every server whose task_state says a stop cut an action short to `replay`,
   which runs the rule's `replay` action from the beginning (the states were checked when it was first asked).

Adding an action is a row in ACTIONS and a line in WORK, plus the adapter calls its work makes; on the API side a
parse function and an entry in api/server_actions.py ACTIONS. Lock and unlock change no guest: server_locks.py.
"""
from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
import traceback
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from typing import TypeVar

from nodecompute.compute.guests import Guests
from nodecompute.compute.instance_actions import ActionLog
from nodecompute.compute.server_access import check_writable, visible_server
from nodecompute.compute.server_tasks import ServerTasks
from nodecompute.db import servers as servers_db
from nodecompute.db import volume_attachments as attachments_db
from nodecompute.db.store import Store
from nodecompute.domain import states
from nodecompute.domain.errors import Conflict, InstanceInvalidState
from nodecompute.domain.models import AuthContext, Clock, isotime
from nodecompute.domain.server_models import ActionRequest, Server

log = logging.getLogger(__name__)
T = TypeVar("T")

Started = Callable[[], Awaitable[None]]
Work = Callable[[Guests, Server, Started], Awaitable[None]]
# the running action's (log, action id), for a work that records its own events (`step`)
_RUNNING: contextvars.ContextVar[tuple[ActionLog, int | None]] = contextvars.ContextVar("running_action")


def step(name: str) -> AbstractAsyncContextManager[None]:
    """A part of the running action's work as its event `name` (an action whose rule names no event records
    Nova's several: resize's conductor_migrate_server, compute_prep_resize, compute_resize_instance, ...)."""
    action_log, action_id = _RUNNING.get()
    return action_log.event(action_id, name)


async def _reboot_soft(guests: Guests, server: Server, started: Started) -> None:
    if not await guests.soft_reboot(server, timeout=guests.cfg.compute.wait_soft_reboot_seconds):
        log.warning("server %s did not shut down for a soft reboot; rebooting hard", server.uuid)
        await started()
        await guests.hard_reboot(server)


async def _reboot_hard(guests: Guests, server: Server, started: Started) -> None:
    await started()
    await guests.hard_reboot(server)


async def _start(guests: Guests, server: Server, started: Started) -> None:
    await guests.power_on(server)  # the domain XML follows the row (and the code) of today


async def _stop(guests: Guests, server: Server, started: Started) -> None:
    await guests.power_off(server, clean_timeout=guests.cfg.compute.shutdown_timeout)


async def _soft_delete(guests: Guests, server: Server, started: Started) -> None:
    await guests.hv.destroy(server.instance_name)  # Nova's libvirt driver: power_off without a clean shutdown


WORK: dict[str, Work] = {
    "reboot": _reboot_soft,
    "reboot_hard": _reboot_hard,
    "start": _start,
    "stop": _stop,
    "pause": lambda guests, server, started: guests.pause(server),
    "unpause": lambda guests, server, started: guests.unpause(server),
    "suspend": lambda guests, server, started: guests.suspend(server),
    "resume": lambda guests, server, started: guests.resume(server),
    "trigger_crash_dump": lambda guests, server, started: guests.inject_nmi(server),
    "soft_delete": _soft_delete,
    "restore": _start,  # Nova's libvirt driver has no restore: it powers the guest on
}
# Columns an action sets beside its done states ((time, the server as the action began) -> values): a soft-deleted
# server's deletion time starts the reclaim interval; a restore clears it; a rebuilt server launched anew (a stopped
# one stays stopped: compute/rebuild.py).
DONE_VALUES: dict[str, Callable[[str, Server], dict]] = {
    "soft_delete": lambda at, server: {"deleted_at": at, "terminated_at": at},
    "restore": lambda at, server: {"deleted_at": None, "terminated_at": None},
    "rebuild": lambda at, server: {"launched_at": at, **(  # Nova stops a stopped server again after the spawn
        {"vm_state": states.STOPPED, "power_state": states.SHUTDOWN} if server.vm_state == states.STOPPED else {})},
}
Claim = Callable[[], Awaitable[Server | None]]


def unless_reverting(action: str, claim: Callable[..., T]) -> Callable[..., T]:
    """`claim(db, uuid, ...)` (a task's compare-and-set) run only when none of the server's volumes is reverting to
    a snapshot (K5's fcx-restore of a stopped server's system volume): 409 otherwise, in the same transaction."""
    def guarded(db, uuid: str, *args, **kwargs) -> T:
        check_not_reverting(db, action, uuid)
        return claim(db, uuid, *args, **kwargs)
    return guarded


def check_not_reverting(db, action: str, uuid: str) -> None:
    if attachments_db.volume_reverting(db, uuid):
        raise Conflict(f"Cannot '{action}' instance {uuid} while one of its volumes is being reverted to a snapshot")


class ServerActions:
    def __init__(self, store: Store, guests: Guests, tasks: ServerTasks, clock: Clock, log: ActionLog) -> None:
        self.store = store
        self.guests = guests
        self.tasks = tasks
        self.clock = clock
        self.log = log
        self.work: dict[str, Work] = dict(WORK)  # with the works other services add (rebuild.py, rescue.py)

    async def request(self, ctx: AuthContext, server_id: str, req: ActionRequest) -> None:
        """Check and begin the action, then run its work in the background."""
        rule = states.ACTIONS[req.action]
        server = visible_server(self.store, ctx, server_id)
        check_writable(ctx, server)
        check_state(rule, server)
        await self.begin(ctx, req.action, server, rule.expected, self.work[req.work] if req.work else None)

    async def begin(self, ctx: AuthContext | None, name: str, server: Server,
                    expected: tuple[str | None, ...], work: Work | None = None, claim: Claim | None = None,
                    also: dict | None = None) -> None:
        """Compare-and-set the task, record the action, run the work in the background (the checks were made).
        `work` is the request's own work for an action with none in WORK (createImage, createBackup,
        changePassword: server_images.py, server_admin_password.py); `claim` the request's own compare-and-set,
        which also writes what the request changes (rebuild.py); `also` columns written with the task (a
        resize's disk config)."""
        rule = states.ACTIONS[name]
        updated = await (claim() if claim is not None else self._begin(server, rule, expected, guarded=True,
                                                                        also=also))
        if updated is None:
            current = self.store.read(servers_db.get_server, server.uuid)
            raise InstanceInvalidState(action=rule.message_name, uuid=server.uuid, attr="task_state",
                                       state=current.task_state)
        action_id = await self.log.start(ctx, server, rule.record)
        self.tasks.track(server.uuid, self._run(name, updated, action_id, work or self.work[name]))

    async def restart(self, server: Server) -> None:
        """Start a stopped server with no caller (the reconciler's automatic failover, reconcile.py)."""
        rule = states.ACTIONS["start"]
        await self.begin(None, "start", server, rule.expected)

    async def replay(self, server: Server, name: str | None = None) -> bool:
        """Run again, in the background, the action a stop interrupted (start-up reconciliation), or `name` in its
        place. False when the server's task_state names no action."""
        name = name or states.interrupted_action(server.task_state)
        if name is None:
            return False
        log.warning("server %s was in task_state %s at the last stop: redoing %s", server.uuid, server.task_state,
                    name)
        updated = await self._begin(server, states.ACTIONS[name], (server.task_state,))
        if updated is not None:
            self.tasks.track(server.uuid, self._run(name, updated, None, self.work[name]))
        return True

    async def _begin(self, server: Server, rule: states.ActionRule, expected: tuple[str | None, ...], *,
                     guarded: bool = False, also: dict | None = None) -> Server | None:
        """The task's compare-and-set; `guarded` (an action asked, not one replayed at start) also refuses, in the
        same transaction, a server one of whose volumes is reverting (volume_revert.py sets `reverting` in one
        transaction with its check that the server has no task: the two cannot both win)."""
        if rule.task is None:  # a stateless action (crash dump): the task must still be idle
            current = self.store.read(servers_db.get_server, server.uuid)
            if guarded:
                self.store.read(check_not_reverting, rule.message_name, server.uuid)
            return current if current.task_state in expected else None
        update = unless_reverting(rule.message_name, servers_db.update_server) if guarded else servers_db.update_server
        return await self.store.write(update, server.uuid, {**(also or {}), "task_state": rule.task},
                                      now=self.clock(), expected_task_state=expected)

    async def _run(self, name: str, server: Server, action_id: int | None, work: Work) -> None:
        rule = states.ACTIONS[name]

        async def started() -> None:
            if rule.started is not None:
                await self.store.write(servers_db.update_server, server.uuid, {"task_state": rule.started},
                                       now=self.clock())

        _RUNNING.set((self.log, action_id))
        async with self.tasks.lock(server.uuid):
            try:
                async with self.log.event(action_id, rule.event) if rule.event else contextlib.nullcontext():
                    await work(self.guests, server, started)
                if rule.done is not None:
                    vm_state, power_state = rule.done
                    now = self.clock()
                    values = {"vm_state": vm_state, "task_state": None, "power_state": power_state,
                              **DONE_VALUES.get(name, lambda at, server: {})(isotime(now), server)}
                    await self.store.write(servers_db.update_server, server.uuid, values, now=now)
                elif rule.task is not None:
                    await self.store.write(servers_db.update_server, server.uuid, {"task_state": None},
                                           now=self.clock())
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.error("%s of server %s failed: %s", rule.message_name, server.uuid, exc, exc_info=True)
                if rule.task is not None and rule.done is None:  # the server stays as it was (Nova)
                    await self.store.write(servers_db.update_server, server.uuid, {"task_state": None},
                                           now=self.clock())
                elif rule.task is not None:
                    await self.store.write(servers_db.set_fault, server.uuid, 500,
                                           f"{rule.message_name} failed: {exc}", traceback.format_exc(),
                                           now=self.clock())


def check_state(rule: states.ActionRule, server: Server) -> None:
    """Nova's check_instance_state: the vm_state, then the task_state, then that it was launched once."""
    if server.vm_state not in rule.allowed:
        raise InstanceInvalidState(action=rule.message_name, uuid=server.uuid, attr="vm_state", state=server.vm_state)
    if server.task_state not in rule.expected:
        raise InstanceInvalidState(action=rule.message_name, uuid=server.uuid, attr="task_state",
                                   state=server.task_state)
    if server.launched_at is None:
        raise InstanceInvalidState(action=rule.message_name, uuid=server.uuid, attr="launched_at", state=None)
