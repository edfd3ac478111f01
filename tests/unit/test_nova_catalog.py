"""The catalog of Nova's operations (nodecompute/api/nova_catalog.py) checked against Nova's own record.

tests/data/nova/routes.json is Nova's ROUTE_LIST resolved to its controller methods (tests/tools/record_nova.py)
and status.json the codes api-ref documents; both were read from the commit in tests/data/nova/SOURCE.
"""
from __future__ import annotations

import json
import re
from collections import Counter

import pytest

from nodecompute.api.nova_catalog import CATALOG, NOVA_MAX_VERSION, by_row, find
from nodecompute.api.nova_operations import Status, in_range, path_shape, version_key
from tests.conftest import REPO

NOVA = REPO / "tests" / "data" / "nova"
ROUTES = json.loads((NOVA / "routes.json").read_text())
API_REF = json.loads((NOVA / "status.json").read_text())

# Compute rows of the operations checklist (kept outside the repository) that are Nova operations. The rows of the
# compute areas that are not: 301 (dispatch rules), 311 312 327 328 1602 (vendor action keys), 1003 (a seed's
# route), 1211 1212 (not in Nova v2.1), 1606 (noVNC), 1902 1903 (Cyclades stats).
RANGES = ((101, 113), (201, 214), (302, 310), (313, 326), (329, 329), (401, 406), (501, 502), (601, 614),
          (701, 710), (901, 904), (1001, 1002), (1101, 1105), (1201, 1210), (1301, 1309), (1401, 1407),
          (1501, 1514), (1601, 1601), (1603, 1605), (1607, 1608), (1701, 1702), (1801, 1804), (1901, 1901),
          (2001, 2004), (2101, 2125))
NOVA_ROWS = {row for low, high in RANGES for row in range(low, high + 1)}
VENDOR_ROWS = {301, 311, 312, 327, 328, 1003, 1211, 1212, 1602, 1606, 1902, 1903}
# Served by nodecompute today (README "What is implemented").
SERVED_ROWS = NOVA_ROWS & ({*range(101, 114), 201, 202, 203, 205, 206, 207, 302, 309, 310, 1603, *range(401, 407),
                            501, 502, *range(601, 614), *range(701, 711), *range(901, 905), 1001, 1002})
# Nova serves these literal paths through its `/os-services/{id}` route (the id is the action before 2.53).
LITERAL = {"/os-services/enable", "/os-services/disable", "/os-services/disable-log-reason", "/os-services/force-down"}
# Codes Nova's method body picks by condition; the catalog states the condition.
# (external events sets 207 through a variable, which the recorder does not read).
BY_HAND = {("POST", "/servers/{}/os-volume_attachments"): {200, 202}, ("PUT", "/servers/{}/tags/{}"): {201, 204},
           ("POST", "/os-server-external-events"): {200, 207}}
# api-ref documents 202 where Nova's code answers its default 200 (the methods have no wsgi.response).
API_REF_WRONG = {("GET", "/os-baremetal-nodes"), ("GET", "/os-baremetal-nodes/{}")}


def _version(value: str | None) -> str | None:
    return "2.1" if value in (None, "2.0") else value


def _nova_route(op):
    shape = "/os-services/{}" if op.path in LITERAL else path_shape(op.path)
    found = [r for r in ROUTES["routes"]
             if (r["method"], path_shape(r["path"]), r["action"]) == (op.method, shape, op.action)]
    return found[0] if len(found) == 1 else None


def _versioned():
    return [op for op in CATALOG if op.base == "/v2.1" and op.path != "/"]


def test_no_operation_twice():
    keys = Counter((op.base, op.method, path_shape(op.path), op.action) for op in CATALOG)
    assert [key for key, count in keys.items() if count > 1] == []


def test_one_spelling_per_path_shape():
    spellings: dict[str, set[str]] = {}
    for op in CATALOG:
        spellings.setdefault(path_shape(op.path), set()).add(op.path)
    assert {shape: names for shape, names in spellings.items() if len(names) > 1} == {}


def test_every_nova_route_and_action_key_is_in_the_catalog():
    for route in ROUTES["routes"]:
        if route["path"] == "/":
            assert find("GET", "/").nova_name == route["name"]
            continue
        op = find(route["method"], route["path"], route["action"])
        if route["path"] == "/os-services/{id}" and route["method"] == "PUT":
            op = find("PUT", "/os-services/{service_id}")
        assert op is not None, route


def test_every_catalog_entry_is_a_nova_route_with_its_name_and_range():
    for op in _versioned():
        route = _nova_route(op)
        assert route is not None, op.key
        assert op.nova_name == route["name"], op.key
        if route["path"] != "/os-services/{id}":
            assert (op.min_version, op.max_version) == (_version(route["min_version"]), route["max_version"]), op.key


def test_the_service_update_route_split_by_version():
    # Nova's update reads the id as the action (enable, disable, ...) before 2.53 and as the service's uuid after;
    # force-down is known from 2.11.
    ranges = {op.path: (op.min_version, op.max_version) for op in CATALOG if op.nova_name.endswith(".update")
              and op.nova_name.startswith("services.")}
    assert ranges == {"/os-services/enable": ("2.1", "2.52"), "/os-services/disable": ("2.1", "2.52"),
                      "/os-services/disable-log-reason": ("2.1", "2.52"), "/os-services/force-down": ("2.11", "2.52"),
                      "/os-services/{service_id}": ("2.53", None)}


