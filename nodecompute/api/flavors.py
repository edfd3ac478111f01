"""Flavors (#601-#614): list, show, create, update (2.55), delete, project access and extra specs.

2.102 adds the `name` filter to the lists (a regular expression, run by RE2 as the servers' `name`) and drops
`rxtx_factor` and `OS-FLV-DISABLED:disabled` from every view, from create's body and from the sort keys.

Request bodies are checked against the schema before the policy (Nova's decorator order), so a bad body is a 400
for everyone and a good one from a non-admin is a 403. On legacy /v2 unknown body properties are dropped, not
rejected (behaviour.md section 4).
"""
from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from aiohttp import web

from nodecompute.api import auth, validation
from nodecompute.api.actions import Action, dispatch
from nodecompute.api.dialect import Versioned
from nodecompute.api.keys import flavors_key, response_cache_key
from nodecompute.api.respond import Out, QuerySchema, parse_body, parse_query, respond, respond_cached, rules
from nodecompute.api.urls import Links, base_url
from nodecompute.compute import extra_spec_registry
from nodecompute.domain.errors import BadRequest
from nodecompute.domain.flavor_models import SORT_DIRS, SORT_KEYS, SORT_KEYS_V2102
from nodecompute.domain.models import Flavor

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
LIST_QUERY_V275 = {**LIST_QUERY, "additionalProperties": False}  # 2.75: unknown parameters are 400
LIST_QUERY_V2102 = {**LIST_QUERY_V275, "properties": {
    **LIST_QUERY_V275["properties"], "name": {"type": "string"},
    "sort_key": {"type": "string", "enum": list(SORT_KEYS_V2102)}}}
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
# 2.55: a description (Nova's TEXT column: 64 KiB), at create and with PUT /flavors/{id}, its only changeable field
DESCRIPTION = {"type": ["string", "null"], "minLength": 0, "maxLength": 65535, "pattern": r"^[^\x00-\x1f\x7f]*$"}
CREATE_FLAVOR_V255 = copy.deepcopy(CREATE_FLAVOR)
CREATE_FLAVOR_V255["properties"]["flavor"]["properties"]["description"] = DESCRIPTION
CREATE_FLAVOR_V2102 = copy.deepcopy(CREATE_FLAVOR_V255)
del CREATE_FLAVOR_V2102["properties"]["flavor"]["properties"]["rxtx_factor"]
UPDATE_FLAVOR = {
    "type": "object",
    "properties": {"flavor": {"type": "object", "properties": {"description": DESCRIPTION},
                              "required": ["description"], "additionalProperties": False}},
    "required": ["flavor"],
    "additionalProperties": False,
}


# -- views: what a microversion changes is a flag of the view (2.55 description, 2.61 extra_specs, 2.75 swap 0,
# 2.102 no rxtx_factor nor OS-FLV-DISABLED:disabled) --

def flavor_summary(links: Links, flavor: Flavor, description: bool = False) -> dict[str, Any]:
    view = {"id": flavor.flavorid, "name": flavor.name, "links": links.pair("flavors", flavor.flavorid)}
    if description:
        view["description"] = flavor.description
    return view


def flavor_detail(links: Links, flavor: Flavor, description: bool = False, extra_specs: bool = False,
                  swap_zero: bool = False, legacy_fields: bool = True) -> dict[str, Any]:
    """`swap_zero` (2.75): no swap is 0 instead of ""; `legacy_fields` False (2.102): no `rxtx_factor` nor
    `OS-FLV-DISABLED:disabled`."""
    view = {
        "id": flavor.flavorid, "name": flavor.name, "ram": flavor.memory_mb, "disk": flavor.root_gb,
        "swap": flavor.swap or (0 if swap_zero else ""), "OS-FLV-EXT-DATA:ephemeral": flavor.ephemeral_gb,
        "OS-FLV-DISABLED:disabled": flavor.disabled, "vcpus": flavor.vcpus,
        "os-flavor-access:is_public": flavor.is_public, "rxtx_factor": flavor.rxtx_factor or "",
        "links": links.pair("flavors", flavor.flavorid),
    }
    if not legacy_fields:
        del view["OS-FLV-DISABLED:disabled"], view["rxtx_factor"]
    if description:
        view["description"] = flavor.description
    if extra_specs:  # Nova's flavor-extra-specs index policy: anyone who may see the flavor (its default)
        view["extra_specs"] = dict(flavor.extra_specs)
    return view


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
    query = parse_query(request, known_only=True)  # `name` below 2.102 is ignored (2.1-2.74) or refused (2.75)
    limit = int(query.get("limit") or 0)
    filters = {
        "min_ram": _int_filter(query, "minRam"), "min_disk": _int_filter(query, "minDisk"),
        "sort_key": query.get("sort_key") or "flavorid", "sort_dir": query.get("sort_dir") or "asc",
        "limit": validation.page_size(limit), "marker": query.get("marker"), "name": query.get("name"),
    }
    if auth.context(request).is_admin:
        filters["is_public"] = _parse_is_public(query.get("is_public"))
    return filters


