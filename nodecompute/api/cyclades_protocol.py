"""Cyclades' protocol rules (dialects.md D4, D5, D7, D8, D12, D17), as middlewares of its face.

Outer (around the face middleware, so they see every answer, faults and 401s included):
- `request_timeout(seconds)`: a request that has not been answered after 20 s (D17) gets 503 `serviceUnavailable`
  (Synnefo's server closes the session; we say so in a fault). The idle keep-alive timeout stays the server's.
- `response_format`: `?xml` answers XML, `?json` JSON, both 400 (D5); JSON answers (faults included) are rendered
  through api/xml_cyclades.py when XML is asked; the keystonemiddleware 401 becomes an `unauthorized` fault (D12).

Inner (after the token check; errors are rendered by the face as Cyclades faults):
- `request_rules`: an unknown URL or a known URL with a wrong method is 400 `badRequest` (D7, D8); a request with
  a body must say `Content-Type: application/json` and `Content-Length` (415 `badMediaType` otherwise, D4); GET and
  DELETE need neither.
"""
from __future__ import annotations

import asyncio
from collections.abc import Callable

from aiohttp import web

from nodecompute.api import xml_cyclades
from nodecompute.api.faults import NOVA_FAULT_NAMES, Handler, answer_json, nova_fault
from nodecompute.domain.errors import BadRequest, Unauthorized, UnsupportedMediaType

REQUEST_TIMEOUT = 20.0  # seconds (D17: Synnefo's session timeout)
XML = "application/xml"
JSON_TYPES = ("application/json",)
ENDPOINT_NOT_FOUND = "API endpoint not found"
METHOD_NOT_ALLOWED = "Method not allowed"
TIMED_OUT = "The request timed out"
BOTH_FORMATS = "Both json and xml response format requested"
MEDIA_TYPE = "Unsupported Content-Type or missing Content-Length: request bodies are JSON"


def request_timeout(seconds: float = REQUEST_TIMEOUT) -> Callable:
    @web.middleware
    async def timeout(request: web.Request, handler: Handler) -> web.StreamResponse:
        try:
            async with asyncio.timeout(seconds):
                return await handler(request)
        except TimeoutError:
            return nova_fault(503, NOVA_FAULT_NAMES[503], TIMED_OUT)
    return timeout


def wants_xml(request: web.Request) -> bool:
    """`?xml` (D5); `?json` or neither is JSON. Both: 400."""
    query = request.query
    if "xml" in query and "json" in query:
        raise BadRequest(BOTH_FORMATS)
    return "xml" in query


@web.middleware
async def response_format(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        xml = wants_xml(request)
    except BadRequest as exc:
        return nova_fault(400, NOVA_FAULT_NAMES[400], exc.message)
    response = await handler(request)
    if response.status == 401 and isinstance(response, web.Response) and b'"error"' in (response.body or b""):
        headers = {k: v for k, v in response.headers.items() if k == "WWW-Authenticate"}
        response = nova_fault(401, NOVA_FAULT_NAMES[401], Unauthorized.msg_fmt, headers)
    if xml:
        response = as_xml(response)
    return response


def as_xml(response: web.StreamResponse) -> web.StreamResponse:
    """The XML form of a JSON answer (other answers unchanged)."""
    if not isinstance(response, web.Response) or response.content_type != "application/json" or not response.body:
        return response
    doc = answer_json(response)
    body = xml_cyclades.render(doc)
    headers = {k: v for k, v in response.headers.items() if k.lower() not in ("content-type", "content-length")}
    return web.Response(body=body, status=response.status, headers=headers, content_type=XML, charset="UTF-8")


@web.middleware
async def request_rules(request: web.Request, handler: Handler) -> web.StreamResponse:
    failure = request.match_info.http_exception
    if isinstance(failure, web.HTTPMethodNotAllowed):
        raise BadRequest(METHOD_NOT_ALLOWED)
    if failure is not None:
        raise BadRequest(ENDPOINT_NOT_FOUND)
    if request.method not in ("GET", "HEAD", "DELETE") and request.body_exists:
        if request.content_type not in JSON_TYPES or request.content_length is None:
            raise UnsupportedMediaType(MEDIA_TYPE)
    return await handler(request)


def unknown_route(method: str, path: str, version: object) -> BadRequest:
    """What the face answers for a path it has no route for (D7)."""
    return BadRequest(ENDPOINT_NOT_FOUND)
