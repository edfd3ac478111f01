"""The admin server actions (#2101-#2106), admin only, as Nova's admin_actions, migrate_server and evacuate
controllers answer them (the work: compute/server_admin.py).

Each handler follows Nova's order: the body's schema (the dispatcher, before the handler), the server (404), the
policy (403), then the checks. Steps: migrate checks its body and takes `host` from 2.56; os-migrateLive needs
`host`, `block_migration` and `disk_over_commit` up to 2.24, then takes `block_migration` "auto" without
`disk_over_commit`, `force` from 2.30 to 2.67, and from 2.34 answers 202 whatever the scheduler finds; evacuate
needs `onSharedStorage` and answers `adminPass` up to 2.13, takes `force` from 2.29 to 2.67, and from 2.95 would
leave the server stopped at its destination (there is none here); resetNetwork answers 410 at every version (Nova
removed it with the Xen driver), before any check.
"""
from __future__ import annotations

import copy

from aiohttp import web

from nodecompute.api import auth, validation
from nodecompute.api.actions import Action
from nodecompute.api.dialect import Versioned
from nodecompute.api.keys import api_version_key, servers_key
from nodecompute.api.respond import respond
from nodecompute.compute.servers import generate_password
from nodecompute.domain.errors import BadRequest, Gone
from nodecompute.domain.server_models import Server

RESET_STATE = "os_compute_api:os-admin-actions:reset_state"
INJECT = "os_compute_api:os-admin-actions:inject_network_info"
MIGRATE = "os_compute_api:os-migrate-server:migrate"
MIGRATE_LIVE = "os_compute_api:os-migrate-server:migrate_live"
EVACUATE = "os_compute_api:os-evacuate"
NOT_FORCED = "Can't force to a non-provided destination"

_HOST = {"type": ["string", "null"], "minLength": 1, "maxLength": 255, "pattern": r"^[a-zA-Z0-9-._]*$"}
_FQDN = {**_HOST, "type": "string"}


def _object(key: str, properties: dict, required: tuple[str, ...] = (), nullable: bool = False) -> dict:
    inner = {"type": ["object", "null"] if nullable else "object", "properties": properties,
             "additionalProperties": False}
    if required:
        inner["required"] = list(required)
    return {"type": "object", "properties": {key: inner}, "required": [key], "additionalProperties": False}


def _any(key: str) -> dict:
    return {"type": "object", "properties": {key: {}}, "required": [key], "additionalProperties": False}


RESET_STATE_BODY = _object("os-resetState", {"state": {"type": "string", "enum": ["active", "error"]}}, ("state",))
MIGRATE_V256 = _object("migrate", {"host": _HOST}, nullable=True)
LIVE = _object("os-migrateLive", {"block_migration": validation.boolean, "disk_over_commit": validation.boolean,
                                  "host": _HOST}, ("block_migration", "disk_over_commit", "host"))
LIVE_V225 = _object("os-migrateLive", {"block_migration": {**validation.boolean,
                                                           "enum": [*validation.boolean["enum"], "auto"]},
                                       "host": _HOST}, ("block_migration", "host"))
LIVE_V230 = copy.deepcopy(LIVE_V225)
LIVE_V230["properties"]["os-migrateLive"]["properties"]["force"] = validation.boolean
EVACUATE_BODY = _object("evacuate", {"host": _FQDN, "onSharedStorage": validation.boolean,
                                     "adminPass": {"type": "string"}}, ("onSharedStorage",))
EVACUATE_V214 = _object("evacuate", {"host": _FQDN, "adminPass": {"type": "string"}})
EVACUATE_V229 = copy.deepcopy(EVACUATE_V214)
EVACUATE_V229["properties"]["evacuate"]["properties"]["force"] = validation.boolean


