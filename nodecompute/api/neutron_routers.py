"""Routers (#2813-#2815), their interfaces, and the auto-allocated topology of the Neutron subset."""
from __future__ import annotations

from typing import Any

from aiohttp import web

from nodecompute.api import neutron_l3_views as views
from nodecompute.api.auth import context
from nodecompute.api.neutron import (Shown, body, collection_view, listed, member_view, register_attributes,
                                     services, update_values, values, writer)
from nodecompute.api.neutron_attrs import schema
from nodecompute.api.neutron_l3_attrs import INTERFACE_SCHEMA, ROUTER, check_gateway_policy, interface_info
from nodecompute.api.respond import Out, respond
from nodecompute.domain.network_errors import BadRequest
from nodecompute.domain.network_models import Router

NO_HIDDEN: frozenset[str] = frozenset()
register_attributes("routers", views.router(Router(id="", project_id="")))


def _shown(router: Router) -> Shown:
    return Shown("router", views.router(router), NO_HIDDEN)


async def list_routers(request: web.Request) -> web.StreamResponse:
    found = services(request).routers.list(context(request))
    return respond(request, listed("routers", found, views.router, NO_HIDDEN))


async def create_router(request: web.Request) -> web.StreamResponse:
    ctx = writer(request, "create_router")
    fields = await values(request, ctx, "router", ROUTER, create=True)
    check_gateway_policy(ctx, "create_router", fields.get("external_gateway_info"))
    router = await services(request).routers.create(ctx, fields.pop("project_id"), fields)
    return respond(request, _shown(router))


async def show_router(request: web.Request) -> web.StreamResponse:
    router = services(request).routers.get(context(request), request.match_info["router_id"])
    return respond(request, _shown(router))


async def update_router(request: web.Request) -> web.StreamResponse:
    ctx, router_id = writer(request, "update_router"), request.match_info["router_id"]
    routers = services(request).routers
    changes = await update_values(
        request, ctx, "router", ROUTER, lambda: routers.get(ctx, router_id),
        lambda found: check_gateway_policy(ctx, "update_router", found.get("external_gateway_info")))
    router = await routers.update(ctx, router_id, changes)
    return respond(request, _shown(router))


async def delete_router(request: web.Request) -> web.StreamResponse:
    ctx = writer(request, "delete_router")
    await services(request).routers.delete(ctx, request.match_info["router_id"])
    return respond(request)


async def add_router_interface(request: web.Request) -> web.StreamResponse:
    ctx = writer(request, "add_router_interface")
    subnet_id, port_id = interface_info(await body(request), removal=False)
    found = await services(request).interfaces.add(ctx, request.match_info["router_id"], subnet_id, port_id)
    return respond(request, views.interface(found))


async def remove_router_interface(request: web.Request) -> web.StreamResponse:
    ctx = writer(request, "remove_router_interface")
    subnet_id, port_id = interface_info(await body(request), removal=True)
    found = await services(request).interfaces.remove(ctx, request.match_info["router_id"], subnet_id, port_id)
    return respond(request, views.interface(found))


# the auto-allocated topology (Neutron's auto-allocated-topology extension) ----------------------------------------

async def show_auto_topology(request: web.Request) -> web.StreamResponse:
    """The project's auto-allocated network, made on first call; `fields=dry-run` only checks the requirements."""
    ctx = context(request)
    auto = services(request).auto_topology
    project_id = auto.project(ctx, request.match_info["project_id"])
    fields = [f for f in request.query.getall("fields", []) if f]
    if "dry-run" in fields:
        return respond(request, auto.check_requirements(ctx, project_id))
    if fields:
        raise BadRequest("Bad auto_allocate request: Unrecognized field.")
    writer(request, "get_auto_allocated_topology")
    network_id = await auto.ensure(ctx, project_id)
    return respond(request, {"id": network_id, "project_id": project_id})


async def delete_auto_topology(request: web.Request) -> web.StreamResponse:
    ctx = writer(request, "delete_auto_allocated_topology")
    auto = services(request).auto_topology
    await auto.delete(ctx, auto.project(ctx, request.match_info["project_id"]))
    return respond(request)


def _topology_view(out: Out, found: dict | None) -> Any:
    """GET: the topology's network (or the dry run's answer); DELETE: the dialect's 204."""
    if found is None:
        return None
    return {"auto_allocated_topology": {"id": found["id"], "tenant_id": found["project_id"],
                                        "project_id": found["project_id"]}}


VIEWS = {"#2813": collection_view, "#2814": member_view, "#2815": lambda out, found: found,
         "network:auto-allocated-topology": _topology_view}
BODIES = {"#2813": schema("router", ROUTER, create=True), "#2814": schema("router", ROUTER, create=False),
          "#2815": INTERFACE_SCHEMA}
