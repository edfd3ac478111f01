"""Token authentication, the project-in-URL check, and the policy helpers handlers call.

Whether a route needs a token is its row's `token` flag in the route table (api/route_table.py); the face
middleware (api/face.py) calls `check_token` for those. Roles follow Nova's defaults: reader reads within its
project, member also writes there, admin may do admin-only operations and reach other projects through
`all_tenants` or explicit ids.
"""
from __future__ import annotations

from aiohttp import web

from nodecompute.api import faults
from nodecompute.api.dialect import NOVA_URL_PROJECT
from nodecompute.api.keys import config_key, context_key, identity_key, root_app, servers_key
from nodecompute.domain.errors import BadRequest, PolicyNotAuthorized
from nodecompute.domain.models import AuthContext


def identity_url(request: web.Request) -> str:
    return f"{request.config_dict[config_key].public_url}/identity"


def check_token(request: web.Request, check_url_project: bool,
                url_project_message: str = NOVA_URL_PROJECT) -> web.Response | None:
    """Validate X-Auth-Token and keep the caller's context on the request; a 401 response when it is not valid.
    With `check_url_project`, a `{project_id}` in the URL must be the token's project (400 otherwise, with
    `url_project_message` formatted with `url` and `token`)."""
    ctx = root_app(request)[identity_key].validate(request.headers.get("X-Auth-Token"))
    if ctx is None:
        return faults.unauthorized(request, identity_url(request))
    request[context_key] = ctx
    if check_url_project:
        url_project = request.match_info.get("project_id", "").lstrip("/")
        if url_project and url_project != ctx.project_id:
            raise BadRequest(url_project_message.format(url=url_project, token=ctx.project_id))
    return None


def context(request: web.Request) -> AuthContext:
    return request[context_key]


def require_admin(request: web.Request, rule: str) -> AuthContext:
    ctx = request[context_key]
    if not ctx.is_admin:
        raise PolicyNotAuthorized(action=rule)
    return ctx


def require_writer(request: web.Request, rule: str) -> AuthContext:
    """Member (or admin) of the token's project: the role a mutation needs. As in Nova, which looks the server up
    before it checks the policy, a server the caller cannot see is 404 for a reader too, not 403."""
    ctx = request[context_key]
    if not ctx.can_write:
        server_id = request.match_info.get("server_id")
        if server_id is not None:
            request.config_dict[servers_key].get(ctx, server_id)  # InstanceNotFound unless the caller sees it
        raise PolicyNotAuthorized(action=rule)
    return ctx
