"""The one ordered route table.

Compute routes are written relative to the version root and served under /compute/v2 and /compute/v2.1, each
with and without a `{project_id}` segment, as Nova's router does. Literal paths come before parametrised ones
(`/servers/detail` before `/servers/{server_id}`).
"""
from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web

from nodecompute.api import identity, versions

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
Route = tuple[str, str, Handler]


COMPUTE_ROUTES: list[Route] = []  # filled by register_compute() from the resource modules
IDENTITY_ROUTES: list[Route] = [
    ("GET", "/identity", identity.versions),
    ("GET", "/identity/", identity.versions),
    ("GET", "/identity/v3", identity.show_v3),
    ("GET", "/identity/v3/", identity.show_v3),
    ("GET", "/identity/v2.0", identity.show_v2),
    ("GET", "/identity/v2.0/", identity.show_v2),
    ("POST", "/identity/v3/auth/tokens", identity.issue_v3),
    ("GET", "/identity/v3/auth/tokens", identity.validate_v3),
    ("DELETE", "/identity/v3/auth/tokens", identity.revoke_v3),
    ("POST", "/identity/v2.0/tokens", identity.issue_v2),
    ("GET", "/identity/v3/projects", identity.list_projects),
    ("GET", "/identity/v3/projects/{project_id}", identity.show_project),
]
VERSION_ROUTES: list[Route] = [
    ("GET", "/", versions.list_versions),
    ("GET", "/compute", versions.list_versions),
    ("GET", "/compute/", versions.list_versions),
    ("GET", "/compute/v2", versions.show_v2),
    ("GET", "/compute/v2/", versions.show_v2),
    ("GET", "/compute/v2.1", versions.show_v21),
    ("GET", "/compute/v2.1/", versions.show_v21),
]


def compute_routes() -> list[Route]:
    """Every compute resource module's ROUTES, in order."""
    from nodecompute.api import (extensions, flavors, images, keypairs, limits, server_actions, server_ips,
                                 server_metadata, servers, zones)

    table: list[Route] = []
    for module in (extensions, limits, flavors, keypairs, zones, images, servers, server_actions, server_metadata,
                   server_ips):
        table.extend(module.ROUTES)
    table.extend(COMPUTE_ROUTES)
    return table


def setup_routes(app: web.Application, extra: list[Route] = ()) -> None:
    router = app.router
    for method, path, handler in VERSION_ROUTES + IDENTITY_ROUTES:
        router.add_route(method, path, handler)
    # Without the project segment each path is its own entry in aiohttp's resource index (a dict lookup); with a
    # `{project_id}` segment they all share the `/compute/<version>` key and are matched one by one, in order.
    table = compute_routes()
    for prefix in ("/compute/v2.1", "/compute/v2", "/compute/v2.1/{project_id}", "/compute/v2/{project_id}"):
        for method, path, handler in table:
            router.add_route(method, prefix + path, handler)
    from nodecompute.api.glance import GLANCE_ROUTES

    for method, path, handler in GLANCE_ROUTES + list(extra):
        router.add_route(method, path, handler)
    # Any other unversioned compute path: 300 choices (Nova's versions.py::multi).
    router.add_route("GET", r"/compute/{tail:(?!v2(?:\.1)?(?:/|$)).+}", versions.choices)
