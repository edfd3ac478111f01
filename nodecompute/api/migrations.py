"""GET /os-migrations (#2123) and, from 2.23, a server's in-progress live migrations (list and show), admin only: a one-host cloud never migrates a server (migrate, live-migrate and
evacuate find no other host), so the list is always empty; the query is checked per microversion as Nova does:
2.59 adds `limit`, `marker` (any marker is unknown: 400) and `changes-since` and refuses unknown parameters, 2.66
`changes-before`, 2.80 `user_id` and `project_id`."""
from __future__ import annotations

import copy

from aiohttp import web

from nodecompute.api import auth, validation
from nodecompute.api.actions import Action, dispatch
from nodecompute.api.auth import require_admin
from nodecompute.api.dialect import Versioned
from nodecompute.api.respond import QuerySchema, parse_query, respond
from nodecompute.api.keys import servers_key
from nodecompute.domain.errors import BadRequest, NotFound

POLICY = "os_compute_api:os-migrations:index"
_TEXT = {"type": "string"}
_V20 = {"type": "object", "additionalProperties": True, "properties": {
    name: _TEXT for name in ("hidden", "host", "instance_uuid", "source_compute", "status", "migration_type")}}
_V259 = copy.deepcopy(_V20)
_V259["properties"].update({"limit": validation.non_negative_integer, "marker": _TEXT, "changes-since": _TEXT})
_V259["additionalProperties"] = False
_V266 = copy.deepcopy(_V259)
_V266["properties"]["changes-before"] = _TEXT
_V280 = copy.deepcopy(_V266)
_V280["properties"].update(user_id=_TEXT, project_id=_TEXT)
QUERY = Versioned(QuerySchema(_V20), ((2, 59), QuerySchema(_V259)), ((2, 66), QuerySchema(_V266)),
                  ((2, 80), QuerySchema(_V280)))


async def list_migrations(request: web.Request) -> web.StreamResponse:
    require_admin(request, POLICY)
    query = parse_query(request, known_only=True)
    for name in ("changes-since", "changes-before"):
        if name in query:
            validation.parse_changes_since(query[name], f"Invalid filter field: {name}.")
    if "marker" in query:
        raise BadRequest(f"Marker {query['marker']} could not be found.")
    return respond(request, [])


def _empty(out, migrations):
    return {"migrations": migrations}


VIEWS = {"#2123": Versioned(_empty, ((2, 23), _empty), ((2, 59), _empty), ((2, 80), _empty))}
QUERIES = {"#2123": QUERY}


# ----- GET /servers/{server_id}/migrations[/{migration_id}] (2.23+): in-progress live migrations of a server ----------

async def list_server_migrations(request: web.Request) -> web.StreamResponse:
    ctx = require_admin(request, "os_compute_api:servers:migrations:index")
    request.config_dict[servers_key].get(ctx, request.match_info["server_id"])  # 404 for a server there is not
    return respond(request, [])


async def show_server_migration(request: web.Request) -> web.StreamResponse:
    ctx = require_admin(request, "os_compute_api:servers:migrations:show")
    server = request.config_dict[servers_key].get(ctx, request.match_info["server_id"])
    raise NotFound(f"In-progress live migration {request.match_info['migration_id']} is not found for server "
                   f"{server.uuid}.")


# ----- force_complete (2.22) and abort (2.24) of a running live migration: there never is one ------------------------

async def force_complete(request: web.Request, body: dict) -> web.StreamResponse:
    ctx = auth.context(request)
    server = request.config_dict[servers_key].get(ctx, request.match_info["server_id"])
    require_admin(request, "os_compute_api:servers:migrations:force_complete")
    try:
        request.config_dict[servers_key].admin.running_live_migration(server, request.match_info["migration_id"],
                                                                      "force_complete", active_only=True)
    except NotFound as missing:  # Nova answers 400 here (MigrationNotFoundForInstance)
        raise BadRequest(missing.message) from None
    return respond(request)


async def abort_migration(request: web.Request) -> web.StreamResponse:
    ctx = auth.context(request)
    server = request.config_dict[servers_key].get(ctx, request.match_info["server_id"])
    require_admin(request, "os_compute_api:servers:migrations:delete")
    request.config_dict[servers_key].admin.running_live_migration(server, request.match_info["migration_id"],
                                                                  "abort live migration", active_only=False)
    return respond(request)


ACTIONS = {"force_complete": Action("compute:force-complete", force_complete, since=(2, 22))}
VIEWS["compute:server-migrations"] = Versioned(_empty, ((2, 59), _empty), ((2, 80), _empty))
STATUSES = {"compute:server-migration": Versioned(200),  # never reached: there is no migration to show
            "compute:force-complete": Versioned(202), "compute:abort-migration": Versioned(202)}
BODIES = {"compute:force-complete": Versioned({"type": "object", "properties": {"force_complete": {"type": "null"}},
                                               "required": ["force_complete"], "additionalProperties": False})}


async def server_migration_action(request: web.Request) -> web.StreamResponse:
    return await dispatch(request, ACTIONS, "Malformed message body: too many body keys")
