"""Security groups and their rules (#2809-#2812, and Nova's #1501-#1507 and #1511-#1514 over the same core).

Visibility is Neutron's default policy: a project sees and changes its own groups and the rules of its groups; an
admin every one. The `default` group is made on first use (default_group.py); a project may not delete it or
rename it (409), an admin may delete it (it comes back on next use). Every change holds the networking core's lock
from its checks to the host update, and ends with the firewall brought in line with the rows (firewall.py).
"""
from __future__ import annotations

import uuid
from typing import Any

from nodecompute.compute.default_group import ensure_default
from nodecompute.compute.network_quotas import check_room
from nodecompute.compute.networks import NetworkCore
from nodecompute.compute.secgroup_rules import checked, rule_key, starting_rules, stored
from nodecompute.db import security_groups as security_groups_db
from nodecompute.domain.errors import Conflict, NotFound
from nodecompute.domain.models import AuthContext, isotime
from nodecompute.domain.network_errors import (SecurityGroupCannotRemoveDefault, SecurityGroupCannotUpdateDefault,
                                               SecurityGroupDefaultAlreadyExists, SecurityGroupInUse,
                                               SecurityGroupNotFound, SecurityGroupRuleExists,
                                               SecurityGroupRuleNotFound)
from nodecompute.domain.network_models import (DEFAULT_GROUP, DefaultRule, RuleRequest, SecurityGroup,
                                               SecurityGroupRule)


def _not_default(name: str) -> None:
    """Neutron's name_not_default: no group may be named "default" (in any case) but the one it makes."""
    if name.lower() == DEFAULT_GROUP:
        raise SecurityGroupDefaultAlreadyExists()


