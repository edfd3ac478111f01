"""os-hypervisors (#2107-#2113) at every microversion; admin only (Nova's os_compute_api:os-hypervisors).

- 2.1: list, detail, show, statistics, uptime, search and servers by hostname pattern; `cpu_info` is a JSON string.
- 2.28: `cpu_info` is an object.
- 2.33: list and detail page with `limit` and `marker` and link the next page in `hypervisors_links`.
- 2.53: ids (and the service's) are UUIDs; `hypervisor_hostname_pattern` and `with_servers` on list and detail,
  `with_servers` on show; search and servers answer 404 (route table); unknown query parameters give 400.
- 2.75: `with_servers` gives `servers` even when empty.
- 2.88: the detail drops the resource figures and `cpu_info` and shows `uptime`; statistics and uptime answer 404.
"""
from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from nodecompute.api import validation
from nodecompute.api.auth import require_admin
from nodecompute.api.dialect import Versioned
from nodecompute.api.keys import api_version_key, host_services_key
from nodecompute.api.respond import Out, QuerySchema, parse_query, respond
from nodecompute.domain.errors import BadRequest, NotFound
from nodecompute.domain.host_models import Hypervisor

POLICY = "os_compute_api:os-hypervisors:%s"
MAX_LIMIT = 1000
_FQDN = {"type": "string", "minLength": 1, "maxLength": 255, "pattern": r"^[a-zA-Z0-9-._]*$"}
_ANY = QuerySchema({"type": "object", "properties": {}, "additionalProperties": True})
_PAGED = QuerySchema({"type": "object", "additionalProperties": True, "properties": {
    "limit": validation.non_negative_integer, "marker": {"type": "string"}}})
_V253 = QuerySchema({"type": "object", "additionalProperties": False, "properties": {
    "limit": validation.non_negative_integer, "marker": {"type": "string"},
    "hypervisor_hostname_pattern": _FQDN, "with_servers": validation.boolean}})
LIST_QUERY = Versioned(_ANY, ((2, 33), _PAGED), ((2, 53), _V253))
SHOW_QUERY = Versioned(_ANY, ((2, 53), QuerySchema({"type": "object", "additionalProperties": False,
                                                    "properties": {"with_servers": validation.boolean}})))
STATISTICS = ("count", "vcpus", "memory_mb", "local_gb", "vcpus_used", "memory_mb_used", "local_gb_used",
              "free_ram_mb", "free_disk_gb", "current_workload", "running_vms", "disk_available_least")


class Listing:
    """A list's hypervisors and how the view shows them."""

    def __init__(self, hypervisors: list[Hypervisor], with_servers: bool, limit: int | None) -> None:
        self.hypervisors = hypervisors
        self.with_servers = with_servers
        self.limit = limit


async def _list(request: web.Request, policy: str) -> web.StreamResponse:
    require_admin(request, POLICY % policy)
    version = request[api_version_key]
    query = parse_query(request)
    pattern = query.get("hypervisor_hostname_pattern") if version >= (2, 53) else None
    with_servers = version >= (2, 53) and validation.to_bool(query.get("with_servers", False))
    limit = marker = None
    if version >= (2, 33):
        if pattern is not None and ("limit" in query or "marker" in query):
            raise BadRequest("Paging over hypervisors with the hypervisor_hostname_pattern query parameter is "
                             "not supported.")
        limit = validation.page_size(int(query.get("limit", 0))) if pattern is None else None
        marker = query.get("marker")
    found = await request.config_dict[host_services_key].hypervisors(pattern, limit, marker,
                                                                     by_uuid=version >= (2, 53))
    return respond(request, Listing(found, with_servers, limit))


async def list_hypervisors(request: web.Request) -> web.StreamResponse:
    return await _list(request, "list")


async def list_hypervisors_detail(request: web.Request) -> web.StreamResponse:
    return await _list(request, "list-detail")


def _node_id(request: web.Request) -> tuple[str, bool]:
    """Nova's _validate_id: a UUID from 2.53 (400), else an integer (404)."""
    hypervisor_id, version = request.match_info["hypervisor_id"], request[api_version_key]
    if version >= (2, 53):
        if not validation.is_uuid_like(hypervisor_id):
            raise BadRequest(f"Invalid uuid {hypervisor_id}")
        return hypervisor_id, True
    if not hypervisor_id.isdigit():
        raise NotFound(f"Hypervisor with ID '{hypervisor_id}' could not be found.")
    return hypervisor_id, False


