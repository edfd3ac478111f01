"""GET /servers/{server_id}/diagnostics (#1901), admin only (os_compute_api:os-server-diagnostics): Nova's
libvirt free-form counters below 2.48, its standard diagnostics object from 2.48 (compute/server_diagnostics.py)."""
from __future__ import annotations

from aiohttp import web

from nodecompute.api.auth import require_admin
from nodecompute.api.dialect import Versioned
from nodecompute.api.keys import api_version_key, diagnostics_key
from nodecompute.api.respond import respond

POLICY = "os_compute_api:os-server-diagnostics"
STANDARD_FORM = (2, 48)


async def show_diagnostics(request: web.Request) -> web.StreamResponse:
    ctx = require_admin(request, POLICY)
    standard = request[api_version_key] >= STANDARD_FORM
    found = await request.config_dict[diagnostics_key].read(ctx, request.match_info["server_id"], standard)
    return respond(request, found)


def _as_is(out, body):
    return body


VIEWS = {"#1901": Versioned(_as_is, (STANDARD_FORM, _as_is))}
