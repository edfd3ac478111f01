"""os-instance_usage_audit_log (#2003/#2004): Nova's summary of its instance usage audit over the most recently
completed audit period (Nova's default unit, a month: from the 1st of the month before to the 1st of this one).

The audit is a periodic task of Nova's compute service that runs only with `instance_usage_audit` on (off by
default) and leaves a task log per host and period. nodecompute runs no such audit, so the truth on this host is
Nova's answer when no task log exists: every compute host (disabled ones too) counts as not run, nothing is done.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from nodecompute.compute.host_services import HostServices
from nodecompute.domain.host_models import COMPUTE


def last_completed_month(before: datetime) -> tuple[datetime, datetime]:
    """Nova's utils.last_completed_audit_period(unit="month", before=...): the month that ended last, its end at
    or before `before` (a period ending exactly at `before` is not yet completed, as in Nova)."""
    end = datetime(before.year, before.month, 1)
    if end >= before:
        end = datetime(end.year - 1, 12, 1) if end.month == 1 else datetime(end.year, end.month - 1, 1)
    begin = datetime(end.year - 1, 12, 1) if end.month == 1 else datetime(end.year, end.month - 1, 1)
    return begin, end


@dataclass(frozen=True)
class AuditLog:
    period_beginning: datetime
    period_ending: datetime
    hosts: tuple[str, ...]  # the compute hosts
    done: tuple[str, ...] = ()  # hosts whose audit of the period is DONE (none: no audit runs here)
    running: tuple[str, ...] = ()
    total_instances: int = 0
    total_errors: int = 0

    @property
    def hosts_not_run(self) -> list[str]:
        return [host for host in self.hosts if host not in self.done and host not in self.running]

    @property
    def overall_status(self) -> str:
        done = "ALL" if len(self.done) == len(self.hosts) else f"{len(self.done)} of {len(self.hosts)}"
        return f"{done} hosts done. {self.total_errors} errors."


def audit_log(services: HostServices, before: datetime) -> AuditLog:
    begin, end = last_completed_month(before)
    hosts = tuple(dict.fromkeys(s.host for s in services.list(binary=COMPUTE)))
    return AuditLog(begin, end, hosts)
