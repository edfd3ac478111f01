"""The rows of the API's tables: a route (route_table.py), an action (api/actions.py), the handler types and the
version type. A leaf: it imports no other api module, so the route table, the dialects and the dispatchers all
use these records without an import cycle."""
from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import NamedTuple

from aiohttp import web

Version = tuple[int, int]
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
ActionHandler = Callable[[web.Request, dict], Awaitable[web.StreamResponse]]


class Action(NamedTuple):
    """One key of an action dispatcher's table: the operation id (for the dialect's schema, view and status), the
    handler `(request, body) -> response`, and the policy a writer must pass before the body is checked (None: the
    handler checks its own, after the body)."""

    op: str
    handler: ActionHandler
    policy: str | None = None
    since: Version | None = None  # the first microversion that has the key
    until: Version | None = None  # the last one


class Route(NamedTuple):
    """One row of the route table."""

    face: str  # "root", "compute", "identity", "image", "network"
    op: str
    method: str
    path: str
    handler: Handler
    token: bool = True
    versioned: bool = True
    actions: Mapping[str, Action] | None = None
    since: Version | None = None  # the first microversion that has it (404 below, on a root with microversions)
    until: Version | None = None  # the last microversion that has it (404 above)
