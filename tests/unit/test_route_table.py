"""The route table, Nova's catalog and docs/api.md agree (issue 7 items 2 and 4), and every mutating route has a
request schema in each dialect that serves it."""
from __future__ import annotations

import re

import pytest

from nodecompute.api import docs
from nodecompute.api.catalog import nova_operation, served_by, served_op_id, unknown_route
from nodecompute.api.dialects.identity import IDENTITY
from nodecompute.api.dialects.image import IMAGE
from nodecompute.api.dialects.network import NETWORK
from nodecompute.api.dialects.openstack import OPENSTACK
from nodecompute.api.dialects.volume import VOLUME
from nodecompute.api.nova_catalog import CATALOG
from nodecompute.api.nova_operations import version_key
from nodecompute.api.respond import RawBody
from nodecompute.api.route_table import ROUTES

DIALECTS = (OPENSTACK, IDENTITY, IMAGE, NETWORK, VOLUME)
OP_ID = re.compile(r"^(#\d+|[a-z]+:[a-z0-9.-]+)$")
# The paths that needed no token before the table existed (auth.PUBLIC_PATHS): the rows' token flags give them.
PUBLIC = {
    "/", "/openapi.json", "/compute", "/compute/", "/compute/v2", "/compute/v2.1",
    "/identity", "/identity/", "/identity/v3", "/identity/v3/", "/identity/v2.0", "/identity/v2.0/",
    "/identity/v3/auth/tokens", "/identity/v2.0/tokens",
    "/image", "/image/", "/image/versions",
    "/networking", "/networking/",
    "/volume", "/volume/", "/volume/v3", "/volume/v3/",
}


def _full_path(route) -> str:
    dialect = next((d for d in DIALECTS if d.routes and d.routes[0].face == route.face), None)
    if dialect is None:
        return route.path
    root = dialect.roots[0].path if route.versioned else ""
    return dialect.prefix + root + route.path


def test_docs_api_md_is_generated_from_the_code():
    assert docs.DOC.read_text() == docs.render(), "run: python -m nodecompute.api.docs"


def test_rows_are_unique_and_named():
    keys = [(r.face, r.method, r.path, r.versioned) for r in ROUTES]
    assert len(keys) == len(set(keys))
    for route in ROUTES:
        assert OP_ID.match(route.op), route
        for action in (route.actions or {}).values():
            assert OP_ID.match(action.op), action


def test_row_numbers_agree_with_novas_catalog():
    """Where Nova's catalog gives an operation its checklist row, the table serves it under that number."""
    served = 0
    for op in CATALOG:
        op_id = served_op_id(op, OPENSTACK.routes)
        if op_id is None:
            continue
        served += 1
        if op.row is None:  # no checklist row (server migrations, 2.23): a stable name, as route_table.py says
            assert not op_id.startswith("#"), (op, op_id)
        else:
            assert op_id == f"#{op.row}", (op, op_id)
    assert served >= 55


def test_every_action_key_is_a_nova_action_of_its_route():
    for route in ROUTES:
        if route.face != "compute":
            continue
        for key in route.actions or {}:
            assert any(op.action == key and served_by(op, (route,)) is route for op in CATALOG), (route.path, key)


def test_volume_action_keys_are_cinders():
    """The volume face's action route serves Cinder 3.0's keys (cinder/api/contrib/volume_actions.py)."""
    (route,) = [r for r in ROUTES if r.face == "volume" and r.actions]
    assert route.path == "/volumes/{volume_id}/action"
    assert set(route.actions) == {"os-volume_upload_image", "os-extend", "os-set_bootable"}
    assert {key: action.op for key, action in route.actions.items() if action.op.startswith("#")} == {
        "os-volume_upload_image": "#1222", "os-extend": "#1223"}


def test_public_paths_derive_from_the_token_flag():
    assert {_full_path(route) for route in ROUTES if not route.token} - {"/compute/{tail:(?!v2(?:\\.1)?(?:/|$)).+}"} \
        == PUBLIC