async def list_flavors(request: web.Request) -> web.Response:
    """#601 and #602 (the route's operation picks the summary or the detail view): rendered once per query and
    caller until the database changes."""
    ctx = auth.context(request)
    service = request.config_dict[flavors_key]
    key = (request.path_qs, base_url(request), ctx.project_id, ctx.is_admin)

    def make() -> tuple[int, list[Flavor]]:
        filters = _list_filters(request)
        return filters["limit"], service.list_visible(ctx.project_id, ctx.is_admin, **filters)
    return respond_cached(request, request.config_dict[response_cache_key], service.data_version(), key, make)


# -- show, create, delete (#603-#605) --

async def show_flavor(request: web.Request) -> web.StreamResponse:
    ctx = auth.context(request)
    flavors = request.config_dict[flavors_key]
    return respond(request, flavors.show(request.match_info["flavor_id"], ctx.project_id, ctx.is_admin))


async def create_flavor(request: web.Request) -> web.StreamResponse:
    spec = (await parse_body(request))["flavor"]
    auth.require_admin(request, POLICY % "manage:create")
    flavor = await request.config_dict[flavors_key].create(
        spec["name"], spec["ram"], spec["vcpus"], spec["disk"], flavorid=spec.get("id"),
        ephemeral=spec.get("OS-FLV-EXT-DATA:ephemeral", 0), swap=spec.get("swap", 0),
        rxtx_factor=spec.get("rxtx_factor", 1.0),
        is_public=validation.to_bool(spec.get("os-flavor-access:is_public", True)),
        description=spec.get("description"),
    )
    return respond(request, flavor)


async def update_flavor(request: web.Request) -> web.StreamResponse:
    """#614 (2.55): the body is checked before the policy, as Nova's decorators run."""
    spec = (await parse_body(request))["flavor"]
    auth.require_admin(request, POLICY % "manage:update")
    flavors = request.config_dict[flavors_key]
    return respond(request, await flavors.set_description(request.match_info["flavor_id"], spec["description"]))


async def delete_flavor(request: web.Request) -> web.StreamResponse:
    auth.require_admin(request, POLICY % "manage:delete")
    await request.config_dict[flavors_key].delete(request.match_info["flavor_id"])
    return respond(request)


# -- access (#606-#608) --

async def list_flavor_access(request: web.Request) -> web.StreamResponse:
    ctx = auth.context(request)
    flavorid = request.match_info["flavor_id"]
    projects = request.config_dict[flavors_key].access_list(flavorid, ctx.project_id, ctx.is_admin)
    return respond(request, (flavorid, projects))


async def _add_tenant_access(request: web.Request, body: dict) -> web.StreamResponse:
    auth.require_admin(request, POLICY % "access:add_tenant_access")
    flavorid = request.match_info["flavor_id"]
    projects = await request.config_dict[flavors_key].add_access(flavorid, body["addTenantAccess"]["tenant"])
    return respond(request, (flavorid, projects))


async def _remove_tenant_access(request: web.Request, body: dict) -> web.StreamResponse:
    auth.require_admin(request, POLICY % "access:remove_tenant_access")
    flavorid = request.match_info["flavor_id"]
    projects = await request.config_dict[flavors_key].remove_access(flavorid, body["removeTenantAccess"]["tenant"])
    return respond(request, (flavorid, projects))


# action key -> operation, handler (the admin check follows the body check, as in Nova)
ACTIONS = {
    "addTenantAccess": Action("#607", _add_tenant_access),
    "removeTenantAccess": Action("#608", _remove_tenant_access),
}


async def flavor_action(request: web.Request) -> web.StreamResponse:
    return await dispatch(request, ACTIONS)


# -- extra specs (#609-#613) --

async def list_extra_specs(request: web.Request) -> web.StreamResponse:
    ctx = auth.context(request)
    flavors = request.config_dict[flavors_key]
    return respond(request, flavors.extra_specs(request.match_info["flavor_id"], ctx.project_id, ctx.is_admin))


