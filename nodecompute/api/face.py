"""A face of the API: one dialect mounted as its own aiohttp sub-application, with its one middleware.

`mount()` registers every route of the dialect under each version root (and under `<root>/{project_id}` where the
root allows it, as Nova's router does), remembering for each registered aiohttp route the table row it serves
(`Bound`). Project-less paths are plain resources: aiohttp finds the sub-application by its prefix, then the route
by one dict lookup of the whole path in the sub-application's index.

The middleware, per request: finds the `Bound` (one dict lookup), fixes the API version (microversion negotiation
on a root that has them: 400/406 and the version headers on every answer, faults included), answers a route
outside its microversion range with Nova's bare 404, checks the token when the route's row says so (and the URL's
project against the token's), checks the query where the dialect says so (`checked_queries`), runs the handler,
and renders any error in the dialect's fault shape (at the request's version), an unknown route included (the
dialect names it: Nova's catalog says "not implemented yet" for the routes Nova routes at that version).
"""
from __future__ import annotations

import logging

from aiohttp import web

from nodecompute.api import auth, faults, microversions, respond
from nodecompute.api.dialect import LEGACY_V2, Bound, Dialect, Microversions, VersionRoot, served_at
from nodecompute.api.keys import api_version_key, bindings_key, bound_key, dialect_key, request_id_key
from nodecompute.api.routing import Route
from nodecompute.domain import errors

log = logging.getLogger(__name__)

_public_key = web.AppKey("public_paths", frozenset)  # full paths of the rows that need no token
_unmatched_key = web.AppKey("unmatched", dict)  # version root path -> the Bound of an unknown path under it



def mount(app: web.Application, dialect: Dialect) -> web.Application:
    """Add `dialect` to `app` (before `app` freezes) as a sub-application at its prefix."""
    sub = web.Application(middlewares=[*dialect.outer_middlewares, face_middleware, *dialect.inner_middlewares])
    if dialect.on_mount is not None:
        dialect.on_mount(app, sub)
    bindings: dict[web.AbstractRoute, Bound] = {}
    for route in dialect.routes:
        if not route.versioned:
            root = _root_of(dialect, route.path)
            bindings[sub.router.add_route(route.method, route.path, route.handler)] = Bound(dialect, route, root)
    for prefix, root in _prefixes(dialect):
        for route in dialect.routes:
            if route.versioned:
                added = sub.router.add_route(route.method, prefix + route.path, route.handler)
                bindings[added] = Bound(dialect, route, root)
    sub[dialect_key] = dialect
    sub[bindings_key] = bindings
    sub[_public_key] = frozenset(dialect.prefix + path for path in _public_paths(dialect))
    sub[_unmatched_key] = {root.path: Bound(dialect, None, root) for root in dialect.roots}
    if dialect.on_mount is not None:
        dialect.on_mount(app, sub)
    app.add_subapp(dialect.prefix, sub)
    return sub


def _prefixes(dialect: Dialect) -> list[tuple[str, VersionRoot]]:
    """Every root, then every root with its project segment: the project-less paths stay plain resources."""
    plain = [(root.path, root) for root in dialect.roots]
    with_project = [(root.path + "/{project_id}", root) for root in dialect.roots if root.project_segment]
    return plain + with_project


def _public_paths(dialect: Dialect) -> set[str]:
    """Paths (under the prefix) of the rows that need no token: an unknown method on them needs none either."""
    paths = set()
    for route in dialect.routes:
        if not route.token:
            paths.update([route.path] if not route.versioned else [root.path + route.path for root in dialect.roots])
    return paths


def _root_of(dialect: Dialect, path: str) -> VersionRoot | None:
    """The version root a path under the prefix belongs to ("/v2.1/servers" -> /v2.1), if any."""
    for root in sorted(dialect.roots, key=lambda r: len(r.path), reverse=True):
        if path == root.path or path.startswith(root.path + "/"):
            return root
    return None


def _bound(request: web.Request) -> Bound:
    app = request.app
    bound = app[bindings_key].get(request.match_info.route)
    if bound is not None:
        return bound
    dialect = app[dialect_key]
    root = _root_of(dialect, request.path[len(dialect.prefix):])
    return app[_unmatched_key].get(root.path) if root is not None else Bound(dialect, None, None)


