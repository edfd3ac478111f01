"""GET /os-migrations (#2123) and, from 2.23, a server's in-progress live migrations (list and show), admin only. A
one-host cloud never moves a server (migrate, live-migrate and evacuate find no other host): the migrations it keeps
are its resizes (compute/resize.py), listed newest first with Nova's fields per microversion (2.23
`migration_type`, 2.59 `uuid`, 2.80 `user_id` and `project_id`); a server's own list (live migrations in progress)
is always empty. The query is checked per microversion as Nova does: 2.59 adds `limit`, `marker` (a migration's
uuid, else 400) and `changes-since` and refuses unknown parameters, 2.66 `changes-before`, 2.80 `user_id` and
`project_id`."""
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
from nodecompute.domain.migration_models import Migration, MigrationFilters
from nodecompute.domain.models import isotime

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
    times = {name: validation.parse_changes_since(query[name], f"Invalid filter field: {name}.")
             for name in ("changes-since", "changes-before") if name in query}
    filters = MigrationFilters(
        status=query.get("status"), instance_uuid=query.get("instance_uuid"),
        migration_type=query.get("migration_type"), host=query.get("host"),
        source_compute=query.get("source_compute"), user_id=query.get("user_id"),
        project_id=query.get("project_id"), changes_since=times.get("changes-since"),
        changes_before=times.get("changes-before"),
        limit=int(query["limit"]) if "limit" in query else None, marker=query.get("marker"))
    return respond(request, request.config_dict[servers_key].resizes.list_migrations(filters))


def _migration(out, migration: Migration) -> dict:
    view = {"id": migration.id, "instance_uuid": migration.server_uuid, "status": migration.status,
            "source_compute": migration.source_compute, "dest_compute": migration.dest_compute,
            "source_node": migration.source_node, "dest_node": migration.dest_node, "dest_host": migration.dest_host,
            "old_instance_type_id": migration.old_instance_type_id,
            "new_instance_type_id": migration.new_instance_type_id,
            "created_at": isotime(migration.created_at), "updated_at": isotime(migration.updated_at)}
    if out.version >= (2, 23):
        view["migration_type"] = migration.migration_type
    if out.version >= (2, 59):
        view["uuid"] = migration.uuid
    if out.version >= (2, 80):
        view.update(user_id=migration.user_id, project_id=migration.project_id)
    return view


def _list(out, migrations):
    return {"migrations": [_migration(out, migration) for migration in migrations]}


def _empty(out, migrations):
    return {"migrations": migrations}


VIEWS = {"#2123": Versioned(_list, ((2, 23), _list), ((2, 59), _list), ((2, 80), _list))}
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
