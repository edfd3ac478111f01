"""The block storage face: Cinder v3 at microversion 3.0 at /volume/v3, the same core at /volume/v2.

Cinder's fault shape is Nova's (`{"badRequest": {"code", "message"}}`, `retryAfter` on a 413 with Retry-After);
unlike Nova it answers a body of another content type with 400 "Unsupported Content-Type", and a project id in
the URL other than the token's with 400 "Malformed request url". /v3 negotiates `OpenStack-API-Version: volume`
(3.0 only, echoed on every answer); /v2 is fixed (no version headers), with the same bodies. Only v3 is in the
openstack catalog (as `block-storage` and `volumev3`); vendor dialects catalogue v2.
"""
from __future__ import annotations

from nodecompute.api import (faults, volume_actions, volume_limits, volume_snapshots, volume_types,
                             volume_versions, volumes)
from nodecompute.api.dialect import Dialect, Faults, VersionRoot, route_filter, versioned
from nodecompute.api.route_table import ROUTES
from nodecompute.domain.errors import UnsupportedMediaType

_MODULES = (volume_versions, volumes, volume_actions, volume_snapshots, volume_types, volume_limits)


def _merged(name: str) -> dict:
    table: dict = {}
    for module in _MODULES:
        table.update(getattr(module, name, {}))
    return versioned(table)


CINDER_FAULTS = Faults(faults.nova_fault, faults.NOVA_FAULT_NAMES, faults.NOVA_DEFAULT_FAULT,
                       by_class={UnsupportedMediaType: (400, "badRequest")})

VOLUME = Dialect(
    name="volume",
    prefix="/volume",
    roots=(VersionRoot("/v3", microversions=volume_versions.MICROVERSIONS, project_segment=True),
           VersionRoot("/v2", fixed=(2, 0), project_segment=True)),
    routes=route_filter(ROUTES, "volume"),
    faults=CINDER_FAULTS,
    statuses=_merged("STATUSES"),
    views=_merged("VIEWS"),
    bodies=_merged("BODIES"),
    queries=_merged("QUERIES"),
    checks_url_project=True,
    url_project_message="Malformed request url",
)
