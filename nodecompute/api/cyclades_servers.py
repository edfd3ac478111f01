"""Cyclades' servers (#201-#203, #205-#207 in the cyclades column; dialects.md D10, D11, D18-D24, D30-D33) over
the same ServerService as every dialect, and the serials in its paths.

`serial_ids` (an inner middleware of the face) turns the integer serials of a path into the public ids the core
handlers take: a non-integer server id is 400 "Malformed server id", a serial that never existed 404, a deleted
server 400 "machine already deleted" on delete and the address calls (D10); flavors the same way.
"""
from __future__ import annotations

import dataclasses
from typing import Any

from aiohttp import web

from nodecompute.api import auth, cyclades_views as views
from nodecompute.api.faults import Handler
from nodecompute.api.keys import config_key, images_key, servers_key
from nodecompute.api.respond import Out, Reply, check_body, operation, respond
from nodecompute.api.servers import decode_create
from nodecompute.api.validation import json_body, parse_changes_since
from nodecompute.compute.project_members import acting_in
from nodecompute.compute.public_serials import PublicSerials, ViewSerials
from nodecompute.domain import states
from nodecompute.domain.errors import (BadRequest, ComputeError, Conflict, Forbidden, InstanceNotFound, NotFound,
                                       PolicyNotAuthorized)
from nodecompute.domain.models import AuthContext, id_from_ref
from nodecompute.domain.server_models import CreateRequest, CreateResult, Server, ServerFilters

MALFORMED_SERVER = "Malformed server id"
MALFORMED_FLAVOR = "Malformed flavor id"
ALREADY_DELETED = "machine already deleted"
# operations that answer 400 for a deleted server (D10) rather than 404
DELETED_IS_400 = frozenset({"#207", "#501", "#502", "#1901", "cyclades:stats"})
# operations that answer 403 for an administratively suspended server, but to admins (D14)
SUSPENDED_IS_403 = frozenset({"#205", "#401", "#402", "#403", "#404", "#405", "#406", "#1901", "cyclades:stats"})
SUSPENDED = "Administratively Suspended VM"
BUILDING = "Server is being built"
NO_CAPACITY = "No available backends: the host has no room for this flavor"
IMAGE_METADATA = ("OS", "USERS")  # copied from the image unless given (D32)


class BuildInProgress(Conflict):
    """409 `buildInProgress` (D13, D31): the server is still being built."""

    msg_fmt = BUILDING


class NoCapacity(ComputeError):
    """503 `serviceUnavailable` (D23): the host has no room for the server (seed 000 line 597, "No available
    backends")."""

    code = 503
    msg_fmt = NO_CAPACITY


def serials(request: web.Request) -> PublicSerials:
    return PublicSerials(request.config_dict[servers_key].store)


def _integer(text: str, message: str) -> int:
    if not text.isdigit() or len(text) > 18:
        raise BadRequest(message)
    return int(text)


@web.middleware
async def serial_ids(request: web.Request, handler: Handler) -> web.StreamResponse:
    info = request.match_info
    if "server_id" in info:
        found = serials(request).server(_integer(info["server_id"], MALFORMED_SERVER))
        if found is None:
            raise InstanceNotFound(instance_id=info["server_id"])
        if found.deleted and operation(request) in DELETED_IS_400:
            raise BadRequest(ALREADY_DELETED)
        if (operation(request) in SUSPENDED_IS_403 and not auth.context(request).is_admin
                and serials(request).suspended(found.uuid)):
            raise Forbidden(SUSPENDED)
        info["server_id"] = found.uuid
    if "flavor_id" in info:
        flavorid = serials(request).flavor(_integer(info["flavor_id"], MALFORMED_FLAVOR))
        if flavorid is None:
            raise NotFound(f"Flavor {info['flavor_id']} could not be found.")
        info["flavor_id"] = flavorid
    return await handler(request)


def for_views(request: web.Request, servers: list[Server]) -> ViewSerials:
    nics = [nic for server in servers for nic in server.nics]
    return serials(request).for_views([nic.network_id for nic in nics], [nic.port_id for nic in nics],
                                      [server.uuid for server in servers])


def not_building(server: Server) -> Server:
    if server.vm_state == states.BUILDING:
        raise BuildInProgress()
    return server


# ----- handlers ------------------------------------------------------------------------------------------------

