"""The admin server actions (#2101-#2106) as Nova answers them on a cloud of one compute host.

- os-resetState: any vm_state becomes `active` or `error` with no task (a database change only, as Nova), recorded
  as the instance action `resetState`.
- injectNetworkInfo: accepted and nothing done (the libvirt driver's inject_network_info is a no-op).
- migrate, os-migrateLive, evacuate: Nova's API checks (the server's states, its compute service, a named host),
  then the conductor's scheduling, which here can only fail: there is no other host. The conductor's work runs at
  once, inside the request, with Nova's outcome:
  * migrate (202 from the API; the conductor runs after the answer): the instance action `migrate` with the event
    `conductor_migrate_server` in Error "No valid host was found. No valid host found for cold migrate"; the server
    keeps its vm_state and loses the task.
  * os-migrateLive: the same under `live-migration` (event `conductor_live_migrate_instance` from 2.34, when Nova
    runs the checks in the background; `conductor_migrate_server` before, when Nova waits and answers 400 with the
    failure, `ScheduleFailed.sync` says which).
  * evacuate: refused while the compute service is up (400 "Compute service of <host> is still in use."), as Nova;
    with the service forced down, accepted, and the server goes to ERROR with the fault "No valid host was found.
    There are not enough hosts available." (Nova's conductor rebuild_instance, which records no event).
  Nova also keeps a migration record of each attempt (status "error"); nodecompute keeps none (os-migrations lists
  nothing).
"""
from __future__ import annotations

from nodecompute.compute.host_services import HostServices
from nodecompute.compute.instance_actions import ActionLog
from nodecompute.db import servers as servers_db
from nodecompute.db.store import Store
from nodecompute.domain import states
from nodecompute.domain.host_models import Service
from nodecompute.domain.errors import BadRequest, ComputeError, Conflict, InstanceInvalidState, NotFound
from nodecompute.domain.models import AuthContext, Clock
from nodecompute.domain.server_models import Server

NO_HOSTS = "There are not enough hosts available."
RESIZE_PREP, MIGRATING, REBUILDING = "resize_prep", "migrating", "rebuilding"


class NoValidHost(ComputeError):
    """Nova's NoValidHost: a 400 where the API waits for the scheduler (live migration before 2.34)."""

    code = 400
    msg_fmt = "No valid host was found. %(reason)s"


def check_states(action: str, server: Server, allowed: tuple[str, ...]) -> None:
    """Nova's check_instance_state with an idle task and a server launched once."""
    for attr, value, ok in (("vm_state", server.vm_state, server.vm_state in allowed),
                            ("task_state", server.task_state, server.task_state is None),
                            ("launched_at", None, server.launched_at is not None)):
        if not ok:
            raise InstanceInvalidState(action=action, uuid=server.uuid, attr=attr, state=value)


