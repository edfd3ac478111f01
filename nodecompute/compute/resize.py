"""resize (#304), confirmResize (#305) and revertResize (#306) on this one host, as Nova's libvirt driver does a
resize to the same host (allow_resize_to_same_host).

The request: Nova's API checks in its order (the lock and states, the flavor, the same flavor, a zero-disk flavor,
the image's minimums, the quota for the difference), then a migration record (`pre-migrating`, type resize), the
task `resize_prep` and the instance action `resize`; the answer is 202. In the background (server_actions.py runs
it under the server's lock), as Nova's events: `conductor_migrate_server` (the one-host scheduler: the new flavor
must fit beside every server, the old flavor included, as placement holds both during a resize, else NoValidHost:
the migration `error`, the server as it was), `compute_prep_resize`, `compute_resize_instance` (a smaller root or
ephemeral disk fails there as Nova's driver fails it, "Resize error: Unable to resize disk down."; the guest is powered off, its disks are kept whole
(storage/resize_disks.py, `migrating` / resize_migrating), the row takes the new flavor (`post-migrating` /
resize_migrated), then `compute_finish_resize`: the disks grow, the domain is defined anew and started again if it
ran (resize_finish); the server is then RESIZED (VERIFY_RESIZE) and the migration `finished`. Any failure puts the kept disks, the old
flavor and the old domain back: the server is as it was, the migration `error`, the event failed.

confirmResize drops the kept disks (vm_state active or stopped, as the guest is; migration `confirmed`);
revertResize (task resize_reverting; events `compute_revert_resize` and `compute_finish_revert_resize`) powers the
guest off, puts the kept disks and the old flavor back exactly and starts it if it ran before (migration
`reverted`). Deleting a server in VERIFY_RESIZE confirms its resize first, recorded as a confirmResize action
(Nova's _confirm_resize_on_deleting). With `[compute] resize_confirm_window` above 0, resizes left
unconfirmed that long are confirmed by nodecompute (Nova's _poll_unconfirmed_resizes).

A stop in the middle (reconcile.py calls `settle`): an unfinished resize is rolled back to the old flavor and disks
and the server gets a fault (ERROR: a hard reboot brings it back); an unfinished revert or confirm is finished.
"""
from __future__ import annotations

import contextlib
import json
import logging
import uuid as uuidlib
from datetime import timedelta

from nodecompute.compute.flavors import FlavorService
from nodecompute.compute.guests import Guests, crash_point
from nodecompute.compute.host_services import HostServices
from nodecompute.compute.placement import HostCapacity, HostUsage, check_fit, host_has_room
from nodecompute.compute.quotas import QuotaService
from nodecompute.compute.server_access import check_writable, visible_server
from nodecompute.compute.server_actions import ServerActions, Started, check_state, step
from nodecompute.compute.server_admin import NO_HOSTS, NoValidHost
from nodecompute.db import images as images_db
from nodecompute.db import server_migrations as migrations_db
from nodecompute.db import servers as servers_db
from nodecompute.db.store import Store
from nodecompute.domain import migration_models as mig
from nodecompute.domain import disk_config as disk_configs
from nodecompute.domain import states
from nodecompute.domain.errors import BadRequest, ComputeError, NotFound
from nodecompute.domain.migration_models import Migration
from nodecompute.domain.models import AuthContext, Clock, Flavor, id_from_ref
from nodecompute.domain.server_models import GIB, Server
from nodecompute.storage import resize_disks

log = logging.getLogger(__name__)

SAME_FLAVOR = "When resizing, instances must change flavor!"
ZERO_DISK = "Server disk was unable to be resized because: Resize to zero disk flavor is not allowed."
NO_FLAVOR = "Unable to locate requested flavor."
NOT_RESIZED = "Instance has not been resized."
INTERRUPTED = "The server was being resized when nodecompute stopped; the resize was rolled back."
CRASH_STEPS = ("resize_disks_kept", "resize_domain_defined")  # the crash tests' SIGKILL points


