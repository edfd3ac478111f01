"""Nova's os-volume_attachments (#1101-#1105): a server's attached volumes, attach, swap and detach.

Bodies and views per microversion as Nova has them: `tag` on attach from 2.49 and in views from 2.70,
`delete_on_termination` on attach and in views from 2.79, from 2.85 the PUT takes the view's fields (only
`delete_on_termination` may change; a different `volumeId` is still a swap, admin only), from 2.89 the views drop
`id` for `attachment_id` and `bdm_uuid`, from 2.101 attach answers 202 with no body; the list query refuses unknown
parameters from 2.75. Below 2.85 every PUT is a swap (admin).
The attachment's `id` is the volume's (Nova's). `bdm_uuid` is a stable name derived from the attachment's first id
(one host keeps one record per attachment, no separate block device mapping; a 2.93 re-image gives the attachment a
new id and keeps the name, as Nova keeps its BDM).
"""
from __future__ import annotations

from typing import Any

from aiohttp import web

from nodecompute.api import validation
from nodecompute.api.auth import context, require_admin, require_writer
from nodecompute.api.dialect import Versioned
from nodecompute.api.keys import api_version_key, volume_attachments_key
from nodecompute.api.respond import Out, QuerySchema, parse_body, parse_query, respond
from nodecompute.domain.volume_models import AttachmentChanges, AttachRequest, Attachment

POLICY = "os_compute_api:os-volumes-attachments:%s"
MAX_LIMIT = 1000  # Nova's [api] max_limit
DEVICE = {"type": ["string", "null"], "pattern": "(^/dev/x{0,1}[a-z]{0,1}d{0,1})([a-z]+)[0-9]*$"}
TAG = {"type": "string", "maxLength": 60, "pattern": "^[^,/]*$"}


def _create_schema(**extra: Any) -> dict[str, Any]:
    return {"type": "object", "properties": {"volumeAttachment": {
        "type": "object", "properties": {"volumeId": {"type": "string", "format": "uuid"}, "device": DEVICE,
                                         **extra},
        "required": ["volumeId"], "additionalProperties": False}},
        "required": ["volumeAttachment"], "additionalProperties": False}


CREATE = _create_schema()
CREATE_V249 = _create_schema(tag=TAG)
CREATE_V279 = _create_schema(tag=TAG, delete_on_termination=validation.boolean)
UUID = {"type": "string", "format": "uuid"}
UPDATE = {"type": "object", "properties": {"volumeAttachment": {
    "type": "object", "properties": {"volumeId": UUID}, "required": ["volumeId"], "additionalProperties": False}},
    "required": ["volumeAttachment"], "additionalProperties": False}
UPDATE_V285 = {"type": "object", "properties": {"volumeAttachment": {
    "type": "object", "properties": {"volumeId": UUID, "device": DEVICE, "tag": TAG,
                                     "delete_on_termination": validation.boolean, "serverId": UUID, "id": UUID},
    "required": ["volumeId"], "additionalProperties": False}},
    "required": ["volumeAttachment"], "additionalProperties": False}
_count = validation.non_negative_integer
LIST_QUERY = QuerySchema({"type": "object", "properties": {"limit": _count, "offset": _count},
                          "additionalProperties": True})
LIST_QUERY_V275 = QuerySchema({"type": "object", "properties": {"limit": _count, "offset": _count},
                               "additionalProperties": False})
SHOW_QUERY = QuerySchema({"type": "object", "properties": {}, "additionalProperties": True})


def _ids(request: web.Request) -> tuple[str, str]:
    return request.match_info["server_id"], request.match_info.get("volume_id", "")


async def list_attachments(request: web.Request) -> web.StreamResponse:
    query = parse_query(request)
    found = request.config_dict[volume_attachments_key].list(context(request), _ids(request)[0])
    offset = int(query.get("offset") or 0)
    limit = min(MAX_LIMIT, int(query.get("limit") or 0) or MAX_LIMIT)
    return respond(request, found[offset:offset + limit])


async def attach(request: web.Request) -> web.StreamResponse:
    ctx = require_writer(request, POLICY % "create")
    body = (await parse_body(request))["volumeAttachment"]
    req = AttachRequest(volume_id=body["volumeId"], device=body.get("device"), tag=body.get("tag"),
                        delete_on_termination=validation.to_bool(body.get("delete_on_termination", False)))
    attachments = request.config_dict[volume_attachments_key]
    return respond(request, await attachments.attach(ctx, _ids(request)[0], req, shelved_ok=_shelved_ok(request),
                                                     multiattach_ok=request[api_version_key] >= (2, 60)))


