"""Server groups (os-server-groups) and their policies on this one host (behaviour.md section 17).

A server created with the scheduler hint `group` joins the group at create (so a server that then fails
scheduling stays a member, as in Nova). At placement (`admits`): affinity and the soft policies always fit on one
host; anti-affinity fits only while fewer than `max_server_per_host` (2.64 rules; 1 by default) earlier members
are on the host, so its second member goes to ERROR "No valid host was found".
"""
from __future__ import annotations

import uuid as uuidlib

from nodecompute.compute.quotas import QuotaService
from nodecompute.db import server_groups as groups_db
from nodecompute.db.store import Store
from nodecompute.domain.errors import BadRequest, NotFound, PolicyNotAuthorized, QuotaExceeded
from nodecompute.domain.host_models import ANTI_AFFINITY, ServerGroup
from nodecompute.domain.models import AuthContext, Clock
from nodecompute.domain.server_models import Server

UNLIMITED = -1
POLICY = "os_compute_api:os-server-groups:%s"


class ServerGroupService:
    def __init__(self, store: Store, quotas: QuotaService, clock: Clock) -> None:
        self.store = store
        self.quotas = quotas
        self.clock = clock

    def list(self, ctx: AuthContext, all_projects: bool) -> list[ServerGroup]:
        return self.store.read(groups_db.list_groups, None if all_projects and ctx.is_admin else ctx.project_id)

    def get(self, ctx: AuthContext, group_id: str, action: str = "show") -> ServerGroup:
        group = self.store.read(groups_db.get_group, group_id)
        if group is None:
            raise NotFound(f"Instance group {group_id} could not be found.")
        if group.project_id != ctx.project_id and not ctx.is_admin:
            raise PolicyNotAuthorized(action=POLICY % action)
        return group

    async def create(self, ctx: AuthContext, name: str, policy: str, rules: dict) -> ServerGroup:
        allowed = self.quotas.limits(ctx.project_id)["server_groups"]
        if allowed != UNLIMITED and self.store.read(groups_db.count_groups, ctx.project_id) + 1 > allowed:
            raise QuotaExceeded("Quota exceeded, too many server groups.")
        values = {"uuid": str(uuidlib.uuid4()), "name": name, "policy": policy, "rules": rules,
                  "project_id": ctx.project_id, "user_id": ctx.user_id}
        return await self.store.write(groups_db.insert_group, values, now=self.clock())

    async def delete(self, ctx: AuthContext, group_id: str) -> None:
        group = self.get(ctx, group_id, "delete")
        await self.store.write(groups_db.delete_group, group.uuid)

    def group_for_create(self, ctx: AuthContext, hints: dict, count: int) -> ServerGroup | None:
        """The group a create's `group` hint names (400 if there is none), with room for `count` more members."""
        group_id = hints.get("group")
        if not group_id:
            return None
        if isinstance(group_id, list):  # novaclient may send a hint given twice as a list; Nova takes the first
            group_id = group_id[0]
        group = self.store.read(groups_db.get_group, str(group_id))
        if group is None or (group.project_id != ctx.project_id and not ctx.is_admin):
            raise BadRequest(f"Instance group {group_id} could not be found.")
        allowed = self.quotas.limits(ctx.project_id)["server_group_members"]
        if allowed != UNLIMITED and len(group.members) + count > allowed:
            raise QuotaExceeded("Quota exceeded, too many servers in group")
        return group

    async def join(self, group: ServerGroup, servers: list[Server]) -> None:
        await self.store.write(groups_db.add_members, group.uuid, [server.uuid for server in servers])

    def admits(self, server: Server) -> bool:
        """The group filters of the one-host scheduler for `server` (placed beside every earlier server)."""
        group = self.store.read(groups_db.group_of, server.uuid)
        if group is None or group.policy != ANTI_AFFINITY:
            return True
        limit = int(group.rules.get("max_server_per_host", 1))
        return self.store.read(groups_db.placed_members_before, group.uuid, server.host, server.serial) < limit


