"""The minimal Keystone (#2201-#2206): version documents, token issue/validate/revoke, v2.0 token issue."""
from __future__ import annotations

import functools
import uuid
from typing import Any

from aiohttp import web

from nodecompute.api import identity_schemas
from nodecompute.api.auth import context
from nodecompute.api.keys import block_storage_key, bound_key, config_key, identity_key, images_key, network_key
from nodecompute.api.respond import Out, Reply, respond
from nodecompute.api.urls import base_url
from nodecompute.api.validation import json_body
from nodecompute.domain.errors import BadRequest, NotFound, Unauthorized
from nodecompute.domain.models import AuthContext, zulu
from nodecompute.identity.accounts import DOMAIN

CATALOG_RULE = "identity:catalog"  # a dialect rule: (request, project_id) -> its services
V3_UPDATED = "2020-04-07T00:00:00Z"
V3_MEDIA = [{"base": "application/json", "type": "application/vnd.openstack.identity-v3+json"}]


def _v3_doc(root: str) -> dict:
    return {"id": "v3.14", "status": "stable", "updated": V3_UPDATED,
            "links": [{"rel": "self", "href": f"{root}/v3/"}], "media-types": V3_MEDIA}


v3_document = _v3_doc  # a vendor identity face's own versions list (api/k5_faces.py)


def _v2_doc(root: str) -> dict:
    return {"id": "v2.0", "status": "deprecated", "updated": "2016-08-04T00:00:00Z",
            "links": [{"rel": "self", "href": f"{root}/v2.0/"}],
            "media-types": [{"base": "application/json", "type": "application/vnd.openstack.identity-v2.0+json"}]}


def _root(request: web.Request) -> str:
    """The face's identity root: /identity, or a vendor dialect's own (/k5/identity)."""
    return f"{base_url(request)}{request[bound_key].dialect.prefix}"


async def show(request: web.Request) -> web.StreamResponse:
    """Every version document: the operation of the route picks the view."""
    return respond(request)


def _versions_view(out: Out, _: Any) -> Reply:
    root = _root(out.request)
    return Reply({"versions": {"values": [_v3_doc(root), _v2_doc(root)]}}, headers={"Location": f"{root}/v3/"})


@functools.lru_cache(maxsize=256)
def stable_id(name: str) -> str:
    """The id of a catalog service, endpoint or role: a UUID5 of its name, the same on every token (kept: every
    token check built some twenty of them)."""
    return uuid.uuid5(uuid.NAMESPACE_URL, name).hex


def catalog(request: web.Request, project_id: str) -> list[dict[str, Any]]:
    """One entry per service; every endpoint has id, interface, region, region_id and url (clients.md). The services
    are the face's: a vendor dialect names its own in its `identity:catalog` rule ((type, name, url) triples)."""
    own = request[bound_key].dialect.rules.get(CATALOG_RULE)
    services = own.first(request, project_id) if own is not None else openstack_services(request, project_id)
    region = request.config_dict[config_key].identity.region
    entries = []
    for service_type, name, url in services:
        sid = stable_id(f"nodecompute:{service_type}")
        endpoints = [{"id": stable_id(f"{sid}:{iface}"), "interface": iface,
                      "region": region, "region_id": region, "url": url}
                     for iface in ("public", "internal", "admin")]
        entries.append({"id": sid, "type": service_type, "name": name, "endpoints": endpoints})
    return entries


def openstack_services(request: web.Request, project_id: str) -> list[tuple[str, str, str]]:
    """The openstack catalog's services. Block storage is Cinder v3 under two types, as DevStack registers it:
    `block-storage` (what openstacksdk and the CLI look up first) and its alias `volumev3`, at
    /volume/v3/<project> (v2 is for the vendor dialects)."""
    cfg = request.config_dict[config_key]
    services = [("compute", "nova", f"{cfg.public_url}/compute/v2.1"),
                ("identity", "keystone", f"{cfg.public_url}/identity/v3")]
    if images_key in request.config_dict:
        services.append(("image", "glance", f"{cfg.public_url}/image"))
    if network_key in request.config_dict:  # only when networking runs on this host
        services.append(("network", "neutron", f"{cfg.public_url}/networking"))
    if block_storage_key in request.config_dict:
        volume_url = f"{cfg.public_url}/volume/v3/{project_id}"
        services += [("block-storage", "cinder", volume_url), ("volumev3", "cinderv3", volume_url)]
    return services


