"""Server tags (2.26, #208-#213): Nova's os-server-tags rules on top of the server service's visibility.

A tag is 1-60 characters without `,` or `/` (the API's schemas say so); a server holds at most 50. Changing tags
needs the server in a settled state (active, paused, suspended, stopped: 409 otherwise, Nova's
_check_instance_in_valid_state); a lock does not matter (Nova's tags API does not check it). Reading them works in
any state.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from nodecompute.db import servers as servers_db
from nodecompute.db.store import Store
from nodecompute.domain import states
from nodecompute.domain.errors import BadRequest, InstanceInvalidState, NotFound
from nodecompute.domain.models import AuthContext
from nodecompute.domain.server_models import Server

if TYPE_CHECKING:
    from nodecompute.compute.servers import ServerService

MAX_TAGS = 50  # Nova's objects.instance.MAX_TAG_COUNT
TAGGABLE = (states.ACTIVE, states.PAUSED_VM, states.SUSPENDED_VM, states.STOPPED)


class ServerTags:
    def __init__(self, store: Store, servers: ServerService) -> None:
        self.store = store
        self.servers = servers

    def list(self, ctx: AuthContext, server_id: str) -> tuple[str, ...]:
        return self.servers.get(ctx, server_id).tags

    def has(self, ctx: AuthContext, server_id: str, tag: str) -> None:
        server = self.servers.get(ctx, server_id)
        if tag not in server.tags:
            raise NotFound(f"Server {server.uuid} has no tag '{tag}'")

    async def replace(self, ctx: AuthContext, server_id: str, tags: list[str]) -> tuple[str, ...]:
        server = self._settled(ctx, server_id, "update tags")
        return await self.store.write(servers_db.replace_tags, server.uuid, tags)

    async def add(self, ctx: AuthContext, server_id: str, tag: str, tag_error: str | None = None) -> bool:
        """True when the tag is new (201), False when the server had it (204). `tag_error`: the API's 400 message
        for a malformed tag. Nova checks the state first, then the tag, then the count (even for a tag the server
        already has)."""
        server = self._settled(ctx, server_id, "update tag")
        if tag_error is not None:
            raise BadRequest(tag_error)
        if len(server.tags) >= MAX_TAGS:
            raise BadRequest(f"The number of tags exceeded the per-server limit {MAX_TAGS}")
        if tag in server.tags:
            return False
        await self.store.write(servers_db.add_tag, server.uuid, tag)
        return True

    async def delete(self, ctx: AuthContext, server_id: str, tag: str) -> None:
        server = self._settled(ctx, server_id, "delete tag")
        if not await self.store.write(servers_db.delete_tag, server.uuid, tag):
            raise NotFound(f"Instance {server.uuid} has no tag '{tag}'")

    async def delete_all(self, ctx: AuthContext, server_id: str) -> None:
        server = self._settled(ctx, server_id, "delete tags")
        await self.store.write(servers_db.replace_tags, server.uuid, ())

    def _settled(self, ctx: AuthContext, server_id: str, action: str) -> Server:
        server = self.servers.get(ctx, server_id)
        if server.vm_state not in TAGGABLE:
            raise InstanceInvalidState(action=action, uuid=server.uuid, attr="vm_state", state=server.vm_state)
        return server
