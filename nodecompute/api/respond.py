"""What handlers call around their one service call: parse the body or query, then `respond(request, result)`.

The operation is the matched route's row (an action dispatcher sets the action's own); the dialect of the face
and the request's version pick the schema, the validation mode, the view and the success status. A view is a pure
function `(out, result) -> body`; it returns a `Reply` when it also sets headers, picks one of its operation's
statuses from the result, or hands over a file.
"""
from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Hashable, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, NamedTuple

import orjson
from aiohttp import web
from multidict import MultiMapping

from nodecompute.api import validation
from nodecompute.api.dialect import LEGACY, Dialect, Version
from nodecompute.api.faults import JSON, json_response
from nodecompute.api.keys import api_version_key, bound_key, context_key, op_key
from nodecompute.api.urls import Links
from nodecompute.caching import VersionedCache
from nodecompute.domain.models import AuthContext

FILE_CHUNK = 1 << 20
# One thread renders the large bodies (respond_in_thread): they hold the GIL anyway, and one thread is one malloc
# arena (process_tuning.py), not one per worker of the loop's default pool.
RENDERER = ThreadPoolExecutor(max_workers=1, thread_name_prefix="nc-render")


class Reply(NamedTuple):
    body: Any = None
    headers: Mapping[str, str] | None = None
    status: int | None = None  # one of the operation's documented statuses, chosen by the result
    file: Path | None = None  # streamed, never held in memory


class Out:
    """What a view gets beside the result: the request's caller, version and link builder."""

    __slots__ = ("request", "version", "_links")

    def __init__(self, request: web.Request, version: Version) -> None:
        self.request = request
        self.version = version
        self._links: Links | None = None

    @property
    def ctx(self) -> AuthContext:
        return self.request[context_key]

    @property
    def dialect(self) -> Dialect:
        return self.request[bound_key].dialect

    @property
    def links(self) -> Links:
        if self._links is None:
            self._links = Links(self.request)
        return self._links


class RawBody(NamedTuple):
    """An operation whose body is not JSON (image data): its media type stands where a schema would."""

    media_type: str


class QuerySchema(NamedTuple):
    """A query's schema: `single` checks the last value of each parameter, `repeated` each value of the parameters
    that may repeat (`?status=A&status=B`)."""

    single: Mapping[str, Any]
    repeated: Mapping[str, Any] = {}


def operation(request: web.Request) -> str:
    return request.get(op_key) or request[bound_key].route.op


def face_of(request: web.Request) -> tuple[Dialect, Version, str]:
    return request[bound_key].dialect, request[api_version_key], operation(request)


def respond(request: web.Request, result: Any = None) -> web.StreamResponse:
    dialect, version, op = face_of(request)
    status = dialect.status(op, version, request.method)
    view = dialect.views.get(op)
    out = view.at(version)(Out(request, version), result) if view is not None else None
    headers = None
    if isinstance(out, Reply):
        status, headers = out.status or status, out.headers
        if out.file is not None:
            return web.FileResponse(out.file, chunk_size=FILE_CHUNK, status=status, headers=headers)
        out = out.body
    if out is None:
        return web.Response(status=status, headers=headers)
    return json_response(out, status=status, headers=headers)


async def respond_in_thread(request: web.Request, result: Any) -> web.StreamResponse:
    """respond() for a body whose size the caller chooses (a list of a thousand servers): the view and the JSON
    encoding (orjson: a tenth of the standard library's time) run on a worker thread, so the event loop keeps
    answering other requests (a token check, a flavor) meanwhile."""
    dialect, version, op = face_of(request)
    view = dialect.views[op].at(version)
    out = Out(request, version)
    out.links  # noqa: B018 (made here: it reads the request, which belongs to the loop)
    request.query, request.path  # noqa: B018 (the same: a view may read them; made here, the thread reads them made)
    body = await asyncio.get_running_loop().run_in_executor(RENDERER, _render, view, out, result)
    if not isinstance(body, bytes):  # a view that sets headers or a status: the ordinary path
        return respond(request, result)
    return web.Response(body=body, status=dialect.status(op, version), content_type=JSON, charset="UTF-8")


