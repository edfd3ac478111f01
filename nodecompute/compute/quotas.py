"""Quotas: limits per project, live usage, the checks other services make, and the admin updates (#107-#113).

A limit is resolved as Nova's DB driver does: the project's own override, else the 'default' quota class, else the
configured default ([quota] in the config file). -1 means unlimited. Usage is counted live from the rows that hold
the resource (no reservations), so `reserved` is always 0.
"""
from __future__ import annotations

import sys
from dataclasses import fields
from typing import Any

from nodecompute.domain.errors import BadRequest, QuotaExceeded
from nodecompute.config import Config, QuotaConfig
from nodecompute.db import keypairs as keypairs_db
from nodecompute.db import quotas as quotas_db
from nodecompute.db.store import Store

UNLIMITED = -1
DEFAULT_CLASS = "default"
# Every quota resource, in Nova's registration order (QuotaConfig declares them in that order).
RESOURCES: tuple[str, ...] = tuple(f.name for f in fields(QuotaConfig))


# Nova's network quotas and the networking service's resources they are read from (below 2.36 they show).
FROM_NETWORK = {"floating_ips": "floatingip", "security_groups": "security_group",
                "security_group_rules": "security_group_rule"}


class QuotaService:
    def __init__(self, store: Store, cfg: Config) -> None:
        self.store = store
        self.cfg = cfg
        # The networking quotas (compute.network_quotas.NetworkQuotaService) once networking is on: Nova's network
        # quotas and their usage are then Neutron's, as Nova reads them from Neutron.
        self.network: Any = None

    # ----- limits --------------------------------------------------------------------------------------------------

    def config_defaults(self) -> dict[str, int]:
        return {name: getattr(self.cfg.quota, name) for name in RESOURCES}

    def class_limits(self, class_name: str = DEFAULT_CLASS) -> dict[str, int]:
        """A quota class: its own rows over the 'default' class over the configured defaults."""
        values = self.config_defaults()
        values.update(self.store.read(quotas_db.class_limits, DEFAULT_CLASS))
        if class_name != DEFAULT_CLASS:
            values.update(self.store.read(quotas_db.class_limits, class_name))
        return values

    def defaults(self) -> dict[str, int]:
        return self.class_limits(DEFAULT_CLASS)

    def limits(self, project_id: str) -> dict[str, int]:
        values = self.defaults()
        values.update(self.store.read(quotas_db.project_limits, project_id))
        return values

    # ----- usage and checks ----------------------------------------------------------------------------------------

    def usage(self, project_id: str, user_id: str | None = None) -> dict[str, int]:
        """What the project holds now; key_pairs are the user's (0 without a user)."""
        used = dict.fromkeys(RESOURCES, 0)
        used.update(self.store.read(quotas_db.server_usage, project_id))
        if user_id is not None:
            used["key_pairs"] = self.store.read(keypairs_db.count_keypairs, user_id)
        return used

    def displayed_usage(self, project_id: str, user_id: str | None = None) -> dict[str, int]:
        """in_use as os-quota-sets/detail and /limits show it: per-user resources always 0, servers of one user
        when `user_id` is given (Nova's count_as_dict 'user' key)."""
        used = dict.fromkeys(RESOURCES, 0)
        used.update(self.store.read(quotas_db.server_usage, project_id, user_id))
        return used

    def absolute_limits(self, project_id: str) -> tuple[dict[str, int], dict[str, int]]:
        """(limits, usage) as /limits shows them: the network quotas and their usage are the networking
        service's when it is on (Nova reads them from Neutron); os-quota-sets keep Nova's own values."""
        limits, used = self.limits(project_id), self.displayed_usage(project_id)
        if self.network is not None:
            network_limits, network_used = self.network.limits(project_id), self.network.usage(project_id)
            limits.update({name: network_limits[source] for name, source in FROM_NETWORK.items()})
            used.update({name: network_used[source] for name, source in FROM_NETWORK.items()})
        return limits, used

    def check(self, project_id: str, user_id: str, deltas: dict[str, int]) -> None:
        """Raise QuotaExceeded (Nova's TooManyInstances wording) if adding `deltas` would pass a limit."""
        limits = self.limits(project_id)
        used = self.usage(project_id, user_id)
        overs = sorted(
            name for name, delta in deltas.items()
            if delta > 0 and limits[name] != UNLIMITED and used[name] + delta > limits[name]
        )
        if overs:
            def joined(values) -> str:
                return ", ".join(str(v) for v in values)
            raise QuotaExceeded(
                resource=", ".join(overs), req=joined(deltas[n] for n in overs),
                used=joined(used[n] for n in overs), allowed=joined(limits[n] for n in overs),
            )

    def headroom(self, project_id: str, user_id: str, per_instance: dict[str, int]) -> int:
        """How many more instances of `per_instance` size fit (sys.maxsize when nothing limits them)."""
        limits = self.limits(project_id)
        used = self.usage(project_id, user_id)
        room = sys.maxsize
        for name, size in per_instance.items():
            if size > 0 and limits[name] != UNLIMITED:
                room = min(room, max(0, (limits[name] - used[name]) // size))
        return room

    # ----- admin updates -------------------------------------------------------------------------------------------

    def project_exists(self, project_id: str) -> bool:
        return self.store.read(quotas_db.project_exists, project_id)

    async def update_project(self, project_id: str, values: dict[str, int], force: bool = False) -> dict[str, int]:
        """Set project overrides; without `force` a limit below the current usage is refused (400, Nova's text)."""
        if not force:
            used = self.displayed_usage(project_id)
            for name, limit in values.items():
                if limit != UNLIMITED and limit < used[name]:
                    raise BadRequest(
                        f"Quota limit {limit} for {name} must be greater than or equal to already used and "
                        f"reserved {used[name]}."
                    )
        await self.store.write(quotas_db.set_project_limits, project_id, values)
        return self.limits(project_id)

    async def reset_project(self, project_id: str) -> None:
        await self.store.write(quotas_db.delete_project_limits, project_id)

    async def update_class(self, class_name: str, values: dict[str, int]) -> dict[str, int]:
        await self.store.write(quotas_db.set_class_limits, class_name, values)
        return self.class_limits(class_name)
