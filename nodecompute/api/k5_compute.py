"""K5's compute differences (issue 25, dialects.md k5 column and section 6), as views, statuses and the few
vendor handlers the K5 face serves instead of the core's rows:

- create (#203): `networks` required; `config_drive` only false-ish, at server level or inside a mapping;
  `imageRef` without a boot mapping is refused (K5 servers boot from volumes: the mapping goes to the core create
  unchanged); the guest host name derived by K5's rules (D34, inventory 3.8);
- the server views: STOPPED for SHUTOFF (D28) and `?status=STOPPED` listing the stopped servers, a reboot's status
  following the type asked though every reboot is hard (D36), `OS-SCH-HNT:scheduler_hints` on dedicated servers
  (D25);
- GET /flavors detailed (D51), a flavor with K5's keys only; server metadata POST 202 echoing only the keys sent (D42);
- image show and every image-metadata call denied by role answer 500 (D14).
"""
from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from typing import Any

from aiohttp import web

from nodecompute.api import auth, flavors, k5_images, server_views, servers
from nodecompute.api.keys import servers_key
from nodecompute.api.respond import Out, parse_body, respond, rules
from nodecompute.api.routing import Handler, Route
from nodecompute.api.validation import FALSE_STRINGS, json_body, to_bool
from nodecompute.compute.instance_metadata import ADDRESS_HOSTNAME
from nodecompute.domain import errors

BOOT_FROM_VOLUME = "K5 servers boot from volumes: give block_device_mapping_v2"
VOLUME_DESTINATION = 'K5 servers boot from volumes: destination_type may only be "volume"'
CONFIG_DRIVE = "K5 servers read their data from the metadata service: config_drive may only be false"
NETWORKS_REQUIRED = "Invalid input for field/attribute server. Value: networks is a required property"
HOST_NAME_LIMIT = 64  # names this long or longer are not used as host names (inventory 3.8)
ROLE_DENIED_IS_500 = ("#703", "#705", "#706", "#707", "#708", "#709", "#710")  # D14
DEDICATED = "fcx.dedicated"


# ----- create --------------------------------------------------------------------------------------------------

def _false_ish(value: Any) -> bool:
    return value is None or value is False or (isinstance(value, str) and value.strip().lower() in FALSE_STRINGS
                                               + ("",))


def check_create(body: Any) -> None:
    """K5's rules on a create body, before the core's checks (D9, D22, D65, section 6)."""
    if not isinstance(body, dict) or not isinstance(body.get("server"), dict):
        return  # the core's schema answers
    server = body["server"]
    if "networks" not in server:
        raise errors.BadRequest(NETWORKS_REQUIRED)
    mappings = server.get("block_device_mapping_v2")
    entries = mappings if isinstance(mappings, list) else []
    places = [server] + [entry for entry in entries if isinstance(entry, dict)]
    if any("config_drive" in place and not _false_ish(place["config_drive"]) for place in places):
        raise errors.BadRequest(CONFIG_DRIVE)
    if server.get("imageRef") and not entries:
        raise errors.BadRequest(BOOT_FROM_VOLUME)
    # "Specifies the connection destination ("volume")" (seed 003 section 1.2.6.2): the only one K5 documents; one
    # left out would be the core's local disk (compute/block_devices.py)
    if any(entry.get("destination_type") != "volume" for entry in entries if isinstance(entry, dict)):
        raise errors.BadRequest(VOLUME_DESTINATION)


def host_name(name: str) -> str | None:
    """K5's guest host name for a server name (D34, inventory 3.8, Linux): for names of 64 characters or more
    `host-<eth0 fixed IP>` (the core fills it in once the ports are plugged: instance_metadata.ADDRESS_HOSTNAME,
    the address's dots as hyphens, as Neutron names a port's host); None for names that leave nothing (the core's
    default then)."""
    if len(name) >= HOST_NAME_LIMIT:
        return ADDRESS_HOSTNAME
    text = re.sub(r"[ _]", "-", name).lower()
    text = re.sub(r"[^a-z0-9.\-]", "", text).strip(".")
    return None if not text or set(text) <= {"-"} else text


async def create_server(request: web.Request) -> web.StreamResponse:
    """#203 in K5: its rules, its host name, then the core create (a volume mapping goes through unchanged)."""
    ctx = auth.require_writer(request, "os_compute_api:servers:create")
    check_create(await json_body(request))
    create = servers.decode_create(await parse_body(request), rules(request).description_is_name)
    create = dataclasses.replace(create, no_config_drive=True)  # D65: the metadata service, even if one is forced
    hostname = host_name(create.name)
    if hostname is not None and create.max_count == 1:  # siblings of a multi-create keep the core's <name>-<n> names
        create = dataclasses.replace(create, hostname=hostname)
    return respond(request, (create, await request.config_dict[servers_key].create(ctx, create)))


