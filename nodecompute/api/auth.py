"""Token authentication, project-in-URL check, microversions, and the policy helpers handlers call.

Roles follow Nova's defaults: reader reads within its project, member also writes there, admin may do
admin-only operations and reach other projects through `all_tenants` or explicit ids.
"""
from __future__ import annotations

import re

from aiohttp import web

from nodecompute.api import faults
from nodecompute.api.keys import api_version_key, config_key, context_key, identity_key
from nodecompute.compute.errors import BadRequest, NotAcceptable, PolicyNotAuthorized
from nodecompute.compute.models import AuthContext

MIN_VERSION = (2, 1)
MAX_VERSION = (2, 1)  # raised only when every microversion step up to it is implemented and tested

# Paths that need no token (behaviour.md section 2): version documents and token issue.
PUBLIC_PATHS = {
    "/", "/compute", "/compute/", "/compute/v2", "/compute/v2.1",
    "/identity", "/identity/", "/identity/v3", "/identity/v3/", "/identity/v2.0", "/identity/v2.0/",
    "/identity/v3/auth/tokens", "/identity/v2.0/tokens",
    "/image", "/image/", "/image/versions",
}
_COMPUTE = re.compile(r"^/compute/(v2|v2\.1)(?:/|$)")
_VERSION = re.compile(r"^(\d+)\.(\d+)$|^latest$")


def version_text(version: tuple[int, int]) -> str:
    return f"{version[0]}.{version[1]}"


def identity_url(request: web.Request) -> str:
    return f"{request.config_dict[config_key].public_url}/identity"


def _requested_version(request: web.Request) -> tuple[int, int]:
    value = None
    header = request.headers.get("OpenStack-API-Version")
    if header:
        for item in header.split(","):
            parts = item.strip().split(None, 1)
            if len(parts) == 2 and parts[0].lower() == "compute":
                value = parts[1].strip()
    if value is None:
        value = request.headers.get("X-OpenStack-Nova-API-Version")
    if value is None:
        return MIN_VERSION
    match = _VERSION.match(value.strip())
    if not match:
        raise BadRequest(f"API Version String {value} is of invalid format. Must be of format MajorNum.MinorNum.")
    if value.strip() == "latest":
        return MAX_VERSION
    version = (int(match.group(1)), int(match.group(2)))
    if not MIN_VERSION <= version <= MAX_VERSION:
        raise NotAcceptable(
            f"Version {value.strip()} is not supported by the API. Minimum is {version_text(MIN_VERSION)} "
            f"and maximum is {version_text(MAX_VERSION)}."
        )
    return version


def _add_version_headers(headers, version: tuple[int, int]) -> None:
    text = version_text(version)
    headers["OpenStack-API-Version"] = f"compute {text}"
    headers["X-OpenStack-Nova-API-Version"] = text
    headers["Vary"] = "OpenStack-API-Version, X-OpenStack-Nova-API-Version"


@web.middleware
async def microversion_middleware(request: web.Request, handler: faults.Handler) -> web.StreamResponse:
    """On /v2.1 every response, faults included, names the microversion; /v2 ignores the headers.

    Sits outside error_middleware, so `handler` always returns a rendered response.
    """
    match = _COMPUTE.match(request.path)
    if match is None:
        return await handler(request)
    if match.group(1) == "v2":
        request[api_version_key] = (2, 0)
        return await handler(request)
    try:
        version = _requested_version(request)
    except (BadRequest, NotAcceptable) as exc:
        response: web.StreamResponse = faults.nova_fault(exc.code, exc.message)
        version = MIN_VERSION
    else:
        request[api_version_key] = version
        response = await handler(request)
    _add_version_headers(response.headers, version)
    return response


@web.middleware
async def auth_middleware(request: web.Request, handler: faults.Handler) -> web.StreamResponse:
    path = request.path
    needs_token = _COMPUTE.match(path) is not None or path.startswith("/image/")
    if path in PUBLIC_PATHS or not needs_token:
        return await handler(request)
    ctx = request.config_dict[identity_key].validate(request.headers.get("X-Auth-Token"))
    if ctx is None:
        return faults.unauthorized(request, identity_url(request))
    request[context_key] = ctx
    url_project = request.match_info.get("project_id", "").lstrip("/")
    if url_project and url_project != ctx.project_id:
        raise BadRequest(
            f"Malformed request URL: URL's project_id '{url_project}' doesn't match Context's project_id "
            f"'{ctx.project_id}'"
        )
    return await handler(request)


def context(request: web.Request) -> AuthContext:
    return request[context_key]


def require_admin(request: web.Request, rule: str) -> AuthContext:
    ctx = request[context_key]
    if not ctx.is_admin:
        raise PolicyNotAuthorized(action=rule)
    return ctx


def require_writer(request: web.Request, rule: str) -> AuthContext:
    """Member (or admin) of the token's project: the role a mutation needs."""
    ctx = request[context_key]
    if not ctx.can_write:
        raise PolicyNotAuthorized(action=rule)
    return ctx
