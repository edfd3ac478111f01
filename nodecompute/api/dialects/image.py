"""The image face: the Glance v2 subset at /image, Glance's error shape, no microversions."""
from __future__ import annotations

from nodecompute.api import faults, glance, glance_members
from nodecompute.api.dialect import Dialect, Faults, Versioned, VersionRoot, route_filter, versioned
from nodecompute.api.route_table import ROUTES

IMAGE = Dialect(
    name="image",
    prefix="/image",
    roots=(VersionRoot(""),),
    routes=route_filter(ROUTES, "image"),
    faults=Faults(faults.glance_error, {}, "error"),
    statuses=versioned({**glance.STATUSES, **glance_members.STATUSES}),
    views=versioned({**glance.VIEWS, **glance_members.VIEWS}),
    bodies=versioned({**glance.BODIES, **glance_members.BODIES}),
    rules={glance.DEFAULT_VISIBILITY_RULE: Versioned("shared")},
)
