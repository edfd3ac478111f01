"""Lock and unlock (#317/#318), Nova's rules: a locked server refuses every change from anyone but an admin
(server_access.check_writable: 409 "Instance <id> is locked"); the lock remembers who took it, `owner` (a member of
the server's project) or `admin` (anyone else), and since 2.73 why. The owner locking a server it already locked
changes nothing; an admin's lock replaces the owner's. Unlocking a lock the other side took needs the
unlock_override policy (admin). Both are recorded as instance actions with their api_<name> event.
"""
from __future__ import annotations

from nodecompute.compute.instance_actions import ActionLog
from nodecompute.compute.server_access import visible_server
from nodecompute.db import servers as servers_db
from nodecompute.db.store import Store
from nodecompute.domain.errors import PolicyNotAuthorized
from nodecompute.domain.models import AuthContext, Clock
from nodecompute.domain.server_models import Server

UNLOCK_OVERRIDE = "os_compute_api:os-lock-server:unlock:unlock_override"


def _side(ctx: AuthContext, server: Server) -> str:
    return "owner" if server.project_id == ctx.project_id else "admin"


class ServerLocks:
    def __init__(self, store: Store, clock: Clock, log: ActionLog) -> None:
        self.store = store
        self.clock = clock
        self.log = log

    async def lock(self, ctx: AuthContext, server_id: str, reason: str | None) -> None:
        server = visible_server(self.store, ctx, server_id)
        side = _side(ctx, server)
        if server.locked and side == "owner":
            return
        values = {"locked": 1, "locked_by": side}
        if reason:
            values["locked_reason"] = reason
        await self.store.write(servers_db.update_server, server.uuid, values, now=self.clock())
        await self.log.record(ctx, server, "lock", "api_lock")

    async def unlock(self, ctx: AuthContext, server_id: str) -> None:
        server = visible_server(self.store, ctx, server_id)
        if server.locked_by and server.locked_by != _side(ctx, server) and not ctx.is_admin:
            raise PolicyNotAuthorized(action=UNLOCK_OVERRIDE)
        await self.store.write(servers_db.update_server, server.uuid,
                               {"locked": 0, "locked_by": None, "locked_reason": None}, now=self.clock())
        await self.log.record(ctx, server, "unlock", "api_unlock")
