"""The `cyclades` dialect: Synnefo's compute API (seeds 000, 001; dialects.md, the cyclades column) over the same
core, mounted at /cyclades with one version root, /compute/v2.0, and no project segment; `CYCLADES_IDENTITY` at
/cyclades/identity serves the same tokens with a catalog of the Cyclades endpoints.

What differs from the openstack dialect is data here and in the cyclades_* modules: the routes (the core rows
less what Cyclades marks unsupported, D9, with its own server handlers), the protocol middlewares
(api/cyclades_protocol.py: 400 for unknown URLs and methods, required JSON media type, ?xml, the 20 s timeout,
the unauthorized fault), integer serials in paths and bodies (api/cyclades_servers.py), the server view
(api/cyclades_views.py), faults (413 overLimit for quotas, 409 buildInProgress) and the legacy-v2 validation.
"""
from __future__ import annotations

from nodecompute.api import (cyclades_actions, cyclades_console, cyclades_flavors, cyclades_floating_ips,
                             cyclades_identity, cyclades_images, cyclades_keypairs, cyclades_protocol,
                             cyclades_server_parts, cyclades_servers, cyclades_stats, cyclades_volumes)
from nodecompute.api.dialect import LEGACY, Faults, Versioned, VersionRoot, route_filter, versioned
from nodecompute.api.dialects.identity import IDENTITY
from nodecompute.api.dialects.openstack import NOVA_FAULTS, OPENSTACK
from nodecompute.api.route_table import ROUTES
from nodecompute.domain.errors import QuotaExceeded

PREFIX = "/cyclades"
# The operations Cyclades does not serve (D1, D3, D9, D45, D64): what is not in its table answers 400 (D7).
UNSUPPORTED = frozenset({
    "#101", "#102", "#103", "compute:choices", "#104", "#105", "#106",  # versions, extensions, limits
    "#402", "#707",  # replace-all server and image metadata
})

_FAULTS = Faults(NOVA_FAULTS.render, NOVA_FAULTS.names, NOVA_FAULTS.default_name, by_class={
    QuotaExceeded: (413, "overLimit"),
    cyclades_servers.BuildInProgress: (409, "buildInProgress"),
})

_HANDLERS = {**cyclades_servers.HANDLERS, **cyclades_server_parts.HANDLERS, **cyclades_images.HANDLERS,
             **cyclades_volumes.HANDLERS}
_ROUTES = tuple(cyclades_actions.replace_action_route(cyclades_servers.replace_handlers(route, _HANDLERS))
                for route in route_filter(ROUTES, "compute", lacks=UNSUPPORTED, adds=cyclades_stats.ROUTES))



def _on_mount(root, sub) -> None:
    cyclades_console.on_mount(root, sub)
    cyclades_stats.on_mount(root, sub)


CYCLADES = OPENSTACK.derive(
    name="cyclades",
    prefix=PREFIX,
    roots=(VersionRoot("/compute/v2.0", fixed=(2, 0)),),
    routes=_ROUTES,
    faults=_FAULTS,
    statuses=versioned({**cyclades_servers.STATUSES, **cyclades_actions.STATUSES, **cyclades_server_parts.STATUSES,
                        **cyclades_images.STATUSES, **cyclades_keypairs.STATUSES, **cyclades_volumes.STATUSES}),
    bodies=versioned({**cyclades_actions.BODIES, **cyclades_server_parts.BODIES, **cyclades_images.BODIES,
                      **cyclades_volumes.BODIES}),
    views=versioned({**cyclades_servers.VIEWS, **cyclades_flavors.VIEWS, **cyclades_server_parts.VIEWS,
                     **cyclades_images.VIEWS, **cyclades_keypairs.VIEWS, **cyclades_actions.VIEWS,
                     **cyclades_stats.VIEWS, **cyclades_volumes.VIEWS}),
    checked_queries=Versioned(frozenset()),
    validation=Versioned(LEGACY),
    checks_url_project=False,
    unknown_route=cyclades_protocol.unknown_route,
    outer_middlewares=(cyclades_protocol.request_timeout(), cyclades_protocol.response_format),
    inner_middlewares=(cyclades_protocol.request_rules, cyclades_servers.serial_ids,
                       cyclades_floating_ips.floating_ip_ids),
    on_mount=_on_mount,
)

CYCLADES_IDENTITY = IDENTITY.derive(
    name="cyclades-identity",
    prefix=PREFIX + "/identity",
    views=versioned(cyclades_identity.VIEWS),
)
