"""Cyclades' volume attachments (seed 001; dialects.md D11, D56): volumes by their integer serials in paths and in
`volumeId`; the attachment's `id`, `volumeId` and `serverId` JSON integers (the volume's and the server's serials);
`device` always "" (unused); attach 200, detach 200. Over the core attachments service."""
from __future__ import annotations

from typing import Any

from aiohttp import web

from nodecompute.api.auth import context, require_writer
from nodecompute.api.cyclades_servers import serials
from nodecompute.api.keys import volume_attachments_key
from nodecompute.api.respond import parse_body, respond
from nodecompute.domain.errors import BadRequest, NotFound
from nodecompute.domain.volume_models import Attachment, AttachRequest

POLICY = "os_compute_api:os-volumes-attachments:%s"
MALFORMED_VOLUME = "Malformed volume id"


def volume_id(request: web.Request, ref: Any) -> str:
    """The volume of a serial (an integer, or its digits)."""
    if isinstance(ref, bool) or not (isinstance(ref, int) or (isinstance(ref, str) and ref.isdigit())):
        raise BadRequest(MALFORMED_VOLUME)
    found = serials(request).volume(int(ref))
    if found is None:
        raise NotFound(f"Volume {ref} could not be found.")
    return found


def _with_serials(request: web.Request, found: list[Attachment]) -> tuple[list[Attachment], dict, dict]:
    lookup = serials(request)
    return (found, lookup.volume_serials(a.volume_id for a in found),
            lookup.server_serials(a.server_id for a in found))


async def list_attachments(request: web.Request) -> web.StreamResponse:
    found = request.config_dict[volume_attachments_key].list(context(request), request.match_info["server_id"])
    return respond(request, _with_serials(request, found))


async def attach(request: web.Request) -> web.StreamResponse:
    ctx = require_writer(request, POLICY % "create")
    body = (await parse_body(request))["volumeAttachment"]
    req = AttachRequest(volume_id=volume_id(request, body["volumeId"]), device=None, tag=None,
                        delete_on_termination=False)
    made = await request.config_dict[volume_attachments_key].attach(ctx, request.match_info["server_id"], req,
                                                                     shelved_ok=False, multiattach_ok=False)
    return respond(request, _with_serials(request, [made]))


async def show_attachment(request: web.Request) -> web.StreamResponse:
    found = request.config_dict[volume_attachments_key].get(
        context(request), request.match_info["server_id"], volume_id(request, request.match_info["volume_id"]))
    return respond(request, _with_serials(request, [found]))


async def detach(request: web.Request) -> web.StreamResponse:
    ctx = require_writer(request, POLICY % "delete")
    await request.config_dict[volume_attachments_key].detach(
        ctx, request.match_info["server_id"], volume_id(request, request.match_info["volume_id"]), shelved_ok=False)
    return respond(request)


def _one(attachment: Attachment, volumes: dict[str, int], servers: dict[str, int]) -> dict[str, Any]:
    volume = volumes.get(attachment.volume_id)
    return {"device": "", "serverId": servers.get(attachment.server_id), "id": volume, "volumeId": volume}


def _list(out, result) -> dict:
    found, volumes, servers = result
    return {"volumeAttachments": [_one(a, volumes, servers) for a in found]}


def _single(out, result) -> dict:
    found, volumes, servers = result
    return {"volumeAttachment": _one(found[0], volumes, servers)}


ATTACH = {"type": "object", "required": ["volumeAttachment"], "properties": {"volumeAttachment": {
    "type": "object", "required": ["volumeId"], "properties": {"volumeId": {"type": ["integer", "string"]}}}}}
HANDLERS = {"#1101": list_attachments, "#1102": attach, "#1103": show_attachment, "#1105": detach}
VIEWS = {"#1101": _list, "#1102": _single, "#1103": _single}
STATUSES = {"#1102": 200, "#1105": 200}
BODIES = {"#1102": ATTACH}