async def _list(request: web.Request) -> web.StreamResponse:
    """Only `changes-since` (D18); with it, the deleted servers too (kept `[compute] deleted_retention`, at least
    Synnefo's POLL_TIME of 3600 s, before they are purged) and 304 when nothing changed (D19, D20)."""
    ctx = auth.context(request)
    since_text = request.query.get("changes-since")
    since = parse_changes_since(since_text) if since_text is not None else None
    found = await request.config_dict[servers_key].list(ctx, ServerFilters(changes_since=since))
    if since is not None and not found:
        return web.Response(status=304)
    return respond(request, (found, for_views(request, found)))


list_servers = list_servers_detail = _list


async def show_server(request: web.Request) -> web.StreamResponse:
    server = request.config_dict[servers_key].get(auth.context(request), request.match_info["server_id"])
    return respond(request, (server, for_views(request, [server])))


def _cyclades_create_body(request: web.Request, ctx: AuthContext, body: Any) -> tuple[AuthContext, Any]:
    """The Cyclades extras out of the body (D22: `project`, a project the user is a member of, is the caller's
    context for the create, compute/project_members.py; the first of `SNF:key_names` is the
    key; D32: `OS` and `USERS` from the image's metadata unless given; D23: an unknown image or flavor is 404), the
    flavor, network and port serials made their ids (D11)."""
    if not isinstance(body, dict) or not isinstance(body.get("server"), dict):
        return ctx, body
    server = dict(body["server"])
    flavor_ref = server.get("flavorRef")
    if isinstance(flavor_ref, int) or (isinstance(flavor_ref, str) and flavor_ref.isdigit()):
        flavorid = serials(request).flavor(int(flavor_ref))
        if flavorid is None:
            raise NotFound(f"Flavor {flavor_ref} could not be found.")
        server["flavorRef"] = flavorid
    project = server.pop("project", None)
    if project is not None:
        if not isinstance(project, str) or not project:
            raise BadRequest("Invalid project")
        ctx = acting_in(request.config_dict[servers_key].store, ctx, project)
        if not ctx.can_write:  # a reader there may not create
            raise PolicyNotAuthorized(action="os_compute_api:servers:create")
    key_names = server.pop("SNF:key_names", None)
    if key_names is not None and (not isinstance(key_names, list)
                                  or not all(isinstance(name, str) and name for name in key_names)):
        raise BadRequest("SNF:key_names must be a list of keypair names")
    if key_names and "key_name" not in server:
        server["key_name"] = key_names[0]
    if isinstance(server.get("personality"), list):
        server["personality"] = [_without_ownership(item) for item in server["personality"]]
    image_ref = server.get("imageRef")
    if isinstance(image_ref, str) and image_ref:
        properties = request.config_dict[images_key].get(ctx, id_from_ref(image_ref)).properties  # else 404
        given = server.get("metadata") if isinstance(server.get("metadata"), dict) else {}
        copied = {key: str(properties[key]) for key in IMAGE_METADATA if key in properties and key not in given}
        if copied:
            server["metadata"] = {**copied, **given}
    if isinstance(server.get("networks"), list):
        server["networks"] = [_network_by_serial(request, item) for item in server["networks"]]
    return ctx, {**body, "server": server}


OWNERSHIP = ("owner", "group", "mode")


def _without_ownership(item: Any) -> Any:
    """A personality entry without Cyclades' owner, group and mode (`_with_extras` puts them back on the
    decoded file), which the core's schema does not know."""
    return {key: value for key, value in item.items() if key not in OWNERSHIP} if isinstance(item, dict) else item


def _ownership(item: Any) -> dict[str, Any]:
    """owner and group (strings) and mode (a number, seed 000 line 664: an integer 0-4095, 0o7777) of one entry."""
    found = {key: item[key] for key in OWNERSHIP if isinstance(item, dict) and item.get(key) is not None}
    for key in ("owner", "group"):
        if key in found and not (isinstance(found[key], str) and 0 < len(found[key]) <= 255):
            raise BadRequest(f"Invalid personality {key}")
    mode = found.get("mode")
    if mode is not None and (isinstance(mode, bool) or not isinstance(mode, int) or not 0 <= mode <= 0o7777):
        raise BadRequest("Invalid personality mode: a number from 0 to 4095 (0o7777)")
    return found


