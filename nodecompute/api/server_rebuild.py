"""The rebuild (#303), rescue (#319) and unrescue (#320) server actions: Nova's schemas by microversion, one call to
the server service (compute/rebuild.py, compute/rescue.py), Nova's answers.

Rebuild answers 202 with the server as the request rewrote it (status REBUILD): the fields of the update view
(PUT), `key_name` from 2.54, `user_data` from 2.57, the full server from 2.75, and `adminPass`. Rescue answers 200
`{"adminPass": ...}`, unrescue 202 with no body.
"""
from __future__ import annotations

import base64
import copy
import dataclasses

from aiohttp import web

from nodecompute.api import auth
from nodecompute.api import server_schemas as schemas
from nodecompute.api import validation as v
from nodecompute.api.actions import Action
from nodecompute.api.dialect import Versioned
from nodecompute.api.keys import api_version_key, servers_key
from nodecompute.api.respond import Out, respond
from nodecompute.api.server_images import normalize_name
from nodecompute.api.server_ips import addresses
from nodecompute.api.server_views import UPDATE_PARTS, render
from nodecompute.api.servers import _personality, _user_data, canonical_ipv6
from nodecompute.compute.rebuild import UNCHANGED, RebuildRequest
from nodecompute.domain.server_models import Server

_COLUMNS = {"name": "name", "description": "description", "accessIPv4": "access_ipv4",
            "accessIPv6": "access_ipv6", "OS-DCF:diskConfig": "disk_config", "hostname": "hostname"}
UUID = {"type": "string", "format": "uuid"}  # Nova's parameter_types.image_id


def _rebuild_schema(**properties: dict) -> dict:
    inner = {"type": "object", "properties": {
        "name": v.name, "imageRef": UUID, "adminPass": {"type": "string"}, "metadata": v.metadata,
        "preserve_ephemeral": v.boolean, "OS-DCF:diskConfig": schemas.disk_config, "accessIPv4": schemas.ipv4,
        "accessIPv6": schemas.ipv6, "personality": {"type": "array", "items": schemas._personality_file},
        **properties}, "required": ["imageRef"], "additionalProperties": False}
    return {"type": "object", "properties": {"rebuild": inner}, "required": ["rebuild"], "additionalProperties": False}


def _without_personality(schema: dict, **properties: dict) -> dict:
    schema = copy.deepcopy(schema)
    inner = schema["properties"]["rebuild"]["properties"]
    inner.pop("personality")
    inner.update(properties)
    return schema


# Nova's rebuild, rebuild_v20, _v219, _v254, _v257, _v263, _v290, _v294
rebuild = _rebuild_schema()
rebuild_v20 = _rebuild_schema(name=schemas.legacy_name)
rebuild_v219 = _rebuild_schema(description=schemas.description)
rebuild_v254 = _rebuild_schema(description=schemas.description, key_name=schemas.NAME_OR_NONE)
rebuild_v257 = _without_personality(rebuild_v254, user_data={"type": ["string", "null"], "maxLength": 65535})
rebuild_v263 = _without_personality(rebuild_v254, user_data={"type": ["string", "null"], "maxLength": 65535},
                                    trusted_image_certificates=schemas.TRUSTED_CERTS)
rebuild_v290 = copy.deepcopy(rebuild_v263)
rebuild_v290["properties"]["rebuild"]["properties"]["hostname"] = schemas.HOSTNAME
rebuild_v294 = copy.deepcopy(rebuild_v263)
rebuild_v294["properties"]["rebuild"]["properties"]["hostname"] = schemas.FQDN

rescue = {"type": "object", "properties": {"rescue": {
    "type": ["object", "null"], "properties": {"adminPass": {"type": "string"}, "rescue_image_ref": UUID},
    "additionalProperties": False}}, "required": ["rescue"], "additionalProperties": False}
unrescue = {"type": "object", "properties": {"unrescue": {}}, "required": ["unrescue"], "additionalProperties": False}


def parse_rebuild(body: dict) -> RebuildRequest:
    """A schema-valid rebuild body (the schema of its microversion let through only the keys it takes)."""
    inner = body["rebuild"]
    columns = {column: inner[key] for key, column in _COLUMNS.items() if key in inner}
    if "name" in columns:
        columns["name"] = normalize_name(columns["name"])
    if "access_ipv6" in columns:
        columns["access_ipv6"] = canonical_ipv6(columns["access_ipv6"])
    return RebuildRequest(
        image_ref=inner["imageRef"], admin_pass=inner.get("adminPass"), columns=columns,
        metadata=dict(inner["metadata"]) if "metadata" in inner else None,
        personality=_personality(inner.get("personality", [])),
        key_name=inner["key_name"] if "key_name" in inner else UNCHANGED,
        user_data=_user_data(inner["user_data"]) if "user_data" in inner else UNCHANGED,
        trusted_certs=tuple(inner.get("trusted_image_certificates") or ()),
        preserve_ephemeral=v.to_bool(inner.get("preserve_ephemeral", False)))


async def action_rebuild(request: web.Request, body: dict) -> web.StreamResponse:
    service = request.config_dict[servers_key]
    req = dataclasses.replace(parse_rebuild(body), reimage_boot_volume=request[api_version_key] >= (2, 93))
    result = await service.rebuilds.rebuild(auth.context(request), request.match_info["server_id"], req)
    return respond(request, result)


async def action_rescue(request: web.Request, body: dict) -> web.StreamResponse:
    inner = body["rescue"] or {}
    password = await request.config_dict[servers_key].rescues.rescue(
        auth.context(request), request.match_info["server_id"], inner.get("rescue_image_ref"), inner.get("adminPass"),
        allow_volume_backed=request[api_version_key] >= (2, 87))
    return respond(request, password)


async def action_unrescue(request: web.Request, body: dict) -> web.StreamResponse:
    await request.config_dict[servers_key].rescues.unrescue(auth.context(request), request.match_info["server_id"])
    return respond(request)


def _rebuilt(out: Out, result: tuple[Server, str]) -> dict:
    """Nova's rebuild answer: the update view's parts at this version, then key_name (2.54), adminPass and
    user_data (2.57); the addresses without their MAC and type until 2.75."""
    server, admin_pass = result
    view = render(UPDATE_PARTS.at(out.version), server, out)
    view.pop("OS-EXT-SRV-ATTR:user_data", None)  # 2.75: Nova's rebuild view shows it as `user_data` only
    view["addresses"] = addresses(server, extended=out.version >= (2, 75))  # Nova's extend_address
    if out.version >= (2, 54):
        view.setdefault("key_name", server.key_name)
    view["adminPass"] = admin_pass
    if out.version >= (2, 57):
        view["user_data"] = base64.b64encode(server.user_data).decode() if server.user_data is not None else None
    return {"server": view}


ACTIONS = {
    "rebuild": Action("#303", action_rebuild, "os_compute_api:servers:rebuild"),
    "rescue": Action("#319", action_rescue, "os_compute_api:os-rescue"),
    "unrescue": Action("#320", action_unrescue, "os_compute_api:os-unrescue"),
}
STATUSES = {"#303": 202, "#319": 200, "#320": 202}
VIEWS = {"#303": _rebuilt, "#319": lambda out, password: {"adminPass": password}}
BODIES = {
    "#303": Versioned(rebuild_v20, ((2, 1), rebuild), ((2, 19), rebuild_v219), ((2, 54), rebuild_v254),
                      ((2, 57), rebuild_v257), ((2, 63), rebuild_v263), ((2, 90), rebuild_v290),
                      ((2, 94), rebuild_v294)),
    "#319": rescue,
    "#320": unrescue,
}
