"""The Neutron v2.0 subset under /networking (#2801-#2808, #2818): version documents, extensions, and what every
resource handler shares (the service, the caller's rights, list and member rendering).

No microversions; Neutron's status codes (201 on create, 204 on delete); faults in Neutron's shape, typed by the
error's class name (api/dialects/network.py). When networking is off on this host every route answers 503.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any, NamedTuple

from aiohttp import web

from nodecompute.api import neutron_lists
from nodecompute.api.auth import context
from nodecompute.api.keys import network_key, network_off_key
from nodecompute.api.neutron_attrs import Attr, admin_only, parse
from nodecompute.api.respond import Out, respond
from nodecompute.api.urls import base_url
from nodecompute.api.validation import parse_json
from nodecompute.domain.models import AuthContext
from nodecompute.domain.network_errors import HTTPBadRequest, HTTPNotFound, PolicyNotAuthorized, ServiceUnavailable

PREFIX = "/networking"
EXTENSIONS_UPDATED = "2013-01-01T10:00:00-00:00"
# (alias, name, description): only what this service really does.
EXTENSIONS = (
    ("quotas", "Quota management support", "Expose functions for quotas management per project"),
    ("quota_details", "Quota details management support", "Expose functions for quotas usage statistics per "
                                                          "project"),
    ("binding", "Port Binding", "Expose port bindings of a virtual port to external application"),
    ("port-security", "Port Security", "Provides port security"),
    ("security-group", "security-group", "The security groups extension."),
    ("external-net", "Neutron external network", "Adds external network attribute to network resource."),
    ("net-mtu", "Network MTU", "Provides MTU attribute for a network resource."),
    ("net-mtu-writable", "Network MTU (writable)", "Provides a writable MTU attribute for a network resource."),
    ("l2_adjacency", "L2 Adjacency", "Display L2 Adjacency for Neutron Networks."),
    ("standard-attr-description", "standard-attr-description", "Extension to add descriptions to standard "
                                                               "attributes"),
    ("standard-attr-timestamp", "Resource timestamps", "Adds created_at and updated_at fields to all Neutron "
                                                       "resources that have Neutron standard attributes."),
    ("standard-attr-revisions", "Resource revision numbers", "This extension will display the revision number of "
                                                             "neutron resources."),
    ("project-id", "project_id field enabled", "Extension that indicates that project_id field is enabled."),
    ("pagination", "Pagination support", "Extension that indicates that pagination is enabled."),
    ("sorting", "Sorting support", "Extension that indicates that sorting is enabled."),
    ("filter-validation", "Filter parameters validation", "Provides validation on filter parameters."),
    ("router", "Neutron L3 Router", "Router abstraction for basic L3 forwarding between L2 Neutron networks and "
                                    "access to external networks via a NAT gateway."),
    ("ext-gw-mode", "Neutron L3 Configurable external gateway mode", "Extension of the router abstraction for "
                                                                     "specifying whether SNAT should occur on the "
                                                                     "external gateway"),
    ("fip-port-details", "Floating IP Port Details Extension", "Add port_details attribute to Floating IP "
                                                               "resource"),
    ("auto-allocated-topology", "Auto Allocated Topology Services", "Auto Allocated Topology Services."),
)


def services(request: web.Request):
    """The networking service, or 503 when networking is off on this host (the catalog then omits it)."""
    found = request.config_dict.get(network_key)
    if found is None:
        raise ServiceUnavailable(reason=request.config_dict.get(network_off_key, "not started"))
    return found


def writer(request: web.Request, rule: str) -> AuthContext:
    ctx = context(request)
    if not ctx.can_write:
        raise PolicyNotAuthorized(rule=f"rule:{rule}")
    return ctx


def admin(request: web.Request, rule: str) -> AuthContext:
    ctx = context(request)
    if not ctx.is_admin:
        raise PolicyNotAuthorized(rule=f"rule:{rule}")
    return ctx


async def body(request: web.Request) -> Any:
    """The JSON request body (None when empty); anything else than a JSON object is Neutron's 400."""
    raw = await request.read()
    if not raw:
        return None
    try:
        doc = parse_json(raw)
    except ValueError:
        raise HTTPBadRequest("Body contains invalid data") from None
    if not isinstance(doc, dict):
        raise HTTPBadRequest("Body contains invalid data")
    return doc


