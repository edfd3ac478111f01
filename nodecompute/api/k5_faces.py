"""The K5 faces' protocol pieces (dialects.md D1, D7, D8, D12, D13, D15, D31, rows #2203 and #1201-#1210): version
documents, faults, the identity catalog of the k5 endpoints, and the compute volume extension at /k5/v1.1.

K5 speaks Nova's fault body; a 500 is `cloudServersFault`, an action on a building server `buildInProgress`, a quota
`overLimit` (413), a known URL asked with another method 405 `badMethod` with `Allow`, a missing or bad token an
`unauthorized` fault (not keystonemiddleware's body). Its compute endpoint is `/k5/v2/{tenant_id}` (legacy v2.0,
the only version its version list shows), its identity `/k5/identity` (Keystone v3 only).
"""
from __future__ import annotations

from typing import Any

from aiohttp import web

from nodecompute.api import faults, identity, versions
from nodecompute.api.keys import config_key, mounted_dialects_key
from nodecompute.api.respond import Out, Reply
from nodecompute.api.route_table import ROUTES
from nodecompute.api.routing import Route
from nodecompute.api.urls import base_url
from nodecompute.domain import errors
from nodecompute.domain.states import BUILDING

PREFIX = "/k5"
IDENTITY_PREFIX = "/k5/identity"
K5_FAULT_NAMES = {**faults.NOVA_FAULT_NAMES, 500: "cloudServersFault"}
# the compute volume extension: K5 documents it at /v1.1/{tenant_id} on its /v2/{tenant_id} endpoint; served at both
VOLUME_EXTENSION = ("#1201", "#1202", "#1203", "#1204", "#1205", "#1206", "#1207", "#1208", "#1209", "#1210")


class BadMethod(errors.ComputeError):
    code = 405
    msg_fmt = "The method specified is not allowed for this resource."


def build_in_progress(exc: errors.ComputeError) -> str | None:
    """D31: a state conflict on a server still building is `buildInProgress`."""
    if isinstance(exc, errors.InstanceInvalidState) and exc.kwargs.get("state") == BUILDING:
        return "buildInProgress"
    return None


def bad_method(method: str, allowed: frozenset[str]) -> errors.ComputeError:
    """D8: 405 `badMethod` naming the methods the URL has."""
    error = BadMethod()
    error.headers = {"Allow": ", ".join(sorted(allowed))}
    return error


def unauthorized(request: web.Request) -> web.Response:
    """D12: 401 as a Nova-shaped `unauthorized` fault; WWW-Authenticate names K5's identity endpoint."""
    where = f"{request.config_dict[config_key].public_url}{IDENTITY_PREFIX}"
    return faults.nova_fault(401, "unauthorized", errors.Unauthorized.msg_fmt,
                             {"WWW-Authenticate": f'Keystone uri="{where}"'})


def zone(request: web.Request) -> str:
    """The one availability zone of this host (every K5 resource shows it, D63)."""
    return request.config_dict[config_key].compute.availability_zone


def _v20(root: str) -> dict[str, Any]:
    """Nova's v2.0 document, CURRENT: the only compute version K5 has (D1)."""
    return {**versions.v20_document(root), "status": "CURRENT"}


def versions_view(out: Out, _: Any) -> dict:
    return {"versions": [_v20(f"{base_url(out.request)}{PREFIX}")]}


def v2_view(out: Out, _: Any) -> dict:
    return {"version": versions.with_details(_v20(f"{base_url(out.request)}{PREFIX}"), "2")}


def identity_versions_view(out: Out, _: Any) -> Reply:
    """`/k5/identity`: Keystone's 300 with v3 only (K5 documents no v2.0)."""
    root = f"{base_url(out.request)}{IDENTITY_PREFIX}"
    return Reply({"versions": {"values": [identity.v3_document(root)]}}, headers={"Location": f"{root}/v3/"})


def catalog_services(request: web.Request, project_id: str) -> list[tuple[str, str, str]]:
    """Row #2203's catalog types, each listed only while its k5 face is mounted: `compute` (/k5/v2/<project>),
    `image` (/k5/image), `blockstoragev2` (/k5/volume/v2/<project>); object storage, orchestration and auto scale
    are not served."""
    public = f"{request.config_dict[config_key].public_url}"
    mounted = {dialect.prefix for dialect in request.config_dict[mounted_dialects_key]}
    services = [("compute", "nova", f"{public}{PREFIX}/v2/{project_id}")]
    if f"{PREFIX}/image" in mounted:
        services.append(("image", "glance", f"{public}{PREFIX}/image"))
    if f"{PREFIX}/volume" in mounted:
        services.append(("blockstoragev2", "cinderv2", f"{public}{PREFIX}/volume/v2/{project_id}"))
    return services


def volume_extension_v11() -> tuple[Route, ...]:
    """The os-volumes/os-snapshots rows again at /v1.1/{project_id} (outside the /v2 root: fixed at v2.0 too)."""
    return tuple(route._replace(face="k5", path="/v1.1/{project_id}" + route.path, versioned=False)
                 for route in ROUTES if route.face == "compute" and route.op in VOLUME_EXTENSION)
