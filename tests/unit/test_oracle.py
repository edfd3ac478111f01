"""The oracle helpers (tests/oracle.py) on the recorded Nova data and the installed Tempest schemas; no daemon."""
from __future__ import annotations

import json

import pytest

from nodecompute.api.microversion_ladder import SERVED
from nodecompute.api.nova_catalog import find
from tests import oracle
from tests.conftest import REPO

SHOW = ("GET", "/servers/{id}", None)
FILL = {"string": "x", "integer": 1, "number": 1.5, "boolean": True, "null": None}


def _fill(keys):
    """A body with the recorded key structure (values are irrelevant to the oracle)."""
    if isinstance(keys, dict):
        return {key: _fill(value) for key, value in keys.items()}
    if isinstance(keys, list):
        return [_fill(keys[0])] if keys else []
    return FILL[keys]


def test_source_names_the_nova_commit():
    source = (REPO / "tests" / "data" / "nova" / "SOURCE").read_text()
    assert source.startswith("openstack/nova 00a030403f672b975364c855b7d25b40ef83e757")


@pytest.mark.parametrize("version, present, absent", [
    ("2.1", {"flavor.id", "flavor.links"}, {"locked", "tags", "flavor.original_name"}),
    ("2.47", {"flavor.original_name", "flavor.extra_specs", "tags", "locked", "description"}, {"flavor.id"}),
    ("2.96", {"pinned_availability_zone", "OS-EXT-SRV-ATTR:hostname"}, {"image.properties", "scheduler_hints"}),
    ("2.100", {"scheduler_hints", "image.properties", "pinned_availability_zone"}, set()),
])
def test_samples_record_server_show_across_versions(version, present, absent):
    sample_version, structures = oracle.sample_keys(*SHOW, version)
    assert sample_version == version
    server = structures[0]["server"]
    flat = {f"{key}.{inner}" for key, value in server.items() if isinstance(value, dict) for inner in value} | set(
        server)
    assert present <= flat and not absent & flat


def test_nearest_sample_at_or_below_the_version():
    assert oracle.sample_keys(*SHOW, "2.50")[0] == "2.47"
    assert oracle.sample_keys(*SHOW, "2.104")[0] == "2.100"
    assert oracle.sample_keys("POST", "/os-keypairs", None, "2.9")[0] == "2.2"
    assert oracle.sample_keys("GET", "/servers/{id}/tags", None, "2.25") == ("", [])


def test_samples_record_requests_and_actions():
    _, structures = oracle.sample_keys("POST", "/servers", None, "2.52", side="request")
    assert any("tags" in keys["server"] for keys in structures)
    _, structures = oracle.sample_keys("POST", "/servers/{id}/action", "reboot", "2.1", side="request")
    assert structures == [{"reboot": {"type": "string"}}]


def test_samples_only_hold_keys_and_types():
    scalars = set()

    def collect(keys):
        if isinstance(keys, dict):
            for value in keys.values():
                collect(value)
        elif isinstance(keys, list):
            for value in keys:
                collect(value)
        else:
            scalars.add(keys)

    for record in json.loads((REPO / "tests" / "data" / "nova" / "samples.json").read_text()):
        collect(record["keys"])
    assert scalars == set(FILL)


def test_a_body_shaped_like_the_sample_passes_and_a_missing_key_fails():
    _, structures = oracle.sample_keys(*SHOW, "2.47")
    body = _fill(structures[0])
    body["server"]["metadata"] = {"anything": "goes"}  # metadata keys are data, never compared
    oracle.assert_keys_like_nova(body, *SHOW, "2.47")
    del body["server"]["locked"]
    body["server"]["invented"] = 1
    with pytest.raises(AssertionError, match="missing server.locked.*extra server.invented"):
        oracle.assert_keys_like_nova(body, *SHOW, "2.47")
    oracle.assert_keys_like_nova(body, *SHOW, "2.47", optional=("missing server.locked", "extra server.invented"))


def test_key_differences_walk_lists_by_their_first_item():
    nova = {"servers": [{"id": "string", "links": [{"href": "string", "rel": "string"}]}]}
    assert oracle.key_differences({"servers": []}, nova) == []
    assert oracle.key_differences({"servers": [{"id": "a", "links": [{"href": "h"}]}]}, nova) == [
        "missing servers[].links[].rel"]
    assert oracle.key_differences({"servers": [{"id": {"nested": 1}, "links": []}]}, nova) == [
        "type of servers[].id: object (Nova: string)"]


@pytest.mark.parametrize("operation, version, status_code", [
    (("POST", "/os-keypairs", None), "2.1", [200]),
    (("POST", "/os-keypairs", None), "2.2", [201]),
    (("DELETE", "/os-keypairs/{name}", None), "2.2", [204]),
    (("POST", "/servers", None), "2.1", [202]),
    (("POST", "/servers/{id}/action", "reboot"), "2.1", [202]),
    (("GET", "/limits", None), "2.57", [200]),
])
def test_tempest_schema_status_codes(operation, version, status_code):
    assert oracle.tempest_schema(*operation, version)["status_code"] == status_code


