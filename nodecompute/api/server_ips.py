"""Server addresses (#501, #502). No networking exists yet, so every server has no addresses: the list is {} and
any network label is one the server is not on (Nova's 404 text)."""
from __future__ import annotations

from aiohttp import web

from nodecompute.api import auth
from nodecompute.api.keys import servers_key
from nodecompute.api.respond import respond
from nodecompute.domain.errors import NotFound
from nodecompute.domain.server_models import Server

NOT_A_MEMBER = "Instance is not a member of specified network"


def addresses(server: Server) -> dict[str, list[dict]]:
    """{network label: [{version, addr}]} of a server; empty until ports exist."""
    return {}


def _server(request: web.Request) -> Server:
    return request.config_dict[servers_key].get(auth.context(request), request.match_info["server_id"])


async def list_ips(request: web.Request) -> web.StreamResponse:
    return respond(request, addresses(_server(request)))


async def show_ips(request: web.Request) -> web.StreamResponse:
    label = request.match_info["network_label"]
    on_network = addresses(_server(request))
    if label not in on_network:
        raise NotFound(NOT_A_MEMBER)
    return respond(request, (label, on_network[label]))


VIEWS = {"#501": lambda out, found: {"addresses": found}, "#502": lambda out, item: {item[0]: item[1]}}
