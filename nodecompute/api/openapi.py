"""The OpenAPI description of every served route, generated (never written by hand) from what already says it:

- the route table rows each mounted dialect serves (paths, methods, token, microversion ranges, action keys);
- the dialect's request schemas (`bodies`), query schemas (`queries`), success statuses and views (`statuses`,
  `views`: an operation without a view answers no body) and its fault renderer (the error shape);
- Nova's operation catalog (the success statuses Nova documents, which a view may pick by result) and the
  microversion ladder's record of the steps that changed each compute operation up to the described version.

`describe(faces, version)` renders OpenAPI 3.1 at one compute microversion (the other faces at their own maximum);
GET /openapi.json serves it at the advertised maximum, `?version=2.1` (or any version the compute face negotiates)
at that one. Pure functions of the dialects: nothing here reads the store.
"""
from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from typing import Any, NamedTuple

from aiohttp import web

from nodecompute.api import faults
from nodecompute.api.dialect import Dialect, Faults, Version, served_at
from nodecompute.api.keys import mounted_dialects_key, root_routes_key
from nodecompute.api.microversion_ladder import EVERY_ROUTE
from nodecompute.api.microversion_steps import ladder
from nodecompute.api.nova_catalog import find
from nodecompute.api.nova_operations import ACTION, path_shape, version_key
from nodecompute.api.respond import QuerySchema, RawBody
from nodecompute.api.routing import Route

OPENAPI = "3.1.0"
TOKEN_SCHEME = "keystoneToken"
_PARAM = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)(?::((?:[^{}]|\{[^{}]*\})+))?\}")
_JSON_TYPES = {bool: "boolean", int: "integer", float: "number", str: "string", type(None): "null"}


class Faces(NamedTuple):
    """What the root application serves: its own rows (face "root") and the mounted dialects."""

    root_routes: tuple[Route, ...]
    dialects: tuple[Dialect, ...]


def is_compute(dialect: Dialect) -> bool:
    return dialect.microversions is not None and dialect.microversions.service == "compute"


def compute_dialect(faces: Faces) -> Dialect | None:
    return next((dialect for dialect in faces.dialects if is_compute(dialect)), None)


def version_for(dialect: Dialect, compute_version: Version) -> Version:
    """The version a face is described at: the compute face at the one asked for, a face with microversions of its
    own at its maximum, a fixed face at its fixed version."""
    mv = dialect.microversions
    if mv is None:
        return dialect.roots[0].fixed if dialect.roots else (2, 0)
    return compute_version if mv.service == "compute" else mv.max


def openapi_path(template: str) -> tuple[str, list[dict[str, Any]]]:
    """aiohttp's "/x/{id}/{tail:re}" -> ("/x/{id}/{tail}", path parameters, a regex as the parameter's pattern)."""
    params = []
    for match in _PARAM.finditer(template):
        schema: dict[str, Any] = {"type": "string"}
        if match.group(2):
            schema["pattern"] = "^" + match.group(2) + "$"
        params.append({"name": match.group(1), "in": "path", "required": True, "schema": schema})
    return _PARAM.sub(lambda m: "{" + m.group(1) + "}", template), params


def full_paths(dialect: Dialect, route: Route) -> str:
    """The route's path under the dialect's prefix and its first version root (the negotiating one for compute;
    the same rows are also served under the other roots and the `{project_id}` segment)."""
    if not route.versioned or not dialect.roots:
        return dialect.prefix + route.path
    root = next((r for r in dialect.roots if r.microversions), dialect.roots[0])
    return dialect.prefix + root.path + route.path


def fault_schema(faults: Faults) -> dict[str, Any]:
    """The error body's JSON schema, read from what the face's renderer writes (its fault names as the keys or
    values that carry the name)."""
    marker = "nodecompute-fault-name"
    body = json.loads(faults.render(400, marker, "message", None).text)
    names = sorted({*faults.names.values(), faults.default_name,
                    *(name for _, name in faults.by_class.values())})

    def schema_of(value: Any) -> dict[str, Any]:
        if isinstance(value, dict):
            if marker in value and len(value) == 1:
                return {"type": "object", "minProperties": 1, "maxProperties": 1,
                        "propertyNames": {"enum": names}, "additionalProperties": schema_of(value[marker])}
            return {"type": "object", "required": sorted(value),
                    "properties": {key: schema_of(item) for key, item in value.items()}}
        if isinstance(value, list):
            return {"type": "array"}
        return {"type": _JSON_TYPES[type(value)]}

    return schema_of(body)


