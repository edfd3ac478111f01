"""Moving a server to another project (the Cyclades `reassign` action, #328; decisions of issue 23): its quota
usage and its visibility move with it, and so do its ports. The caller must hold a role in the target project
(403 otherwise; admins may move any server), the target's quota must have room for the server's instance, cores
and RAM (QuotaExceeded otherwise, which the Cyclades dialect answers 413 overLimit), and a server with attached
volumes or floating IPs is 409 until they are detached. Nothing changes when a check fails."""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from nodecompute.compute.quotas import QuotaService
from nodecompute.compute.server_access import check_writable, visible_server
from nodecompute.db import identity as identity_db
from nodecompute.db import server_projects
from nodecompute.db.store import Store
from nodecompute.domain.errors import Conflict, Forbidden
from nodecompute.domain.models import AuthContext, isotime

NOT_A_MEMBER = "You are not a member of project {project}"
STILL_ATTACHED = "Detach the server's volumes and floating IPs before reassigning it"


class ServerReassign:
    def __init__(self, store: Store, quotas: QuotaService, clock: Callable[[], datetime]) -> None:
        self.store, self.quotas, self.clock = store, quotas, clock

    async def reassign(self, ctx: AuthContext, server_id: str, project_id: str) -> None:
        server = visible_server(self.store, ctx, server_id)
        check_writable(ctx, server)
        if project_id == server.project_id:
            return
        if not ctx.is_admin and not self.store.read(identity_db.roles_for, ctx.user_id, project_id):
            raise Forbidden(NOT_A_MEMBER.format(project=project_id))
        if server.volumes or any(nic.floating_ips for nic in server.nics):
            raise Conflict(STILL_ATTACHED)
        self.quotas.check(project_id, server.user_id, {"instances": 1, "cores": server.vcpus,
                                                       "ram": server.memory_mb})
        await self.store.write(server_projects.move_server, server.uuid, project_id, isotime(self.clock()))
