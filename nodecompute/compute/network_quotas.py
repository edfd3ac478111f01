"""The networking quotas (Neutron's quota API, #2818): limits per project, live usage, and the check a create makes
inside its write transaction.

A limit is the project's own override, else the configured default ([network_quota]); -1 is unlimited. Usage is
counted live from the rows (no reservations: `reserved` is always 0); security group rules count from the
security-group API on (0 until then).
"""
from __future__ import annotations

from dataclasses import fields

from nodecompute.config import Config, NetworkQuotaConfig
from nodecompute.db import network_quotas as network_quotas_db
from nodecompute.db.store import Store
from nodecompute.domain.network_errors import HTTPBadRequest, OverQuota
from nodecompute.domain.network_models import NETWORK_QUOTA_RESOURCES

UNLIMITED = -1
assert tuple(f.name for f in fields(NetworkQuotaConfig)) == NETWORK_QUOTA_RESOURCES


class NetworkQuotaService:
    def __init__(self, store: Store, cfg: Config) -> None:
        self.store = store
        self.cfg = cfg

    def defaults(self) -> dict[str, int]:
        return {name: getattr(self.cfg.network_quota, name) for name in NETWORK_QUOTA_RESOURCES}

    def limits(self, project_id: str) -> dict[str, int]:
        values = self.defaults()
        values.update(self.store.read(network_quotas_db.project_limits, project_id))
        return values

    def usage(self, project_id: str) -> dict[str, int]:
        used = dict.fromkeys(NETWORK_QUOTA_RESOURCES, 0)
        used.update(self.store.read(network_quotas_db.usage, project_id))
        return used

    def details(self, project_id: str) -> dict[str, dict[str, int]]:
        limits, used = self.limits(project_id), self.usage(project_id)
        return {name: {"limit": limits[name], "used": used[name], "reserved": 0} for name in NETWORK_QUOTA_RESOURCES}

    def all_overrides(self) -> dict[str, dict[str, int]]:
        """Every project with an override, with its full limits (Neutron's admin list)."""
        projects = self.store.read(network_quotas_db.all_project_limits)
        return {project: {**self.defaults(), **values} for project, values in projects.items()}

    async def update(self, project_id: str, values: dict[str, int], force: bool = False) -> dict[str, int]:
        """Set overrides; a limit below the current usage is refused unless `force` (Neutron's check)."""
        if not force:
            used = self.usage(project_id)
            for name, limit in values.items():
                if limit != UNLIMITED and used[name] > limit:
                    raise HTTPBadRequest(f"Quota limit {limit} for {name} must be greater than or equal to already "
                                         f"used {used[name]}")
        await self.store.write(network_quotas_db.set_project_limits, project_id, values)
        return self.limits(project_id)

    async def reset(self, project_id: str) -> None:
        await self.store.write(network_quotas_db.delete_project_limits, project_id)


def check_room(limit: int, used: int, resource: str, wanted: int = 1) -> None:
    """Inside the write transaction, with `used` counted there: OverQuota when `wanted` more do not fit."""
    if limit != UNLIMITED and used + wanted > limit:
        raise OverQuota(overs=repr([resource]))