def _query_parameters(spec: QuerySchema | None) -> list[dict[str, Any]]:
    if spec is None:
        return []
    params = []
    for name, schema in spec.single.get("properties", {}).items():
        param = {"name": name, "in": "query", "required": name in spec.single.get("required", ()),
                 "schema": schema}
        if name in spec.repeated:
            param = {**param, "schema": {"type": "array", "items": spec.repeated[name]}, "explode": True}
        params.append(param)
    return params


def _keyed(schema: dict[str, Any], key: str) -> dict[str, Any]:
    """An action's body schema naming its key as required (an action Nova validates nothing of, resetNetwork, still
    needs its key to be dispatched), so the actions' oneOf branches exclude each other."""
    required = schema.get("required", [])
    return schema if key in required else {**schema, "type": "object", "required": [*required, key]}


def _request_body(dialect: Dialect, route: Route, version: Version) -> dict[str, Any] | None:
    if route.method not in ("POST", "PUT", "PATCH"):  # an op id may name a GET, PUT and DELETE together (Neutron)
        return None
    if route.actions is not None:
        schemas = [_keyed(dialect.bodies[action.op].at(version), key) for key, action in route.actions.items()
                   if served_at(version, action.since, action.until) and action.op in dialect.bodies]
        return {"required": True, "content": {"application/json": {"schema": {"oneOf": schemas}}}}
    found = dialect.bodies.get(route.op)
    if found is None:
        return None
    body = found.at(version)
    if isinstance(body, RawBody):
        return {"required": True, "content": {body.media_type: {"schema": {"type": "string", "format": "binary"}}}}
    return {"required": True, "content": {"application/json": {"schema": body}}}


def _nova_statuses(dialect: Dialect, route: Route, action: str | None, version: Version) -> tuple[int, ...]:
    if not is_compute(dialect) or not route.versioned:
        return ()
    operation = find(route.method, route.path, action)
    return operation.status_at(f"{version[0]}.{version[1]}") if operation is not None else ()


def _ops_of(route: Route, version: Version) -> list[tuple[str, str | None]]:
    """(operation id, action key) of a route at a version: the route's own, or each served action's."""
    if route.actions is None:
        return [(route.op, None)]
    return [(action.op, key) for key, action in route.actions.items() if served_at(version, action.since,
                                                                                   action.until)]


def _success(dialect: Dialect, route: Route, version: Version, downloads: set[str]) -> dict[str, Any]:
    responses: dict[str, Any] = {}
    for op, action in _ops_of(route, version):
        codes = {dialect.status(op, version, route.method), *_nova_statuses(dialect, route, action, version)}
        view = dialect.views.get(op)
        for code in sorted(codes):
            entry = responses.setdefault(str(code), {"description": "", "x-operations": []})
            entry["x-operations"].append(op if action is None else f"{op} ({action})")
            if view is not None and code != 204:
                media = "application/octet-stream" if route.op in downloads else "application/json"
                schema = {"type": "string", "format": "binary"} if route.op in downloads else {"type": "object"}
                entry.setdefault("content", {})[media] = {"schema": schema}
    for entry in responses.values():
        entry["description"] = "success: " + ", ".join(entry.pop("x-operations"))
    return responses


def _downloads(routes: Iterable[Route], dialect: Dialect) -> set[str]:
    """The GET rows whose path takes raw data by PUT (a file is read back the way it was written)."""
    raw_paths = {route.path for route in routes if route.method == "PUT"
                 and isinstance(getattr(dialect.bodies.get(route.op), "first", None), RawBody)}
    return {route.op for route in routes if route.method == "GET" and route.path in raw_paths}


def ladder_record(route: Route, version: Version) -> list[str]:
    """The ladder's steps up to `version` that changed this compute operation (or one of its action keys)."""
    keys = {(route.method, path_shape(route.path), key) for _, key in _ops_of(route, version)}
    found = []
    for step in ladder():
        if version_key(step.version) > version or step.status not in ("done", "todo"):
            continue
        for touch in step.touches:
            if touch == EVERY_ROUTE:
                continue
            shape = (touch[0], path_shape(ACTION if len(touch) > 2 else touch[1]), touch[2] if len(touch) > 2
                     else None)
            if shape in keys:
                found.append(f"{step.version}: {step.summary}")
                break
    return found


