"""Helion's answers for the resources beside servers (dialects.md D53, D56-D59, D62, D64; seed 002 section 4.4):
the openstack dialect's handlers with Helion's statuses and shapes.

- keypairs: create 202; show only `fingerprint`, `name`, `public_key` (D53);
- volume attachments: attach 202, `device: "auto"` is "let the host choose" (D56);
- os-volumes: create 202 with a snake_case body; `volumeType` "None" (a string) for a volume of the default type;
  `attachments` `[{}]` when unattached (D57); os-snapshots: create 202, snake_case everywhere (D58);
- os-volume-types: Cinder's `{"volume_types": [{id, name, extra_specs}]}` (D59, #1211/#1212);
- instance-action show: 200 without `events` (D62); limits: no server-group keys, `rate: []` (D64);
- a metadata item PUT takes `meta`, or a `metadata` wrapper holding exactly the URL's key (D43, section 6).
"""
from __future__ import annotations

from typing import Any

from aiohttp import web

from nodecompute.api import images, server_metadata, validation, volume_attachments
from nodecompute.api.auth import context
from nodecompute.api.dialects.openstack import OPENSTACK
from nodecompute.api.keys import block_storage_key, config_key
from nodecompute.api.respond import Out, Reply, respond
from nodecompute.api.routing import Handler
from nodecompute.domain.models import zulu

V2 = (2, 0)
SERVER_GROUP_LIMITS = ("maxServerGroups", "maxServerGroupMembers", "totalServerGroupsUsed")
KEYPAIR_SHOWN = ("fingerprint", "name", "public_key")


def _core(op: str):
    return OPENSTACK.views[op].at(V2)


def _keypair_shown(out: Out, keypair: Any) -> dict[str, Any]:
    shown = _core("#903")(out, keypair)["keypair"]
    return {"keypair": {key: shown[key] for key in KEYPAIR_SHOWN}}


def _limits(out: Out, result: Any) -> dict[str, Any]:
    body = _core("#106")(out, result)
    absolute = body["limits"]["absolute"]
    for key in SERVER_GROUP_LIMITS:
        absolute.pop(key, None)
    body["limits"]["rate"] = []
    return body


def _action_shown(out: Out, found: Any) -> dict[str, Any]:
    body = _core("#1702")(out, found)
    body["instanceAction"].pop("events", None)
    return body


async def attach(request: web.Request) -> web.StreamResponse:
    """`device: "auto"` (or none): the host picks the device, as Nova does without one."""
    body = await validation.json_body(request)
    inner = body.get("volumeAttachment")
    if isinstance(inner, dict) and inner.get("device") == "auto":
        del inner["device"]
    request[validation.ADAPTED_BODY] = body
    return await volume_attachments.attach(request)


def _meta_item(core: Handler) -> Handler:
    async def handler(request: web.Request) -> web.StreamResponse:
        body = await validation.json_body(request)
        wrapped = body.get("metadata")
        if "meta" not in body and isinstance(wrapped, dict) and list(wrapped) == [request.match_info["key"]]:
            body = {"meta": wrapped, **{k: v for k, v in body.items() if k != "metadata"}}
        request[validation.ADAPTED_BODY] = body
        return await core(request)
    return handler


set_server_metadata_item = _meta_item(server_metadata.set_metadata_item)
set_image_metadata_item = _meta_item(images.set_metadata_item)


# ----- os-volumes, os-snapshots -------------------------------------------------------------------------------

def _default_type(out: Out) -> str:
    return out.request.config_dict[config_key].volume.default_volume_type


def _camel_volume(out: Out, volume: dict[str, Any]) -> dict[str, Any]:
    if volume.get("volumeType") == _default_type(out):
        volume["volumeType"] = "None"
    return volume


def _volumes(op: str):
    def view(out: Out, volumes: Any) -> dict[str, Any]:
        body = _core(op)(out, volumes)
        for volume in body["volumes"]:
            _camel_volume(out, volume)
        return body
    return view


def _volume_shown(out: Out, volume: Any) -> dict[str, Any]:
    body = _core("#1204")(out, volume)
    _camel_volume(out, body["volume"])
    return body


def _volume_created(out: Out, volume: Any) -> Reply:
    """Seed 002 4.4.13.3: the create answer is snake_case, `created_at` with Z, `attachments` []."""
    reply = _core("#1203")(out, volume)
    shown = reply.body["volume"]
    body = {"volume": {
        "id": shown["id"], "display_name": shown["displayName"], "display_description": shown["displayDescription"],
        "size": shown["size"], "volume_type": None if shown["volumeType"] == _default_type(out) else
        shown["volumeType"], "metadata": shown["metadata"], "availability_zone": shown["availabilityZone"],
        "snapshot_id": shown["snapshotId"], "attachments": [], "created_at": zulu(volume.created_at)}}
    return Reply(body, headers=reply.headers)


def snapshot_view(snapshot: Any) -> dict[str, Any]:
    """Seed 002 4.4.13.6-9: snake_case, `created_at` with Z."""
    return {"id": snapshot.id, "display_name": snapshot.name, "display_description": snapshot.description,
            "volume_id": snapshot.volume_id, "status": snapshot.status, "size": snapshot.size,
            "created_at": zulu(snapshot.created_at)}


# ----- os-volume-types ----------------------------------------------------------------------------------------

def _volume_type_view(volume_type: Any) -> dict[str, Any]:
    return {"id": volume_type.id, "name": volume_type.name, "extra_specs": dict(volume_type.extra_specs)}


async def list_volume_types(request: web.Request) -> web.StreamResponse:
    return respond(request, request.config_dict[block_storage_key].types.list(context(request)))


async def show_volume_type(request: web.Request) -> web.StreamResponse:
    types = request.config_dict[block_storage_key].types
    return respond(request, types.get_by_name_or_id(context(request), request.match_info["volume_type_id"]))


VIEWS = {
    "#903": _keypair_shown, "#106": _limits, "#1702": _action_shown,
    "#1201": _volumes("#1201"), "#1202": _volumes("#1202"), "#1203": _volume_created, "#1204": _volume_shown,
    "#1206": lambda out, found: {"snapshots": [snapshot_view(s) for s in found]},
    "#1207": lambda out, found: {"snapshots": [snapshot_view(s) for s in found]},
    "#1208": lambda out, snapshot: {"snapshot": snapshot_view(snapshot)},
    "#1209": lambda out, snapshot: {"snapshot": snapshot_view(snapshot)},
    "#1211": lambda out, found: {"volume_types": [_volume_type_view(t) for t in found]},
    "#1212": lambda out, found: {"volume_type": _volume_type_view(found)},
}
STATUSES = {"#902": 202, "#1102": 202, "#1203": 202, "#1208": 202}
