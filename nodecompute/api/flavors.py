"""Flavors (#601-#613): list, show, create, delete, project access and extra specs.

Request bodies are checked against the schema before the policy (Nova's decorator order), so a bad body is a 400
for everyone and a good one from a non-admin is a 403. On legacy /v2 unknown body properties are dropped, not
rejected (behaviour.md section 4).
"""
from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from aiohttp import web

from nodecompute.api import auth, validation
from nodecompute.api.faults import JSON, json_response
from nodecompute.api.keys import api_version_key, response_cache_key, services_key
from nodecompute.api.urls import Links, base_url
from nodecompute.compute.errors import BadRequest, MalformedBody
from nodecompute.compute.flavor_models import SORT_DIRS, SORT_KEYS
from nodecompute.compute.flavors import FlavorService
from nodecompute.compute.models import Flavor

MAX_LIMIT = 1000  # Nova's [api] max_limit
POLICY = "os_compute_api:os-flavor-%s"

LIST_QUERY = {
    "type": "object",
    "properties": {
        "limit": {"type": "string", "pattern": "^[0-9]+$"},
        "marker": {"type": "string"},
        "is_public": {"type": "string"},
        "minRam": {"type": "string"},
        "minDisk": {"type": "string"},
        "sort_key": {"type": "string", "enum": list(SORT_KEYS)},
        "sort_dir": {"type": "string", "enum": list(SORT_DIRS)},
    },
    "additionalProperties": True,  # Nova ignores unknown query parameters at 2.1
}
_POSITIVE = {"type": ["integer", "string"], "pattern": "^[0-9]+$", "minimum": 1, "maximum": 2147483647}
_NON_NEGATIVE = {**_POSITIVE, "minimum": 0}
CREATE_FLAVOR = {
    "type": "object",
    "properties": {"flavor": {
        "type": "object",
        "properties": {
            "name": validation.name,
            "id": {"type": ["string", "number", "null"], "minLength": 1, "maxLength": 255,
                   "pattern": r"^(?! )[a-zA-Z0-9. _-]+(?<! )$"},
            "ram": _POSITIVE, "vcpus": _POSITIVE, "disk": _NON_NEGATIVE,
            "OS-FLV-EXT-DATA:ephemeral": _NON_NEGATIVE, "swap": _NON_NEGATIVE,
            "rxtx_factor": {"type": ["number", "string"], "pattern": r"^[0-9]+(\.[0-9]+)?$",
                            "exclusiveMinimum": 0, "maximum": 3.40282e+38},
            "os-flavor-access:is_public": validation.boolean,
        },
        "required": ["name", "ram", "vcpus", "disk"],
        "additionalProperties": False,
    }},
    "required": ["flavor"],
    "additionalProperties": False,
}
_TENANT = {"type": "object", "properties": {"tenant": {"type": "string", "minLength": 1, "maxLength": 255}},
           "required": ["tenant"], "additionalProperties": False}
ADD_TENANT = {"type": "object", "properties": {"addTenantAccess": _TENANT}, "required": ["addTenantAccess"],
              "additionalProperties": False}
REMOVE_TENANT = {"type": "object", "properties": {"removeTenantAccess": _TENANT},
                 "required": ["removeTenantAccess"], "additionalProperties": False}
EXTRA_SPECS = {
    "type": "object",
    "patternProperties": {validation.metadata_key["pattern"]: {"type": ["string", "number"], "maxLength": 255}},
    "additionalProperties": False,
}
CREATE_EXTRA_SPECS = {"type": "object", "properties": {"extra_specs": EXTRA_SPECS}, "required": ["extra_specs"],
                      "additionalProperties": False}
UPDATE_EXTRA_SPEC = {**EXTRA_SPECS, "minProperties": 1, "maxProperties": 1}


def _service(request: web.Request) -> FlavorService:
    return request.app[services_key]["flavors"]


def _drop_unknown(schema: Mapping[str, Any], value: Any) -> Any:
    """Legacy /v2: properties the schema does not name are ignored instead of rejected."""
    properties = schema.get("properties")
    if not isinstance(value, dict) or properties is None:
        return value
    return {key: _drop_unknown(properties[key], item) for key, item in value.items() if key in properties}


def _checked(request: web.Request, schema: Mapping[str, Any], body: dict) -> dict:
    if request.get(api_version_key) == (2, 0):
        body = _drop_unknown(schema, body)
    return validation.validate(schema, body)


async def _body(request: web.Request, schema: Mapping[str, Any]) -> dict:
    return _checked(request, schema, await validation.json_body(request))


