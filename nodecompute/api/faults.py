"""Fault bodies and the middlewares that produce them.

Every error leaves through `error_middleware`, whatever raised it: a ComputeError from the service, aiohttp's own
404/405/413, malformed JSON, or an unexpected exception (500 computeFault with a generic text and a logged
traceback). The body shape depends on the service the path belongs to: Nova faults under /compute, Keystone's
``{"error": ...}`` under /identity, Glance's webob shape under /image.
"""
from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Awaitable, Callable
from http import HTTPStatus

from aiohttp import web

from nodecompute.api.keys import request_id_key
from nodecompute.compute import errors

log = logging.getLogger(__name__)

# Fault name by HTTP status, per dialect (behaviour.md section 1). Only "openstack" is served today; vendor
# dialects add their own table here without touching any handler.
FAULT_NAMES: dict[str, dict[int, str]] = {
    "openstack": {
        400: "badRequest", 401: "unauthorized", 403: "forbidden", 404: "itemNotFound", 405: "badMethod",
        409: "conflictingRequest", 413: "overLimit", 429: "overLimit", 415: "badMediaType",
        501: "notImplemented", 503: "serviceUnavailable",
    },
}
DEFAULT_FAULT_NAME = {"openstack": "computeFault"}
JSON = "application/json"

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def fault_name(code: int, dialect: str = "openstack") -> str:
    return FAULT_NAMES[dialect].get(code, DEFAULT_FAULT_NAME[dialect])


def nova_fault(code: int, message: str, headers: dict[str, str] | None = None) -> web.Response:
    body: dict = {"code": code, "message": message}
    if code in (413, 429) and headers and "Retry-After" in headers:
        body["retryAfter"] = headers["Retry-After"]
    return json_response({fault_name(code): body}, status=code, headers=headers)


def keystone_error(code: int, message: str, headers: dict[str, str] | None = None) -> web.Response:
    title = HTTPStatus(code).phrase
    return json_response({"error": {"code": code, "title": title, "message": message}}, status=code, headers=headers)


def glance_error(code: int, message: str, headers: dict[str, str] | None = None) -> web.Response:
    phrase = HTTPStatus(code).phrase
    body = {"code": f"{code} {phrase}", "title": phrase, "message": message}
    return json_response(body, status=code, headers=headers)


def json_response(body: object, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(
        body=json.dumps(body).encode(), status=status, headers=headers,
        content_type=JSON, charset="UTF-8",
    )


def _renderer(path: str) -> Callable[..., web.Response]:
    if path.startswith("/identity"):
        return keystone_error
    if path.startswith("/image"):
        return glance_error
    return nova_fault


def unauthorized(request: web.Request, identity_url: str) -> web.Response:
    """401 as keystonemiddleware sends it, with the identity endpoint in WWW-Authenticate."""
    headers = {"WWW-Authenticate": f'Keystone uri="{identity_url}"'}
    return keystone_error(401, errors.Unauthorized.msg_fmt, headers)


@web.middleware
async def request_id_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    rid = f"req-{uuid.uuid4()}"
    request[request_id_key] = rid
    try:
        response = await handler(request)
    except web.HTTPException as exc:  # only reachable when the error middleware let one through
        exc.headers["x-openstack-request-id"] = rid
        exc.headers["x-compute-request-id"] = rid
        raise
    response.headers["x-openstack-request-id"] = rid
    response.headers["x-compute-request-id"] = rid
    return response


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    render = _renderer(request.path)
    try:
        return await handler(request)
    except errors.ComputeError as exc:
        if exc.code >= 500:
            log.error("%s %s failed: %s", request.method, request.path, exc, exc_info=True)
        message = exc.message if exc.safe else errors.InternalError.msg_fmt
        return render(exc.code, message, dict(exc.headers) or None)
    except web.HTTPRequestEntityTooLarge:
        return render(413, errors.TooLarge.msg_fmt)
    except (web.HTTPNotFound, web.HTTPMethodNotAllowed):
        # Nova's router answers an unknown path and a known path with an unknown method alike: 404.
        return render(404, "The resource could not be found.")
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        return render(exc.status, exc.reason)
    except Exception:
        log.exception("Unexpected error on %s %s (%s)", request.method, request.path, request.get(request_id_key))
        return render(500, errors.InternalError.msg_fmt)