def _server(request: web.Request, policy: str) -> Server:
    """The server (404 for one the caller cannot see), then the admin policy (403), as Nova's get_instance and
    context.can."""
    server = request.config_dict[servers_key].get(auth.context(request), request.match_info["server_id"])
    auth.require_admin(request, policy)
    return server


async def reset_state(request: web.Request, body: dict) -> web.StreamResponse:
    server = _server(request, RESET_STATE)
    admin = request.config_dict[servers_key].admin
    await admin.reset_state(auth.context(request), server, body["os-resetState"]["state"])
    return respond(request)


async def inject_network_info(request: web.Request, body: dict) -> web.StreamResponse:
    server = _server(request, INJECT)
    await request.config_dict[servers_key].admin.inject_network_info(auth.context(request), server)
    return respond(request)


async def reset_network(request: web.Request, body: dict) -> web.StreamResponse:
    raise Gone()


async def migrate(request: web.Request, body: dict) -> web.StreamResponse:
    host = None
    if request[api_version_key] >= (2, 56) and body["migrate"] is not None:
        host = body["migrate"].get("host")
    server = _server(request, MIGRATE + (":host" if host else ""))
    await request.config_dict[servers_key].admin.migrate(auth.context(request), server, host)
    return respond(request)


async def migrate_live(request: web.Request, body: dict) -> web.StreamResponse:
    version, live = request[api_version_key], body["os-migrateLive"]
    host = live["host"]
    server = _server(request, MIGRATE_LIVE + (":host" if host else ""))
    forced = bool(host)  # before 2.30 a named host is taken as given
    if version >= (2, 30):
        forced = validation.to_bool(live.get("force", False))
        if forced and not host:
            raise BadRequest(NOT_FORCED)
    await request.config_dict[servers_key].admin.live_migrate(auth.context(request), server, host or None, forced,
                                                              background=version >= (2, 34))
    return respond(request)


async def evacuate(request: web.Request, body: dict) -> web.StreamResponse:
    version, evacuate_body = request[api_version_key], body["evacuate"]
    server = _server(request, EVACUATE)
    host = evacuate_body.get("host")
    password = evacuate_body.get("adminPass")
    if version >= (2, 29) and validation.to_bool(evacuate_body.get("force", False)) and not host:
        raise BadRequest(NOT_FORCED)
    if version < (2, 14):
        shared = validation.to_bool(evacuate_body["onSharedStorage"])
        if password is not None and shared:
            raise BadRequest("admin password can't be changed on existing disk")
        if password is None and not shared:
            password = generate_password()
    admin = request.config_dict[servers_key].admin
    admin.check_evacuate_host(server, host)
    await admin.evacuate(auth.context(request), server)
    return respond(request, password)


ACTIONS = {
    "os-resetState": Action("#2101", reset_state),
    "migrate": Action("#2102", migrate),
    "os-migrateLive": Action("#2103", migrate_live),
    "evacuate": Action("#2104", evacuate),
    "resetNetwork": Action("#2105", reset_network),
    "injectNetworkInfo": Action("#2106", inject_network_info),
}
BODIES = {
    "#2101": RESET_STATE_BODY,
    "#2102": Versioned(_any("migrate"), ((2, 56), MIGRATE_V256)),
    "#2103": Versioned(LIVE, ((2, 25), LIVE_V225), ((2, 30), LIVE_V230), ((2, 68), LIVE_V225)),
    "#2104": Versioned(EVACUATE_BODY, ((2, 14), EVACUATE_V214), ((2, 29), EVACUATE_V229), ((2, 68), EVACUATE_V214)),
    "#2105": {"type": "object"},  # Nova validates nothing: the action is gone
    "#2106": _any("injectNetworkInfo"),
}
STATUSES = {"#2101": 202, "#2102": 202, "#2103": 202, "#2104": 200, "#2105": 410, "#2106": 202}  # 2105: Gone
VIEWS = {"#2104": Versioned(lambda out, password: {"adminPass": password}, ((2, 14), lambda out, password: None))}