@pytest.mark.parametrize("dialect", DIALECTS, ids=lambda d: d.name)
def test_every_mutating_route_has_a_request_schema(dialect):
    for route in dialect.routes:
        if route.method not in ("POST", "PUT", "PATCH"):
            continue
        ops = [action.op for action in route.actions.values()] if route.actions else [route.op]
        for op in ops:
            assert op in dialect.bodies, (dialect.name, route.method, route.path, op)
            schema = dialect.bodies[op].at((2, 1))
            # "null": the operation takes no body (PUT /servers/{id}/tags/{tag}, Nova's schema says so)
            assert isinstance(schema, RawBody) or schema.get("type") in ("object", "array", "null"), (op, schema)


@pytest.mark.parametrize("dialect", DIALECTS, ids=lambda d: d.name)
def test_every_served_operation_has_a_view_or_a_status(dialect):
    """respond() never falls back silently: each operation names its body (a view) or its bodiless status."""
    for route in dialect.routes:
        ops = [action.op for action in route.actions.values()] if route.actions else [route.op]
        for op in ops:
            assert op in dialect.views or op in dialect.statuses, (dialect.name, route.path, op)


def test_unknown_routes_name_novas_operation():
    assert nova_operation("GET", "/servers/abc/tags").nova_name == "server_tags.ServerTagsController.index"
    assert nova_operation("GET", "/a-project/servers/abc/tags").row == 208
    assert nova_operation("PUT", "/flavors/1").min_version == "2.55"
    assert nova_operation("PATCH", "/flavors") is None
    assert "is not implemented yet by nodecompute" in unknown_route("GET", "/os-hypervisors").message
    assert unknown_route("GET", "/no-such-thing").message == "The resource could not be found."


def test_unknown_routes_outside_novas_range_get_the_bare_404():
    """2.103 removes /os-volumes_boot: Nova's version check answers its bare 404 there (legacy /v2 is 2.1)."""
    for version in ((2, 0), (2, 1), (2, 102)):
        assert "is not implemented yet" in unknown_route("GET", "/os-volumes_boot", version).message
    for version in ((2, 103), (2, 104)):
        assert unknown_route("GET", "/os-volumes_boot/x", version).message == "The resource could not be found."
    assert "(Nova's image_metadata." in unknown_route("PUT", "/images/x/metadata/k", (2, 35)).message
    assert unknown_route("PUT", "/images/x/metadata/k", (2, 39)).message == "The resource could not be found."


@pytest.mark.parametrize("doc", [
    [{"op": "add", "path": "/a", "value": "1"}, {"op": "remove", "path": "/b"}, {"op": "replace", "path": "/c",
                                                                               "value": "2"}],
    [], {}, [1], [{"path": "/a"}], [{"op": "move", "path": "/a"}], [{"op": "add", "path": "/a"}],
    [{"op": "remove", "path": "a"}], [{"op": "remove", "path": "/a/b"}], [{"op": "remove", "path": "/"}],
])
def test_the_image_patch_schema_says_what_parse_patch_reads(doc):
    """#805's declared schema and Glance's hand-written JSON-patch reader accept the same documents."""
    import json

    import jsonschema

    from nodecompute.api import glance
    from nodecompute.domain.errors import BadRequest

    try:
        glance.parse_patch(json.dumps(doc).encode())
        read = True
    except BadRequest:
        read = False
    assert read == jsonschema.Draft202012Validator(glance.PATCH_BODY).is_valid(doc)


def _range(op) -> tuple:
    """A catalog operation's range as a route or action states it (None: from 2.1, or still served)."""
    since = None if op.min_version == "2.1" else version_key(op.min_version)
    return since, None if op.max_version is None else version_key(op.max_version)


def test_microversion_ranges_are_novas():
    """Every served operation is routed in exactly Nova's range: the row's `since`/`until`, an action key's own."""
    checked = 0
    for op in CATALOG:
        route = served_by(op, OPENSTACK.routes)
        if route is None or not route.versioned or op.gone:
            continue
        holder = route.actions[op.action] if op.action is not None else route
        assert (holder.since, holder.until) == _range(op), (op.method, op.path, op.action)
        checked += 1
    assert checked >= 55
    assert any(route.until == (2, 35) for route in OPENSTACK.routes)  # the image proxy
