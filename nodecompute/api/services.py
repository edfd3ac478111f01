"""os-services (#2114-#2118, #2124, #2125) at every microversion; admin only (Nova's os_compute_api:os-services).

- 2.1: list (`host`, `binary` filters), enable, disable, disable-log-reason (by host and binary in the body),
  delete by integer id (409 for a compute service hosting servers).
- 2.11: `forced_down` in the view and PUT /os-services/force-down.
- 2.53: ids are UUIDs; PUT /os-services/{uuid} (`status`, `disabled_reason`, `forced_down`) answers the full
  service, and the enable/disable/disable-log-reason/force-down routes answer 404 (route table).
- 2.69: a service in a down cell would be shown partly: one host has no cells, so nothing changes.
- 2.75: unknown list query parameters give 400.
"""
from __future__ import annotations

import copy
from typing import Any

from aiohttp import web

from nodecompute.api import validation
from nodecompute.api.validation import is_uuid_like
from nodecompute.api.auth import require_admin
from nodecompute.api.dialect import Versioned
from nodecompute.api.keys import api_version_key, host_services_key
from nodecompute.api.respond import Out, QuerySchema, parse_body, parse_query, respond
from nodecompute.domain.errors import BadRequest
from nodecompute.domain.host_models import COMPUTE, INTERNAL_ZONE, Service
from nodecompute.domain.models import isotime

POLICY = "os_compute_api:os-services:%s"
_HOSTNAME = {"type": "string", "minLength": 1, "maxLength": 255,
             "pattern": r"^[a-zA-Z0-9-._]*$"}  # Nova's parameter_types.fqdn
_TEXT = {"type": "string", "minLength": 1, "maxLength": 255}
UPDATE = {"type": "object", "properties": {"host": _HOSTNAME, "binary": _TEXT, "disabled_reason": _TEXT},
          "required": ["host", "binary"], "additionalProperties": False}
UPDATE_V211 = copy.deepcopy(UPDATE)
UPDATE_V211["properties"]["forced_down"] = validation.boolean
UPDATE_V253 = {"type": "object", "additionalProperties": False, "properties": {
    "status": {"type": "string", "enum": ["enabled", "disabled"]}, "disabled_reason": _TEXT,
    "forced_down": validation.boolean}}
_LIST_QUERY = {"type": "object", "properties": {"host": {"type": "string"}, "binary": {"type": "string"}},
               "additionalProperties": True}
LIST_QUERY = Versioned(QuerySchema(_LIST_QUERY), ((2, 75), QuerySchema({**_LIST_QUERY, "additionalProperties": False})))


def _service_id(request: web.Request, version: tuple[int, int]) -> tuple[str, bool]:
    """The path's service id: a UUID from 2.53 (400 otherwise), else an integer (400 otherwise)."""
    service_id = request.match_info["service_id"]
    if version >= (2, 53):
        if not is_uuid_like(service_id):
            raise BadRequest(f"Invalid uuid {service_id}")
        return service_id, True
    if not service_id.lstrip("-").isdigit():
        raise BadRequest("Invalid input received: id must be an integer")  # Nova's validate_integer
    return service_id, False


async def list_services(request: web.Request) -> web.StreamResponse:
    require_admin(request, POLICY % "list")
    query = parse_query(request)
    return respond(request, request.config_dict[host_services_key].list(query.get("host"), query.get("binary")))


async def enable_service(request: web.Request) -> web.StreamResponse:
    require_admin(request, POLICY % "update")
    body = await parse_body(request)
    await request.config_dict[host_services_key].update_by_host(
        body["host"], body["binary"], {"disabled": 0, "disabled_reason": None})
    return respond(request, {"host": body["host"], "binary": body["binary"], "status": "enabled"})


async def disable_service(request: web.Request) -> web.StreamResponse:
    require_admin(request, POLICY % "update")
    body = await parse_body(request)
    await request.config_dict[host_services_key].update_by_host(
        body["host"], body["binary"], {"disabled": 1, "disabled_reason": None})
    return respond(request, {"host": body["host"], "binary": body["binary"], "status": "disabled"})


