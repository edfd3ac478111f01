"""Servers: list, detail, show, create, update, delete (#201-#203, #205-#207).

Each handler parses (the pure `parse_*`/`decode_*` functions below), makes one service call and responds; the
dialect picks the view and status (server_views.py for the openstack dialect). The service is
`request.config_dict[servers_key]` (compute/servers.py::ServerService).
"""
from __future__ import annotations

import base64
import binascii
import ipaddress
import re
import socket
from collections.abc import Collection
from typing import Any

from aiohttp import web

from nodecompute.api import auth
from nodecompute.api.keys import config_key, large_list_gate_key, rendered_servers_key, root_app, servers_key
from nodecompute.api.rendered_pages import respond_page
from nodecompute.api.respond import parse_body, respond, rules
from nodecompute.api.server_list_query import parsed_list_query
from nodecompute.api.validation import to_bool
from nodecompute.domain.errors import BadRequest, PolicyNotAuthorized, ValidationError
from nodecompute.domain.server_models import (BlockDeviceRequest, CreateRequest, DeviceTag, InjectedFileSpec,
                                              NetworkRequest)

_WHITESPACE = re.compile(r"\s")
_BASE64 = re.compile(r"^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$")  # Nova's B64_REGEX
_UPDATE_COLUMNS = {"name": "name", "accessIPv4": "access_ipv4", "accessIPv6": "access_ipv6",
                   "OS-DCF:diskConfig": "disk_config", "description": "description", "hostname": "hostname",
                   "pinned_availability_zone": "pinned_availability_zone"}


def canonical_ipv6(text: str) -> str:
    """An IPv6 address as Nova stores it (netaddr's compact form: lower case, zeros compressed, a mapped or
    compatible IPv4 address dotted); "" stays "". The schema has checked it is an address."""
    if not text:
        return text
    return socket.inet_ntop(socket.AF_INET6, ipaddress.IPv6Address(text).packed)



# ----- create body ---------------------------------------------------------------------------------------------

def decode_base64(text: str) -> bytes | None:
    """Strict base64 (line breaks allowed, as MIME wraps it); None when it is not valid."""
    compact = _WHITESPACE.sub("", text)
    if not _BASE64.match(compact):
        return None
    try:
        return base64.b64decode(compact, validate=True)
    except (binascii.Error, ValueError):
        return None


def _personality(items: list[dict]) -> tuple[InjectedFileSpec, ...]:
    files = []
    for item in items:
        contents = decode_base64(item["contents"])
        if contents is None:
            raise BadRequest(f"Personality content for {item['path']} cannot be decoded")
        files.append(InjectedFileSpec(path=item["path"], contents=contents))
    return tuple(files)


def _user_data(value: str | None) -> bytes | None:
    if value is None:
        return None
    decoded = decode_base64(value)
    if decoded is None:
        raise ValidationError(f"Invalid input for field/attribute user_data. Value: {value}. "
                              f"'{value}' is not a 'base64'")
    return decoded


def _int_or_none(value: Any) -> int | None:
    return None if value is None else int(value)


def _block_device(mapping: dict, legacy: bool) -> BlockDeviceRequest:
    """One schema-valid mapping -> its record (compute/block_devices.py decides what it means)."""
    return BlockDeviceRequest(
        source_type=mapping.get("source_type"), destination_type=mapping.get("destination_type"),
        boot_index=_int_or_none(mapping.get("boot_index")), uuid=mapping.get("uuid") or mapping.get("image_id"),
        volume_id=mapping.get("volume_id"), snapshot_id=mapping.get("snapshot_id"),
        volume_size=_int_or_none(mapping.get("volume_size")), device_name=mapping.get("device_name"),
        device_type=mapping.get("device_type"), disk_bus=mapping.get("disk_bus"),
        guest_format=mapping.get("guest_format"),
        delete_on_termination=to_bool(mapping.get("delete_on_termination", False)),
        no_device="no_device" in mapping and mapping["no_device"] not in (None, False), legacy=legacy,
        volume_type=mapping.get("volume_type"), tag=mapping.get("tag"),
        virtual_name=mapping.get("virtual_name") if legacy else None,
    )


def _block_devices(server: dict) -> tuple[BlockDeviceRequest, ...]:
    return (tuple(_block_device(m, legacy=True) for m in server.get("block_device_mapping") or ())
            + tuple(_block_device(m, legacy=False) for m in server.get("block_device_mapping_v2") or ()))


def _networks(value: Any) -> str | tuple[NetworkRequest, ...] | None:
    if value is None or isinstance(value, str):
        return value
    return tuple(NetworkRequest(uuid=n.get("uuid"), port=n.get("port"), fixed_ip=n.get("fixed_ip"),
                                tag=n.get("tag")) for n in value)