async def show_attachment(request: web.Request) -> web.StreamResponse:
    parse_query(request)
    return respond(request, request.config_dict[volume_attachments_key].get(context(request), *_ids(request)))


async def update(request: web.Request) -> web.StreamResponse:
    """#1104: below 2.85 always a swap (admin); from 2.85 the attachment's fields, then a swap when volumeId names
    another volume (Nova's update)."""
    server_id, volume_id = _ids(request)
    body = (await parse_body(request))["volumeAttachment"]
    only_swap = request[api_version_key] < (2, 85)
    swap = only_swap or body["volumeId"] != volume_id
    ctx = require_admin(request, POLICY % "swap") if swap else require_writer(request, POLICY % "update")
    attachments = request.config_dict[volume_attachments_key]
    if not only_swap:
        changes = AttachmentChanges(given={k: v for k, v in body.items() if k in ("id", "serverId", "device", "tag")},
                                    delete_on_termination=validation.to_bool(body["delete_on_termination"])
                                    if "delete_on_termination" in body else None)
        await attachments.update(ctx, server_id, volume_id, changes)
    if swap:
        await attachments.swap(ctx, server_id, volume_id, body["volumeId"])
    return respond(request)


async def detach(request: web.Request) -> web.StreamResponse:
    ctx = require_writer(request, POLICY % "delete")
    await request.config_dict[volume_attachments_key].detach(ctx, *_ids(request), shelved_ok=_shelved_ok(request))
    return respond(request)


def _shelved_ok(request: web.Request) -> bool:
    return request[api_version_key] >= (2, 20)


# views --------------------------------------------------------------------------------------------------------------

def _view(tag: bool = False, delete_on_termination: bool = False, ids_2_89: bool = False):
    def render(attachment: Attachment) -> dict[str, Any]:
        view: dict[str, Any] = {} if ids_2_89 else {"id": attachment.volume_id}
        view.update(volumeId=attachment.volume_id, serverId=attachment.server_id)
        if attachment.device:
            view["device"] = attachment.device
        if tag:
            view["tag"] = attachment.tag
        if delete_on_termination:
            view["delete_on_termination"] = attachment.delete_on_termination
        if ids_2_89:
            view.update(attachment_id=attachment.id, bdm_uuid=attachment.bdm_id)
        return view
    return render


_BY_VERSION = ((2, 70), _view(tag=True)), ((2, 79), _view(tag=True, delete_on_termination=True)), \
    ((2, 89), _view(tag=True, delete_on_termination=True, ids_2_89=True))


def _lister(render):
    return lambda out, found: {"volumeAttachments": [render(attachment) for attachment in found]}


def _shower(render):
    return lambda out, attachment: {"volumeAttachment": render(attachment)}


def _created(render):
    def view(out: Out, attachment: Attachment) -> dict[str, Any]:
        shown = render(attachment)
        shown["device"] = attachment.device  # the attach answer always names it (null when none was chosen)
        return {"volumeAttachment": shown}
    return view


_CREATE_BY_VERSION = ((2, 70), _created(_view(tag=True))), \
    ((2, 79), _created(_view(tag=True, delete_on_termination=True))), ((2, 101), lambda out, attachment: None)

VIEWS = {
    "#1101": Versioned(_lister(_view()), *((since, _lister(view)) for since, view in _BY_VERSION)),
    "#1102": Versioned(_created(_view()), *_CREATE_BY_VERSION),
    "#1103": Versioned(_shower(_view()), *((since, _shower(view)) for since, view in _BY_VERSION)),
}
STATUSES = {"#1102": Versioned(200, ((2, 101), 202)), "#1104": 202, "#1105": 202}
BODIES = {"#1102": Versioned(CREATE, ((2, 49), CREATE_V249), ((2, 79), CREATE_V279)),
          "#1104": Versioned(UPDATE, ((2, 85), UPDATE_V285))}
QUERIES = {"#1101": Versioned(LIST_QUERY, ((2, 75), LIST_QUERY_V275)), "#1103": SHOW_QUERY}