async def disable_log_reason(request: web.Request) -> web.StreamResponse:
    require_admin(request, POLICY % "update")
    body = await parse_body(request)
    if "disabled_reason" not in body:
        raise BadRequest("Missing disabled reason field")
    reason = body["disabled_reason"]
    await request.config_dict[host_services_key].update_by_host(
        body["host"], body["binary"], {"disabled": 1, "disabled_reason": reason})
    return respond(request, {"host": body["host"], "binary": body["binary"], "status": "disabled",
                             "disabled_reason": reason})


async def force_down(request: web.Request) -> web.StreamResponse:
    require_admin(request, POLICY % "update")
    body = await parse_body(request)
    if "forced_down" not in body:
        raise BadRequest("Missing forced_down field")
    forced = validation.to_bool(body["forced_down"])
    await request.config_dict[host_services_key].update_by_host(body["host"], body["binary"],
                                                               {"forced_down": int(forced)})
    return respond(request, {"host": body["host"], "binary": body["binary"], "forced_down": forced})


async def update_service(request: web.Request) -> web.StreamResponse:
    service_id, _ = _service_id(request, (2, 53))
    require_admin(request, POLICY % "update")
    body = await parse_body(request)
    services = request.config_dict[host_services_key]
    service = services.get(service_id, by_uuid=True)
    values: dict[str, Any] = {}
    status = body.get("status")
    if status == "enabled":
        if body.get("disabled_reason"):
            raise BadRequest("Specifying 'disabled_reason' with status 'enabled' is invalid.")
        values.update(disabled=0, disabled_reason=None)
    elif status == "disabled":
        values.update(disabled=1, disabled_reason=body.get("disabled_reason"))
    if "forced_down" in body:
        values["forced_down"] = int(validation.to_bool(body["forced_down"]))
    if not values:
        raise BadRequest("No updates were requested. Fields 'status' or 'forced_down' should be specified.")
    return respond(request, await services.update(service, values))


async def delete_service(request: web.Request) -> web.StreamResponse:
    service_id, by_uuid = _service_id(request, request[api_version_key])
    require_admin(request, POLICY % "delete")
    services = request.config_dict[host_services_key]
    await services.delete(services.get(service_id, by_uuid))
    return respond(request)


# ----- views (Nova's services.py _get_service_detail) ----------------------------------------------------------------

def service_view(out: Out, service: Service) -> dict[str, Any]:
    services = out.request.config_dict[host_services_key]
    view: dict[str, Any] = {
        "binary": service.binary, "host": service.host,
        "id": service.uuid if out.version >= (2, 53) else service.id,
        "zone": services.cfg.compute.availability_zone if service.binary == COMPUTE else INTERNAL_ZONE,
        "status": "disabled" if service.disabled else "enabled",
        "state": "up" if services.is_up(service) else "down",
        "updated_at": isotime(service.updated_at) if service.updated_at else None,
        "disabled_reason": service.disabled_reason,
    }
    if out.version >= (2, 11):
        view["forced_down"] = service.forced_down
    return view


VIEWS = {
    "#2114": Versioned(lambda out, services: {"services": [service_view(out, s) for s in services]},
                       ((2, 11), lambda out, services: {"services": [service_view(out, s) for s in services]}),
                       ((2, 53), lambda out, services: {"services": [service_view(out, s) for s in services]})),
    "#2115": Versioned(lambda out, result: {"service": result}),
    "#2116": Versioned(lambda out, result: {"service": result}),
    "#2117": Versioned(lambda out, result: {"service": result}),
    "#2124": Versioned(lambda out, result: {"service": result}),
    "#2125": Versioned(lambda out, service: {"service": service_view(out, service)}),
}
STATUSES = {"#2118": Versioned(204)}
BODIES = {op: Versioned(UPDATE, ((2, 11), UPDATE_V211)) for op in ("#2115", "#2116", "#2117", "#2124")}
BODIES["#2125"] = Versioned(UPDATE_V253)
QUERIES = {"#2114": LIST_QUERY}