async def values(request: web.Request, ctx: AuthContext, resource: str, attrs: Mapping[str, Attr],
                 create: bool) -> dict[str, Any]:
    """The checked attributes of a create or update; admin-only ones refused for others, the project settled."""
    found = parse(await body(request), resource, attrs, create)
    denied = admin_only(found, attrs)
    if denied and not ctx.is_admin:
        action = "create" if create else "update"
        rules = " and ".join(f"rule:{action}_{resource}:{name}" for name in denied)
        raise PolicyNotAuthorized(rule=f"(rule:{action}_{resource} and {rules})")
    if create:
        project = found.setdefault("project_id", ctx.project_id)
        if project != ctx.project_id and not ctx.is_admin:
            raise HTTPBadRequest("Specifying 'project_id' other than the authenticated project in request is not "
                                 "allowed for the current user.")
    return found


async def update_values(request: web.Request, ctx: AuthContext, resource: str, attrs: Mapping[str, Attr],
                        find: Callable[[], Any], check: Callable[[dict[str, Any]], None] = lambda found: None
                        ) -> dict[str, Any]:
    """values() of an update, then `check` (a policy of the handler's own); a policy refusal on a thing the caller
    cannot see is Neutron's 404 instead (`find()` raises it): Neutron pretends what a caller may not see does not
    exist, so a member of another project learns nothing from an admin-only attribute."""
    try:
        found = await values(request, ctx, resource, attrs, create=False)
        check(found)
        return found
    except PolicyNotAuthorized:
        find()
        raise


class Listed(NamedTuple):
    collection: str
    items: list[dict[str, Any]]
    hidden: frozenset[str]


class Shown(NamedTuple):
    resource: str
    item: dict[str, Any]
    hidden: frozenset[str]


def listed(collection: str, records: Iterable[Any], render: Callable[[Any], dict], hidden: frozenset[str]) -> Listed:
    return Listed(collection, [render(r) for r in records], hidden)


def _url(out: Out) -> str:
    return f"{base_url(out.request)}{out.request.path}"


def collection_view(out: Out, result: Any) -> Any:
    """A list (GET: filtered, sorted, paged, fields kept) or a created member (POST: the dialect's 201)."""
    if isinstance(result, Shown):
        return member_body(out, result)
    query = out.request.query
    q = neutron_lists.parse(query, _ATTRIBUTES[result.collection])
    page = neutron_lists.select(result.items, q)
    doc: dict[str, Any] = {result.collection: [neutron_lists.keep(i, q.fields, result.hidden) for i in page]}
    links = neutron_lists.links(_url(out), query, page, q)
    if links:
        doc[f"{result.collection}_links"] = links
    return doc


def member_body(out: Out, shown: Shown) -> dict[str, Any]:
    fields = [f for f in out.request.query.getall("fields", []) if f] if out.request.method == "GET" else []
    return {shown.resource: neutron_lists.keep(shown.item, fields, shown.hidden)}


def member_view(out: Out, result: Any) -> Any:
    """A member (GET, PUT: 200) or nothing (DELETE: the dialect's 204)."""
    return None if result is None else member_body(out, result)


_ATTRIBUTES: dict[str, frozenset[str]] = {}  # collection -> its attributes (the resource modules register them)


def register_attributes(collection: str, sample: Mapping[str, Any]) -> None:
    _ATTRIBUTES[collection] = frozenset(sample)


# Versions (#2801, no token) and the v2.0 resource list -------------------------------------------------------------

async def show_versions(request: web.Request) -> web.StreamResponse:
    services(request)
    return respond(request)


def _versions_view(out: Out, _: Any) -> dict:
    href = f"{base_url(out.request)}{PREFIX}/v2.0/"
    return {"versions": [{"id": "v2.0", "status": "CURRENT", "links": [{"rel": "self", "href": href}]}]}


def _resources_view(out: Out, _: Any) -> dict:
    root = f"{base_url(out.request)}{PREFIX}/v2.0/"
    return {"resources": [{"name": name, "collection": name + "s", "links": [{"rel": "self",
                                                                              "href": root + name + "s"}]}
                          for name in ("subnet", "network", "port")]}


# Extensions (#2802) ----------------------------------------------------------------------------------------------

def _extension(alias: str, name: str, description: str) -> dict:
    return {"alias": alias, "name": name, "description": description, "updated": EXTENSIONS_UPDATED, "links": []}


async def list_extensions(request: web.Request) -> web.StreamResponse:
    services(request)
    return respond(request, [_extension(*e) for e in EXTENSIONS])


async def show_extension(request: web.Request) -> web.StreamResponse:
    services(request)
    alias = request.match_info["alias"]
    found = next((_extension(*e) for e in EXTENSIONS if e[0] == alias), None)
    if found is None:
        raise HTTPNotFound(f"Extension with alias {alias} does not exist")
    return respond(request, found)


VIEWS = {
    "#2801": _versions_view,
    "network:v2.0": _resources_view,
    "#2802": lambda out, extensions: {"extensions": extensions},
    "network:extension": lambda out, extension: {"extension": extension},
}
