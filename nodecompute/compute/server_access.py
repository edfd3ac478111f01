"""Who may see and change a server: the lookups every server service shares."""
from __future__ import annotations

from nodecompute.db import servers as servers_db
from nodecompute.db.store import Store
from nodecompute.domain.errors import Conflict, Forbidden, InstanceNotFound
from nodecompute.domain.models import AuthContext
from nodecompute.domain.server_models import Server


def visible_server(store: Store, ctx: AuthContext, server_id: str) -> Server:
    """The live server, if the caller's project owns it or the caller is an admin; else 404."""
    return check_visible(ctx, store.read(servers_db.get_server, server_id))


def check_visible(ctx: AuthContext, server: Server) -> Server:
    """`server` itself, if the caller's project owns it or the caller is an admin; else 404."""
    if server.project_id != ctx.project_id and not ctx.is_admin:
        raise InstanceNotFound(instance_id=server.uuid)
    return server


def check_writable(ctx: AuthContext, server: Server) -> None:
    """A writer of the project may change the server, unless it is locked (admins pass a lock)."""
    if not ctx.can_write:
        raise Forbidden("Policy doesn't allow os_compute_api:servers to be performed.")
    if server.locked and not ctx.is_admin:
        raise Conflict(f"Instance {server.uuid} is locked")
