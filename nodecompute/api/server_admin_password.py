"""The changePassword server action (#308, Nova's AdminPasswordController): Nova's schema, then the server service's
guest-agent call (compute/server_admin_password.py), answered when it is done: 202, no body (Nova's answer too,
although the password is already changed)."""
from __future__ import annotations

from aiohttp import web

from nodecompute.api import auth
from nodecompute.api.actions import Action
from nodecompute.api.keys import servers_key
from nodecompute.api.respond import respond

_CHANGE_PASSWORD = {"type": "object", "properties": {"changePassword": {
    "type": "object", "properties": {"adminPass": {"type": "string"}}, "required": ["adminPass"],
    "additionalProperties": False}}, "required": ["changePassword"], "additionalProperties": False}


async def change_password(request: web.Request, body: dict) -> web.StreamResponse:
    await request.config_dict[servers_key].admin_password.change(
        auth.context(request), request.match_info["server_id"], body["changePassword"]["adminPass"])
    return respond(request)


ACTIONS = {"changePassword": Action("#308", change_password, "os_compute_api:os-admin-password")}
STATUSES = {"#308": 202}
BODIES = {"#308": _CHANGE_PASSWORD}
