"""Server actions as data: the rules in domain/states.py ACTIONS say where an action may start, what the server
shows while it runs and where it ends; WORK below says what it does to the guest. Every action runs the same way:

1. `request` checks the caller (a writer; a locked server only for admins), the vm_state against the rule's
   `allowed` and the task_state against its `expected`, then compare-and-sets the task_state to the rule's `task`
   (two actions cannot race), and tracks the work in the background;
2. the work runs under the server's lock (server_tasks.py); `started()` moves the task_state to the rule's
   `started` when the guest itself is touched; when the work returns the server takes the rule's `done` states
   with no task; when it raises, the server gets a fault and ERROR.
3. At start-up, reconcile.py hands every server whose task_state says a stop cut an action short to `replay`,
   which runs the rule's `replay` action from the beginning (the states were checked when it was first asked).

Adding an action is a row and a line, plus the adapter calls its work makes. Pause (issue 17), for example:

    # domain/states.py ACTIONS
    "pause": ActionRule("pause", allowed=(ACTIVE,), task=PAUSING, done=(PAUSED_VM, PAUSED),
                        interrupted=(PAUSING,), replay="pause"),
    "unpause": ActionRule("unpause", allowed=(PAUSED_VM,), task=UNPAUSING, done=(ACTIVE, RUNNING),
                          interrupted=(UNPAUSING,), replay="unpause"),
    # WORK below
    "pause": lambda guests, server, started: guests.pause(server),
    "unpause": lambda guests, server, started: guests.unpause(server),
    # the two thin adapter calls: Guests.pause/unpause -> Hypervisor.pause/unpause (virDomainSuspend/Resume)

and on the API side a parse function and an entry in api/server_actions.py ACTIONS.
"""
from __future__ import annotations

import asyncio
import logging
import traceback
from collections.abc import Awaitable, Callable

from nodecompute.compute.guests import Guests
from nodecompute.compute.server_access import check_writable, visible_server
from nodecompute.compute.server_tasks import ServerTasks
from nodecompute.db import servers as servers_db
from nodecompute.db.store import Store
from nodecompute.domain import states
from nodecompute.domain.errors import InstanceInvalidState
from nodecompute.domain.models import AuthContext, Clock
from nodecompute.domain.server_models import ActionRequest, Server

log = logging.getLogger(__name__)

Started = Callable[[], Awaitable[None]]
Work = Callable[[Guests, Server, Started], Awaitable[None]]


async def _reboot_soft(guests: Guests, server: Server, started: Started) -> None:
    if not await guests.soft_reboot(server):
        log.warning("server %s did not shut down for a soft reboot; rebooting hard", server.uuid)
        await started()
        await guests.hard_reboot(server)


async def _reboot_hard(guests: Guests, server: Server, started: Started) -> None:
    await started()
    await guests.hard_reboot(server)


async def _start(guests: Guests, server: Server, started: Started) -> None:
    await guests.define(server)  # the domain XML follows the row (and the code) of today
    await guests.start(server)


async def _stop(guests: Guests, server: Server, started: Started) -> None:
    await guests.power_off(server)


WORK: dict[str, Work] = {
    "reboot": _reboot_soft,
    "reboot_hard": _reboot_hard,
    "start": _start,
    "stop": _stop,
}


class ServerActions:
    def __init__(self, store: Store, guests: Guests, tasks: ServerTasks, clock: Clock) -> None:
        self.store = store
        self.guests = guests
        self.tasks = tasks
        self.clock = clock

    async def request(self, ctx: AuthContext, server_id: str, req: ActionRequest) -> None:
        """Check and begin the action, then run its work in the background."""
        rule = states.ACTIONS[req.action]
        server = visible_server(self.store, ctx, server_id)
        check_writable(ctx, server)
        if server.vm_state not in rule.allowed:
            raise InstanceInvalidState(action=rule.message_name, uuid=server.uuid, attr="vm_state",
                                       state=server.vm_state)
        if server.task_state not in rule.expected:
            raise InstanceInvalidState(action=rule.message_name, uuid=server.uuid, attr="task_state",
                                       state=server.task_state)
        updated = await self._begin(server, rule, rule.expected)
        if updated is None:
            current = self.store.read(servers_db.get_server, server.uuid)
            raise InstanceInvalidState(action=rule.message_name, uuid=server.uuid, attr="task_state",
                                       state=current.task_state)
        self.tasks.track(server.uuid, self._run(req.action, updated))

    async def replay(self, server: Server) -> bool:
        """Run again, in the background, the action a stop interrupted (start-up reconciliation). False when the
        server's task_state names no action."""
        name = states.interrupted_action(server.task_state)
        if name is None:
            return False
        log.warning("server %s was in task_state %s at the last stop: redoing %s", server.uuid, server.task_state,
                    name)
        updated = await self._begin(server, states.ACTIONS[name], (server.task_state,))
        if updated is not None:
            self.tasks.track(server.uuid, self._run(name, updated))
        return True

    async def _begin(self, server: Server, rule: states.ActionRule,
                     expected: tuple[str | None, ...]) -> Server | None:
        return await self.store.write(servers_db.update_server, server.uuid, {"task_state": rule.task},
                                      now=self.clock(), expected_task_state=expected)

    async def _run(self, name: str, server: Server) -> None:
        rule = states.ACTIONS[name]

        async def started() -> None:
            if rule.started is not None:
                await self.store.write(servers_db.update_server, server.uuid, {"task_state": rule.started},
                                       now=self.clock())

        async with self.tasks.lock(server.uuid):
            try:
                await WORK[name](self.guests, server, started)
                vm_state, power_state = rule.done
                await self.store.write(servers_db.update_server, server.uuid,
                                       {"vm_state": vm_state, "task_state": None, "power_state": power_state},
                                       now=self.clock())
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.error("%s of server %s failed: %s", rule.message_name, server.uuid, exc, exc_info=True)
                await self.store.write(servers_db.set_fault, server.uuid, 500, f"{rule.message_name} failed: {exc}",
                                       traceback.format_exc(), now=self.clock())
