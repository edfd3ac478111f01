"""The identity face: the minimal Keystone at /identity, Keystone's error shape, no microversions."""
from __future__ import annotations

from nodecompute.api import faults, identity
from nodecompute.api.dialect import Dialect, Faults, VersionRoot, route_filter, versioned
from nodecompute.api.route_table import ROUTES

IDENTITY = Dialect(
    name="identity",
    prefix="/identity",
    roots=(VersionRoot(""),),
    routes=route_filter(ROUTES, "identity"),
    faults=Faults(faults.keystone_error, {}, "error"),
    statuses=versioned(identity.STATUSES),
    views=versioned(identity.VIEWS),
    bodies=versioned(identity.BODIES),
    unmatched_needs_token=False,
)
