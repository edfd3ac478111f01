"""The instance action record (os-instance-actions): what was asked of a server, by whom, in which request, and
the events of the work it caused. No I/O."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class ActionEvent:
    event: str  # Nova's name: compute_<method> (compute_pause_instance), api_lock, ...
    start_time: datetime
    finish_time: datetime | None
    result: str | None  # Success | Error, None while it runs
    traceback: str | None
    details: str | None  # the failure's message (2.84)
    host: str | None


@dataclass(frozen=True)
class InstanceAction:
    id: int
    server_uuid: str
    action: str  # create, delete, reboot, pause, ..., lock, unlock
    request_id: str
    project_id: str | None
    user_id: str | None
    start_time: datetime
    updated_at: datetime
    message: str | None  # "Error" once an event failed
    events: tuple[ActionEvent, ...] = ()


@dataclass(frozen=True)
class ActionFilters:
    """2.58 paging and the changes-since (2.58) / changes-before (2.66) filters, on updated_at."""

    limit: int | None = None
    marker: str | None = None  # a request id
    changes_since: datetime | None = None
    changes_before: datetime | None = None
