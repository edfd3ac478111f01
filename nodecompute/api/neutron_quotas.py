"""Neutron's quota API (#2818): a project's limits, their usage (`/details`), the defaults (`/default`), the admin
list of projects with their own limits, and the admin update and reset. `openstack quota show` reads these once
`network` is in the catalog."""
from __future__ import annotations

from typing import Any

from aiohttp import web

from nodecompute.api.auth import context
from nodecompute.api.neutron import admin, body, services
from nodecompute.api.neutron_attrs import Attr, Reason, parse, schema, to_boolean
from nodecompute.api.respond import respond
from nodecompute.domain.models import AuthContext
from nodecompute.domain.network_errors import PolicyNotAuthorized
from nodecompute.domain.network_models import NETWORK_QUOTA_RESOURCES

INT_MAX = 2**31 - 1  # Neutron's DB_INTEGER_MAX_VALUE


def _limit(value: Any) -> int:
    try:
        number = int(value) if not isinstance(value, (bool, float)) else None
    except (TypeError, ValueError):
        number = None
    if number is None:
        raise Reason(f"'{value}' is not an integer")
    if not -1 <= number <= INT_MAX:
        raise Reason(f"'{number}' is not in range -1 through {INT_MAX}")
    return number


QUOTA: dict[str, Attr] = {name: Attr(_limit, {"type": ["integer", "string"]}, post=False)
                          for name in NETWORK_QUOTA_RESOURCES}
QUOTA["force"] = Attr(to_boolean, {"type": ["boolean", "string"]}, post=False)
QUOTA["check_limit"] = Attr(to_boolean, {"type": ["boolean", "string"]}, post=False)


def _reader(request: web.Request) -> tuple[AuthContext, str]:
    """The project asked for: one's own, or any for an admin (Neutron's get_quota policy)."""
    ctx = context(request)
    project_id = request.match_info["project_id"]
    if project_id != ctx.project_id and not ctx.is_admin:
        raise PolicyNotAuthorized(rule="rule:get_quota")
    return ctx, project_id


def _with_project(limits: dict[str, int], project_id: str) -> dict[str, Any]:
    return {**limits, "project_id": project_id, "tenant_id": project_id}


async def list_quotas(request: web.Request) -> web.StreamResponse:
    admin(request, "get_quota")
    overrides = services(request).quotas.all_overrides()
    return respond(request, [_with_project(limits, project) for project, limits in overrides.items()])


async def show_quota(request: web.Request) -> web.StreamResponse:
    _, project_id = _reader(request)
    return respond(request, _with_project(services(request).quotas.limits(project_id), project_id))


async def show_quota_details(request: web.Request) -> web.StreamResponse:
    _, project_id = _reader(request)
    return respond(request, services(request).quotas.details(project_id))


async def show_quota_default(request: web.Request) -> web.StreamResponse:
    _, project_id = _reader(request)
    return respond(request, _with_project(services(request).quotas.defaults(), project_id))


async def update_quota(request: web.Request) -> web.StreamResponse:
    admin(request, "update_quota")
    values = parse(await body(request), "quota", QUOTA, create=False)
    force = values.pop("force", False)
    values.pop("check_limit", None)
    project_id = request.match_info["project_id"]
    limits = await services(request).quotas.update(project_id, values, force=force)
    return respond(request, _with_project(limits, project_id))


async def delete_quota(request: web.Request) -> web.StreamResponse:
    admin(request, "delete_quota")
    await services(request).quotas.reset(request.match_info["project_id"])
    return respond(request)


def _member(out, result: Any) -> Any:
    return None if result is None else {"quota": result}  # DELETE: the dialect's 204


VIEWS = {
    "network:quotas": lambda out, quotas: {"quotas": quotas},
    "#2818": _member,
    "network:quota-details": lambda out, details: {"quota": details},
    "network:quota-default": lambda out, defaults: {"quota": defaults},
}
BODIES = {"#2818": schema("quota", QUOTA, create=False)}
