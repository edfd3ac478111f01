"""GET /os-aggregates, admin only: a one-host cloud has no host aggregates and no way to make one, so the list is
always empty (what Nova answers before any aggregate is created). Served because `openstack hypervisor show`
reads it to name the host's aggregates; every other os-aggregates route answers 404 (operations.md)."""
from __future__ import annotations

from aiohttp import web

from nodecompute.api.auth import require_admin
from nodecompute.api.dialect import Versioned
from nodecompute.api.respond import respond


async def list_aggregates(request: web.Request) -> web.StreamResponse:
    require_admin(request, "os_compute_api:os-aggregates:index")
    return respond(request, [])


VIEWS = {"compute:aggregates": Versioned(lambda out, aggregates: {"aggregates": aggregates})}
