"""Nova's operations (api/nova_catalog.py) against the route table: which are served, and the answer for the rest.

An operation is served when a compute row of the route table has its method and path shape, or, for an action key,
when the action table of a served `.../action` route has that key. A path and method that no route serves but Nova
has answers 404 naming the operation as not implemented yet (instead of the bare "The resource could not be
found.", which reads as if the server were missing), at the microversions where Nova routes it; outside them (the
proxies from 2.36, /os-volumes_boot from 2.103) the bare 404 Nova's version check answers. An unknown action key
stays 400 "There is no such action".
"""
from __future__ import annotations

import re
from collections.abc import Iterable
from functools import cache

from nodecompute.api.dialect import FIRST_MICROVERSION
from nodecompute.api.microversions import version_text
from nodecompute.api.nova_catalog import CATALOG, Operation
from nodecompute.api.nova_operations import path_shape
from nodecompute.api.routing import Route, Version
from nodecompute.domain.errors import ComputeError, NotFound

NOT_IMPLEMENTED = "{method} {path} (Nova's {name}) is not implemented yet by nodecompute."
VERSION_ROOT = "/v2.1"  # the catalog's paths are relative to it; the legacy /v2 root has the same routes


def _pattern(template: str) -> re.Pattern[str]:
    parts = re.split(r"\{[^}]*\}", template)
    return re.compile("^" + "[^/]+".join(re.escape(part) for part in parts) + "$")


@cache
def _patterns() -> tuple[tuple[re.Pattern[str], Operation], ...]:
    return tuple((_pattern(op.path), op) for op in CATALOG if op.base == VERSION_ROOT and op.action is None)


def nova_operation(method: str, path: str, version: str | None = None) -> Operation | None:
    """The catalog's operation for a method and a concrete path relative to a version root, with or without the
    `{project_id}` segment ("/servers/abc/tags" or "/<project>/servers/abc/tags"); with `version`, only one Nova
    routes at that microversion."""
    candidates = [path]
    if path.count("/") >= 2:
        candidates.append("/" + path.split("/", 2)[2])
    for candidate in candidates:
        for pattern, op in _patterns():
            if op.method == method and pattern.match(candidate) and (version is None or op.available_at(version)):
                return op
    return None


def unknown_route(method: str, path: str, version: Version | None = None) -> ComputeError:
    """The openstack dialect's answer to a method and path it has no route for (at `version`, when it has one;
    legacy /v2 is routed as 2.1)."""
    text = None if version is None else version_text(max(version, FIRST_MICROVERSION))
    op = nova_operation(method, path, text)
    if op is None:
        return NotFound()
    return NotFound(NOT_IMPLEMENTED.format(method=op.method, path=op.path, name=op.nova_name))


def _same_path(op: Operation, route: Route) -> bool:
    if not route.versioned:  # a version document, written from the face's prefix
        return route.path == op.base + op.path
    return op.base == VERSION_ROOT and path_shape(route.path) == path_shape(op.path)


def served_by(op: Operation, routes: Iterable[Route]) -> Route | None:
    """The route that serves a catalog operation (the dispatcher route for an action key), if any."""
    for route in routes:
        if route.face != "compute" or route.method != op.method or not _same_path(op, route):
            continue
        if op.action is None or (route.actions is not None and op.action in route.actions):
            return route
    return None


def served_op_id(op: Operation, routes: Iterable[Route]) -> str | None:
    """The operation id nodecompute serves a catalog operation under (an action key's own id), if served."""
    route = served_by(op, routes)
    if route is None:
        return None
    return route.actions[op.action].op if op.action is not None and route.actions else route.op
