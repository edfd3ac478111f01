"""Ports (#2807-#2808) of the Neutron subset."""
from __future__ import annotations

from typing import Any

from aiohttp import web

from nodecompute.api import neutron_views as views
from nodecompute.api.auth import context
from nodecompute.api.neutron import (Shown, collection_view, listed, member_view, register_attributes, services,
                                     update_values, values, writer)
from nodecompute.api.neutron_attrs import PORT, schema
from nodecompute.api.rendered_pages import release_memory_soon
from nodecompute.api.keys import large_list_gate_key
from nodecompute.api.respond import RENDERER, respond, respond_in_thread
from nodecompute.domain.network_errors import PolicyNotAuthorized
from nodecompute.domain.network_models import Port, PortRequest
from nodecompute.threads import run_in_thread

register_attributes("ports", views.port(Port(id="", project_id="", network_id="", mac_address="")))
RENAMED = {"binding:host_id": "host_id"}  # the request's name -> the service's
IGNORED = ("binding:vnic_type", "binding:profile")  # only their one value is accepted: nothing to store


def _shown(request: web.Request, port: Port) -> Shown:
    return Shown("port", views.port(port), views.hidden(context(request).is_admin))


def _request(fields: dict[str, Any]) -> PortRequest:
    groups = fields.get("security_groups")
    fixed = fields.get("fixed_ips")
    return PortRequest(
        network_id=fields["network_id"], project_id=fields["project_id"], name=fields.get("name", ""),
        description=fields.get("description", ""), admin_state_up=fields.get("admin_state_up", True),
        mac_address=fields.get("mac_address"), fixed_ips=tuple(fixed) if fixed is not None else None,
        device_id=fields.get("device_id", ""), device_owner=fields.get("device_owner", ""),
        port_security_enabled=fields.get("port_security_enabled"),
        security_group_ids=tuple(groups) if groups is not None else None, host_id=fields.get("binding:host_id", ""),
    )


async def list_ports(request: web.Request) -> web.StreamResponse:
    """Read on the store's reader thread, the bodies and their JSON made on the render thread, one large list at a
    time (as servers lists): a thousand ports cost the event loop a few short steps, not 40 ms."""
    ctx = context(request)
    async with request.config_dict[large_list_gate_key]:
        found = await services(request).ports.list_off_loop(ctx)
        result = await run_in_thread(listed, "ports", found, views.port, views.hidden(ctx.is_admin),
                                     executor=RENDERER)
        release_memory_soon()  # a thousand ports leave megabytes of freed heap behind them
        return await respond_in_thread(request, result)


async def create_port(request: web.Request) -> web.StreamResponse:
    ctx = writer(request, "create_port")
    port = await services(request).ports.create(ctx, _request(await values(request, ctx, "port", PORT, create=True)))
    return respond(request, _shown(request, port))


async def show_port(request: web.Request) -> web.StreamResponse:
    port = services(request).ports.get(context(request), request.match_info["port_id"])
    return respond(request, _shown(request, port))


async def update_port(request: web.Request) -> web.StreamResponse:
    ctx, port_id = writer(request, "update_port"), request.match_info["port_id"]
    ports = services(request).ports

    def check_mac(fields: dict) -> None:
        if "mac_address" in fields and not ctx.is_admin:
            raise PolicyNotAuthorized(rule="(rule:update_port and rule:update_port:mac_address)")

    fields = await update_values(request, ctx, "port", PORT, lambda: ports.get(ctx, port_id), check_mac)
    changes = {RENAMED.get(k, k): v for k, v in fields.items() if k not in IGNORED}
    port = await ports.update(ctx, port_id, changes)
    return respond(request, _shown(request, port))


async def delete_port(request: web.Request) -> web.StreamResponse:
    ctx = writer(request, "delete_port")
    await services(request).ports.delete(ctx, request.match_info["port_id"])
    return respond(request)


VIEWS = {"#2807": collection_view, "#2808": member_view}
BODIES = {"#2807": schema("port", PORT, create=True), "#2808": schema("port", PORT, create=False)}
