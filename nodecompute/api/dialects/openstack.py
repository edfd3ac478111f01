"""The `openstack` dialect: the compute face as upstream Nova v2.1 answers (dialects.md rule 1).

Mounted at /compute with two version roots, each also under a `{project_id}` segment: /v2.1 negotiates
microversions (versions.MICROVERSIONS) and validates bodies strictly; /v2 is the legacy API, fixed at 2.0, with
Nova's legacy relaxation (unknown body properties dropped). The views, statuses and schemas are the resource
modules' own tables; a route Nova has and nodecompute does not serve yet answers 404 saying so (api/catalog.py).
"""
from __future__ import annotations

from nodecompute.api import (admin_actions, aggregates, catalog, closed_queries, consoles, extensions, faults,
                             flavors, floating_ips, hosts, hypervisors, images, instance_actions, keypairs, limits,
                             migrations,
                             network_proxies, nova_secgroups, nova_sg_default_rules, os_volumes, server_actions,
                             server_admin_password, server_diagnostics, server_floating_ips, server_groups,
                             server_images, server_interfaces, server_ips, server_metadata, server_password,
                             server_schemas, server_security_groups, server_tags, server_views, services, usage,
                             usage_audit, versions, volume_attachments, zones)
from nodecompute.api.dialect import LEGACY, STRICT, Dialect, Faults, Versioned, VersionRoot, route_filter, versioned
from nodecompute.api.route_table import ROUTES
from nodecompute.domain.flavor_models import PublicFlavorAccess

_MODULES = (versions, extensions, limits, flavors, keypairs, zones, images, nova_secgroups, nova_sg_default_rules,
            server_views, server_schemas, server_actions, server_metadata, server_ips, floating_ips, server_interfaces,
            network_proxies, consoles, instance_actions, os_volumes, volume_attachments, server_tags, hypervisors,
            services, server_groups, server_diagnostics, usage, migrations, aggregates,
            server_security_groups, server_floating_ips, admin_actions, hosts, usage_audit, server_password,
            server_images, server_admin_password)


def _merged(name: str) -> dict:
    table: dict = {}
    for module in _MODULES:
        table.update(getattr(module, name, {}))
    return versioned(table)


NOVA_FAULTS = Faults(faults.nova_fault, faults.NOVA_FAULT_NAMES, faults.NOVA_DEFAULT_FAULT, by_version={
    PublicFlavorAccess: Versioned(None, ((2, 7), (409, "conflictingRequest"))),
})

_ROUTES = route_filter(ROUTES, "compute")
_QUERIES, _CLOSED = closed_queries.close_from_2102(_merged("QUERIES"), _ROUTES)

OPENSTACK = Dialect(
    name="openstack",
    prefix="/compute",
    roots=(VersionRoot("/v2.1", microversions=versions.MICROVERSIONS, project_segment=True),
           VersionRoot("/v2", fixed=(2, 0), project_segment=True)),
    routes=_ROUTES,
    faults=NOVA_FAULTS,
    statuses=_merged("STATUSES"),
    views=_merged("VIEWS"),
    bodies=_merged("BODIES"),
    queries=_QUERIES,
    checked_queries=Versioned(frozenset(), (closed_queries.CLOSED_FROM, _CLOSED)),
    rules=_merged("RULES"),
    validation=Versioned(LEGACY, ((2, 1), STRICT)),
    checks_url_project=True,
    unknown_route=catalog.unknown_route,
)
