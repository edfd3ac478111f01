"""Floating IPs (#2816-#2817) of the Neutron subset, with fip-port-details' `port_details`."""
from __future__ import annotations

from aiohttp import web

from nodecompute.api import neutron_l3_views as views
from nodecompute.api.auth import context
from nodecompute.api.neutron import (Shown, collection_view, listed, member_view, register_attributes, services,
                                     values, writer)
from nodecompute.api.neutron_attrs import schema
from nodecompute.api.neutron_l3_attrs import FLOATINGIP
from nodecompute.api.respond import respond
from nodecompute.domain.network_models import FloatingIp

NO_HIDDEN: frozenset[str] = frozenset()
register_attributes("floatingips", views.floatingip(FloatingIp(id="", project_id="", floating_network_id="",
                                                               floating_ip_address="", floating_port_id=""), None))


def _render(request: web.Request):
    fips = services(request).floating_ips
    return lambda fip: views.floatingip(fip, fips.port_details(fip))


def _shown(request: web.Request, fip: FloatingIp) -> Shown:
    return Shown("floatingip", _render(request)(fip), NO_HIDDEN)


async def list_floatingips(request: web.Request) -> web.StreamResponse:
    found = services(request).floating_ips.list(context(request))
    return respond(request, listed("floatingips", found, _render(request), NO_HIDDEN))


async def create_floatingip(request: web.Request) -> web.StreamResponse:
    ctx = writer(request, "create_floatingip")
    fields = await values(request, ctx, "floatingip", FLOATINGIP, create=True)
    fip = await services(request).floating_ips.create(ctx, fields.pop("project_id"), fields)
    return respond(request, _shown(request, fip))


async def show_floatingip(request: web.Request) -> web.StreamResponse:
    fip = services(request).floating_ips.get(context(request), request.match_info["floatingip_id"])
    return respond(request, _shown(request, fip))


async def update_floatingip(request: web.Request) -> web.StreamResponse:
    ctx = writer(request, "update_floatingip")
    changes = await values(request, ctx, "floatingip", FLOATINGIP, create=False)
    fip = await services(request).floating_ips.update(ctx, request.match_info["floatingip_id"], changes)
    return respond(request, _shown(request, fip))


async def delete_floatingip(request: web.Request) -> web.StreamResponse:
    ctx = writer(request, "delete_floatingip")
    await services(request).floating_ips.delete(ctx, request.match_info["floatingip_id"])
    return respond(request)


VIEWS = {"#2816": collection_view, "#2817": member_view}
BODIES = {"#2816": schema("floatingip", FLOATINGIP, create=True), "#2817": schema("floatingip", FLOATINGIP,
                                                                                 create=False)}
