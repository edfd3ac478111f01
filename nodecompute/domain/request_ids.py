"""The id of the API request being served (x-openstack-request-id), for the records that name it (the instance
action record). The HTTP layer sets it per request; work started by nodecompute itself gets a fresh one."""
from __future__ import annotations

import uuid
from contextvars import ContextVar

_current: ContextVar[str] = ContextVar("request_id", default="")


def new() -> str:
    return f"req-{uuid.uuid4()}"


def set_current(request_id: str) -> None:
    _current.set(request_id)


def current() -> str:
    """The request's id, or a new one outside a request (a periodic task, start-up)."""
    return _current.get() or new()
