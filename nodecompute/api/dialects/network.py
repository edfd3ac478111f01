"""The network face: the Neutron v2.0 subset at /networking, Neutron's fault shape, no microversions.

Faults are `{"NeutronError": {"type", "message", "detail"}}`, typed by the error's class name (the networking
errors are named as Neutron names them) or else by webob's name for the status. A known path with a method it
lacks is Neutron's 405; an unknown path its 404.
"""
from __future__ import annotations

import re
from functools import cache

from nodecompute.api import (faults, neutron, neutron_floatingips, neutron_networks, neutron_ports, neutron_quotas,
                             neutron_routers, neutron_secgroups)
from nodecompute.api.dialect import Dialect, Faults, VersionRoot, route_filter, versioned
from nodecompute.api.route_table import ROUTES
from nodecompute.domain.errors import ComputeError
from nodecompute.domain.network_errors import HTTPNotFound, NeutronTyped

_MODULES = (neutron, neutron_networks, neutron_ports, neutron_quotas, neutron_secgroups, neutron_routers,
            neutron_floatingips)


class HTTPMethodNotAllowed(NeutronTyped, ComputeError):
    code = 405


def _merged(name: str) -> dict:
    table: dict = {}
    for module in _MODULES:
        table.update(getattr(module, name, {}))
    return versioned(table)


@cache
def _paths() -> tuple[re.Pattern[str], ...]:
    return tuple(re.compile("^" + re.sub(r"\\\{[^}]*\\\}", "[^/]+", re.escape(r.path)) + "$")
                 for r in ROUTES if r.face == "network")


def unknown_route(method: str, path: str, version: object = None) -> ComputeError:
    if any(pattern.match(path) for pattern in _paths()):
        return HTTPMethodNotAllowed(f"The method {method} is not allowed for this resource.")
    return HTTPNotFound()


NEUTRON_FAULTS = Faults(
    faults.neutron_error, faults.NEUTRON_FAULT_TYPES, faults.NEUTRON_DEFAULT_FAULT,
    name_of=lambda exc: type(exc).__name__ if isinstance(exc, NeutronTyped) else None,
    internal_message=faults.NEUTRON_INTERNAL_MESSAGE,
)

NETWORK = Dialect(
    name="network",
    prefix=neutron.PREFIX,
    roots=(VersionRoot(""),),
    routes=route_filter(ROUTES, "network"),
    faults=NEUTRON_FAULTS,
    statuses=versioned({}),
    method_statuses={"POST": 201, "DELETE": 204},  # Neutron's: 201 on create, 204 on delete, else 200
    views=_merged("VIEWS"),
    bodies=_merged("BODIES"),
    unknown_route=unknown_route,
)
