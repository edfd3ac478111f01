"""The id of the API request being served (x-openstack-request-id), for the records that name it (the instance
action record). The HTTP layer sets it per request; work started by nodecompute itself gets a fresh one."""
from __future__ import annotations

import random
import uuid
from contextvars import ContextVar

_current: ContextVar[str] = ContextVar("request_id", default="")


def new() -> str:
    """A version-4 UUID from the `random` module's generator (seeded from the OS, again after a fork): request ids
    name log lines and action records, they guard nothing, and uuid4's os.urandom released the GIL on every
    request, so the event loop then waited for a list rendering on a worker thread to hand it back (issue 22)."""
    return f"req-{uuid.UUID(int=random.getrandbits(128), version=4)}"


def set_current(request_id: str) -> None:
    _current.set(request_id)


def current() -> str:
    """The request's id, or a new one outside a request (a periodic task, start-up)."""
    return _current.get() or new()