# -- views --

def flavor_summary(links: Links, flavor: Flavor) -> dict[str, Any]:
    return {"id": flavor.flavorid, "name": flavor.name, "links": links.pair("flavors", flavor.flavorid)}


def flavor_detail(links: Links, flavor: Flavor) -> dict[str, Any]:
    return {
        "id": flavor.flavorid, "name": flavor.name, "ram": flavor.memory_mb, "disk": flavor.root_gb,
        "swap": flavor.swap or "", "OS-FLV-EXT-DATA:ephemeral": flavor.ephemeral_gb,
        "OS-FLV-DISABLED:disabled": flavor.disabled, "vcpus": flavor.vcpus,
        "os-flavor-access:is_public": flavor.is_public, "rxtx_factor": flavor.rxtx_factor or "",
        "links": links.pair("flavors", flavor.flavorid),
    }


def _access_view(flavorid: str, projects: list[str]) -> dict[str, Any]:
    return {"flavor_access": [{"flavor_id": flavorid, "tenant_id": project} for project in projects]}


# -- list (#601, #602) --

def _parse_is_public(value: str | None) -> bool | None:
    """Admins only: absent = public (+ shared with the project), 'none' = all, else a strict boolean."""
    if value is None:
        return True
    text = value.strip().lower()
    if text == "none":
        return None
    if text in validation.TRUE_STRINGS or text in validation.FALSE_STRINGS:
        return text in validation.TRUE_STRINGS
    raise BadRequest(f"Invalid is_public filter [{value}]")


def _int_filter(query: dict[str, Any], name: str) -> int | None:
    if name not in query:
        return None
    try:
        return validation.int_filter(query[name])
    except ValueError:
        raise BadRequest(f"Invalid {name} filter [{query[name]}]") from None


def _list_filters(request: web.Request) -> dict[str, Any]:
    query = validation.validate_query(LIST_QUERY, request.query)
    limit = int(query.get("limit") or 0)
    filters = {
        "min_ram": _int_filter(query, "minRam"), "min_disk": _int_filter(query, "minDisk"),
        "sort_key": query.get("sort_key") or "flavorid", "sort_dir": query.get("sort_dir") or "asc",
        "limit": min(limit, MAX_LIMIT) if limit else MAX_LIMIT, "marker": query.get("marker"),
    }
    if auth.context(request).is_admin:
        filters["is_public"] = _parse_is_public(query.get("is_public"))
    return filters


def _list(view: Callable[[Links, Flavor], dict[str, Any]], path_tail: str) -> Callable[..., Awaitable[web.Response]]:
    def render(request: web.Request) -> bytes:
        ctx = auth.context(request)
        filters = _list_filters(request)
        flavors = _service(request).list_visible(ctx.project_id, ctx.is_admin, **filters)
        links = Links(request)
        body: dict[str, Any] = {"flavors": [view(links, flavor) for flavor in flavors]}
        if flavors and len(flavors) == filters["limit"]:
            body["flavors_links"] = links.next_page(path_tail, flavors[-1].flavorid)
        return json.dumps(body).encode()

    async def handler(request: web.Request) -> web.Response:
        ctx = auth.context(request)
        key = (request.path_qs, base_url(request), request.get(api_version_key), ctx.project_id, ctx.is_admin)
        body = request.app[response_cache_key].get_or_make(
            _service(request).data_version(), key, lambda: render(request))
        return web.Response(body=body, content_type=JSON, charset="UTF-8")
    return handler


list_flavors = _list(flavor_summary, "flavors")
list_flavors_detail = _list(flavor_detail, "flavors/detail")


# -- show, create, delete (#603-#605) --

async def show_flavor(request: web.Request) -> web.Response:
    ctx = auth.context(request)
    flavor = _service(request).get_for_project(request.match_info["flavor_id"], ctx.project_id, ctx.is_admin)
    return json_response({"flavor": flavor_detail(Links(request), flavor)})


async def create_flavor(request: web.Request) -> web.Response:
    spec = (await _body(request, CREATE_FLAVOR))["flavor"]
    auth.require_admin(request, POLICY % "manage:create")
    flavor = await _service(request).create(
        spec["name"], spec["ram"], spec["vcpus"], spec["disk"], flavorid=spec.get("id"),
        ephemeral=spec.get("OS-FLV-EXT-DATA:ephemeral", 0), swap=spec.get("swap", 0),
        rxtx_factor=spec.get("rxtx_factor", 1.0),
        is_public=validation.to_bool(spec.get("os-flavor-access:is_public", True)),
    )
    return json_response({"flavor": flavor_detail(Links(request), flavor)})


