"""A server's security groups on the compute face (Nova's security_groups.ServerSecurityGroupController and
SecurityGroupActionsController): GET /servers/{id}/os-security-groups (#1508) and the addSecurityGroup /
removeSecurityGroup actions (#1509-#1510), served at every microversion (the group proxies go at 2.36, these stay).
Nova parses the actions' bodies by hand (no schema), with its own texts; the networking service's server side
(compute/server_security_groups.py) does the rest. The server must be one the caller sees (404 otherwise)."""
from __future__ import annotations

from typing import Any

from aiohttp import web

from nodecompute.api import auth
from nodecompute.api.actions import Action
from nodecompute.api.keys import servers_key
from nodecompute.api.neutron import services
from nodecompute.api.nova_sg_rules import group_view
from nodecompute.api.respond import respond
from nodecompute.domain.errors import BadRequest

POLICY = "os_compute_api:os-security-groups:%s"


def parse_group_name(body: dict, key: str) -> str:
    """Nova's SecurityGroupActionsController._parse."""
    inner = body[key]
    if not isinstance(inner, dict):
        raise BadRequest("Missing parameter dict")
    if "name" not in inner:
        raise BadRequest("Security group not specified")
    name = inner["name"]
    if not name or not isinstance(name, str) or not name.strip():
        raise BadRequest("Security group name cannot be empty")
    return name


def _server_id(request: web.Request) -> str:
    """The server's id once the caller is known to see it (Nova's 404 otherwise)."""
    return request.config_dict[servers_key].get(auth.context(request), request.match_info["server_id"]).uuid


async def list_server_groups(request: web.Request) -> web.StreamResponse:
    server_id = _server_id(request)
    seam = services(request)
    ctx = auth.context(request)
    visible = {g.id: g for g in seam.security_groups.visible(ctx)}
    found = seam.server_groups.of_server(server_id)
    return respond(request, (found, {**visible, **{g.id: g for g in found}}))


def _change(key: str, method: str):
    async def handler(request: web.Request, body: dict) -> web.StreamResponse:
        name = parse_group_name(body, key)
        server_id = _server_id(request)
        await getattr(services(request).server_groups, method)(auth.context(request), server_id, name)
        return respond(request)
    return handler


def _groups_view(out: Any, result: tuple[list, dict]) -> dict:
    found, visible = result
    return {"security_groups": [group_view(group, visible) for group in found]}


ACTIONS = {
    "addSecurityGroup": Action("#1509", _change("addSecurityGroup", "add"), POLICY % "add"),
    "removeSecurityGroup": Action("#1510", _change("removeSecurityGroup", "remove"), POLICY % "remove"),
}
VIEWS = {"#1508": _groups_view}
STATUSES = {"#1509": 202, "#1510": 202}
BODIES = {op: {"type": "object", "properties": {key: {}}, "required": [key], "additionalProperties": False}
          for op, key in (("#1509", "addSecurityGroup"), ("#1510", "removeSecurityGroup"))}