def _needs_token(request: web.Request, bound: Bound) -> bool:
    if bound.route is not None:
        return bound.route.token
    return (bound.root is not None and bound.dialect.unmatched_needs_token
            and request.path not in request.app[_public_key])


@web.middleware
async def face_middleware(request: web.Request, handler: faults.Handler) -> web.StreamResponse:
    bound = _bound(request)
    root = bound.root
    mv = root.microversions if root is not None else None
    if mv is None:
        version = root.fixed if root is not None else bound.dialect.roots[0].fixed
    else:
        try:
            version = microversions.requested(request.headers, mv)
        except (microversions.UnsupportedVersion, errors.BadRequest) as exc:
            return _version_refused(request, bound, mv, exc)
    request[api_version_key] = version
    route = bound.route
    if route is not None and not served_at(version, route.since, route.until):
        bound, handler = Bound(bound.dialect, None, root), _not_at_this_version
    response = await _serve(request, handler, bound)
    if mv is not None:
        microversions.add_headers(response.headers, mv, version)
    return response


def _version_refused(request: web.Request, bound: Bound, mv: Microversions, exc: errors.ComputeError
                     ) -> web.StreamResponse:
    """A malformed (400) or unsupported (406) version, after the token check as in Nova, where Keystone's
    middleware answers 401 before the API reads the version. A 406 names the version asked for; a malformed
    version's fault names none."""
    if _needs_token(request, bound):
        unauthorized = auth.check_token(request, check_url_project=False)
        if unauthorized is not None:
            return unauthorized
    response = bound.dialect.faults.response(exc, exc.message)
    if isinstance(exc, microversions.UnsupportedVersion):
        microversions.add_headers(response.headers, mv, exc.version)
    return response


async def _not_at_this_version(request: web.Request) -> web.StreamResponse:
    """A route outside its microversion range: Nova's bare 404, as if the method were not implemented."""
    raise errors.NotFound()


async def _serve(request: web.Request, handler: faults.Handler, bound: Bound) -> web.StreamResponse:
    dialect = bound.dialect
    request[bound_key] = bound
    try:
        if _needs_token(request, bound):
            failure = auth.check_token(request, dialect.checks_url_project, dialect.url_project_message)
            if failure is not None:
                return failure if dialect.unauthorized is None else dialect.unauthorized(request)
        if request.query_string and bound.route is not None and bound.route.op in dialect.checked_queries.at(
                request[api_version_key]):
            respond.parse_query(request)  # before the handler, as Nova's query_schema decorator (2.102)
        return await handler(request)
    except errors.ComputeError as exc:
        if exc.code >= 500:
            log.error("%s %s failed: %s", request.method, request.path, exc, exc_info=True)
        safe = exc.safe and not isinstance(exc, errors.InternalError)
        message = exc.message if safe else dialect.faults.internal_message
        return dialect.faults.response(exc, message, request.get(api_version_key, LEGACY_V2))
    except web.HTTPRequestEntityTooLarge:
        return dialect.faults.response(errors.TooLarge(), errors.TooLarge.msg_fmt)
    except web.HTTPMethodNotAllowed as wrong:
        exc = (_unknown(request, bound) if dialect.wrong_method is None
               else dialect.wrong_method(request.method, frozenset(wrong.allowed_methods)))
        return dialect.faults.response(exc, exc.message)
    except web.HTTPNotFound:
        exc = _unknown(request, bound)
        return dialect.faults.response(exc, exc.message)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        error = errors.ComputeError(exc.reason)
        error.code = exc.status
        return dialect.faults.response(error, exc.reason)
    except Exception:
        log.exception("Unexpected error on %s %s (%s)", request.method, request.path, request.get(request_id_key))
        return dialect.faults.response(errors.InternalError(), dialect.faults.internal_message)


def _unknown(request: web.Request, bound: Bound) -> errors.ComputeError:
    """The dialect's answer to a path or method it has no route for (Nova's router: 404 for both)."""
    if bound.root is None:
        return errors.NotFound()
    relative = request.path[len(bound.dialect.prefix) + len(bound.root.path):]
    return bound.dialect.unknown_route(request.method, relative, request.get(api_version_key))


def route_rows(app: web.Application) -> list[Route]:
    """The table rows served by a mounted face (tests, docs)."""
    return [bound.route for bound in app[bindings_key].values() if bound.route is not None]
