"""Cyclades' server addresses and metadata (dialects.md D31, D33, D42-D44) over the core services.

- `ips` answers `addresses` (keyed by network serial) and `attachments`; `ips/{network serial}` answers
  `{"network": {<serial>: [...]}}`; both 409 `buildInProgress` while the server builds (D31), 404 for a network the
  server is not on.
- Metadata: POST merges and answers 201 with the whole set (D42); an item is wrapped in `metadata`, not `meta`, in
  request and answer, and PUT answers 201 (D43, D44); the count over the quota is 413 `overLimit` (D15).
"""
from __future__ import annotations

from aiohttp import web

from nodecompute.api import auth, cyclades_views as views
from nodecompute.api.cyclades_servers import for_views, not_building
from nodecompute.api.keys import servers_key
from nodecompute.api.respond import parse_body, respond
from nodecompute.api.server_ips import NOT_A_MEMBER
from nodecompute.domain.action_models import ActionFilters
from nodecompute.domain.errors import BadRequest, NotFound


def _server(request: web.Request):
    return not_building(request.config_dict[servers_key].get(auth.context(request), request.match_info["server_id"]))


async def list_ips(request: web.Request) -> web.StreamResponse:
    server = _server(request)
    found = for_views(request, [server])
    return respond(request, {"addresses": views.addresses(server, found),
                             "attachments": views.attachments(server, found)})


async def show_ips(request: web.Request) -> web.StreamResponse:
    server = _server(request)
    label = request.match_info["network_label"]
    on_network = views.addresses(server, for_views(request, [server]))
    if not label.isdigit() or label not in on_network:
        raise NotFound(NOT_A_MEMBER)
    return respond(request, {"network": {label: on_network[label]}})


async def set_metadata_item(request: web.Request) -> web.StreamResponse:
    ctx = auth.require_writer(request, "os_compute_api:server-metadata:update")
    key = request.match_info["key"]
    body = await parse_body(request)
    if key not in body["metadata"]:
        raise BadRequest("Request body and URI mismatch")
    value = body["metadata"][key]
    await request.config_dict[servers_key].set_metadata(ctx, request.match_info["server_id"], {key: value},
                                                        replace=False)
    return respond(request, (key, value))


def _item(out, item: tuple[str, str]) -> dict:
    return {"metadata": {item[0]: item[1]}}


METADATA_ITEM = {
    "type": "object", "required": ["metadata"],
    "properties": {"metadata": {"type": "object", "minProperties": 1, "maxProperties": 1,
                                "additionalProperties": {"type": "string", "maxLength": 255},
                                "propertyNames": {"minLength": 1, "maxLength": 255}}},
}
HANDLERS = {"#501": list_ips, "#502": show_ips, "#405": set_metadata_item}
VIEWS = {"#501": lambda out, body: body, "#502": lambda out, body: body, "#404": _item, "#405": _item}
STATUSES = {"#403": 201, "#405": 201}
BODIES = {"#405": METADATA_ITEM}


async def diagnostics(request: web.Request) -> web.StreamResponse:
    """The server's log for its owner (D48): its instance actions' events, newest first (a deleted server is 400
    before this, D10)."""
    ctx = auth.context(request)
    server_id = request.match_info["server_id"]
    request.config_dict[servers_key].get(ctx, server_id)  # visible, else 404
    found = request.config_dict[servers_key].action_log.list(ctx, server_id, ActionFilters(), include_deleted=True)
    return respond(request, found)


HANDLERS["#1901"] = diagnostics
VIEWS["#1901"] = lambda out, actions: views.diagnostic_entries(actions)