async def create_extra_specs(request: web.Request) -> web.StreamResponse:
    body = await parse_body(request)
    auth.require_admin(request, POLICY % "extra-specs:create")
    if rules(request):  # 2.86: Nova's registry of known extra specs, before the flavor is looked up
        extra_spec_registry.validate_all(body["extra_specs"])
    await request.config_dict[flavors_key].set_extra_specs(request.match_info["flavor_id"], body["extra_specs"])
    return respond(request, body)


async def show_extra_spec(request: web.Request) -> web.StreamResponse:
    ctx = auth.context(request)
    key = request.match_info["key"]
    flavors = request.config_dict[flavors_key]
    value = flavors.extra_spec(request.match_info["flavor_id"], key, ctx.project_id, ctx.is_admin)
    return respond(request, {key: value})


async def update_extra_spec(request: web.Request) -> web.StreamResponse:
    body = await parse_body(request)
    auth.require_admin(request, POLICY % "extra-specs:update")
    if rules(request):
        extra_spec_registry.validate_all(body)
    if request.match_info["key"] not in body:
        raise BadRequest("Request body and URI mismatch")
    await request.config_dict[flavors_key].set_extra_specs(request.match_info["flavor_id"], body)
    return respond(request, body)


async def delete_extra_spec(request: web.Request) -> web.StreamResponse:
    auth.require_admin(request, POLICY % "extra-specs:delete")
    await request.config_dict[flavors_key].delete_extra_spec(request.match_info["flavor_id"],
                                                             request.match_info["key"])
    return respond(request)


# -- the openstack dialect's views, statuses and schemas --

FlavorView = Callable[[Links, Flavor], dict[str, Any]]


def _page(view: FlavorView, path_tail: str) -> Callable[[Out, Any], dict]:
    def render(out: Out, result: tuple[int, list[Flavor]]) -> dict[str, Any]:
        limit, flavors = result
        body: dict[str, Any] = {"flavors": [view(out.links, flavor) for flavor in flavors]}
        if flavors and len(flavors) == limit:
            body["flavors_links"] = out.links.next_page(path_tail, flavors[-1].flavorid)
        return body
    return render


def _one(view: FlavorView) -> Callable[[Out, Flavor], dict]:
    return lambda out, flavor: {"flavor": view(out.links, flavor)}


def _at(summary: bool = False, **flags: bool) -> FlavorView:
    view = flavor_summary if summary else flavor_detail
    return lambda links, flavor: view(links, flavor, **flags)


# The views at each microversion that changed them.
SUMMARY = Versioned(_at(summary=True), ((2, 55), _at(summary=True, description=True)))
DETAIL = Versioned(_at(), ((2, 55), _at(description=True)), ((2, 61), _at(description=True, extra_specs=True)),
                   ((2, 75), _at(description=True, extra_specs=True, swap_zero=True)),
                   ((2, 102), _at(description=True, extra_specs=True, swap_zero=True, legacy_fields=False)))


def _access(out: Out, result: tuple[str, list[str]]) -> dict[str, Any]:
    return _access_view(*result)


def _echo(out: Out, body: Any) -> Any:
    return body


flavor_page = _page  # for the vendor dialects (api/k5_compute.py: K5's GET /flavors is detailed, D51)
VIEWS = {
    "#601": SUMMARY.map(lambda view: _page(view, "flavors")),
    "#602": DETAIL.map(lambda view: _page(view, "flavors/detail")),
    "#603": DETAIL.map(_one), "#604": DETAIL.map(_one), "#614": DETAIL.map(_one),
    "#606": _access, "#607": _access, "#608": _access,
    "#609": lambda out, specs: {"extra_specs": specs}, "#610": _echo, "#611": _echo, "#612": _echo,
}
STATUSES = {"#605": 202, "#613": 200}  # 200 with no body (Nova)
BODIES = {"#604": Versioned(CREATE_FLAVOR, ((2, 55), CREATE_FLAVOR_V255), ((2, 102), CREATE_FLAVOR_V2102)),
          "#614": UPDATE_FLAVOR,
          "#607": ADD_TENANT, "#608": REMOVE_TENANT, "#610": CREATE_EXTRA_SPECS, "#612": UPDATE_EXTRA_SPEC}
_LIST_QUERIES = Versioned(QuerySchema(LIST_QUERY), ((2, 75), QuerySchema(LIST_QUERY_V275)),
                          ((2, 102), QuerySchema(LIST_QUERY_V2102)))
QUERIES = {"#601": _LIST_QUERIES, "#602": _LIST_QUERIES}
_VALIDATES_SPECS = Versioned(False, ((2, 86), True))  # whether extra specs are checked against Nova's registry
RULES = {"#610": _VALIDATES_SPECS, "#612": _VALIDATES_SPECS}