class ServerAdmin:
    def __init__(self, store: Store, clock: Clock, log: ActionLog, host_services: HostServices) -> None:
        self.store = store
        self.clock = clock
        self.log = log
        self.host_services = host_services

    # ----- os-resetState, injectNetworkInfo ---------------------------------------------------------------------

    async def reset_state(self, ctx: AuthContext, server: Server, vm_state: str) -> None:
        await self.log.start(ctx, server, "resetState")
        await self.store.write(servers_db.update_server, server.uuid, {"vm_state": vm_state, "task_state": None},
                               now=self.clock())

    async def inject_network_info(self, ctx: AuthContext, server: Server) -> None:
        """Nova's libvirt driver injects nothing; the API records no action."""

    # ----- the host checks ----------------------------------------------------------------------------------------

    def _compute_service(self, host: str | None) -> Service | None:
        return self.host_services.compute_service(host) if host else None

    def _service_up(self, server: Server) -> bool:
        service = self._compute_service(server.host)
        return service is not None and self.host_services.is_up(service)

    def compute_host_exists(self, host: str) -> bool:
        return self._compute_service(host) is not None and any(n.host == host for n in self.host_services.node_ids())

    async def _begin(self, ctx: AuthContext, server: Server, task: str, record: str) -> int:
        """Compare-and-set the task (another action may have started since the checks) and record the action."""
        updated = await self.store.write(servers_db.update_server, server.uuid, {"task_state": task},
                                         now=self.clock(), expected_task_state=(None,))
        if updated is None:
            current = self.store.read(servers_db.get_server, server.uuid)
            raise InstanceInvalidState(action=record, uuid=server.uuid, attr="task_state", state=current.task_state)
        return await self.log.start(ctx, server, record)

    async def _fail_event(self, action_id: int, event: str, error: ComputeError) -> None:
        try:
            async with self.log.event(action_id, event):
                raise error
        except ComputeError:
            pass

    async def _idle(self, server: Server) -> None:
        await self.store.write(servers_db.update_server, server.uuid, {"task_state": None}, now=self.clock())

    # ----- migrate (#2102) -------------------------------------------------------------------------------------

    async def migrate(self, ctx: AuthContext, server: Server, host: str | None) -> None:
        check_states("migrate", server, (states.ACTIVE, states.STOPPED))
        if server.host is None:
            raise Conflict(f"Instance {server.uuid} is not ready")
        if not self._service_up(server):
            raise Conflict("Service is unavailable at this time.")
        if host is not None:
            if host == server.host:
                raise BadRequest("Cannot migrate to the host where the server exists.")
            raise BadRequest(f"Compute host {host} could not be found.")  # one host: any other is unknown
        action_id = await self._begin(ctx, server, RESIZE_PREP, "migrate")
        try:
            await self._fail_event(action_id, "conductor_migrate_server",
                                   NoValidHost(reason="No valid host found for cold migrate"))
        finally:
            await self._idle(server)

    # ----- os-migrateLive (#2103) ------------------------------------------------------------------------------

    async def live_migrate(self, ctx: AuthContext, server: Server, host: str | None, forced: bool,
                           background: bool) -> None:
        """`forced`: the named host skips the scheduler (a host before 2.30, `force` true from 2.30 to 2.67);
        `background`: Nova answers 202 and fails later (2.34+) instead of answering the failure (400)."""
        check_states("os-migrateLive", server, (states.ACTIVE, states.PAUSED_VM))
        if host is not None and not self.compute_host_exists(host):
            raise BadRequest(f"Compute host {host} could not be found.")
        action_id = await self._begin(ctx, server, MIGRATING, "live-migration")
        if not self._service_up(server):
            error: ComputeError = BadRequest(f"Compute service of {server.host} is unavailable at this time.")
        elif host is not None and forced:
            error = BadRequest(f"Unable to migrate instance ({server.uuid}) to current host ({host}).")
        else:
            error = NoValidHost(reason=NO_HOSTS)
        try:
            event = "conductor_live_migrate_instance" if background else "conductor_migrate_server"
            await self._fail_event(action_id, event, error)
        finally:
            await self._idle(server)
        if not background:
            raise error

    # ----- evacuate (#2104) ------------------------------------------------------------------------------------

    def check_evacuate_host(self, server: Server, host: str | None) -> None:
        if host is not None and self._compute_service(host) is None:
            raise NotFound(f"Compute host {host} not found.")
        if host is not None and host == server.host:
            raise BadRequest("The target host can't be the same one.")

    async def evacuate(self, ctx: AuthContext, server: Server) -> None:
        check_states("evacuate", server, (states.ACTIVE, states.STOPPED, states.ERROR))
        if self._service_up(server):
            raise BadRequest(f"Compute service of {server.host} is still in use.")
        await self._begin(ctx, server, REBUILDING, "evacuate")
        await self.store.write(servers_db.set_fault, server.uuid, 500, NoValidHost(reason=NO_HOSTS).message,
                               now=self.clock())

    # ----- a running live migration (2.22 force_complete, 2.24 abort) -------------------------------------------

    def running_live_migration(self, server: Server, migration_id: str, action: str, active_only: bool) -> None:
        """Nova's checks before forcing or aborting a live migration: the server in task_state `migrating` (and
        ACTIVE for force_complete), else 409; then the migration record, which nodecompute never has (a live
        migration fails at once here), so a server caught in that task is answered "not found"."""
        if active_only and server.vm_state != states.ACTIVE:
            raise InstanceInvalidState(action=action, uuid=server.uuid, attr="vm_state", state=server.vm_state)
        if server.task_state != MIGRATING:
            raise InstanceInvalidState(action=action, uuid=server.uuid, attr="task_state", state=server.task_state)
        if server.launched_at is None:
            raise InstanceInvalidState(action=action, uuid=server.uuid, attr="launched_at", state=None)
        raise NotFound(f"Migration {migration_id} not found for instance {server.uuid}")