def _device_tags(server: dict) -> tuple[DeviceTag, ...]:
    """The device tags of a create body (the schema lets them through only at the versions that take them)."""
    found = [DeviceTag("disk", index, item["tag"])
             for index, item in enumerate(server.get("block_device_mapping_v2") or []) if "tag" in item]
    networks = server.get("networks")
    if isinstance(networks, list):
        found += [DeviceTag("nic", index, item["tag"]) for index, item in enumerate(networks) if "tag" in item]
    return tuple(found)


def decode_create(body: dict, description_is_name: bool = False) -> CreateRequest:
    """A schema-valid create body -> CreateRequest; 400 for what the schema cannot say about the body itself (the
    block device mappings and networks are checked by the service: compute/block_devices.py,
    requested_networks.py). `description_is_name`: the rule before 2.19 (server_schemas.CreateRules)."""
    server = body["server"]
    min_count = int(server.get("min_count", 1))
    max_count = int(server.get("max_count", min_count))
    if min_count > max_count:
        raise BadRequest("min_count must be <= max_count")
    if server.get("hostname") and max_count > 1:  # 2.90 (Nova's AmbiguousHostnameForMultipleInstances)
        raise BadRequest("Unable to allocate a single hostname to multiple instances")
    hints = body.get("os:scheduler_hints", body.get("OS-SCH-HNT:scheduler_hints", {}))
    return CreateRequest(
        name=server["name"],
        image_ref=server["imageRef"],
        flavor_ref=str(server["flavorRef"]),
        metadata=dict(server.get("metadata", {})),
        personality=_personality(server.get("personality", [])),
        user_data=_user_data(server.get("user_data")),
        config_drive=to_bool(server.get("config_drive", False)),
        key_name=server.get("key_name"),
        availability_zone=server.get("availability_zone"),
        access_ipv4=server.get("accessIPv4", ""),
        access_ipv6=canonical_ipv6(server.get("accessIPv6", "")),
        disk_config=server.get("OS-DCF:diskConfig"),
        min_count=min_count,
        max_count=max_count,
        return_reservation_id=to_bool(server.get("return_reservation_id", False)),
        scheduler_hints=dict(hints),
        admin_pass=server.get("adminPass"),
        description=server["name"] if description_is_name else server.get("description"),
        tags=tuple(server.get("tags", ())),
        device_tags=_device_tags(server),
        trusted_certs=tuple(server.get("trusted_image_certificates") or ()),
        requested_host=server.get("host"),
        requested_node=server.get("hypervisor_hostname"),
        hostname=server.get("hostname"),
        block_devices=_block_devices(server),
        networks=_networks(server.get("networks")),
        security_groups=tuple(group.get("name") for group in server.get("security_groups", [])),
    )


# ----- handlers ------------------------------------------------------------------------------------------------

async def _list(request: web.Request, kind: str) -> web.StreamResponse:
    ctx = auth.context(request)
    root = root_app(request)
    parsed = parsed_list_query(request, ctx, root[config_key].host_name)
    if parsed.filters.all_tenants and not ctx.is_admin:
        raise PolicyNotAuthorized(action=f"os_compute_api:servers:{kind}:get_all_tenants")
    service = root[servers_key]
    async with root[large_list_gate_key]:
        version = service.data_version()  # one read for both caches: the rendered servers and the kept lists

        async def fetch(known: Collection[str]) -> list:
            if parsed.matches_nothing:
                return []
            return await service.list(ctx, parsed.filters, brief=kind == "index", known=known, version=version)
        return await respond_page(request, root[rendered_servers_key], version, parsed.filters.limit, fetch)


async def list_servers(request: web.Request) -> web.StreamResponse:
    return await _list(request, "index")


async def list_servers_detail(request: web.Request) -> web.StreamResponse:
    return await _list(request, "detail")


async def show_server(request: web.Request) -> web.StreamResponse:
    server = request.config_dict[servers_key].get(auth.context(request), request.match_info["server_id"])
    return respond(request, server)


async def create_server(request: web.Request) -> web.StreamResponse:
    ctx = auth.require_writer(request, "os_compute_api:servers:create")
    create = decode_create(await parse_body(request), rules(request).description_is_name)
    if (create.requested_host or create.requested_node) and not ctx.is_admin:  # 2.74, Nova's default: admins
        raise PolicyNotAuthorized(action="compute:servers:create:requested_destination")
    return respond(request, (create, await request.config_dict[servers_key].create(ctx, create)))


async def update_server(request: web.Request) -> web.StreamResponse:
    ctx = auth.require_writer(request, "os_compute_api:servers:update")
    body = await parse_body(request)
    values = {column: body["server"][field] for field, column in _UPDATE_COLUMNS.items() if field in body["server"]}
    if "access_ipv6" in values:
        values["access_ipv6"] = canonical_ipv6(values["access_ipv6"])
    return respond(request, await request.config_dict[servers_key].update(ctx, request.match_info["server_id"], values))


async def delete_server(request: web.Request) -> web.StreamResponse:
    ctx = auth.require_writer(request, "os_compute_api:servers:delete")
    await request.config_dict[servers_key].delete(ctx, request.match_info["server_id"])
    return respond(request)