def token_body(request: web.Request, ctx: AuthContext, with_catalog: bool = True) -> dict:
    token: dict[str, Any] = {
        "methods": list(ctx.methods),
        "user": {"id": ctx.user_id, "name": ctx.user_name, "domain": dict(DOMAIN), "password_expires_at": None},
        "project": {"id": ctx.project_id, "name": ctx.project_name, "domain": dict(DOMAIN)},
        "roles": [{"id": stable_id(f"nodecompute:role:{r}"), "name": r} for r in ctx.roles],
        "expires_at": zulu(ctx.expires_at, micro=True), "issued_at": zulu(ctx.issued_at, micro=True),
        "audit_ids": [ctx.audit_id], "is_domain": False,
    }
    if with_catalog:
        token["catalog"] = catalog(request, ctx.project_id)
    return {"token": token}


def _check_domain(obj: dict) -> None:
    domain = obj.get("domain")
    if domain is None:
        return
    if not isinstance(domain, dict):
        raise BadRequest("Invalid domain.")
    if domain.get("id", "default") != "default" or domain.get("name", "Default") != "Default":
        raise Unauthorized("The request you have made requires authentication.")


def _ref(obj: Any, what: str) -> str:
    if not isinstance(obj, dict) or not (isinstance(obj.get("id"), str) or isinstance(obj.get("name"), str)):
        raise BadRequest(f"Expecting to find id or name in {what}.")
    _check_domain(obj)
    return obj.get("id") or obj["name"]


async def issue_v3(request: web.Request) -> web.StreamResponse:
    body = await json_body(request)
    auth = identity_schemas.check_v3(body)
    identity = auth.get("identity") if isinstance(auth, dict) else None
    if not isinstance(identity, dict) or not isinstance(identity.get("methods"), list):
        raise BadRequest("Expecting to find identity in auth.")
    scope = auth.get("scope")
    project_ref = None
    if scope is not None:
        if not isinstance(scope, dict) or "project" not in scope:
            raise BadRequest("Only project scope is supported.")
        project_ref = _ref(scope["project"], "project")
    service = request.config_dict[identity_key]
    methods = identity["methods"]
    if "password" in methods:
        user = (identity.get("password") or {}).get("user")
        if not isinstance(user, dict) or not isinstance(user.get("password"), str):
            raise BadRequest("Expecting to find password in user.")
        token, ctx = await service.authenticate_password(_ref(user, "user"), user["password"], project_ref)
    elif "token" in methods:
        old = (identity.get("token") or {}).get("id")
        if not isinstance(old, str):
            raise BadRequest("Expecting to find id in token.")
        token, ctx = await service.authenticate_token(old, project_ref)
    else:
        raise Unauthorized("Attempted to authenticate with an unsupported method.")
    return respond(request, (token, ctx))


def _issued_view(out: Out, result: tuple[str, AuthContext]) -> Reply:
    token, ctx = result
    return Reply(token_body(out.request, ctx), headers={"X-Subject-Token": token})


async def validate_v3(request: web.Request) -> web.StreamResponse:
    subject = request.headers.get("X-Subject-Token")
    ctx = request.config_dict[identity_key].subject(context(request), subject, "identity:validate_token")
    return respond(request, (subject, ctx))


def _validated_view(out: Out, result: tuple[str, AuthContext]) -> Reply:
    subject, ctx = result
    with_catalog = "nocatalog" not in out.request.query
    return Reply(token_body(out.request, ctx, with_catalog=with_catalog), headers={"X-Subject-Token": subject})


async def revoke_v3(request: web.Request) -> web.StreamResponse:
    subject = request.headers.get("X-Subject-Token")
    await request.config_dict[identity_key].revoke(context(request), subject)
    return respond(request)