def _operation(dialect: Dialect, route: Route, version: Version, params: list[dict[str, Any]],
               downloads: set[str], fault: dict[str, Any]) -> dict[str, Any]:
    query = dialect.queries.get(route.op)
    operation: dict[str, Any] = {
        "operationId": f"{dialect.name}:{route.method}:{full_paths(dialect, route)}",
        "x-nodecompute-op": route.op,
        "tags": [dialect.routes[0].face if dialect.routes else dialect.name],
        "parameters": params + _query_parameters(query.at(version) if query is not None else None),
        "responses": {**_success(dialect, route, version, downloads),
                      "default": {"description": "error",
                                  "content": {"application/json": {"schema": fault}}}},
        "security": [{TOKEN_SCHEME: []}] if route.token else [],
    }
    if route.actions is not None:
        operation["x-actions"] = sorted(key for _, key in _ops_of(route, version))
    body = _request_body(dialect, route, version)
    if body is not None:
        operation["requestBody"] = body
    if is_compute(dialect) and route.versioned:
        record = ladder_record(route, version)
        if record:
            operation["x-microversion-changes"] = record
    return operation


def describe(faces: Faces, compute_version: Version) -> dict[str, Any]:
    """The OpenAPI document of every route served at `compute_version` (the other faces at their own version)."""
    paths: dict[str, dict[str, Any]] = {}
    compute = compute_dialect(faces)
    root_fault = fault_schema(compute.faults) if compute is not None else {"type": "object"}
    for route in faces.root_routes:
        path, params = openapi_path(route.path)
        paths.setdefault(path, {})[route.method.lower()] = {
            "operationId": f"root:{route.method}:{route.path}", "x-nodecompute-op": route.op, "tags": ["root"],
            "parameters": params, "security": [],
            "responses": {"200": {"description": "success", "content": {"application/json": {
                "schema": {"type": "object"}}}},
                "default": {"description": "error", "content": {"application/json": {"schema": root_fault}}}}}
    for dialect in faces.dialects:
        version = version_for(dialect, compute_version)
        fault = fault_schema(dialect.faults)
        downloads = _downloads(dialect.routes, dialect)
        for route in dialect.routes:
            if not served_at(version, route.since, route.until):
                continue
            path, params = openapi_path(full_paths(dialect, route))
            paths.setdefault(path, {})[route.method.lower()] = _operation(dialect, route, version, params,
                                                                         downloads, fault)
    mv = compute.microversions if compute is not None else None
    text = f"{compute_version[0]}.{compute_version[1]}"
    return {
        "openapi": OPENAPI,
        "info": {"title": "nodecompute", "version": text, "description": (
            f"Every route nodecompute serves, at compute microversion {text}"
            + (f" (the compute face negotiates {mv.min[0]}.{mv.min[1]} to {mv.max[0]}.{mv.max[1]} with the "
               f"`OpenStack-API-Version: compute X.Y` header)" if mv else "")
            + ". Generated from the route table, the dialects' request schemas and the microversion ladder.")},
        "paths": paths,
        "components": {"securitySchemes": {TOKEN_SCHEME: {"type": "apiKey", "in": "header",
                                                          "name": "X-Auth-Token"}}},
    }


def describe_all(faces: Faces) -> Mapping[str, dict[str, Any]]:
    """The document at the compute face's lowest and highest microversion, by version text."""
    compute = compute_dialect(faces)
    versions = [compute.microversions.min, compute.microversions.max] if compute and compute.microversions \
        else [(2, 1)]
    return {f"{v[0]}.{v[1]}": describe(faces, v) for v in versions}


_VERSION_TEXT = re.compile(r"^(\d{1,3})\.(\d{1,4})$")


async def show(request: web.Request) -> web.Response:
    """GET /openapi.json[?version=X.Y]: the description at the advertised maximum, or at a version the compute face
    negotiates (400 in Nova's fault shape otherwise)."""
    faces = Faces(request.app[root_routes_key], request.app[mounted_dialects_key])
    compute = compute_dialect(faces)
    mv = compute.microversions if compute is not None else None
    asked = request.query.get("version")
    version = mv.max if mv is not None else (2, 1)
    if asked is not None:
        match = _VERSION_TEXT.match(asked)
        wanted = (int(match.group(1)), int(match.group(2))) if match else None
        if wanted is None or mv is None or not mv.min <= wanted <= mv.max:
            low, high = (mv.min, mv.max) if mv is not None else ((2, 1), (2, 1))
            return faults.nova_fault(400, "badRequest", f"Invalid version {asked!r}: the compute API serves "
                                     f"{low[0]}.{low[1]} to {high[0]}.{high[1]}.")
        version = wanted
    return faults.json_response(describe(faces, version))
