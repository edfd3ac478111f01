"""The `k5` dialect (issue 25): Fujitsu K5's compute API at /k5/v2/{tenant_id}, its identity at /k5/identity, its
image service at /k5/image and its block storage (Cinder v2) at /k5/volume/v2/{tenant_id}.

The compute face is the openstack one at legacy v2.0 (K5 is a v2.0-era API: no microversions, Nova's legacy
relaxation of bodies) with K5's version documents and faults (api/k5_faces.py); the volume extension is also at
/k5/v1.1/{tenant_id}. The identity face is the same Keystone and tokens, v3 only, with a catalog of the k5
endpoints (row #2203).
"""
from __future__ import annotations

from nodecompute.api import (faults, glance, identity, k5_compute, k5_faces, k5_image_jobs, k5_resources,
                             k5_storage,
                             k5_volumes)
from nodecompute.api.dialect import Faults, Versioned, VersionRoot, route_filter, versioned
from nodecompute.api.dialects.identity import IDENTITY
from nodecompute.api.dialects.image import IMAGE
from nodecompute.api.dialects.openstack import OPENSTACK
from nodecompute.api.dialects.volume import VOLUME
from nodecompute.api.route_table import ROUTES
from nodecompute.domain.errors import NotFound, QuotaExceeded

K5_FAULTS = Faults(faults.nova_fault, k5_faces.K5_FAULT_NAMES, "cloudServersFault",
                   by_class={QuotaExceeded: (413, "overLimit")}, name_of=k5_faces.build_in_progress)

K5 = OPENSTACK.derive(
    name="k5",
    prefix=k5_faces.PREFIX,
    roots=(VersionRoot("/v2", fixed=(2, 0), project_segment=True),),
    routes=k5_resources.k5_rows(k5_compute.k5_rows(route_filter(
        ROUTES, "compute", lacks={"#103", "compute:choices"},
        adds=k5_faces.volume_extension_v11() + k5_image_jobs.routes()))),
    faults=K5_FAULTS,
    views={**versioned(k5_compute.VIEWS), **versioned(k5_resources.VIEWS), **versioned(k5_volumes.VIEWS),
           "#101": Versioned(k5_faces.versions_view), "#102": Versioned(k5_faces.v2_view)},
    statuses=versioned(k5_compute.STATUSES),
    bodies=versioned(k5_resources.BODIES),
    unknown_route=lambda method, path, version: NotFound(),
    unauthorized=k5_faces.unauthorized,
    wrong_method=k5_faces.bad_method,
)

K5_IDENTITY = IDENTITY.derive(
    name="k5-identity",
    prefix=k5_faces.IDENTITY_PREFIX,
    routes=route_filter(ROUTES, "identity", lacks={"identity:v2.0", "#2206"}),
    views={"#2201": Versioned(k5_faces.identity_versions_view)},
    rules={identity.CATALOG_RULE: Versioned(k5_faces.catalog_services)},
)

# D61: a `rejected` member still lists (and uses) a shared image; only removing the member revokes it. K5's images
# are created private when the request names no visibility (its examples; Glance before image API 2.5).
K5_IMAGE = IMAGE.derive(name="k5-image", prefix=f"{k5_faces.PREFIX}/image",
                        rules={glance.MEMBER_LISTING_RULE: Versioned(("accepted", "rejected")),
                               glance.DEFAULT_VISIBILITY_RULE: Versioned("private")})

K5_VOLUME = VOLUME.derive(
    name="k5-volume",
    prefix=f"{k5_faces.PREFIX}/volume",
    roots=(VersionRoot("/v2", fixed=(2, 0), project_segment=True),),
    routes=k5_storage.volume_rows(route_filter(ROUTES, "volume", lacks={"#1231", "volume:v3"})),
    views=k5_storage.versioned_views(),
    bodies=k5_storage.BODIES,
    statuses=k5_storage.STATUSES,
    unauthorized=k5_faces.unauthorized,
    wrong_method=k5_faces.bad_method,
)
