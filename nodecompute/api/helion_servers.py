"""Helion's servers (dialects.md D21-D28, D33; section 6): the openstack views and create handler with Helion's
differences.

- Views: STOPPED for SHUTOFF (D28; the task stays in `OS-EXT-STS:task_state`), `config_drive` "true" or "" (D27);
  the create answer is `{id, links, adminPass, security_groups}` with `Location` from the request's host and
  scheme, no `OS-DCF:diskConfig` (D21).
- Create (D22-D24): `password`, `accessIPv4`, `accessIPv6` ignored; a name must contain a letter (400) and be unused
  among the project's non-deleted servers (409; siblings of one multiple create are `<name>-<n>`, the core's
  naming); an unknown security group by name is 400 "Unable to find security_group with name '<name>'".
  `key_name` and `networks` are optional as in Nova (one network: used; several: Nova's 409).
- Config drive (D65): a server that asks for one gets a vfat drive (64 MiB, label config-2) holding, besides
  Nova's tree, `/meta.js` (its metadata as JSON) and each personality file at its own path.
"""
from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web

from nodecompute.api import auth, helion_ids, servers, validation
from nodecompute.api.dialects.openstack import OPENSTACK
from nodecompute.api.keys import servers_key
from nodecompute.api.respond import Out, Reply, parse_body, respond, rules
from nodecompute.compute import drive_layouts
from nodecompute.domain.errors import BadRequest, Conflict, SecurityGroupNameNotFound
from nodecompute.domain.server_models import CreateRequest, ServerFilters

V2 = (2, 0)
STATUS_NAMES = {"SHUTOFF": "STOPPED"}
IGNORED_CREATE_FIELDS = ("password", "accessIPv4", "accessIPv6")
_LETTER = re.compile(r"[^\W\d_]")


def helion_server(view: dict[str, Any], flavor_serials: Mapping[str, int]) -> dict[str, Any]:
    """An openstack server view as Helion shows it (in place): its flavor by serial (api/helion_ids.py)."""
    if isinstance(view.get("flavor"), dict):
        helion_ids.shown_flavor(view["flavor"], flavor_serials)
    if "status" in view:
        view["status"] = STATUS_NAMES.get(view["status"], view["status"])
    if "config_drive" in view:
        view["config_drive"] = "true" if view["config_drive"] else ""
    return view


def _one(op: str):
    core = OPENSTACK.views[op].at(V2)

    def view(out: Out, result: Any) -> dict[str, Any]:
        body = core(out, result)
        helion_server(body["server"], helion_ids.flavor_serials(out))
        return body
    return view


def _detail(out: Out, result: Any) -> dict[str, Any]:
    body = OPENSTACK.views["#202"].at(V2)(out, result)
    serials = helion_ids.flavor_serials(out)
    for server in body["servers"]:
        helion_server(server, serials)
    return body


def _created(out: Out, result: Any) -> Any:
    """Nova's create answer without `OS-DCF:diskConfig`; `Location` on the host and scheme the request used
    (section 6: Helion's samples name an internal host), whatever the configured public URL."""
    reply = OPENSTACK.views["#203"].at(V2)(out, result)
    if not isinstance(reply, Reply):
        return reply
    reply.body["server"].pop("OS-DCF:diskConfig", None)
    request = out.request
    location = f"{request.scheme}://{request.host}{urlsplit(reply.headers['Location']).path}"
    return reply._replace(headers={**reply.headers, "Location": location})


async def _check_name(request: web.Request, name: Any, renamed: str | None = None) -> None:
    if not isinstance(name, str):
        return  # the schema answers it
    if not _LETTER.search(name):
        raise BadRequest("Invalid input for field/attribute name. The server name must contain at least one letter.")
    ctx = auth.context(request)
    same = ServerFilters(name=f"^{re.escape(name)}$", project_id=ctx.project_id, limit=2)
    if [found for found in await request.config_dict[servers_key].list(ctx, same, brief=True)
            if found.uuid != renamed]:
        raise Conflict(f"A server named '{name}' already exists in this project.")


async def create_server(request: web.Request) -> web.StreamResponse:
    auth.require_writer(request, "os_compute_api:servers:create")
    body = await validation.json_body(request)
    server = body.get("server")
    if isinstance(server, dict):
        for field in IGNORED_CREATE_FIELDS:
            server.pop(field, None)
        if "flavorRef" in server:
            server["flavorRef"] = helion_ids.flavor_ref(server["flavorRef"], request)
        await _check_name(request, server.get("name"))
    request[validation.ADAPTED_BODY] = body
    create = helion_drive(servers.decode_create(await parse_body(request), rules(request).description_is_name))
    service = request.config_dict[servers_key]
    try:
        return respond(request, (create, await service.create(auth.context(request), create)))
    except SecurityGroupNameNotFound as exc:
        raise BadRequest(f"Unable to find security_group with name '{exc.kwargs['name']}'") from None


async def update_server(request: web.Request) -> web.StreamResponse:
    """A rename follows the create's name rules (D24)."""
    body = await validation.json_body(request)
    server = body.get("server")
    if isinstance(server, dict) and "name" in server:
        ctx = auth.context(request)
        renamed = request.config_dict[servers_key].get(ctx, request.match_info["server_id"]).uuid
        await _check_name(request, server["name"], renamed)
    request[validation.ADAPTED_BODY] = body
    return await servers.update_server(request)


def helion_drive(create: CreateRequest) -> CreateRequest:
    """The vfat drive with /meta.js and the personality files at their paths (compute/drive_layouts.py), when a
    drive is asked for; kept for the server's rebuilds and rescues."""
    if not create.config_drive:
        return create
    return dataclasses.replace(create, config_drive_format="vfat", config_drive_layout=drive_layouts.META_JS)


VIEWS = {"#202": _detail, "#203": _created, "#205": _one("#205"), "#206": _one("#206"), "#303": _one("#303")}
