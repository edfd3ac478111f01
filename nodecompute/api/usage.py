"""os-simple-tenant-usage (#2001 every project's, admin only; #2002 one project's, its own or an admin's).

- 2.1: `start`, `end` (default: now; `end` is clipped to now), `detailed=1` on the list for each server's usage.
- 2.40: `limit` and `marker` (a server id) page over the servers counted, and `tenant_usages_links` /
  `tenant_usage_links` link the next page when the page is full.
- 2.75: unknown query parameters give 400.
"""
from __future__ import annotations

import copy
from datetime import datetime
from typing import Any

from aiohttp import web

from nodecompute.api import validation
from nodecompute.api.auth import context, require_admin
from nodecompute.api.dialect import Versioned
from nodecompute.api.keys import api_version_key, clock_key, usage_key
from nodecompute.api.respond import Out, QuerySchema, parse_query, respond
from nodecompute.compute.usage import ProjectUsage
from nodecompute.domain.errors import BadRequest, PolicyNotAuthorized
from nodecompute.domain.models import isotime

POLICY = "os_compute_api:os-simple-tenant-usage:%s"
PAGING = (2, 40)
FORMATS = ("%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M:%S.%f", "%Y-%m-%d %H:%M:%S.%f")
_QUERY = {"type": "object", "additionalProperties": True, "properties": {
    "start": {"type": "string"}, "end": {"type": "string"}, "detailed": {"type": "string"}}}
_QUERY_V240 = copy.deepcopy(_QUERY)
_QUERY_V240["properties"].update(limit=validation.non_negative_integer, marker={"type": "string"})
_QUERY_V275 = {**copy.deepcopy(_QUERY_V240), "additionalProperties": False}
QUERY = Versioned(QuerySchema(_QUERY), (PAGING, QuerySchema(_QUERY_V240)), ((2, 75), QuerySchema(_QUERY_V275)))


def _parse_time(text: str | None, now: datetime) -> datetime:
    if not text:
        return now
    for fmt in FORMATS:
        try:
            return datetime.strptime(text, fmt)
        except ValueError:
            continue
    raise BadRequest("Invalid input received: Datetime is in invalid format")


class Report:
    def __init__(self, usages: list[ProjectUsage], server_ids: list[str], limit: int | None, detailed: bool,
                 tail: str) -> None:
        self.usages, self.server_ids, self.limit, self.detailed, self.tail = (
            usages, server_ids, limit, detailed, tail)


def _period(request: web.Request) -> tuple[dict[str, Any], datetime, datetime, int | None, str | None]:
    query = parse_query(request)
    now = request.config_dict[clock_key]()
    start, stop = _parse_time(query.get("start"), now), _parse_time(query.get("end"), now)
    if not start < stop and (query.get("start") or query.get("end")):  # Nova's two utcnow() calls differ
        raise BadRequest("Invalid start time. The start time cannot occur after the end time.")
    limit = marker = None
    if request[api_version_key] >= PAGING:
        limit, marker = validation.page_size(int(query.get("limit", 0))), query.get("marker")
    return query, start, min(stop, now), limit, marker


async def list_usage(request: web.Request) -> web.StreamResponse:
    require_admin(request, POLICY % "list")
    query, start, stop, limit, marker = _period(request)
    usages, lives = request.config_dict[usage_key].usage(start, stop, None, limit, marker)
    return respond(request, Report(usages, [life.uuid for life in lives], limit, query.get("detailed") == "1",
                                   "os-simple-tenant-usage"))


async def show_usage(request: web.Request) -> web.StreamResponse:
    ctx, tenant_id = context(request), request.match_info["tenant_id"]
    if tenant_id != ctx.project_id and not ctx.is_admin:
        raise PolicyNotAuthorized(action=POLICY % "show")
    _query, start, stop, limit, marker = _period(request)
    usages, lives = request.config_dict[usage_key].usage(start, stop, tenant_id, limit, marker)
    return respond(request, Report(usages, [life.uuid for life in lives], limit, True,
                                   f"os-simple-tenant-usage/{tenant_id}"))


# ----- views (Nova's SimpleTenantUsageController) -------------------------------------------------------------------

def _summary(usage: ProjectUsage, detailed: bool) -> dict[str, Any]:
    view: dict[str, Any] = {
        "tenant_id": usage.tenant_id, "total_local_gb_usage": usage.total_local_gb_usage,
        "total_vcpus_usage": usage.total_vcpus_usage, "total_memory_mb_usage": usage.total_memory_mb_usage,
        "total_hours": usage.total_hours, "start": isotime(usage.start), "stop": isotime(usage.stop)}
    if detailed:
        view["server_usages"] = usage.server_usages
    return view


def _links(out: Out, report: Report, key: str, body: dict[str, Any]) -> dict[str, Any]:
    if out.version >= PAGING and report.limit and len(report.server_ids) == report.limit:
        body[key] = out.links.next_page(report.tail, report.server_ids[-1])
    return body


def _list(out: Out, report: Report) -> dict[str, Any]:
    body = {"tenant_usages": [_summary(usage, report.detailed) for usage in report.usages]}
    return _links(out, report, "tenant_usages_links", body)


def _show(out: Out, report: Report) -> dict[str, Any]:
    body = {"tenant_usage": _summary(report.usages[0], True) if report.usages else {}}
    return _links(out, report, "tenant_usage_links", body)


VIEWS = {"#2001": Versioned(_list, (PAGING, _list)), "#2002": Versioned(_show, (PAGING, _show))}
QUERIES = {"#2001": QUERY, "#2002": QUERY}
