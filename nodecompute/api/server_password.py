"""os-server-password: GET /servers/{server_id}/os-server-password (#1604) answers what the server's guest posted
to the metadata service (`{"password": ""}` when nothing is stored), DELETE (#1605) clears it so the guest may post
again (compute/server_passwords.py)."""
from __future__ import annotations

from aiohttp import web

from nodecompute.api import auth
from nodecompute.api.keys import server_passwords_key
from nodecompute.api.respond import respond


async def show_password(request: web.Request) -> web.StreamResponse:
    found = await request.config_dict[server_passwords_key].show(auth.context(request),
                                                                 request.match_info["server_id"])
    return respond(request, {"password": found})


async def clear_password(request: web.Request) -> web.StreamResponse:
    await request.config_dict[server_passwords_key].clear(auth.context(request), request.match_info["server_id"])
    return respond(request)


def _as_is(out, body):
    return body


VIEWS = {"#1604": _as_is}
STATUSES = {"#1605": 204}
