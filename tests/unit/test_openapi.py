"""The OpenAPI description is generated from the route table, the dialects and the ladder (nodecompute/api/openapi.py):
every served route is in it at the advertised maximum and at 2.1, each request schema is the dialect's own object,
and each face's error shape is what its fault renderer writes."""
from __future__ import annotations

import json

import jsonschema
import pytest

from nodecompute.api import openapi
from nodecompute.api.dialect import served_at
from nodecompute.api.docs import FACES
from nodecompute.api.respond import RawBody
from nodecompute.api.route_table import face_routes
from nodecompute.api.versions import MICROVERSIONS

ALL = openapi.Faces(face_routes("root"), FACES)
VERSIONS = (MICROVERSIONS.min, MICROVERSIONS.max)


def _rows(version):
    """(dialect, route, OpenAPI path, method) of every row served at `version`."""
    for dialect in FACES:
        at = openapi.version_for(dialect, version)
        for route in dialect.routes:
            if served_at(at, route.since, route.until):
                yield dialect, route, openapi.openapi_path(openapi.full_paths(dialect, route))[0], route.method.lower()


@pytest.mark.parametrize("version", VERSIONS, ids=lambda v: f"{v[0]}.{v[1]}")
def test_every_served_route_is_described_and_nothing_else(version):
    document = openapi.describe(ALL, version)
    described = {(path, method) for path, item in document["paths"].items() for method in item}
    served = {(path, method) for _, _, path, method in _rows(version)}
    served |= {(route.path, route.method.lower()) for route in face_routes("root")}
    assert described == served
    assert document["info"]["version"] == f"{version[0]}.{version[1]}"
    ids = [op["operationId"] for item in document["paths"].values() for op in item.values()]
    assert len(ids) == len(set(ids))
    json.dumps(document)  # plain JSON all the way down


def test_microversion_ranges_decide_what_is_described():
    low, high = (openapi.describe(ALL, version)["paths"] for version in VERSIONS)
    assert "put" in high["/compute/v2.1/flavors/{flavor_id}"] and "put" not in low["/compute/v2.1/flavors/{flavor_id}"]
    assert "/compute/v2.1/images" in low and "/compute/v2.1/images" not in high  # the image proxy ends at 2.35
    assert "/compute/v2.1/servers/{server_id}/tags" not in low
    actions = high["/compute/v2.1/servers/{server_id}/action"]["post"]
    assert "reboot" in actions["x-actions"]


@pytest.mark.parametrize("version", VERSIONS, ids=lambda v: f"{v[0]}.{v[1]}")
def test_request_and_query_schemas_are_the_dialects_own(version):
    paths = openapi.describe(ALL, version)["paths"]
    checked = 0
    for dialect, route, path, method in _rows(version):
        at = openapi.version_for(dialect, version)
        operation = paths[path][method]
        if route.actions is None and route.op in dialect.bodies and route.method in ("POST", "PUT", "PATCH"):
            body = dialect.bodies[route.op].at(at)
            content = operation["requestBody"]["content"]
            if isinstance(body, RawBody):
                assert list(content) == [body.media_type]
            else:
                assert content["application/json"]["schema"] is body
                jsonschema.validators.validator_for(body).check_schema(body)
                checked += 1
        elif route.method in ("GET", "DELETE"):
            assert "requestBody" not in operation, (path, method)
        query = dialect.queries.get(route.op)
        names = {p["name"] for p in operation["parameters"] if p["in"] == "query"}
        assert names == set(query.at(at).single.get("properties", {}) if query is not None else ())
        assert operation["security"] == ([{openapi.TOKEN_SCHEME: []}] if route.token else [])
    assert checked > 40


def test_the_error_shape_is_what_each_face_renders():
    for dialect in FACES:
        schema = openapi.fault_schema(dialect.faults)
        for code, name in dialect.faults.names.items():
            body = json.loads(dialect.faults.render(code, name, "went wrong", None).text)
            jsonschema.validate(body, schema)
    nova = openapi.fault_schema(FACES[0].faults)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"notAFault": {"code": 400, "message": "m"}}, nova)


def test_the_ladder_record_names_the_steps_of_an_operation():
    server = openapi.describe(ALL, MICROVERSIONS.max)["paths"]["/compute/v2.1/servers/{server_id}"]["get"]
    changes = server["x-microversion-changes"]
    assert any(change.startswith("2.47:") for change in changes)
    assert not any(change.startswith("2.47:") for change in openapi.describe(ALL, (2, 46))["paths"][
        "/compute/v2.1/servers/{server_id}"]["get"].get("x-microversion-changes", []))
