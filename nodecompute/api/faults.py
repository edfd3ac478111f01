"""Fault bodies, and the root application's middleware (request ids, and faults for paths outside every face).

Each face renders its own errors (api/face.py) through its dialect's `Faults`: Nova's `{name: {code, message}}`
for compute, Keystone's `{"error": ...}` for identity, Glance's webob shape for image. The renderers are here.
"""
from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, Mapping
from http import HTTPStatus

from aiohttp import web
from aiohttp.payload import Payload

from nodecompute.api.keys import request_id_key
from nodecompute.domain import errors, request_ids

log = logging.getLogger(__name__)

# Nova's fault names by status (behaviour.md section 1); anything else is computeFault.
NOVA_FAULT_NAMES: dict[int, str] = {
    400: "badRequest", 401: "unauthorized", 403: "forbidden", 404: "itemNotFound", 405: "badMethod",
    409: "conflictingRequest", 413: "overLimit", 429: "overLimit", 415: "badMediaType",
    501: "notImplemented", 503: "serviceUnavailable",
}
NOVA_DEFAULT_FAULT = "computeFault"
JSON = "application/json"

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def nova_fault(code: int, name: str, message: str, headers: Mapping[str, str] | None = None) -> web.Response:
    body: dict = {"code": code, "message": message}
    if code in (413, 429) and headers and "Retry-After" in headers:
        body["retryAfter"] = headers["Retry-After"]
    return json_response({name: body}, status=code, headers=headers)


def keystone_error(code: int, name: str, message: str, headers: Mapping[str, str] | None = None) -> web.Response:
    title = HTTPStatus(code).phrase
    return json_response({"error": {"code": code, "title": title, "message": message}}, status=code, headers=headers)


def glance_error(code: int, name: str, message: str, headers: Mapping[str, str] | None = None) -> web.Response:
    phrase = HTTPStatus(code).phrase
    body = {"code": f"{code} {phrase}", "title": phrase, "message": message}
    return json_response(body, status=code, headers=headers)


# webob's exception names by status: Neutron's fault type for the errors it raises as plain HTTP errors.
NEUTRON_FAULT_TYPES: dict[int, str] = {
    400: "HTTPBadRequest", 401: "HTTPUnauthorized", 403: "HTTPForbidden", 404: "HTTPNotFound",
    405: "HTTPMethodNotAllowed", 406: "HTTPNotAcceptable", 409: "HTTPConflict", 413: "HTTPRequestEntityTooLarge",
    415: "HTTPUnsupportedMediaType", 501: "HTTPNotImplemented", 503: "HTTPServiceUnavailable",
}
NEUTRON_DEFAULT_FAULT = "HTTPInternalServerError"
NEUTRON_INTERNAL_MESSAGE = "Request Failed: internal server error while processing your request."


def neutron_error(code: int, name: str, message: str, headers: Mapping[str, str] | None = None) -> web.Response:
    """Neutron's fault body: the error's type (its class name), its message, and an empty detail."""
    return json_response({"NeutronError": {"type": name, "message": message, "detail": ""}}, status=code,
                         headers=headers)


def json_response(body: object, status: int = 200, headers: Mapping[str, str] | None = None) -> web.Response:
    return web.Response(
        body=json.dumps(body).encode(), status=status, headers=headers,
        content_type=JSON, charset="UTF-8",
    )


def answer_json(response: web.Response) -> object:
    """The parsed JSON body of an answer made here, for a middleware that rewrites it: bytes, or a payload written
    in chunks (a page of kept servers, api/rendered_pages.py)."""
    body = response.body
    return json.loads(body.decode() if isinstance(body, Payload) else body)  # type: ignore[arg-type]


def unauthorized(request: web.Request, identity_url: str) -> web.Response:
    """401 as keystonemiddleware sends it, with the identity endpoint in WWW-Authenticate."""
    headers = {"WWW-Authenticate": f'Keystone uri="{identity_url}"'}
    return keystone_error(401, "unauthorized", errors.Unauthorized.msg_fmt, headers)


def _root_fault(code: int, message: str) -> web.Response:
    return nova_fault(code, NOVA_FAULT_NAMES.get(code, NOVA_DEFAULT_FAULT), message)


@web.middleware
async def root_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Request ids on every response; Nova faults for what no face answered (an unknown path at the root)."""
    rid = request_ids.new()
    request[request_id_key] = rid
    request_ids.set_current(rid)  # the instance action record names it
    try:
        response = await handler(request)
    except (web.HTTPNotFound, web.HTTPMethodNotAllowed):
        response = _root_fault(404, errors.NotFound.msg_fmt)
    except web.HTTPException as exc:
        if exc.status < 400:
            exc.headers["x-openstack-request-id"] = rid
            exc.headers["x-compute-request-id"] = rid
            raise
        response = _root_fault(exc.status, exc.reason)
    except Exception:
        log.exception("Unexpected error on %s %s (%s)", request.method, request.path, rid)
        response = _root_fault(500, errors.InternalError.msg_fmt)
    response.headers["x-openstack-request-id"] = rid
    response.headers["x-compute-request-id"] = rid
    return response