def _render(view: Callable[[Out, Any], Any], out: Out, result: Any) -> bytes | Reply:
    rendered = view(out, result)
    return rendered if isinstance(rendered, Reply) else orjson.dumps(rendered)


def respond_cached(request: web.Request, cache: VersionedCache[bytes], data_version: int, key: Hashable,
                   make: Callable[[], Any]) -> web.Response:
    """respond() for a hot read: the rendered body is kept under (dialect, operation, version, key) until the data
    changes (`data_version`); `make()` is the service call, made only on a miss."""
    dialect, version, op = face_of(request)
    view = dialect.views[op].at(version)

    def render() -> bytes:
        return json.dumps(view(Out(request, version), make())).encode()

    body = cache.get_or_make(data_version, (dialect.name, op, version, key), render)
    return web.Response(body=body, status=dialect.status(op, version, request.method), content_type=JSON,
                        charset="UTF-8")


async def parse_body(request: web.Request) -> Any:
    """The JSON body, checked against the operation's schema in the dialect's validation mode."""
    return check_body(request, await validation.json_body(request))


def check_body(request: web.Request, body: Any) -> Any:
    dialect, version, op = face_of(request)
    schema = dialect.bodies[op].at(version)
    if dialect.validation.at(version) == LEGACY:
        body = relax(schema, body)
    return validation.validate(schema, body)


def relax(schema: Mapping[str, Any], value: Any) -> Any:
    """Nova's legacy v2 validation: properties a schema does not name are dropped (at every level the schema names
    `properties`, array items included); what remains is checked strictly. Objects keyed by pattern (metadata,
    extra specs) stay strict."""
    if isinstance(value, dict):
        properties = schema.get("properties")
        if properties is None or schema.get("additionalProperties") is True:  # any key is the schema's own
            return value
        return {key: relax(properties[key], item) for key, item in value.items() if key in properties}
    if isinstance(value, list) and isinstance(schema.get("items"), Mapping):
        return [relax(schema["items"], item) for item in value]
    return value


def rules(request: web.Request) -> Any:
    """The behaviour knobs of the request's operation at its version (Dialect.rules)."""
    dialect, version, op = face_of(request)
    return dialect.rules[op].at(version)


def query_names(request: web.Request) -> frozenset[str]:
    """The query parameters the operation's schema names at the request's version."""
    dialect, version, op = face_of(request)
    return frozenset(dialect.queries[op].at(version).single.get("properties", {}))


_repeated_schemas: dict[tuple[str, int], tuple[Mapping[str, Any], dict]] = {}


def repeated_schema(key: str, item_schema: Mapping[str, Any]) -> dict:
    """`{"type": "object", "properties": {key: item_schema}}`, the schema each value of a repeated query parameter
    is checked with, made once per parameter: validation keeps a compiled validator per schema object, and one made
    per request was compiled and kept per request (issue 22). As many as the QuerySchemas' repeated parameters
    (module constants); the item schema is kept with it, so its id is never another's."""
    found = _repeated_schemas.get((key, id(item_schema)))
    if found is None or found[0] is not item_schema:
        found = (item_schema, {"type": "object", "properties": {key: item_schema}})
        _repeated_schemas[(key, id(item_schema))] = found
    return found[1]


def parse_query(request: web.Request, query: MultiMapping[str] | None = None, known_only: bool = False
                ) -> dict[str, Any]:
    """The query parameters (the last value of each), checked against the operation's query schema. With
    `known_only`, only the parameters the schema names at the request's version are returned: Nova strips the
    others, so a parameter added at a microversion is ignored below it (`?user_id=` on keypairs before 2.10)."""
    dialect, version, op = face_of(request)
    spec: QuerySchema = dialect.queries[op].at(version)
    query = request.query if query is None else query
    values = validation.validate_query(spec.single, query)
    for key, item_schema in spec.repeated.items():
        for value in query.getall(key, []):
            validation.validate(repeated_schema(key, item_schema), {key: value}, where="query parameters")
    if known_only:
        values = {key: value for key, value in values.items() if key in query_names(request)}
    return values