class ResizeError(ComputeError):
    """Nova's ResizeError (raised by its driver, after the API's 202: the event and the migration fail)."""

    code = 500
    msg_fmt = "Resize error: %(reason)s"


def flavor_values(server: Server) -> dict:
    """The server row's flavor columns (migration_models.FLAVOR_COLUMNS), as a migration record keeps them."""
    return {column: getattr(server, column) for column in mig.FLAVOR_COLUMNS}


def row_values(flavor: dict) -> dict:
    """Flavor columns for servers_db.update_server (the extra specs are stored as JSON)."""
    return {**flavor, "flavor_extra_specs": json.dumps(flavor["flavor_extra_specs"])}


class ServerResizes:
    def __init__(self, store: Store, guests: Guests, actions: ServerActions, flavors: FlavorService,
                 quotas: QuotaService, clock: Clock, host_services: HostServices, capacity: HostCapacity) -> None:
        self.store = store
        self.guests = guests
        self.actions = actions
        self.flavors = flavors
        self.quotas = quotas
        self.clock = clock
        self.host_services = host_services
        self.capacity = capacity

    def node_name(self) -> str | None:
        """The hypervisor hostname of this host's compute node (a migration's source and destination node)."""
        return next((node.hypervisor_hostname for node in self.host_services.node_ids()), None)

    # ----- resize ------------------------------------------------------------------------------------------------

    async def resize(self, ctx: AuthContext, server_id: str, flavor_ref: object,
                     disk_config: str | None = None) -> None:
        """`disk_config`: the request's OS-DCF:diskConfig; the server's becomes AUTO only when asked (Nova)."""
        server = visible_server(self.store, ctx, server_id)
        check_writable(ctx, server)
        check_state(states.ACTIONS["resize"], server)
        chosen_disk_config = disk_configs.for_resize(server.image_properties, disk_config, server.image_id)
        flavor = self._flavor(ctx, id_from_ref(flavor_ref))
        if flavor.flavorid == server.flavorid:
            raise BadRequest(SAME_FLAVOR)
        if flavor.root_gb == 0 and server.root_gb != 0 and not server.volume_backed:
            raise BadRequest(ZERO_DISK)
        image = self.store.read(lambda db: images_db.get_image(db, server.image_id, include_deleted=True))
        if image is not None and flavor.root_gb and not server.volume_backed:
            check_fit(ctx, flavor, image)
        self.quotas.check(server.project_id, server.user_id, {
            "cores": max(0, flavor.vcpus - server.vcpus), "ram": max(0, flavor.memory_mb - server.memory_mb)})
        new = {"flavorid": flavor.flavorid, "flavor_name": flavor.name, "memory_mb": flavor.memory_mb,
               "vcpus": flavor.vcpus, "root_gb": flavor.root_gb,
               "root_disk_bytes": 0 if server.volume_backed else  # its root is a volume: no local disk changes
               flavor.root_gb * GIB if flavor.root_gb else server.root_disk_bytes,
               "ephemeral_gb": flavor.ephemeral_gb, "swap": flavor.swap,
               "flavor_extra_specs": self.flavors.extra_specs(flavor.flavorid, ctx.project_id, ctx.is_admin)}
        migration = await self.store.write(migrations_db.insert_migration, {
            "uuid": str(uuidlib.uuid4()), "server_uuid": server.uuid, "project_id": server.project_id,
            "user_id": server.user_id, "migration_type": mig.RESIZE, "status": mig.PRE_MIGRATING,
            "source_compute": server.host, "dest_compute": server.host, "source_node": self.node_name(),
            "dest_node": self.node_name(), "dest_host": None, "old_instance_type_id": self._serial(server.flavorid),
            "new_instance_type_id": flavor.serial, "old_flavor": flavor_values(server), "new_flavor": new,
            "old_vm_state": server.vm_state}, now=self.clock())
        try:
            await self.actions.begin(ctx, "resize", server, (None,), work=self._resize_work(migration),
                                     also={"disk_config": chosen_disk_config})
        except BaseException:
            await self._status(migration, mig.ERROR)
            raise

    async def _host_ip(self) -> str | None:
        """The destination's address (Nova's dest_host: the compute host's my_ip, as the hypervisor shows it)."""
        for node in self.host_services.node_ids():
            try:
                return (await self.host_services.hypervisor(node)).host_ip
            except NotFound:  # no host figures (no hypervisor statistics reader)
                return None
        return None

    def _has_room(self, new: dict) -> bool:
        """The new flavor beside every live server, this one with its old flavor (placement holds both)."""
        used = self.store.read(servers_db.host_usage, 1 << 62)
        disk = new["root_disk_bytes"] + new["ephemeral_gb"] * GIB + new["swap"] * (1 << 20)
        return self.host_services.compute_accepts_servers() and host_has_room(self.capacity, HostUsage(
            cores=used["cores"] + new["vcpus"], ram=used["ram"] + new["memory_mb"], disk=used["disk"] + disk))

    def _flavor(self, ctx: AuthContext, flavor_id: str) -> Flavor:
        try:
            flavor = self.flavors.get_for_project(flavor_id, ctx.project_id, ctx.is_admin)
        except NotFound:
            raise BadRequest(NO_FLAVOR) from None
        if flavor.disabled:
            raise BadRequest(NO_FLAVOR)
        return flavor

    def _serial(self, flavorid: str) -> int | None:
        try:
            return self.flavors.get_for_project(flavorid, "", True).serial
        except NotFound:  # deleted since the server was built
            return None

    def _resize_work(self, migration: Migration):
        async def work(guests: Guests, server: Server, started: Started) -> None:
            old, new = migration.old_flavor, migration.new_flavor
            async with step("conductor_migrate_server"):
                if not self._has_room(new):
                    await self._status(migration, mig.ERROR)
                    raise NoValidHost(reason=NO_HOSTS)
            async with step("compute_prep_resize"):  # the claim fills in the destination
                await self.store.write(migrations_db.set_destination, migration.uuid, server.host, self.node_name(),
                                       await self._host_ip(), now=self.clock())
            running = await guests.hv.power_state(server.instance_name) == states.RUNNING
            try:
                async with step("compute_resize_instance"):
                    root_down = new["root_gb"] < old["root_gb"] and not server.volume_backed
                    if root_down or new["ephemeral_gb"] < _ephemeral_gb(server, old["ephemeral_gb"]):
                        raise ResizeError(reason="Unable to resize disk down.")
                    await self._step(server, migration, states.RESIZE_MIGRATING, mig.MIGRATING)
                    await guests.power_off(server)
                    await resize_disks.keep(guests.instance_dir(server.uuid))
                    crash_point("resize_disks_kept")
                    await self._step(server, migration, states.RESIZE_MIGRATED, mig.POST_MIGRATING, row_values(new))
                async with step("compute_finish_resize"):
                    await resize_disks.grow(guests.instance_dir(server.uuid), root_bytes=new["root_disk_bytes"],
                                            ephemeral_gb=new["ephemeral_gb"], swap_mb=new["swap"],
                                            keep_local=server.local_disks is not None)
                    resized = await self._step(server, migration, states.RESIZE_FINISH, None)
                    await guests.define(resized)
                    crash_point("resize_domain_defined")
                    if running:
                        await guests.start(resized)
            except ResizeError:
                await self._status(migration, mig.ERROR)
                raise
            except BaseException:
                await self._roll_back(server, migration, running)
                raise
            power = states.RUNNING if running else states.SHUTDOWN
            await self._status(migration, mig.FINISHED)  # first: a stop before the row's change rolls it back
            await self.store.write(servers_db.update_server, server.uuid, {
                "vm_state": states.RESIZED, "task_state": None, "power_state": power}, now=self.clock())
        return work

    async def _step(self, server: Server, migration: Migration, task: str, status: str | None,
                    values: dict | None = None) -> Server:
        if status is not None:
            await self._status(migration, status)
        return await self.store.write(servers_db.update_server, server.uuid, {**(values or {}), "task_state": task},
                                      now=self.clock())

    async def _status(self, migration: Migration, status: str, expected: tuple[str, ...] | None = None) -> bool:
        return await self.store.write(migrations_db.set_status, migration.uuid, status, now=self.clock(),
                                      expected=expected)

    async def _put_back(self, server: Server, migration: Migration) -> Server:
        """The kept disks and the old flavor back, the old domain defined (the guest off)."""
        await self.guests.hv.destroy(server.instance_name)
        await resize_disks.restore(self.guests.instance_dir(server.uuid))
        old = await self.store.write(servers_db.update_server, server.uuid, row_values(migration.old_flavor),
                                     now=self.clock())
        await self.guests.define(old)
        return old

    async def _roll_back(self, server: Server, migration: Migration, running: bool) -> None:
        try:
            old = await self._put_back(server, migration)
            if running:
                await self.guests.start(old)
            await self.store.write(servers_db.update_server, server.uuid, {
                "power_state": states.RUNNING if running else states.SHUTDOWN}, now=self.clock())
        finally:
            await self._status(migration, mig.ERROR)

    # ----- confirmResize, revertResize ---------------------------------------------------------------------------

    def _finished(self, server: Server) -> Migration:
        migration = self.store.read(migrations_db.latest_for_server, server.uuid, (mig.FINISHED,))
        if migration is None:
            raise BadRequest(NOT_RESIZED)
        return migration

    async def confirm(self, ctx: AuthContext | None, server_id: str) -> None:
        server = self.store.read(servers_db.get_server, server_id) if ctx is None else \
            visible_server(self.store, ctx, server_id)
        if ctx is not None:
            check_writable(ctx, server)
        check_state(states.ACTIONS["confirm_resize"], server)
        migration = self._finished(server)
        if not await self._status(migration, mig.CONFIRMING, expected=(mig.FINISHED,)):
            raise BadRequest(NOT_RESIZED)
        await self.actions.begin(ctx, "confirm_resize", server, (None,), work=self._confirm_work(migration))

    def _confirm_work(self, migration: Migration):
        async def work(guests: Guests, server: Server, started: Started) -> None:
            await self._finish_confirm(server, migration)
        return work

    async def _finish_confirm(self, server: Server, migration: Migration) -> None:
        await resize_disks.drop(self.guests.instance_dir(server.uuid))
        power = await self.guests.hv.power_state(server.instance_name)
        vm_state = states.ACTIVE if power == states.RUNNING else states.STOPPED
        await self.store.write(servers_db.update_server, server.uuid, {"vm_state": vm_state, "power_state": power},
                               now=self.clock())
        await self._status(migration, mig.CONFIRMED)

    async def confirm_on_delete(self, ctx: AuthContext, server: Server) -> None:
        """Nova's _confirm_resize_on_deleting: a server deleted in VERIFY_RESIZE has its resize confirmed first,
        recorded as a confirmResize action (nothing to do when no finished resize waits)."""
        migration = self.store.read(migrations_db.latest_for_server, server.uuid, (mig.FINISHED,))
        if migration is None or not await self._status(migration, mig.CONFIRMING, expected=(mig.FINISHED,)):
            return
        rule = states.ACTIONS["confirm_resize"]
        action_id = await self.actions.log.start(ctx, server, rule.record)
        async with self.actions.tasks.lock(server.uuid):
            async with self.actions.log.event(action_id, rule.event):
                await self._finish_confirm(server, migration)

    async def revert(self, ctx: AuthContext, server_id: str) -> None:
        server = visible_server(self.store, ctx, server_id)
        check_writable(ctx, server)
        check_state(states.ACTIONS["revert_resize"], server)
        migration = self._finished(server)
        old, new = migration.old_flavor, migration.new_flavor
        self.quotas.check(server.project_id, server.user_id, {
            "cores": max(0, old["vcpus"] - new["vcpus"]), "ram": max(0, old["memory_mb"] - new["memory_mb"])})
        if not await self._status(migration, mig.REVERTING, expected=(mig.FINISHED,)):
            raise BadRequest(NOT_RESIZED)
        try:
            await self.actions.begin(ctx, "revert_resize", server, (None,), work=self._revert_work(migration))
        except BaseException:
            await self._status(migration, mig.FINISHED)
            raise

    def _revert_work(self, migration: Migration):
        async def work(guests: Guests, server: Server, started: Started) -> None:
            await self._finish_revert(server, migration, step)
        return work

    async def _finish_revert(self, server: Server, migration: Migration, event=None) -> None:
        """`event`: the running action's events (None when a restart finishes a revert a stop cut short)."""
        event = event or (lambda name: contextlib.nullcontext())
        async with event("compute_revert_resize"):
            await self.guests.power_off(server)
        async with event("compute_finish_revert_resize"):
            old = await self._put_back(server, migration)
            running = migration.old_vm_state == states.ACTIVE
            if running:
                await self.guests.start(old)
        await self.store.write(servers_db.update_server, server.uuid, {
            "vm_state": migration.old_vm_state, "task_state": None,
            "power_state": states.RUNNING if running else states.SHUTDOWN}, now=self.clock())
        await self._status(migration, mig.REVERTED)

    def list_migrations(self, filters: mig.MigrationFilters) -> list[Migration]:
        """GET /os-migrations (admin): the resizes, newest first."""
        return self.store.read(migrations_db.list_migrations, filters)

    # ----- nodecompute's own confirmations and the settling after a stop -----------------------------------------

    async def confirm_due(self, window_seconds: int) -> int:
        """Confirm the resizes left unconfirmed for `window_seconds` (Nova's _poll_unconfirmed_resizes)."""
        done = 0
        due = self.store.read(migrations_db.finished_before, self.clock() - timedelta(seconds=window_seconds))
        for migration in due:
            try:
                await self.confirm(None, migration.server_uuid)
                done += 1
            except ComputeError as exc:
                log.warning("server %s: its resize could not be confirmed automatically: %s",
                            migration.server_uuid, exc)
        return done

    async def settle(self, server: Server) -> bool:
        """At start: finish or undo a resize, revert or confirm a stop cut short. False when there was none."""
        if server.task_state in states.RESIZE_TASKS:
            migration = self.store.read(migrations_db.latest_for_server, server.uuid,
                                        (*mig.IN_PROGRESS, mig.FINISHED))
            if migration is not None:
                await self._put_back(server, migration)
                await self._status(migration, mig.ERROR)
            else:  # the resize never got past its request
                await self.guests.define(server)
            log.warning("server %s was being resized at the last stop: rolled back, ERROR", server.uuid)
            await self.store.write(servers_db.set_fault, server.uuid, 500, INTERRUPTED, now=self.clock())
            await self.store.write(servers_db.update_server, server.uuid, {"power_state": states.SHUTDOWN},
                                   now=self.clock())
            return True
        migration = self.store.read(migrations_db.latest_for_server, server.uuid, (mig.REVERTING, mig.CONFIRMING))
        if migration is None:
            return False
        if server.vm_state != states.RESIZED:  # the server's part was done, the record's not
            await self._status(migration, mig.REVERTED if migration.status == mig.REVERTING else mig.CONFIRMED)
            return False
        log.warning("server %s: finishing the %s a stop cut short", server.uuid, migration.status)
        if migration.status == mig.REVERTING:
            await self._finish_revert(server, migration)
        else:
            await self._finish_confirm(server, migration)
        return True


def _ephemeral_gb(server: Server, flavor_ephemeral_gb: int) -> int:
    """The ephemeral GiB a new flavor must hold (Nova's libvirt migrate_disk_and_power_off: the mappings'
    ephemeral disks, else the old flavor's); a mapping's disks are kept as they are through the resize."""
    mapped = sum(disk.size_bytes for disk in server.local_disks or () if disk.kind == "ephemeral") >> 30
    return mapped or flavor_ephemeral_gb
