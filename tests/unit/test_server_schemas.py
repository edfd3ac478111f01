"""The server API's request schemas (api/server_schemas.py) checked on their own: what each accepts, and the field
each refusal names (the whole-app refusals are tests/api/test_servers_api.py's)."""
from __future__ import annotations

import pytest

from nodecompute.api import server_schemas as schemas
from nodecompute.api.dialect import Versioned
from nodecompute.api.validation import validate
from nodecompute.domain.errors import ValidationError

IMAGE_ID = "155d900f-4e14-4e4c-a73d-069cbf4541e6"
CLI_CREATE = {  # what `openstack server create --image X --flavor Y --network auto` sends
    "server": {"name": "vm1", "imageRef": IMAGE_ID, "flavorRef": "42", "min_count": 1, "max_count": 1,
               "networks": "auto", "block_device_mapping_v2": [{"uuid": IMAGE_ID, "boot_index": 0,
                                                                 "source_type": "image", "destination_type": "local",
                                                                 "delete_on_termination": True}]},
}


def _server(**fields) -> dict:
    return {"server": {"name": "vm", "imageRef": IMAGE_ID, "flavorRef": "1", **fields}}


@pytest.mark.parametrize("version, body", [  # each at the first microversion that takes it
    ((2, 37), CLI_CREATE),  # "auto"/"none" from 2.37
    ((2, 37), _server(networks="none", config_drive="true", min_count="2", metadata={"a b:c.d-e_f": "v"})),
    ((2, 32), _server(networks=[{"uuid": "n", "fixed_ip": "10.0.0.1", "tag": "t"}, {"port": None}])),
    ((2, 1), _server(block_device_mapping=[{"volume_id": IMAGE_ID, "device_name": "vdb", "volume_size": "2"}])),
    ((2, 1), _server(accessIPv4="192.0.2.1", accessIPv6="2001:db8::1", **{"OS-DCF:diskConfig": "AUTO"})),
    ((2, 1), {**_server(), "os:scheduler_hints": {"group": "g"}}),
])
def test_create_accepts(version, body):
    assert validate(schemas.BODIES["#203"].at(version), body) is body


@pytest.mark.parametrize("body, field", [
    (_server(name=" padded"), "name"),
    (_server(flavorRef=""), "flavorRef"),
    (_server(networks="all"), "networks"),
    (_server(networks=[{"uuid": "n", "extra": 1}]), "0"),  # Nova names the last part of the path: the item
    (_server(block_device_mapping_v2=[{"source_type": "tape"}]), "source_type"),
    (_server(block_device_mapping_v2=[{"boot_index": "first"}]), "boot_index"),
    (_server(block_device_mapping=[{"volume_id": "not-a-uuid"}]), "volume_id"),
    (_server(min_count=0), "min_count"),
    (_server(config_drive="maybe"), "config_drive"),
    (_server(accessIPv4="1.2.3"), "accessIPv4"),
    (_server(metadata={"bad/key": "v"}), "metadata"),
    (_server(user_data="x" * 65536), "user_data"),
])
def test_create_refusals_name_the_field(body, field):
    with pytest.raises(ValidationError, match=f"Invalid input for field/attribute {field}\\."):
        validate(schemas.create, body)


def test_create_refuses_unknown_and_missing_properties():
    with pytest.raises(ValidationError, match="'flavorRef' is a required property"):
        validate(schemas.create, {"server": {"name": "vm", "imageRef": IMAGE_ID}})
    with pytest.raises(ValidationError, match=r"Additional properties are not allowed \('tags' was unexpected\)"):
        validate(schemas.create, _server(tags=["a"]))


def test_legacy_v2_create_is_looser_on_names_and_user_data():
    legacy = schemas.BODIES["#203"].at((2, 0))
    validate(legacy, _server(name=" spaced ", user_data=None))
    with pytest.raises(ValidationError):
        validate(schemas.BODIES["#203"].at((2, 1)), _server(name=" spaced "))


@pytest.mark.parametrize("op, body, ok", [
    ("#302", {"reboot": {"type": "Soft"}}, True),
    ("#302", {"reboot": {"type": "GENTLE"}}, False),
    ("#302", {"reboot": {}}, False),
    ("#309", {"os-start": None}, True),
    ("#309", {"os-start": {"anything": 1}}, True),  # Nova checks nothing inside
    ("#310", {"os-stop": None, "extra": 1}, False),
    ("#1603", {"os-getConsoleOutput": {"length": "-1"}}, True),
    ("#1603", {"os-getConsoleOutput": {"length": None}}, True),
    ("#1603", {"os-getConsoleOutput": {"length": -2}}, False),
    ("#1603", {"os-getConsoleOutput": {"length": 1.5}}, False),
    ("#206", {"server": {"name": "n", "OS-DCF:diskConfig": "MANUAL"}}, True),
    ("#206", {"server": {"key_name": "k"}}, False),
    ("#402", {"metadata": {}}, True),
    ("#405", {"meta": {"a": "1", "b": "2"}}, False),
    ("#405", {"meta": {}}, False),
])
def test_action_update_and_metadata_bodies(op, body, ok):
    schema = schemas.BODIES[op]
    schema = schema.at((2, 1)) if isinstance(schema, Versioned) else schema
    if ok:
        validate(schema, body)
    else:
        with pytest.raises(ValidationError):
            validate(schema, body)


def test_list_query_sort_keys_cover_the_ignored_and_admin_ones():
    assert set(schemas.ADMIN_ONLY_SORT_KEYS) <= set(schemas.SORT_KEYS)
    assert not set(schemas.SORT_KEYS) & set(schemas.IGNORED_SORT_KEYS)
    validate(schemas.list_query, {"limit": "10", "all_tenants": "", "changes-since": "x"}, where="query parameters")
    with pytest.raises(ValidationError, match="Invalid input for query parameters limit"):
        validate(schemas.list_query, {"limit": "-1"}, where="query parameters")