async def show_hypervisor(request: web.Request) -> web.StreamResponse:
    require_admin(request, POLICY % "show")
    query = parse_query(request)
    hypervisor_id, by_uuid = _node_id(request)
    with_servers = request[api_version_key] >= (2, 53) and validation.to_bool(query.get("with_servers", False))
    services = request.config_dict[host_services_key]
    found = await services.hypervisor(services.find_node(hypervisor_id, by_uuid))
    return respond(request, Listing([found], with_servers, None))


async def show_uptime(request: web.Request) -> web.StreamResponse:
    require_admin(request, POLICY % "uptime")
    hypervisor_id, by_uuid = _node_id(request)
    services = request.config_dict[host_services_key]
    return respond(request, await services.hypervisor(services.find_node(hypervisor_id, by_uuid)))


async def show_statistics(request: web.Request) -> web.StreamResponse:
    require_admin(request, POLICY % "statistics")
    return respond(request, await request.config_dict[host_services_key].hypervisors())


async def search_hypervisors(request: web.Request) -> web.StreamResponse:
    require_admin(request, POLICY % "search")
    found = await request.config_dict[host_services_key].hypervisors(request.match_info["pattern"])
    return respond(request, Listing(found, False, None))


async def list_hypervisor_servers(request: web.Request) -> web.StreamResponse:
    require_admin(request, POLICY % "servers")
    found = await request.config_dict[host_services_key].hypervisors(request.match_info["pattern"])
    return respond(request, Listing(found, True, None))


# ----- views (Nova's HypervisorsController._view_hypervisor) -------------------------------------------------------

def hypervisor_view(out: Out, h: Hypervisor, detail: bool, with_servers: bool = False) -> dict[str, Any]:
    uuids = out.version >= (2, 53)
    view: dict[str, Any] = {"id": h.node.uuid if uuids else h.node.id,
                            "hypervisor_hostname": h.node.hypervisor_hostname, "state": h.state, "status": h.status}
    if detail:
        view.update(hypervisor_type=h.hypervisor_type, hypervisor_version=h.hypervisor_version, host_ip=h.host_ip,
                    service={"id": h.service.uuid if uuids else h.service.id, "host": h.node.host,
                             "disabled_reason": h.service.disabled_reason})
        if out.version < (2, 88):
            for field in STATISTICS[1:]:
                view[field] = getattr(h, field)
            view["cpu_info"] = h.cpu_info if out.version >= (2, 28) else json.dumps(h.cpu_info)
        else:
            view["uptime"] = h.uptime
    if with_servers and (h.servers or out.version >= (2, 75)):
        view["servers"] = [{"name": name, "uuid": uuid} for name, uuid in h.servers]
    return view


def _lister(detail: bool):
    def render(out: Out, listing: Listing) -> dict[str, Any]:
        body: dict[str, Any] = {"hypervisors": [hypervisor_view(out, h, detail, listing.with_servers)
                                                for h in listing.hypervisors]}
        if out.version >= (2, 33) and listing.limit and len(listing.hypervisors) == listing.limit:
            last = listing.hypervisors[-1].node
            tail = "os-hypervisors/detail" if detail else "os-hypervisors"
            body["hypervisors_links"] = out.links.next_page(tail, last.uuid if out.version >= (2, 53) else
                                                            str(last.id))
        return body
    return render


def _shower(out: Out, listing: Listing) -> dict[str, Any]:
    return {"hypervisor": hypervisor_view(out, listing.hypervisors[0], True, listing.with_servers)}


def _uptime(out: Out, h: Hypervisor) -> dict[str, Any]:
    return {"hypervisor": {**hypervisor_view(out, h, False), "uptime": h.uptime}}


def _statistics(out: Out, found: list[Hypervisor]) -> dict[str, Any]:
    totals = {field: sum(getattr(h, field) for h in found) for field in STATISTICS[1:]}
    return {"hypervisor_statistics": {"count": len(found), **totals}}


_STEPS = ((2, 28), (2, 33), (2, 53), (2, 75), (2, 88))
VIEWS = {
    "#2107": Versioned(_lister(False), *((v, _lister(False)) for v in _STEPS)),
    "#2108": Versioned(_lister(True), *((v, _lister(True)) for v in _STEPS)),
    "#2109": Versioned(_shower, *((v, _shower) for v in _STEPS)),
    "#2110": Versioned(_statistics),
    "#2111": Versioned(_uptime, ((2, 53), _uptime)),
    "#2112": Versioned(lambda out, listing: {"hypervisors": [hypervisor_view(out, h, False)
                                                             for h in listing.hypervisors]}),
    "#2113": Versioned(lambda out, listing: {"hypervisors": [hypervisor_view(out, h, False, True)
                                                             for h in listing.hypervisors]}),
}
QUERIES = {"#2107": LIST_QUERY, "#2108": LIST_QUERY, "#2109": SHOW_QUERY}
