"""Interface attachments (#1301-#1304, Nova's attach_interfaces): list, show, attach (hot-plug) and detach a
server's ports. The attachment view is Nova's (`net_id`, `port_id`, `mac_addr`, `port_state`, `fixed_ips`), with
the device `tag` from 2.70; attach takes a `tag` from 2.49."""
from __future__ import annotations

from aiohttp import web

from nodecompute.api import auth
from nodecompute.api.dialect import Versioned
from nodecompute.api.keys import servers_key
from nodecompute.api.respond import parse_body, respond

_fixed_ip = {"type": "object", "properties": {"ip_address": {"type": "string", "format": "ipv4"}},
             "required": ["ip_address"], "additionalProperties": False}
_uuid = {"type": "string", "format": "uuid"}
DEVICE_TAG = {"type": "string", "maxLength": 60, "pattern": "^[^,/]*$"}  # Nova's parameter_types.tag


def _create_schema(with_tag: bool) -> dict:
    properties = {"net_id": _uuid, "port_id": _uuid,
                  "fixed_ips": {"type": "array", "minItems": 1, "maxItems": 1, "items": _fixed_ip}}
    if with_tag:
        properties["tag"] = DEVICE_TAG
    return {"type": "object", "properties": {"interfaceAttachment": {
        "type": "object", "properties": properties, "additionalProperties": False}},
        "additionalProperties": False}


def attachment(nic, port, *, with_tag: bool) -> dict:
    view = {"net_id": port.network_id, "port_id": port.id, "mac_addr": port.mac_address,
            "port_state": port.status,
            "fixed_ips": [{"subnet_id": f.subnet_id, "ip_address": f.ip_address} for f in port.fixed_ips]}
    if with_tag:
        view["tag"] = nic.tag
    return view


def _service(request: web.Request):
    return request.config_dict[servers_key].interfaces


async def list_interfaces(request: web.Request) -> web.StreamResponse:
    return respond(request, _service(request).list(auth.context(request), request.match_info["server_id"]))


async def show_interface(request: web.Request) -> web.StreamResponse:
    found = _service(request).get(auth.context(request), request.match_info["server_id"],
                                  request.match_info["port_id"])
    return respond(request, found)


async def attach_interface(request: web.Request) -> web.StreamResponse:
    ctx = auth.require_writer(request, "os_compute_api:os-attach-interfaces:create")
    body = (await parse_body(request) or {}).get("interfaceAttachment") or {}
    fixed = body.get("fixed_ips") or [{}]
    found = await _service(request).attach(ctx, request.match_info["server_id"], port_id=body.get("port_id"),
                                           net_id=body.get("net_id"), fixed_ip=fixed[0].get("ip_address"),
                                           tag=body.get("tag"))
    return respond(request, found)


async def detach_interface(request: web.Request) -> web.StreamResponse:
    ctx = auth.require_writer(request, "os_compute_api:os-attach-interfaces:delete")
    await _service(request).detach(ctx, request.match_info["server_id"], request.match_info["port_id"])
    return respond(request)


def _one(with_tag: bool):
    return lambda out, found: {"interfaceAttachment": attachment(*found, with_tag=with_tag)}


def _many(with_tag: bool):
    return lambda out, found: {"interfaceAttachments": [attachment(n, p, with_tag=with_tag) for n, p in found]}


def _by_version(make) -> Versioned:
    return Versioned(make(False), ((2, 70), make(True)))


VIEWS = {"#1301": _by_version(_many), "#1302": _by_version(_one), "#1303": _by_version(_one)}
STATUSES = {"#1304": 202}
BODIES = {"#1302": Versioned(_create_schema(False), ((2, 49), _create_schema(True)))}
