"""Networks (#2803-#2804) and subnets (#2805-#2806) of the Neutron subset."""
from __future__ import annotations

from aiohttp import web

from nodecompute.api import neutron_views as views
from nodecompute.api.auth import context
from nodecompute.api.neutron import (Shown, collection_view, listed, member_view, register_attributes, services,
                                     update_values, values, writer)
from nodecompute.api.neutron_attrs import NETWORK, SUBNET, bad_request, schema
from nodecompute.api.respond import respond
from nodecompute.domain.network_models import Network, Subnet

register_attributes("networks", views.network(Network(id="", project_id="", external=True)))
register_attributes("subnets", views.subnet(Subnet(id="", project_id="", network_id="", cidr="")))


def _network(request: web.Request, network: Network) -> Shown:
    return Shown("network", views.network(network), views.hidden(context(request).is_admin))


def _subnet(request: web.Request, subnet: Subnet) -> Shown:
    return Shown("subnet", views.subnet(subnet), views.hidden(context(request).is_admin))


# networks ---------------------------------------------------------------------------------------------------------

async def list_networks(request: web.Request) -> web.StreamResponse:
    ctx = context(request)
    found = services(request).networks.list(ctx)
    return respond(request, listed("networks", found, views.network, views.hidden(ctx.is_admin)))


async def create_network(request: web.Request) -> web.StreamResponse:
    ctx = writer(request, "create_network")
    fields = await values(request, ctx, "network", NETWORK, create=True)
    network = await services(request).networks.create(ctx, fields.pop("project_id"), fields)
    return respond(request, _network(request, network))


async def show_network(request: web.Request) -> web.StreamResponse:
    network = services(request).networks.get(context(request), request.match_info["network_id"])
    return respond(request, _network(request, network))


async def update_network(request: web.Request) -> web.StreamResponse:
    ctx, network_id = writer(request, "update_network"), request.match_info["network_id"]
    networks = services(request).networks
    changes = await update_values(request, ctx, "network", NETWORK, lambda: networks.get(ctx, network_id))
    network = await networks.update(ctx, network_id, changes)
    return respond(request, _network(request, network))


async def delete_network(request: web.Request) -> web.StreamResponse:
    ctx = writer(request, "delete_network")
    await services(request).networks.delete(ctx, request.match_info["network_id"])
    return respond(request)


# subnets ----------------------------------------------------------------------------------------------------------

async def list_subnets(request: web.Request) -> web.StreamResponse:
    ctx = context(request)
    found = services(request).subnets.list(ctx)
    return respond(request, listed("subnets", found, views.subnet, views.hidden(ctx.is_admin)))


async def create_subnet(request: web.Request) -> web.StreamResponse:
    ctx = writer(request, "create_subnet")
    fields = await values(request, ctx, "subnet", SUBNET, create=True)
    if fields.get("cidr") is None:
        raise bad_request("subnets", "a subnetpool must be specified in the absence of a cidr")
    subnet = await services(request).subnets.create(ctx, fields.pop("project_id"), fields)
    return respond(request, _subnet(request, subnet))


async def show_subnet(request: web.Request) -> web.StreamResponse:
    subnet = services(request).subnets.get(context(request), request.match_info["subnet_id"])
    return respond(request, _subnet(request, subnet))


async def update_subnet(request: web.Request) -> web.StreamResponse:
    ctx = writer(request, "update_subnet")
    changes = await values(request, ctx, "subnet", SUBNET, create=False)
    subnet = await services(request).subnets.update(ctx, request.match_info["subnet_id"], changes)
    return respond(request, _subnet(request, subnet))


async def delete_subnet(request: web.Request) -> web.StreamResponse:
    ctx = writer(request, "delete_subnet")
    await services(request).subnets.delete(ctx, request.match_info["subnet_id"])
    return respond(request)


VIEWS = {"#2803": collection_view, "#2804": member_view, "#2805": collection_view, "#2806": member_view}
BODIES = {
    "#2803": schema("network", NETWORK, create=True), "#2804": schema("network", NETWORK, create=False),
    "#2805": schema("subnet", SUBNET, create=True), "#2806": schema("subnet", SUBNET, create=False),
}
