"""Cyclades' server actions (dialects.md D9, D35-D38, D40): the openstack dialect's table less what Cyclades marks
unsupported (changePassword, rebuild, confirmResize, revertResize, createImage: 400 "There is no such action", as
any unknown key), plus `start` (#311, STOPPED -> ACTIVE) and `shutdown` (#312, ACTIVE -> STOPPED), each 202 with
no body and run by the same state machine as os-start and os-stop, and `console` (#1602, api/cyclades_console.py)."""
from __future__ import annotations

import asyncio

from aiohttp import web

from nodecompute.api import auth, cyclades_console, server_actions
from nodecompute.api.actions import Action, dispatch
from nodecompute.api.cyclades_servers import serials
from nodecompute.api.keys import clock_key, network_key, quotas_key, servers_key
from nodecompute.api.respond import respond
from nodecompute.api.routing import Route
from nodecompute.compute.firewall_profiles import FirewallProfiles
from nodecompute.compute.server_reassign import ServerReassign
from nodecompute.domain import states
from nodecompute.domain.errors import NotFound


async def set_suspended(request: web.Request, body: dict) -> web.StreamResponse:
    """The admin action `SNF:suspend` ({"SNF:suspend": {"suspended": true|false}}): sets or clears `suspended`."""
    server = request.config_dict[servers_key].get(auth.context(request), request.match_info["server_id"])
    await serials(request).set_suspended(auth.context(request), server.uuid, body["SNF:suspend"]["suspended"])
    return respond(request)


async def reassign(request: web.Request, body: dict) -> web.StreamResponse:
    """#328: the server moves to `project` (compute/server_reassign.py); 202, no body."""
    config = request.config_dict
    mover = ServerReassign(config[servers_key].store, config[quotas_key], config[clock_key])
    await mover.reassign(auth.context(request), request.match_info["server_id"], body["reassign"]["project"])
    return respond(request)


async def firewall_profile(request: web.Request, body: dict) -> web.StreamResponse:
    """#327: `{"firewallProfile": {"profile": ..., "nic": <port serial>}}`, 202 with no body."""
    ctx = auth.context(request)
    server = request.config_dict[servers_key].get(ctx, request.match_info["server_id"])
    nic = body["firewallProfile"]["nic"]
    port_id = serials(request).port(int(nic)) if str(nic).isdigit() else None
    network = request.config_dict.get(network_key)
    profiles = FirewallProfiles(request.config_dict[servers_key].store, network.firewall if network else None)
    await profiles.set(server, port_id, body["firewallProfile"]["profile"])
    return respond(request)


async def resize(request: web.Request, body: dict) -> web.StreamResponse:
    """Resize to a flavor serial, confirmed automatically once done (D37): the status stays ACTIVE (RESIZE and
    VERIFY_RESIZE show as ACTIVE), the task shows in SNF:task_state."""
    ref = body["resize"]["flavorRef"]
    if isinstance(ref, int) or (isinstance(ref, str) and ref.isdigit()):
        flavorid = serials(request).flavor(int(ref))
        if flavorid is None:
            raise NotFound(f"Flavor {ref} could not be found.")
        ref = flavorid
    service = request.config_dict[servers_key]
    server_id = request.match_info["server_id"]
    ctx = auth.context(request)
    await service.resizes.resize(ctx, server_id, ref)
    running = service.tasks.running(server_id)
    if running is not None:
        service.tasks.track(server_id, _confirm_after(service, ctx, server_id, running))
    return respond(request)


async def _confirm_after(service, ctx, server_id: str, running: asyncio.Future) -> None:
    await asyncio.gather(running, return_exceptions=True)
    if service.get(ctx, server_id).vm_state == states.RESIZED:
        await service.resizes.confirm(ctx, server_id)

UNSUPPORTED = frozenset({"changePassword", "rebuild", "confirmResize", "revertResize", "createImage"})
ACTIONS = {
    **{key: action for key, action in server_actions.ACTIONS.items() if key not in UNSUPPORTED},
    "start": Action("#311", server_actions.state_action(server_actions.parse_start), "os_compute_api:servers:start"),
    "shutdown": Action("#312", server_actions.state_action(server_actions.parse_stop),
                       "os_compute_api:servers:stop"),
    "resize": Action("#304", resize, "os_compute_api:servers:resize"),
    "SNF:suspend": Action("cyclades:suspend", set_suspended),
    "reassign": Action("#328", reassign, "os_compute_api:servers:update"),
    "firewallProfile": Action("#327", firewall_profile, "os_compute_api:servers:update"),
    "console": Action("#1602", cyclades_console.console, "os_compute_api:os-remote-consoles"),
}


async def server_action(request: web.Request) -> web.StreamResponse:
    return await dispatch(request, ACTIONS, "Malformed message body: too many body keys")


def _empty(key: str) -> dict:
    return {"type": "object", "properties": {key: {}}, "required": [key]}


SUSPEND = {"type": "object", "required": ["SNF:suspend"], "properties": {"SNF:suspend": {
    "type": "object", "required": ["suspended"], "properties": {"suspended": {"type": "boolean"}}}}}
REASSIGN = {"type": "object", "required": ["reassign"], "properties": {"reassign": {
    "type": "object", "required": ["project"], "properties": {"project": {"type": "string", "minLength": 1}}}}}
FIREWALL = {"type": "object", "required": ["firewallProfile"], "properties": {"firewallProfile": {
    "type": "object", "required": ["profile", "nic"],
    "properties": {"profile": {"type": "string"}, "nic": {"type": ["integer", "string"]}}}}}
BODIES = {"#327": FIREWALL, "#328": REASSIGN, "#311": _empty("start"), "#312": _empty("shutdown"),
          "cyclades:suspend": SUSPEND, **cyclades_console.BODIES}
STATUSES = {"#327": 202, "#328": 202, "#311": 202, "#312": 202, "cyclades:suspend": 204, **cyclades_console.STATUSES}
VIEWS = cyclades_console.VIEWS


def replace_action_route(route: Route) -> Route:
    """The server action row with this module's table."""
    return route._replace(handler=server_action, actions=ACTIONS) if route.op == "#301" else route
