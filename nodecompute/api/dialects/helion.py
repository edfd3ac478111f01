"""The `helion` dialect: HP Helion Public Cloud's compute API (seed 002; the helion column of dialects.md) at
`/helion/v2/{project_id}/...`, over the same core as the openstack dialect.

It is the openstack dialect's legacy v2 (fixed at 2.0, Nova's legacy relaxation of bodies) with Helion's
deviations as data: its version documents (`/helion/v2`, `/helion/`, D1), its 26 extensions (D3), JSON or XML both
ways (D4-D6, api/helion_wire.py), 405 `badMethod` with `Allow` for a known URL and another method (D8), the
`unauthorized` fault for 401 (D12), `cloudServersFault` for 500 and unnamed codes, `details` where the seed shows
it (D13), 413 `overLimit` for quota (D15). No rate limiting (D16). `/helion/identity` is the one token store with
a catalogue whose compute entry points here (operations.md #2206).
"""
from __future__ import annotations

from collections.abc import Mapping

from aiohttp import web

from nodecompute.api import (faults, helion_actions, helion_discovery, helion_ids, helion_networking,
                             helion_resources, helion_servers, helion_wire)
from nodecompute.api.dialect import Faults, Versioned, VersionRoot, route_filter, versioned
from nodecompute.api.dialects.identity import IDENTITY
from nodecompute.api.dialects.openstack import OPENSTACK
from nodecompute.api.route_table import ROUTES
from nodecompute.api.routing import Route
from nodecompute.compute.images import ImagePropertyLimit
from nodecompute.domain import request_ids
from nodecompute.domain.errors import QuotaExceeded, Unauthorized

PREFIX = "/helion"
HELION_DEFAULT_FAULT = "cloudServersFault"

_VERSION_DOCS = {"#101", "#102", "#103", "compute:choices"}
_OWN_ROUTES = (
    Route("helion", "helion:versions", "GET", "", helion_discovery.show_version, token=False, versioned=False),
    Route("helion", "helion:versions", "GET", "/", helion_discovery.show_version, token=False, versioned=False),
    Route("helion", "helion:version", "GET", "/v2", helion_discovery.show_version, token=False, versioned=False),
    Route("helion", "helion:version", "GET", "/v2/", helion_discovery.show_version, token=False, versioned=False),
    Route("compute", "#104", "GET", "/extensions", helion_discovery.list_extensions),
    Route("compute", "#105", "GET", "/extensions/{alias}", helion_discovery.show_extension),
    Route("compute", "#203", "POST", "/servers", helion_servers.create_server),
    Route("compute", "#206", "PUT", "/servers/{server_id}", helion_servers.update_server),
    Route("compute", "#301", "POST", "/servers/{server_id}/action", helion_actions.server_action,
          actions=helion_actions.ACTIONS),
    Route("compute", "#1102", "POST", "/servers/{server_id}/os-volume_attachments", helion_resources.attach),
    Route("compute", "#1211", "GET", "/os-volume-types", helion_resources.list_volume_types),
    Route("compute", "#1212", "GET", "/os-volume-types/{volume_type_id}", helion_resources.show_volume_type),
    Route("compute", "#405", "PUT", "/servers/{server_id}/metadata/{key}", helion_resources.set_server_metadata_item),
    Route("compute", "#709", "PUT", "/images/{image_id}/metadata/{key}", helion_resources.set_image_metadata_item,
          until=(2, 38)),
    *helion_networking.ROUTES,
)

_REPLACED = {route.op for route in _OWN_ROUTES}  # the core rows Helion serves with its own handlers


def helion_fault(code: int, name: str, message: str, headers: Mapping[str, str] | None = None) -> web.Response:
    """Nova's fault body, plus `details` where Helion's examples show it: for `overLimit` the explanation of the
    refusal (the limit's message), for `cloudServersFault` the request id the service logged the error under (a
    stack trace stays in the log). No `retryAfter` in the body (D16)."""
    body: dict = {"code": code, "message": message}
    if name == "overLimit":
        body["details"] = message
    elif name == HELION_DEFAULT_FAULT:
        body["details"] = f"The service logged this error under request {request_ids.current()}."
    return faults.json_response({name: body}, status=code, headers=headers)


HELION_FAULTS = Faults(helion_fault, faults.NOVA_FAULT_NAMES, HELION_DEFAULT_FAULT,
                       by_class={QuotaExceeded: (413, "overLimit"), ImagePropertyLimit: (413, "overLimit"),
                                 helion_actions.ResizeNotAllowed: (403, "resizeNotAllowed")})

HELION = OPENSTACK.derive(
    name="helion",
    prefix=PREFIX,
    roots=(VersionRoot("/v2", fixed=(2, 0), project_segment=True),),
    routes=route_filter(ROUTES, "compute", lacks=_VERSION_DOCS | _REPLACED, adds=_OWN_ROUTES),
    faults=HELION_FAULTS,
    views=versioned({**helion_discovery.VIEWS, **helion_servers.VIEWS, **helion_resources.VIEWS,
                     **helion_ids.VIEWS}),
    statuses=versioned({**helion_actions.STATUSES, **helion_resources.STATUSES, **helion_networking.STATUSES}),
    checked_queries=Versioned(frozenset()),
    outer_middlewares=(helion_wire.wire_middleware,),
    unauthorized=lambda request: HELION_FAULTS.response(Unauthorized(), Unauthorized.msg_fmt),  # D12
)

HELION_IDENTITY = IDENTITY.derive(
    name="helion-identity",
    prefix=PREFIX + "/identity",
    views=versioned(helion_discovery.IDENTITY_VIEWS),
)
