"""os-simple-tenant-usage (#2001, #2002): what each project's servers used over a period, from their real
lifetimes (launched_at to terminated_at, clipped to the period), as Nova's SimpleTenantUsageController counts it:
hours per server, and memory, disk and vCPUs times those hours per project."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from nodecompute.db import usage as usage_db
from nodecompute.db.store import Store
from nodecompute.domain.models import Clock, isotime

TERMINATED = "terminated"


@dataclass
class ProjectUsage:
    tenant_id: str
    start: datetime
    stop: datetime
    total_hours: float = 0.0
    total_local_gb_usage: float = 0.0
    total_memory_mb_usage: float = 0.0
    total_vcpus_usage: float = 0.0
    server_usages: list[dict[str, Any]] = field(default_factory=list)


def hours_in(life: usage_db.ServerLife, start: datetime, stop: datetime) -> float:
    """Nova's _hours_for: the part of the server's life inside [start, stop], in hours."""
    if life.terminated_at is not None and life.terminated_at < start or life.launched_at > stop:
        return 0.0
    end = min(stop, life.terminated_at) if life.terminated_at is not None else stop
    return (end - max(life.launched_at, start)).total_seconds() / 3600.0


class UsageService:
    def __init__(self, store: Store, clock: Clock) -> None:
        self.store = store
        self.clock = clock

    def usage(self, start: datetime, stop: datetime, project_id: str | None = None, limit: int | None = None,
              marker: str | None = None) -> tuple[list[ProjectUsage], list[usage_db.ServerLife]]:
        """Per project (in the order first seen), and the servers counted (for the next-page marker)."""
        lives = self.store.read(usage_db.active_in_window, start, stop, project_id, limit, marker)
        now = self.clock()
        projects: dict[str, ProjectUsage] = {}
        for life in lives:
            hours = hours_in(life, start, stop)
            summary = projects.setdefault(life.project_id, ProjectUsage(life.project_id, start, stop))
            summary.total_hours += hours
            summary.total_local_gb_usage += life.local_gb * hours
            summary.total_memory_mb_usage += life.memory_mb * hours
            summary.total_vcpus_usage += life.vcpus * hours
            ended = life.terminated_at
            summary.server_usages.append({
                "instance_id": life.uuid, "name": life.name, "hours": hours, "memory_mb": life.memory_mb,
                "local_gb": life.local_gb, "vcpus": life.vcpus, "tenant_id": life.project_id,
                "flavor": life.flavor_name, "started_at": isotime(life.launched_at),
                "ended_at": isotime(ended) if ended else None, "state": TERMINATED if ended else life.vm_state,
                "uptime": int(((ended or now) - life.launched_at).total_seconds())})
        return list(projects.values()), lives