async def delete_flavor(request: web.Request) -> web.Response:
    auth.require_admin(request, POLICY % "manage:delete")
    await _service(request).delete(request.match_info["flavor_id"])
    return web.Response(status=202)


# -- access (#606-#608) --

async def list_flavor_access(request: web.Request) -> web.Response:
    ctx = auth.context(request)
    flavorid = request.match_info["flavor_id"]
    projects = _service(request).access_list(flavorid, ctx.project_id, ctx.is_admin)
    return json_response(_access_view(flavorid, projects))


async def _add_tenant_access(request: web.Request, body: dict) -> web.Response:
    auth.require_admin(request, POLICY % "access:add_tenant_access")
    flavorid = request.match_info["flavor_id"]
    projects = await _service(request).add_access(flavorid, body["addTenantAccess"]["tenant"])
    return json_response(_access_view(flavorid, projects))


async def _remove_tenant_access(request: web.Request, body: dict) -> web.Response:
    auth.require_admin(request, POLICY % "access:remove_tenant_access")
    flavorid = request.match_info["flavor_id"]
    projects = await _service(request).remove_access(flavorid, body["removeTenantAccess"]["tenant"])
    return json_response(_access_view(flavorid, projects))


ACTIONS = {
    "addTenantAccess": (ADD_TENANT, _add_tenant_access),
    "removeTenantAccess": (REMOVE_TENANT, _remove_tenant_access),
}


async def flavor_action(request: web.Request) -> web.Response:
    """Dispatch on the single body key, as Nova's wsgi action_peek does."""
    body = await validation.json_body(request)
    if len(body) != 1:
        raise MalformedBody()
    key = next(iter(body))
    if key not in ACTIONS:
        raise BadRequest(f"There is no such action: {key}")
    schema, action = ACTIONS[key]
    return await action(request, _checked(request, schema, body))


# -- extra specs (#609-#613) --

async def list_extra_specs(request: web.Request) -> web.Response:
    ctx = auth.context(request)
    specs = _service(request).extra_specs(request.match_info["flavor_id"], ctx.project_id, ctx.is_admin)
    return json_response({"extra_specs": specs})


async def create_extra_specs(request: web.Request) -> web.Response:
    body = await _body(request, CREATE_EXTRA_SPECS)
    auth.require_admin(request, POLICY % "extra-specs:create")
    await _service(request).set_extra_specs(request.match_info["flavor_id"], body["extra_specs"])
    return json_response(body)


async def show_extra_spec(request: web.Request) -> web.Response:
    ctx = auth.context(request)
    key = request.match_info["key"]
    value = _service(request).extra_spec(request.match_info["flavor_id"], key, ctx.project_id, ctx.is_admin)
    return json_response({key: value})


async def update_extra_spec(request: web.Request) -> web.Response:
    body = await _body(request, UPDATE_EXTRA_SPEC)
    auth.require_admin(request, POLICY % "extra-specs:update")
    if request.match_info["key"] not in body:
        raise BadRequest("Request body and URI mismatch")
    await _service(request).set_extra_specs(request.match_info["flavor_id"], body)
    return json_response(body)


async def delete_extra_spec(request: web.Request) -> web.Response:
    auth.require_admin(request, POLICY % "extra-specs:delete")
    await _service(request).delete_extra_spec(request.match_info["flavor_id"], request.match_info["key"])
    return web.Response(status=200)


ROUTES = [
    ("GET", "/flavors", list_flavors),
    ("GET", "/flavors/detail", list_flavors_detail),
    ("POST", "/flavors", create_flavor),
    ("GET", "/flavors/{flavor_id}", show_flavor),
    ("DELETE", "/flavors/{flavor_id}", delete_flavor),
    ("GET", "/flavors/{flavor_id}/os-flavor-access", list_flavor_access),
    ("POST", "/flavors/{flavor_id}/action", flavor_action),
    ("GET", "/flavors/{flavor_id}/os-extra_specs", list_extra_specs),
    ("POST", "/flavors/{flavor_id}/os-extra_specs", create_extra_specs),
    ("GET", "/flavors/{flavor_id}/os-extra_specs/{key}", show_extra_spec),
    ("PUT", "/flavors/{flavor_id}/os-extra_specs/{key}", update_extra_spec),
    ("DELETE", "/flavors/{flavor_id}/os-extra_specs/{key}", delete_extra_spec),
]
