"""os-hosts (#2119-#2122) up to 2.42 (404 from 2.43, route table), admin only (Nova's os_compute_api:os-hosts:*);
the answers come from compute/hosts.py: the list of enabled services, a compute host's resources, `status` answered
without effect and `maintenance_mode` and the power actions 501, as Nova's libvirt driver does."""
from __future__ import annotations

from typing import Any

from aiohttp import web

from nodecompute.api.auth import require_admin
from nodecompute.api.dialect import Versioned
from nodecompute.api.keys import host_services_key
from nodecompute.api.respond import Out, QuerySchema, parse_body, parse_query, respond
from nodecompute.compute.hosts import HostEntry, HostResource, Hosts

POLICY = "os_compute_api:os-hosts:%s"
_SWITCH = {"type": "string", "enum": ["enable", "disable", "Enable", "Disable", "ENABLE", "DISABLE"]}
UPDATE = {"type": "object", "properties": {"status": _SWITCH, "maintenance_mode": _SWITCH},
          "anyOf": [{"required": ["status"]}, {"required": ["maintenance_mode"]}], "additionalProperties": False}
LIST_QUERY = QuerySchema({"type": "object", "properties": {"zone": {"type": "string"}}, "additionalProperties": True})


def _hosts(request: web.Request) -> Hosts:
    return Hosts(request.config_dict[host_services_key])


async def list_hosts(request: web.Request) -> web.StreamResponse:
    require_admin(request, POLICY % "list")
    return respond(request, _hosts(request).list(parse_query(request).get("zone") or None))


async def show_host(request: web.Request) -> web.StreamResponse:
    require_admin(request, POLICY % "show")
    return respond(request, await _hosts(request).show(request.match_info["host_name"]))


async def update_host(request: web.Request) -> web.StreamResponse:
    body = await parse_body(request)  # Nova checks the body first
    require_admin(request, POLICY % "update")
    host_name, hosts = request.match_info["host_name"], _hosts(request)
    result: dict[str, Any] = {"host": host_name}
    if "status" in body:
        result["status"] = hosts.set_enabled(host_name, body["status"].strip().lower() == "enable")
    if "maintenance_mode" in body:
        result["maintenance_mode"] = hosts.set_maintenance(host_name,
                                                           body["maintenance_mode"].strip().lower() == "enable")
    return respond(request, result)


def power_action(action: str, policy: str):
    async def handler(request: web.Request) -> web.StreamResponse:
        require_admin(request, POLICY % policy)
        host_name = request.match_info["host_name"]
        return respond(request, {"host": host_name, "power_action": _hosts(request).power_action(host_name, action)})
    return handler


startup_host = power_action("startup", "start")
shutdown_host = power_action("shutdown", "shutdown")
reboot_host = power_action("reboot", "reboot")


def _list(out: Out, entries: list[HostEntry]) -> dict[str, Any]:
    return {"hosts": [{"host_name": e.host_name, "service": e.service, "zone": e.zone} for e in entries]}


def _show(out: Out, resources: list[HostResource]) -> dict[str, Any]:
    return {"host": [{"resource": {"host": r.host, "project": r.project, "cpu": r.cpu, "memory_mb": r.memory_mb,
                                   "disk_gb": r.disk_gb}} for r in resources]}


VIEWS = {"#2119": Versioned(_list), "#2120": Versioned(_show), "#2121": Versioned(lambda out, result: result),
         "#2122": Versioned(lambda out, result: result)}
BODIES = {"#2121": Versioned(UPDATE)}
QUERIES = {"#2119": Versioned(LIST_QUERY)}