def test_statuses_are_novas():
    for op in _versioned():
        route = _nova_route(op)
        decorated = {(code, _version(low), high) for code, low, high in route["status"]}
        mine = {(s.code, s.min_version, s.max_version) for s in op.statuses}
        if op.gone:
            assert decorated == {(410, "2.1", None)}, op.key
        elif (op.method, path_shape(op.path)) in BY_HAND:
            expected = BY_HAND[(op.method, path_shape(op.path))]
            assert {s.code for s in op.statuses} == expected, op.key
            assert expected & ({c for c, _, _ in decorated} | set(route["body_status"])), op.key
        elif route["body_status"] and decorated == {(200, "2.1", None)}:
            assert mine == {(code, "2.1", None) for code in route["body_status"]}, op.key
        else:
            assert mine == decorated, op.key


def test_api_ref_codes_agree_with_the_catalog():
    for section in API_REF:
        method, path, action = section["method"], section["path"], section["action"]
        # api-ref writes a few ids that Nova's route reads as values: /os-cloudpipe/configure-project
        op = find(method, path, action, base=section["base"]) or find(method, re.sub(r"/[^/{}]+$", "/{id}", path))
        assert op is not None, section
        documented = {code for code, _, _ in section["codes"]}
        if op.gone:
            continue  # api-ref keeps the codes the API had before Nova removed it
        if (method, path_shape(path)) in API_REF_WRONG:
            assert documented == {202} and op.statuses == (Status(200),)
            continue
        assert documented <= {s.code for s in op.statuses}, (section["title"], documented, op.statuses)


def test_status_ranges_lie_inside_the_operation_and_cover_it():
    for op in CATALOG:
        for status in op.statuses:
            assert version_key(op.min_version) <= version_key(status.max_version or NOVA_MAX_VERSION)
        for minor in range(version_key(op.min_version)[1], version_key(op.max_version or NOVA_MAX_VERSION)[1] + 1):
            codes = op.status_at(f"2.{minor}")
            assert codes, (op.key, minor)
            assert len(codes) == 1 or all(s.when for s in op.statuses), op.key


def test_versions_and_names_are_well_formed():
    assert NOVA_MAX_VERSION == ROUTES["max_version"]
    for op in CATALOG:
        assert re.fullmatch(r"[a-zA-Z0-9_]+\.[A-Za-z0-9]+\.[A-Za-z_0-9]+", op.nova_name), op.nova_name
        assert op.method in ("GET", "PUT", "POST", "DELETE")
        assert (op.action is not None) == op.path.endswith("/action")
        assert in_range(op.min_version, "2.1", NOVA_MAX_VERSION)
        assert op.max_version is None or in_range(op.max_version, op.min_version, NOVA_MAX_VERSION)


def test_rows_are_the_checklist_rows_with_a_nova_counterpart():
    rows = Counter(op.row for op in CATALOG if op.row is not None)
    assert set(rows) == NOVA_ROWS
    assert not set(rows) & VENDOR_ROWS
    assert {row for row, count in rows.items() if count > 1} == {2122}
    assert [op.path for op in by_row(2122)] == ["/os-hosts/{host_name}/reboot", "/os-hosts/{host_name}/shutdown",
                                                "/os-hosts/{host_name}/startup"]
    assert all(by_row(row) for row in SERVED_ROWS)


@pytest.mark.parametrize("method, path, action, version, codes", [
    ("POST", "/os-keypairs", None, "2.1", (200,)),
    ("POST", "/os-keypairs", None, "2.2", (201,)),
    ("DELETE", "/os-keypairs/{name}", None, "2.1", (202,)),
    ("DELETE", "/os-keypairs/{id}", None, "2.10", (204,)),
    ("POST", "/servers/{id}/action", "trigger_crash_dump", "2.16", ()),
    ("POST", "/servers/{id}/action", "trigger_crash_dump", "2.17", (202,)),
    ("GET", "/images", None, "2.35", (200,)),
    ("GET", "/images", None, "2.36", ()),
    ("GET", "/os-cells", None, "2.1", (410,)),
    ("GET", "/os-cells", None, "2.104", (410,)),
    ("POST", "/servers/{id}/os-volume_attachments", None, "2.100", (200,)),
    ("POST", "/servers/{id}/os-volume_attachments", None, "2.101", (202,)),
    ("PUT", "/servers/{id}/tags/{tag}", None, "2.26", (201, 204)),
    ("PUT", "/os-services/disable", None, "2.53", ()),
    ("PUT", "/os-services/{service_id}", None, "2.53", (200,)),
    ("POST", "/os-volumes_boot", None, "2.103", ()),
])
def test_status_at_a_version(method, path, action, version, codes):
    assert find(method, path, action).status_at(version) == codes


def test_find_the_roots():
    assert find("GET", "/", base="").row == 101
    assert find("GET", "/", base="/v2").row == 102
    assert find("GET", "/").row == 103
    assert find("GET", "/servers/{id}/nothing") is None
