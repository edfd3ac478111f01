"""K5's differences on the compute face's smaller resources (issue 25, dialects.md k5 column): the server action
table (always-hard reboot D36, rebuild with `imageRef` optional D38, VNC consoles only `novnc` with K5's `vnc_auto.html` URL D41), key pairs and server
groups in the configured availability zone (D47, D53, D63: a zone given in a body or query must be the configured
one, 400 otherwise; shows name it)."""
from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from aiohttp import web
from yarl import URL

from nodecompute.api import (auth, consoles, k5_volumes, keypairs, server_actions, server_groups,
                             server_rebuild)
from nodecompute.api.k5_faces import zone
from nodecompute.api.actions import Action, dispatch
from nodecompute.api.dialect import Versioned
from nodecompute.api.keys import servers_key
from nodecompute.api.respond import Out, respond
from nodecompute.api.routing import Handler, Route
from nodecompute.api.validation import json_body
from nodecompute.domain import errors, states
from nodecompute.domain.server_models import ActionRequest

NOVNC_PAGE, K5_NOVNC_PAGE = "vnc_lite.html", "vnc_auto.html"


def _check_zone(request: web.Request, asked: Any) -> None:
    if asked is not None and asked != zone(request):
        raise errors.BadRequest(f"Availability zone '{asked}' is invalid")


# ----- actions -------------------------------------------------------------------------------------------------

async def _reboot(request: web.Request, body: dict) -> web.StreamResponse:
    """D36: every reboot runs hard ("This parameter is ignored in Compute where a HARD reboot is always performed",
    seed 003 section 1.2.6.6); the status follows the type asked, which the task_state keeps (in the database, so a
    restart keeps it too): HARD is the core's hard reboot (HARD_REBOOT), SOFT the core's soft reboot running the
    hard reboot's work (REBOOT), as Helion's (api/helion_actions.py); a SOFT where Nova allows only HARD (a server
    not ACTIVE) is the hard reboot, the type being ignored."""
    service, ctx = request.config_dict[servers_key], auth.context(request)
    server = service.get(ctx, request.match_info["server_id"])
    soft = body["reboot"]["type"].upper() == "SOFT" and server.vm_state in states.ACTIONS["reboot"].allowed
    await service.act(ctx, server.uuid, ActionRequest("reboot", work="reboot_hard") if soft
                      else ActionRequest("reboot_hard"))
    return respond(request)


async def _rebuild(request: web.Request, body: dict) -> web.StreamResponse:
    """D38: `imageRef` optional, the server's current image by default."""
    if "imageRef" not in body["rebuild"]:
        server = request.config_dict[servers_key].get(auth.context(request), request.match_info["server_id"])
        body = {**body, "rebuild": {**body["rebuild"], "imageRef": server.image_id}}
    return await server_rebuild.action_rebuild(request, body)


ACTIONS: Mapping[str, Action] = {
    **server_actions.ACTIONS,
    "reboot": server_actions.ACTIONS["reboot"]._replace(handler=_reboot),
    "rebuild": server_actions.ACTIONS["rebuild"]._replace(handler=_rebuild),
}
_REBUILD = copy.deepcopy(server_rebuild.BODIES["#303"].first)  # legacy v2.0's, as every K5 body
_REBUILD["properties"]["rebuild"]["required"] = []


async def server_action(request: web.Request) -> web.StreamResponse:
    return await dispatch(request, ACTIONS, "Malformed message body: too many body keys")


def k5_novnc_url(url: str) -> str:
    """D41: K5's form of a noVNC URL, `.../vnc_auto.html?token=<token>` (the console listener serves it beside
    vnc_lite.html, api/console_static.py); a URL of another shape (an operator's base URL) is left as it is."""
    parsed = URL(url)
    token = URL(parsed.query.get("path", "")).query.get("token")
    if parsed.name != NOVNC_PAGE or token is None:
        return url
    return str(parsed.with_name(K5_NOVNC_PAGE).with_query(token=token))


def _novnc_view(out: Out, result: tuple[str, str]) -> dict:
    console_type, url = result
    return {"console": {"type": console_type, "url": k5_novnc_url(url)}}


# ----- key pairs and server groups -----------------------------------------------------------------------------

def _zone_in_body(handler: Handler, wrapper: str) -> Handler:
    async def k5_handler(request: web.Request) -> web.StreamResponse:
        body = await json_body(request)
        if isinstance(body, dict) and isinstance(body.get(wrapper), dict):
            _check_zone(request, body[wrapper].get("availability_zone"))
        return await handler(request)
    return k5_handler


def _zone_in_query(handler: Handler) -> Handler:
    async def k5_handler(request: web.Request) -> web.StreamResponse:
        _check_zone(request, request.query.get("availability_zone"))
        return await handler(request)
    return k5_handler


KEYPAIR_KEYS = ("public_key", "name", "fingerprint")  # K5's show (§1.8.6.4 example), with the zone


def _keypair_show(out: Out, keypair) -> dict:
    shown = keypairs.VIEWS["#903"].at(out.version)(out, keypair)["keypair"]
    return {"keypair": {**{key: shown[key] for key in KEYPAIR_KEYS}, "availability_zone": zone(out.request)}}


def _group_view(view: Versioned) -> Versioned:
    def with_zone(render):
        def k5_view(out: Out, group) -> dict:
            return {**render(out, group), "availability_zone": zone(out.request)}
        return k5_view
    return view.map(with_zone)


VIEWS = {
    "#1601": _novnc_view,
    "#903": _keypair_show,
    "#1803": _group_view(server_groups.VIEWS["#1803"]),
}
BODIES = {"#1601": consoles.BODIES["#1601"], "#303": _REBUILD}
BODIES["#1601"] = {**BODIES["#1601"], "properties": {"os-getVNCConsole": {
    **BODIES["#1601"]["properties"]["os-getVNCConsole"],
    "properties": {"type": {"type": "string", "enum": ["novnc"]}}}}}

_HANDLERS: Mapping[str, Handler] = {
    "#301": server_action,
    "#902": _zone_in_body(keypairs.create_keypair, "keypair"),
    "#903": _zone_in_query(keypairs.show_keypair),
    "#904": _zone_in_query(keypairs.delete_keypair),
    "#1802": _zone_in_body(server_groups.create_group, "server_group"),
}


def k5_rows(routes: tuple[Route, ...]) -> tuple[Route, ...]:
    changed = []
    for route in routes:
        if route.op in _HANDLERS:
            route = route._replace(handler=_HANDLERS[route.op], actions=ACTIONS if route.op == "#301" else route.actions)
        elif route.op in k5_volumes.HANDLERS:
            route = route._replace(handler=k5_volumes.HANDLERS[route.op](route.handler))
        changed.append(route)
    return tuple(changed)