class SecurityGroupService:
    def __init__(self, core: NetworkCore) -> None:
        self.core = core

    # groups ----------------------------------------------------------------------------------------------------

    def get(self, ctx: AuthContext, group_id: str) -> SecurityGroup:
        group = self.core.store.read(security_groups_db.get_group, group_id)
        if group is None or not (ctx.is_admin or group.project_id == ctx.project_id):
            raise SecurityGroupNotFound(id=group_id)
        return group

    def visible(self, ctx: AuthContext) -> list[SecurityGroup]:
        """Every group the caller may see (no default group made)."""
        return self.core.store.read(security_groups_db.list_groups, None if ctx.is_admin else ctx.project_id)

    async def ensure_default(self, ctx: AuthContext, project_id: str) -> None:
        """The project's default group, made on first use; never for another project unless by an admin."""
        if project_id != ctx.project_id and not ctx.is_admin:
            return
        if self.core.store.read(security_groups_db.default_group_id, project_id) is None:
            await self.core.store.write(ensure_default, project_id, self.core.clock())

    async def list(self, ctx: AuthContext, project_id: str | None = None) -> list[SecurityGroup]:
        await self.ensure_default(ctx, project_id or ctx.project_id)
        return self.visible(ctx)

    async def create(self, ctx: AuthContext, project_id: str, name: str, description: str) -> SecurityGroup:
        _not_default(name)
        await self.ensure_default(ctx, project_id)
        limits = self.core.quotas.limits(project_id)
        now = self.core.clock()
        group_id = str(uuid.uuid4())
        group = SecurityGroup(group_id, project_id, name, description,
                              starting_rules(group_id, project_id, False, now), now, now)

        def insert(db: Any) -> None:
            check_room(limits["security_group"], security_groups_db.count_groups(db, project_id), "security_group")
            check_room(limits["security_group_rule"], security_groups_db.count_rules(db, project_id),
                       "security_group_rule", len(group.rules))
            security_groups_db.insert_group(db, group)

        async with self.core.lock:
            await self.core.store.write(insert)
        return self.get(ctx, group_id)

    async def update(self, ctx: AuthContext, group_id: str, changes: dict[str, Any]) -> SecurityGroup:
        if "name" in changes:
            _not_default(changes["name"])
        async with self.core.lock:
            group = self.get(ctx, group_id)
            if group.is_default and "name" in changes:
                raise SecurityGroupCannotUpdateDefault()
            await self.core.store.write(security_groups_db.update_group, group_id, changes,
                                        isotime(self.core.clock()))
        return self.get(ctx, group_id)

    async def delete(self, ctx: AuthContext, group_id: str) -> None:
        """Refused while ports use it (409) and, for a project, for its default group; the rules naming it as their
        remote group go with it."""
        async with self.core.lock:
            if self.core.store.read(security_groups_db.group_ports, group_id):
                raise SecurityGroupInUse(id=group_id)
            group = self.get(ctx, group_id)
            if group.is_default and not ctx.is_admin:
                raise SecurityGroupCannotRemoveDefault()
            await self.core.store.write(security_groups_db.delete_group, group_id)
            await self.core.firewall.sync_logged()

    # rules -----------------------------------------------------------------------------------------------------

    async def list_rules(self, ctx: AuthContext, project_id: str | None = None) -> list[SecurityGroupRule]:
        await self.ensure_default(ctx, project_id or ctx.project_id)
        return self.core.store.read(security_groups_db.list_rules, None if ctx.is_admin else ctx.project_id)

    def get_rule(self, ctx: AuthContext, rule_id: str) -> SecurityGroupRule:
        rule = self.core.store.read(security_groups_db.get_rule, rule_id)
        if rule is not None and not ctx.is_admin and rule.project_id != ctx.project_id:
            if self.core.store.read(security_groups_db.group_project, rule.security_group_id) != ctx.project_id:
                rule = None
        if rule is None:
            raise SecurityGroupRuleNotFound(id=rule_id)
        return rule

    def _group_of(self, ctx: AuthContext, group_id: str, project_id: str) -> SecurityGroup:
        """A group a rule of `project_id` may name: that project's own (any for an admin)."""
        group = self.core.store.read(security_groups_db.get_group, group_id)
        if group is None or not (ctx.is_admin or group.project_id == project_id):
            raise SecurityGroupNotFound(id=group_id)
        return group

    async def create_rule(self, ctx: AuthContext, request: RuleRequest) -> SecurityGroupRule:
        request = checked(request)
        limit = self.core.quotas.limits(request.project_id)["security_group_rule"]
        rule = stored(request, self.core.clock())

        def insert(db: Any) -> None:
            check_room(limit, security_groups_db.count_rules(db, request.project_id), "security_group_rule")
            group = security_groups_db.get_group(db, request.security_group_id)
            twin = next((r for r in group.rules if rule_key(r) == rule_key(request)), None) if group else None
            if twin is not None:
                raise SecurityGroupRuleExists(rule_id=twin.id)
            security_groups_db.insert_rule(db, rule)
            security_groups_db.touch_group(db, request.security_group_id, isotime(rule.created_at))

        async with self.core.lock:
            if request.remote_group_id:
                self._group_of(ctx, request.remote_group_id, request.project_id)
            self._group_of(ctx, request.security_group_id, request.project_id)
            await self.core.store.write(insert)
            await self.core.firewall.sync_logged()
        return self.get_rule(ctx, rule.id)

    async def delete_rule(self, ctx: AuthContext, rule_id: str) -> None:
        async with self.core.lock:
            rule = self.get_rule(ctx, rule_id)

            def delete(db: Any) -> None:
                security_groups_db.delete_rule(db, rule_id)
                security_groups_db.touch_group(db, rule.security_group_id, isotime(self.core.clock()))

            await self.core.store.write(delete)
            await self.core.firewall.sync_logged()

    # Nova's default rules (admin only; the API checks the caller) --------------------------------------------

    def list_default_rules(self) -> list[DefaultRule]:
        return self.core.store.read(security_groups_db.list_default_rules)

    def get_default_rule(self, rule_id: int) -> DefaultRule:
        rule = self.core.store.read(security_groups_db.get_default_rule, rule_id)
        if rule is None:
            raise NotFound(f"Security group default rule ({rule_id}) not found.")
        return rule

    async def create_default_rule(self, protocol: str, from_port: int, to_port: int, cidr: str) -> DefaultRule:
        """A rule every `default` group made from now on starts with (409 for the same protocol, ports and cidr)."""
        values = (protocol, from_port, to_port, cidr)

        def insert(db: Any) -> int:
            known = security_groups_db.list_default_rules(db)
            if any((r.protocol, r.from_port, r.to_port, r.cidr) == values for r in known):
                raise Conflict("This default rule already exists.")
            return security_groups_db.insert_default_rule(db, *values)

        return self.get_default_rule(await self.core.store.write(insert))

    async def delete_default_rule(self, rule_id: int) -> None:
        self.get_default_rule(rule_id)
        await self.core.store.write(security_groups_db.delete_default_rule, rule_id)
