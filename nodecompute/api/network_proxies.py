"""Nova's network proxies below 2.36 (#1306-#1309): os-networks and os-tenant-networks list and show the networks
the caller can use, as Nova does over Neutron: only the id and the label (the network's name) are known, every
other nova-network field is null (admins see more of them, all null); os-tenant-networks' `cidr` is Nova's
str(None). A network the caller cannot see, or any network while networking is off, is Nova's 404."""
from __future__ import annotations

from aiohttp import web

from nodecompute.api import auth
from nodecompute.api.keys import network_key
from nodecompute.api.respond import respond
from nodecompute.domain.errors import NotFound

FIELDS = ("id", "cidr", "netmask", "gateway", "broadcast", "dns1", "dns2", "cidr_v6", "gateway_v6", "label",
          "netmask_v6")
ADMIN_FIELDS = ("created_at", "updated_at", "deleted_at", "deleted", "injected", "bridge", "vlan",
                "vpn_public_address", "vpn_public_port", "vpn_private_address", "dhcp_start", "project_id", "host",
                "bridge_interface", "multi_host", "priority", "rxtx_base", "mtu", "dhcp_server", "enable_dhcp",
                "share_address")
NOT_FOUND = "Network not found"


def _networks(request: web.Request) -> list:
    services = request.config_dict.get(network_key)
    return services.networks.list(auth.context(request)) if services is not None else []


def _network(request: web.Request):
    network_id = request.match_info["network_id"]
    found = next((n for n in _networks(request) if n.id == network_id), None)
    if found is None:
        raise NotFound(NOT_FOUND)
    return found


async def list_networks(request: web.Request) -> web.StreamResponse:
    return respond(request, _networks(request))


async def show_network(request: web.Request) -> web.StreamResponse:
    return respond(request, _network(request))


def nova_network(network, is_admin: bool) -> dict:
    view = {field: None for field in FIELDS + (ADMIN_FIELDS if is_admin else ())}
    view.update(id=network.id, label=network.name)
    return view


def tenant_network(network) -> dict:
    return {"id": network.id, "cidr": "None", "label": network.name}


VIEWS = {
    "#1306": lambda out, found: {"networks": [nova_network(n, out.ctx.is_admin) for n in found]},
    "#1307": lambda out, network: {"network": nova_network(network, out.ctx.is_admin)},
    "#1308": lambda out, found: {"networks": [tenant_network(n) for n in found]},
    "#1309": lambda out, network: {"network": tenant_network(network)},
}
