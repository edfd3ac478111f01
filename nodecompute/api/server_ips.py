"""Server addresses (#501, #502) and the `addresses` of the server views: the fixed IPs of the server's ports by
network name (Nova's label), in plug order, each followed by the floating addresses on it. The server views add `OS-EXT-IPS:type` and `OS-EXT-IPS-MAC:mac_addr`
(Nova's extended view); the ips routes show only version and address. `{}` while the server is building."""
from __future__ import annotations

from aiohttp import web

from nodecompute.api import auth
from nodecompute.api.keys import servers_key
from nodecompute.api.respond import respond
from nodecompute.domain import states
from nodecompute.domain.errors import NotFound
from nodecompute.domain.server_models import Server

NOT_A_MEMBER = "Instance is not a member of specified network"


def addresses(server: Server, *, extended: bool = False) -> dict[str, list[dict]]:
    """{network label: [{version, addr} (+ type and MAC when extended)]} of a server."""
    found: dict[str, list[dict]] = {}
    if server.vm_state == states.BUILDING:
        return found
    for nic in server.nics:
        entries = found.setdefault(nic.network_name, [])
        for _subnet, address in nic.fixed_ips:
            entry = {"version": 6 if ":" in address else 4, "addr": address}
            if extended:
                entry.update({"OS-EXT-IPS:type": "fixed", "OS-EXT-IPS-MAC:mac_addr": nic.mac})
            entries.append(entry)
            for fixed, floating in nic.floating_ips:  # Nova lists a floating address after the fixed one it is on
                if fixed == address:
                    entry = {"version": 6 if ":" in floating else 4, "addr": floating}
                    if extended:
                        entry.update({"OS-EXT-IPS:type": "floating", "OS-EXT-IPS-MAC:mac_addr": nic.mac})
                    entries.append(entry)
    return found


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