# ----- metadata POST -------------------------------------------------------------------------------------------

async def merge_metadata(request: web.Request) -> web.StreamResponse:
    """#403 in K5: merged as in the core, answered 202 with only the keys sent (D42)."""
    ctx = auth.require_writer(request, "os_compute_api:server-metadata:create")
    sent = (await parse_body(request))["metadata"]
    await request.config_dict[servers_key].set_metadata(ctx, request.match_info["server_id"], sent, replace=False)
    return respond(request, sent)


# ----- views ---------------------------------------------------------------------------------------------------

def _k5_part(view: dict, server: Any, out: Out) -> None:
    """STOPPED for SHUTOFF (D28); a dedicated server shows its hint (D25). (D36's REBOOT for a reboot asked SOFT is
    the core's: k5_resources.py runs it as a soft reboot doing the hard work.)"""
    if view.get("status") == "SHUTOFF":
        view["status"] = "STOPPED"
    if to_bool(server.scheduler_hints.get(DEDICATED, False)):
        view["OS-SCH-HNT:scheduler_hints"] = {DEDICATED: "True"}


def _with_k5(parts: tuple) -> tuple:
    return parts + (_k5_part,)


# K5's flavor (§1.2.6.46, §1.2.6.47 examples): these keys only
FLAVOR_KEYS = ("disk", "id", "links", "name", "os-flavor-access:is_public", "ram", "vcpus")


def _k5_flavors(view):
    def k5_view(out: Out, result: Any) -> dict:
        body = view(out, result)
        for flavor in body.get("flavors", [body.get("flavor")]):
            for key in set(flavor) - set(FLAVOR_KEYS):
                del flavor[key]
        return body
    return k5_view


VIEWS = {
    "#202": server_views.DETAIL_PARTS.map(lambda parts: server_views.detail_page(_with_k5(parts))),
    "#205": server_views.SHOW_PARTS.map(lambda parts: server_views.one_server(_with_k5(parts))),
    "#206": server_views.UPDATE_PARTS.map(lambda parts: server_views.one_server(_with_k5(parts))),
    "#601": flavors.DETAIL.map(lambda view: _k5_flavors(flavors.flavor_page(view, "flavors"))),
    "#602": flavors.VIEWS["#602"].map(_k5_flavors),
    "#603": flavors.VIEWS["#603"].map(_k5_flavors),
    "#403": lambda out, sent: {"metadata": dict(sent)},
    **k5_images.VIEWS,
}
STATUSES = {"#403": 202}


# ----- routes --------------------------------------------------------------------------------------------------

def _role_denied_is_500(handler: Handler) -> Handler:
    """D14: K5 answers an image show or image-metadata call its role does not allow with a 500."""
    async def k5_handler(request: web.Request) -> web.StreamResponse:
        try:
            return await handler(request)
        except errors.PolicyNotAuthorized as denied:
            failure = errors.ComputeError(denied.message)
            raise failure from denied
    return k5_handler


def _stopped_is_shutoff(handler: Handler) -> Handler:
    """D28: `?status=STOPPED` is the core's SHUTOFF filter."""
    async def k5_handler(request: web.Request) -> web.StreamResponse:
        asked = request.query.getall("status", [])
        if any(status.strip().upper() == "STOPPED" for status in asked):
            query = request.rel_url.query.copy()
            query.popall("status")
            for status in asked:
                query.add("status", "SHUTOFF" if status.strip().upper() == "STOPPED" else status)
            request = request.clone(rel_url=request.rel_url.with_query(query))
        return await handler(request)
    return k5_handler


_HANDLERS: Mapping[str, Handler] = {"#203": create_server, "#403": merge_metadata, **k5_images.HANDLERS}


def k5_rows(routes: tuple[Route, ...]) -> tuple[Route, ...]:
    """The compute rows with K5's handlers where K5 differs."""
    changed = []
    for route in routes:
        if route.op in _HANDLERS:
            route = route._replace(handler=_HANDLERS[route.op])
        elif route.op in k5_images.METADATA_WRITES:
            route = route._replace(handler=_role_denied_is_500(k5_images.needs_checksum(route.op, route.handler)))
        elif route.op in ("#201", "#202"):
            route = route._replace(handler=_stopped_is_shutoff(route.handler))
        elif route.op in ROLE_DENIED_IS_500:
            route = route._replace(handler=_role_denied_is_500(route.handler))
        changed.append(route)
    return tuple(changed)
