"""The instance action record (os-instance-actions, #1701/#1702): every API request that acts on a server starts an
action named after it (create, delete, reboot, pause, lock, ...) with the request's id, the caller and the time;
the work it causes runs as an event beneath it (Nova's compute_<method> names), which ends Success or Error with the
failure's message and traceback (the action's message then says "Error"). Nova keeps the record of a deleted server
(shown from 2.21 on) until the row itself is purged.
"""
from __future__ import annotations

import asyncio
import functools
import traceback
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from nodecompute.db import instance_actions as actions_db
from nodecompute.db import servers as servers_db
from nodecompute.db.store import Store
from nodecompute.domain import request_ids
from nodecompute.domain.action_models import ActionFilters, InstanceAction
from nodecompute.domain.errors import InstanceNotFound, NotFound
from nodecompute.domain.models import AuthContext, Clock
from nodecompute.domain.server_models import Server


class ActionLog:
    def __init__(self, store: Store, clock: Clock, host: str) -> None:
        self.store = store
        self.clock = clock
        self.host = host

    async def start(self, ctx: AuthContext | None, server: Server, action: str) -> int:
        """Record that the current request asked `action` of `server` (ctx None: nodecompute itself)."""
        return await self.store.write(
            actions_db.start_action, server.uuid, action, request_ids.current(),
            ctx.project_id if ctx else None, ctx.user_id if ctx else None, now=self.clock())

    @asynccontextmanager
    async def event(self, action_id: int | None, name: str) -> AsyncIterator[None]:
        """Run a piece of work as the event `name` of the action (None: no record, as for a replayed action)."""
        if action_id is None:
            yield
            return
        event_id = await self.store.write(actions_db.start_event, action_id, name, self.host, now=self.clock())
        try:
            yield
        except asyncio.CancelledError:
            await asyncio.shield(self.store.write(actions_db.finish_event, event_id, "cancelled", None,
                                                  now=self.clock()))
            raise
        except Exception as exc:
            await self.store.write(actions_db.finish_event, event_id, str(exc) or type(exc).__name__,
                                   traceback.format_exc(), now=self.clock())
            raise
        await self.store.write(actions_db.finish_event, event_id, now=self.clock())

    async def record(self, ctx: AuthContext, server: Server, action: str, event: str) -> None:
        """An action done at once by the API itself (lock, unlock): the action with its one api_<name> event."""
        action_id = await self.start(ctx, server, action)
        async with self.event(action_id, event):
            pass

    # ----- reads -------------------------------------------------------------------------------------------------

    def _server(self, ctx: AuthContext, server_id: str, include_deleted: bool) -> Server:
        server = self.store.read(functools.partial(servers_db.get_server, include_deleted=include_deleted), server_id)
        if server.project_id != ctx.project_id and not ctx.is_admin:
            raise InstanceNotFound(instance_id=server_id)
        return server

    def list(self, ctx: AuthContext, server_id: str, filters: ActionFilters, *,
             include_deleted: bool) -> list[InstanceAction]:
        server = self._server(ctx, server_id, include_deleted)
        return self.store.read(actions_db.list_actions, server.uuid, filters)

    def get(self, ctx: AuthContext, server_id: str, request_id: str, *,
            include_deleted: bool) -> tuple[InstanceAction, str]:
        """The action with its events, and the server's project."""
        server = self._server(ctx, server_id, include_deleted)
        found = self.store.read(actions_db.get_action, server.uuid, request_id)
        if found is None:
            raise NotFound(f"Action {request_id} not found")
        return found, server.project_id
