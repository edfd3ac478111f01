"""Helion's wire formats (dialects.md D4, D5, D8, D12): the middleware in front of the helion face's own.

- Requests: a body with an XML `Content-Type` is parsed safely (xml_helion_requests: no DTD, entities or external
  references; 400 otherwise, nothing read or written) into the dict its JSON form would be, which the handlers'
  body parsing then takes as it takes JSON (validation.ADAPTED_BODY). Volume attachments are JSON only (D56).
- Answers: XML when the path ends in `.xml` or, without a suffix, when `Accept` prefers XML; `.json` forces JSON.
  The suffix is stripped and the request routed again on the bare path. JSON answers (faults included) are
  re-rendered by xml_helion.
- A known URL with a method it does not take: 405 `badMethod` with `Allow` (D8).
- A server, flavor or volume path may name it by its integer serial instead of its public id (D10).
"""
from __future__ import annotations

import logging

from aiohttp import web
from aiohttp.web_urldispatcher import UrlMappingMatchInfo

from nodecompute.api import face, faults, helion_ids, validation, xml_helion
from nodecompute.api.keys import bindings_key, dialect_key, serial_ids_key
from nodecompute.api.xml_common import XMLRequestError
from nodecompute.api.xml_helion_requests import parse_request
from nodecompute.domain import errors

log = logging.getLogger(__name__)

XML_TYPES = frozenset({"application/xml", "text/xml", "application/vnd.openstack.compute+xml"})
XML = "application/xml"
JSON_TYPES = frozenset({"application/json", "application/vnd.openstack.compute+json", ""})  # "": JSON
# operation -> the request kind of xml_helion_requests (any other operation: its root element names the key)
REQUEST_KINDS = {
    "#203": "server_create", "#206": "server_update", "#301": "action",
    "#402": "metadata", "#403": "metadata", "#405": "metadata_item", "#706": "metadata", "#707": "metadata",
    "#709": "metadata_item", "#902": "keypair_create", "#1402": "floating_ip_create",
    "#1502": "security_group_create", "#1506": "security_group_rule_create", "#1203": "volume_create",
    "#1208": "snapshot_create",
}
JSON_ONLY_REQUESTS = frozenset({"#1102", "#1104"})  # volume attachments (D56)
# operation -> the XML document kind of an answer whose root key does not name it
ANSWER_KINDS = {"#203": "server_created", "#502": "network"}


def _wants_xml(request: web.Request, suffix: str | None) -> bool:
    if suffix is not None:
        return suffix == "xml"
    accept = request.headers.get("Accept", "")
    best, best_q = None, 0.0
    for part in accept.split(","):
        media, _, params = part.strip().partition(";")
        media = media.strip().lower()
        q = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        if media in XML_TYPES or media in ("application/json", "application/vnd.openstack.compute+json"):
            if q > best_q:
                best, best_q = media, q
    return best in XML_TYPES


async def _rerouted(request: web.Request, path: str) -> web.Request:
    """The request again, on `path` (the suffix stripped), routed by the face's own router."""
    clone = request.clone(rel_url=request.rel_url.with_path(path).with_query(request.rel_url.query))
    sub = request.app
    match_info = await sub.router.resolve(clone)
    assert isinstance(match_info, UrlMappingMatchInfo)
    for app in request.match_info.apps[::-1]:
        match_info.add_app(app)
    match_info.current_app = sub
    match_info.freeze()
    clone._match_info = match_info  # noqa: SLF001 (aiohttp has no public way to route a clone again)
    return clone


def _operation(request: web.Request) -> str | None:
    bound = request.app[bindings_key].get(request.match_info.route)
    return bound.route.op if bound is not None and bound.route is not None else None


async def _adapt_body(request: web.Request) -> None:
    ctype = request.headers.get("Content-Type", "").split(";")[0].strip().lower()
    if not request.body_exists or ctype in JSON_TYPES:
        return
    if ctype not in XML_TYPES:
        raise errors.UnsupportedMediaType()
    op = _operation(request)
    if op in JSON_ONLY_REQUESTS:
        raise errors.UnsupportedMediaType()
    raw = await request.read()
    try:
        request[validation.ADAPTED_BODY] = parse_request(raw, REQUEST_KINDS.get(op, "action"))
    except XMLRequestError as exc:
        raise errors.MalformedBody(str(exc)) from None


def _serials_to_ids(request: web.Request) -> None:
    """A server (flavor, volume) named by its integer serial in the path is named by its public id from here on
    (D10)."""
    ref = request.match_info.get("server_id")
    if ref is not None and ref.isdigit():
        request.match_info["server_id"] = request.config_dict[serial_ids_key].public_id("servers", ref)
    helion_ids.serials_in_path(request)


def _fault(request: web.Request, exc: errors.ComputeError) -> web.Response:
    return request.app[dialect_key].faults.response(exc, exc.message)


def _method_not_allowed(request: web.Request) -> web.Response | None:
    http = request.match_info.http_exception
    if not isinstance(http, web.HTTPMethodNotAllowed):
        return None
    exc = errors.ComputeError(f"The method {request.method} is not allowed for this resource.")
    exc.code = 405
    exc.headers = {"Allow": ", ".join(sorted(http.allowed_methods))}
    return _fault(request, exc)


def _as_xml(response: web.StreamResponse, op: str | None) -> web.StreamResponse:
    if not isinstance(response, web.Response) or not response.body or \
            not (response.content_type or "").startswith("application/json"):
        return response
    doc = faults.answer_json(response)
    try:
        body = xml_helion.render(doc, ANSWER_KINDS.get(op or ""))
    except ValueError:
        log.warning("no XML form for the answer to %s; answering JSON", op)
        return response
    headers = {k: v for k, v in response.headers.items() if k.lower() not in ("content-type", "content-length")}
    return web.Response(body=body, status=response.status, headers=headers, content_type=XML, charset="UTF-8")


@web.middleware
async def wire_middleware(request: web.Request, handler: faults.Handler) -> web.StreamResponse:
    suffix = None
    path = request.path
    for candidate in ("xml", "json"):
        if path.endswith("." + candidate):
            suffix = candidate
            request = await _rerouted(request, path[:-len(candidate) - 1])
            handler = request.match_info.handler
            break
    wants_xml = _wants_xml(request, suffix)
    response = _method_not_allowed(request)
    if response is None:
        try:
            _serials_to_ids(request)
            await _adapt_body(request)
        except errors.ComputeError as exc:
            response = _fault(request, exc)
        except Exception:
            log.exception("Unexpected error reading %s %s", request.method, request.path)
            response = _fault(request, errors.InternalError())
        else:
            response = await face.face_middleware(request, handler) if suffix else await handler(request)
    return _as_xml(response, _operation(request)) if wants_xml else response
