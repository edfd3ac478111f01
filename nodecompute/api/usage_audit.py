"""os-instance_usage_audit_log (#2003 the last completed period, #2004 the one completed last before a time), admin
only (Nova's os_compute_api:os-instance-usage-audit-log:list/show); compute/usage_audit.py says what it reports."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from aiohttp import web

from nodecompute.api.auth import require_admin
from nodecompute.api.dialect import Versioned
from nodecompute.api.keys import clock_key, host_services_key
from nodecompute.api.respond import Out, QuerySchema, parse_query, respond
from nodecompute.compute.usage_audit import AuditLog, audit_log
from nodecompute.domain.errors import BadRequest

POLICY = "os_compute_api:os-instance-usage-audit-log:%s"
QUERY = Versioned(QuerySchema({"type": "object", "properties": {}, "additionalProperties": True}),
                  ((2, 102), QuerySchema({"type": "object", "properties": {}, "additionalProperties": False})))


def parse_before(text: str) -> datetime:
    """Nova's two formats: "%Y-%m-%d %H:%M:%S.%f" when the text has a dot, else "%Y-%m-%d %H:%M:%S"."""
    try:
        return datetime.strptime(text, "%Y-%m-%d %H:%M:%S.%f" if "." in text else "%Y-%m-%d %H:%M:%S")
    except ValueError:
        raise BadRequest(f"Invalid timestamp for date {text}") from None


async def list_audit(request: web.Request) -> web.StreamResponse:
    parse_query(request)
    require_admin(request, POLICY % "list")
    return respond(request, audit_log(request.config_dict[host_services_key], request.config_dict[clock_key]()))


async def show_audit(request: web.Request) -> web.StreamResponse:
    parse_query(request)
    require_admin(request, POLICY % "show")
    before = parse_before(request.match_info["before_timestamp"])
    return respond(request, audit_log(request.config_dict[host_services_key], before))


def _log(audit: AuditLog) -> dict[str, Any]:
    return {"period_beginning": str(audit.period_beginning), "period_ending": str(audit.period_ending),
            "num_hosts": len(audit.hosts), "num_hosts_done": len(audit.done),
            "num_hosts_running": len(audit.running), "num_hosts_not_run": len(audit.hosts_not_run),
            "hosts_not_run": audit.hosts_not_run, "total_instances": audit.total_instances,
            "total_errors": audit.total_errors, "overall_status": audit.overall_status, "log": {}}


VIEWS = {"#2003": Versioned(lambda out, audit: {"instance_usage_audit_logs": _log(audit)}),
         "#2004": Versioned(lambda out, audit: {"instance_usage_audit_log": _log(audit)})}
QUERIES = {"#2003": QUERY, "#2004": QUERY}