def _with_extras(create: CreateRequest, raw: Any) -> CreateRequest:
    """The decoded create with the personality files' ownership and every `SNF:key_names` key after the first."""
    server = raw.get("server") if isinstance(raw, dict) else None
    if not isinstance(server, dict):
        return create
    items = server.get("personality") if isinstance(server.get("personality"), list) else []
    files = tuple(dataclasses.replace(spec, **_ownership(item)) if isinstance(item, dict) else spec
                  for spec, item in zip(create.personality, items))
    names = server.get("SNF:key_names") or []
    extra = tuple(dict.fromkeys(name for name in names if name != create.key_name))
    return dataclasses.replace(create, personality=files + create.personality[len(files):], extra_key_names=extra)


def _network_by_serial(request: web.Request, item: Any) -> Any:
    """A requested NIC's network and port serials made their ids (D11); ids pass as they are."""
    if not isinstance(item, dict):
        return item
    item = dict(item)
    for key, lookup in (("uuid", serials(request).network), ("port", serials(request).port)):
        ref = item.get(key)
        if isinstance(ref, int) or (isinstance(ref, str) and ref.isdigit()):
            found = lookup(int(ref))
            if found is None:
                raise NotFound(f"{'Network' if key == 'uuid' else 'Port'} {ref} could not be found.")
            item[key] = found
    return item


async def create_server(request: web.Request) -> web.StreamResponse:
    ctx = auth.require_writer(request, "os_compute_api:servers:create")
    raw = await json_body(request)
    ctx, body = _cyclades_create_body(request, ctx, raw)
    create = _with_extras(decode_create(check_body(request, body)), raw)
    service = request.config_dict[servers_key]
    if not service.has_room_for(ctx, create):  # an unknown flavor is 404 here
        raise NoCapacity()
    result = await service.create(ctx, create)
    return respond(request, (result, for_views(request, list(result.servers))))


async def update_server(request: web.Request) -> web.StreamResponse:
    """Rename (D30): 204, the access addresses ignored; 409 buildInProgress while building (D31)."""
    ctx = auth.require_writer(request, "os_compute_api:servers:update")
    body = check_body(request, await json_body(request))
    service = request.config_dict[servers_key]
    server = not_building(service.get(ctx, request.match_info["server_id"]))
    if "name" in body["server"]:
        await service.update(ctx, server.uuid, {"name": body["server"]["name"]})
    return respond(request)


async def delete_server(request: web.Request) -> web.StreamResponse:
    ctx = auth.require_writer(request, "os_compute_api:servers:delete")
    service = request.config_dict[servers_key]
    server = not_building(service.get(ctx, request.match_info["server_id"]))
    await service.delete(ctx, server.uuid)
    return respond(request)


# ----- views ---------------------------------------------------------------------------------------------------

def _domain(out: Out) -> str:
    return out.request.config_dict[config_key].compute.cyclades_domain


def _brief_list(out: Out, result: tuple[list[Server], ViewSerials]) -> dict:
    links = views.CycladesLinks(out)
    return {"servers": [views.server_brief(server, links) for server in result[0]]}


def _detail_list(out: Out, result: tuple[list[Server], ViewSerials]) -> dict:
    links, domain = views.CycladesLinks(out), _domain(out)
    return {"servers": [views.server_full(server, result[1], links, domain) for server in result[0]]}


def _show(out: Out, result: tuple[Server, ViewSerials]) -> dict:
    return {"server": views.server_full(result[0], result[1], views.CycladesLinks(out), _domain(out))}


def _created(out: Out, result: tuple[CreateResult, ViewSerials]) -> Reply:
    created, found = result
    server = views.server_full(created.servers[0], found, views.CycladesLinks(out), _domain(out))
    return Reply({"server": {**server, "adminPass": created.admin_pass}})


VIEWS = {"#201": _brief_list, "#202": _detail_list, "#203": _created, "#205": _show,
         "#206": lambda out, result: None, "#207": lambda out, result: None}
STATUSES = {"#203": 200, "#206": 204, "#207": 204}


def replace_handlers(route: Any, handlers: dict) -> Any:
    """The Cyclades handler for a core row (`handlers` by operation), else the row as it is."""
    handler = handlers.get(route.op)
    return route._replace(handler=handler) if handler is not None else route


HANDLERS = {"#201": list_servers, "#202": list_servers_detail, "#203": create_server, "#205": show_server,
            "#206": update_server, "#207": delete_server}
