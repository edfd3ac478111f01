"""os-availability-zone (#1001-#1003): the one configured zone, and for admins the host and its services.

One host runs everything: in the detail view it carries nova-compute in the configured zone and, like Nova's
control services, nova-conductor and nova-scheduler in the "internal" zone (hidden from the summary views).
"""
from __future__ import annotations

from datetime import datetime

from aiohttp import web

from nodecompute.api.auth import require_admin
from nodecompute.api.keys import clock_key, config_key
from nodecompute.api.respond import respond
from nodecompute.domain.errors import NotFound
from nodecompute.domain.models import isotime

INTERNAL_ZONE = "internal"
INTERNAL_SERVICES = ("nova-conductor", "nova-scheduler")


def _zone_name(request: web.Request) -> str:
    return request.config_dict[config_key].compute.availability_zone


def _summary(zone: str) -> dict:
    return {"zoneName": zone, "zoneState": {"available": True}, "hosts": None}


def _hosts(host: str, services: tuple[str, ...], now: datetime) -> dict:
    state = {"available": True, "active": True, "updated_at": isotime(now)}
    return {host: {service: dict(state) for service in services}}


async def list_zones(request: web.Request) -> web.StreamResponse:
    return respond(request, [_summary(_zone_name(request))])


async def list_zones_detail(request: web.Request) -> web.StreamResponse:
    require_admin(request, "os_compute_api:os-availability-zone:detail")
    host, now = request.config_dict[config_key].host_name, request.config_dict[clock_key]()
    zones = [
        {"zoneName": INTERNAL_ZONE, "zoneState": {"available": True},
         "hosts": _hosts(host, INTERNAL_SERVICES, now)},
        {"zoneName": _zone_name(request), "zoneState": {"available": True},
         "hosts": _hosts(host, ("nova-compute",), now)},
    ]
    return respond(request, zones)


async def show_zone(request: web.Request) -> web.StreamResponse:
    """Served additively (OS-v2 seed; Nova has no such route): the zone by name, summary form."""
    name = request.match_info["zone_name"]
    if name != _zone_name(request):
        raise NotFound(f"Availability zone {name} could not be found.")
    return respond(request, [_summary(name)])


def _zones(out, zones: list[dict]) -> dict:
    return {"availabilityZoneInfo": zones}


VIEWS = {"#1001": _zones, "#1002": _zones, "#1003": _zones}
