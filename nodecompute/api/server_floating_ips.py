"""The addFloatingIp / removeFloatingIp server actions (#1406-#1407, Nova's FloatingIPActionController), served up
to 2.43: Nova's schemas, then one call to the networking service's server side (compute/server_floating_ips.py),
which has Nova's checks and texts. The server must be one the caller sees (404 otherwise). 202, no body."""
from __future__ import annotations

from aiohttp import web

from nodecompute.api import auth
from nodecompute.api.actions import Action
from nodecompute.api.keys import servers_key
from nodecompute.api.neutron import services
from nodecompute.api.respond import respond

POLICY = "os_compute_api:os-floating-ips:%s"
UNTIL = (2, 43)
_address = {"type": "string", "oneOf": [{"format": "ipv4"}, {"format": "ipv6"}]}


def _schema(key: str, *optional: str) -> dict:
    properties = {"address": _address, **{name: _address for name in optional}}
    inner = {"type": "object", "properties": properties, "required": ["address"], "additionalProperties": False}
    return {"type": "object", "properties": {key: inner}, "required": [key], "additionalProperties": False}


def _server_id(request: web.Request) -> str:
    return request.config_dict[servers_key].get(auth.context(request), request.match_info["server_id"]).uuid


async def add_floating_ip(request: web.Request, body: dict) -> web.StreamResponse:
    inner = body["addFloatingIp"]
    server_id = _server_id(request)
    await services(request).server_floating_ips.add(auth.context(request), server_id, inner["address"],
                                                    inner.get("fixed_address"))
    return respond(request)


async def remove_floating_ip(request: web.Request, body: dict) -> web.StreamResponse:
    server_id = _server_id(request)
    await services(request).server_floating_ips.remove(auth.context(request), server_id,
                                                       body["removeFloatingIp"]["address"])
    return respond(request)


ACTIONS = {
    "addFloatingIp": Action("#1406", add_floating_ip, POLICY % "add", until=UNTIL),
    "removeFloatingIp": Action("#1407", remove_floating_ip, POLICY % "remove", until=UNTIL),
}
STATUSES = {"#1406": 202, "#1407": 202}
BODIES = {"#1406": _schema("addFloatingIp", "fixed_address"), "#1407": _schema("removeFloatingIp")}