def test_tempest_schema_follows_the_version_modules():
    def flavor_required(version):
        schema = oracle.tempest_schema("GET", "/servers/{id}", None, version)
        return schema["response_body"]["properties"]["server"]["properties"]["flavor"].get("required", [])

    assert "original_name" not in flavor_required("2.46") and "original_name" in flavor_required("2.47")
    limits = oracle.tempest_schema("GET", "/limits", None, "2.57")["response_body"]
    absolute = limits["properties"]["limits"]["properties"]["absolute"]["properties"]
    assert "maxPersonality" not in absolute and "maxTotalInstances" in absolute


def test_validate_with_tempest_checks_status_and_body():
    oracle.validate_with_tempest("GET", "/os-keypairs", None, "2.1", 200, {"keypairs": []})
    oracle.validate_with_tempest("DELETE", "/os-keypairs/{name}", None, "2.2", 204, "")
    with pytest.raises(AssertionError, match="status 201"):
        oracle.validate_with_tempest("GET", "/os-keypairs", None, "2.1", 201, {"keypairs": []})
    with pytest.raises(AssertionError, match="keypairs"):
        oracle.validate_with_tempest("GET", "/os-keypairs", None, "2.1", 200, {"key_pairs": []})


def test_tempest_table_covers_the_served_operations():
    keys = {(method, oracle.path_shape(path), action) for method, path, action in oracle.TEMPEST}
    for method, path, action in oracle.TEMPEST:
        operation = find(method, path, action)
        assert operation is not None, (method, path)
        assert oracle.tempest_schema(method, path, action, operation.min_version)["status_code"]
    # Tempest does not validate extension show, has no floating IP pools client (Nova's sample is the oracle), nor a
    # client for the server topology, does not validate server migrations (Nova's samples do), and its networks
    # client (the os-networks proxy) has no schema; resetNetwork is gone from Nova (410, the catalog's status is
    # its oracle) and Tempest has no client for it; Tempest's evacuate picks its schema by version in the client
    # (Nova's 2.1 response sample is the oracle)
    without_schema = {("POST", "/servers/{}/action", "resetNetwork"), ("POST", "/servers/{}/action", "evacuate"),
                      ("GET", "/extensions/{}", None), ("GET", "/os-floating-ip-pools", None),
                      ("GET", "/os-networks", None), ("GET", "/os-networks/{}", None),
                      ("GET", "/servers/{}/topology", None),
                      ("GET", "/servers/{}/migrations", None), ("GET", "/servers/{}/migrations/{}", None)}
    for touch in SERVED:
        key = (touch[0], oracle.path_shape(touch[1]), touch[2] if len(touch) > 2 else None)
        assert key in keys or key in without_schema, touch


def test_data_keyed_maps_inside_list_items_are_compared_as_maps_only():
    mine = {"servers": [{"metadata": {"a": "1"}, "addresses": {}}]}
    nova = {"servers": [{"metadata": {"My Server Name": "string"}, "addresses": {"private": [{"addr": "string"}]}}]}
    assert oracle.key_differences(mine, nova) == []
    assert oracle.key_differences({"servers": [{}]}, nova) == ["missing servers[].addresses",
                                                              "missing servers[].metadata"]


def test_data_keyed_maps_inside_list_items_are_not_compared():
    nova = {"images": [{"id": "string", "metadata": {"architecture": "string"}}]}
    assert oracle.key_differences({"images": [{"id": "i", "metadata": {"os": "linux"}}]}, nova) == []
    assert oracle.key_differences({"images": [{"id": "i", "metadata": {}}], "x": 1}, nova) == ["extra x"]


def test_a_create_answer_with_admin_pass_is_checked_with_tempests_own_schema():
    links = [{"rel": "self", "href": "http://h/v2.1/servers/6a1a5c4e-0000-4000-8000-000000000000"},
             {"rel": "bookmark", "href": "http://h/servers/6a1a5c4e-0000-4000-8000-000000000000"}]
    server = {"id": "6a1a5c4e-0000-4000-8000-000000000000", "links": links, "OS-DCF:diskConfig": "MANUAL",
              "security_groups": [{"name": "default"}]}
    oracle.validate_with_tempest("POST", "/servers", None, "2.1", 202, {"server": server})
    oracle.validate_with_tempest("POST", "/servers", None, "2.1", 202, {"server": {**server, "adminPass": "pw"}})
    with pytest.raises(AssertionError, match="adminPass"):
        oracle.validate_with_tempest("POST", "/servers", None, "2.1", 202, {"server": {**server, "adminPass": 5}})