async def issue_v2(request: web.Request) -> web.StreamResponse:
    body = await json_body(request)
    auth = identity_schemas.check_v2(body)
    if not isinstance(auth, dict):
        raise BadRequest("Expecting to find auth in request body.")
    project_ref = auth.get("tenantId") or auth.get("tenantName")
    service = request.config_dict[identity_key]
    creds = auth.get("passwordCredentials")
    if isinstance(creds, dict):
        user_ref = creds.get("userId") or creds.get("username")
        if not isinstance(user_ref, str) or not isinstance(creds.get("password"), str):
            raise BadRequest("Expecting to find username and password in passwordCredentials.")
        token, ctx = await service.authenticate_password(user_ref, creds["password"], project_ref)
    elif isinstance(auth.get("token"), dict) and isinstance(auth["token"].get("id"), str):
        token, ctx = await service.authenticate_token(auth["token"]["id"], project_ref)
    else:
        raise BadRequest("Expecting to find passwordCredentials or token in auth.")
    return respond(request, (token, ctx))


def _access_view(out: Out, result: tuple[str, AuthContext]) -> dict:
    token, ctx = result
    tenant = {"id": ctx.project_id, "name": ctx.project_name, "enabled": True, "description": None}
    service_catalog = [{
        "type": entry["type"], "name": entry["name"],
        "endpoints": [{"region": e["region"], "publicURL": e["url"], "internalURL": e["url"], "adminURL": e["url"],
                       "id": e["id"], "tenantId": ctx.project_id}
                      for e in entry["endpoints"] if e["interface"] == "public"],
        "endpoints_links": [],
    } for entry in catalog(out.request, ctx.project_id)]
    access = {
        "token": {"id": token, "issued_at": zulu(ctx.issued_at, micro=True),
                  "expires": zulu(ctx.expires_at), "tenant": tenant,
                  "audit_ids": [ctx.audit_id]},
        "serviceCatalog": service_catalog,
        "user": {"id": ctx.user_id, "name": ctx.user_name, "username": ctx.user_name,
                 "roles": [{"name": r} for r in ctx.roles], "roles_links": []},
        "metadata": {"is_admin": 0, "roles": list(ctx.roles)},
    }
    return {"access": access}


def _project_entity(request: web.Request, project) -> dict:
    return {"id": project.id, "name": project.name, "description": project.description,
            "enabled": project.enabled, "domain_id": DOMAIN["id"], "parent_id": DOMAIN["id"], "is_domain": False,
            "tags": [], "options": {}, "links": {"self": f"{_root(request)}/v3/projects/{project.id}"}}


async def list_projects(request: web.Request) -> web.StreamResponse:
    """GET /v3/projects: admins see every project, others only their token's (clients resolve names this way)."""
    ctx = context(request)
    projects = request.config_dict[identity_key].projects()
    if not ctx.is_admin:
        projects = [p for p in projects if p.id == ctx.project_id]
    name = request.query.get("name")
    if name is not None:
        projects = [p for p in projects if p.name == name]
    return respond(request, projects)


async def show_project(request: web.Request) -> web.StreamResponse:
    ctx = context(request)
    project = request.config_dict[identity_key].project(request.match_info["project_id"])
    if project is None or (not ctx.is_admin and project.id != ctx.project_id):
        raise NotFound(f"Could not find project: {request.match_info['project_id']}.")
    return respond(request, project)


def _projects_view(out: Out, projects: list) -> dict:
    root = _root(out.request)
    return {"projects": [_project_entity(out.request, p) for p in projects],
            "links": {"self": f"{root}/v3/projects", "next": None, "previous": None}}


# The identity face's views and statuses (api/dialects/identity.py).
VIEWS = {
    "#2201": _versions_view,
    "#2202": lambda out, _: {"version": _v3_doc(_root(out.request))},
    "identity:v2.0": lambda out, _: {"version": _v2_doc(_root(out.request))},
    "#2203": _issued_view, "#2204": _validated_view, "#2206": _access_view,
    "identity:projects": _projects_view,
    "identity:project": lambda out, project: {"project": _project_entity(out.request, project)},
}
STATUSES = {"#2201": 300, "#2203": 201, "#2205": 204}
# The token request bodies: Keystone validates the `auth` object (identity_schemas.check_v3/check_v2, its messages).
BODIES = {
    "#2203": {"type": "object", "properties": {"auth": identity_schemas.TOKEN_ISSUE_V3}, "required": ["auth"]},
    "#2206": {"type": "object", "properties": {"auth": identity_schemas.TOKEN_ISSUE_V2}, "required": ["auth"]},
}
