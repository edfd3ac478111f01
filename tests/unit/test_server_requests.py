"""The pure request parsing of api/servers.py (moved out of tests/api/test_servers_api.py): a schema-valid create
body -> CreateRequest, the list query -> ServerFilters, changes-since and sort parameters."""
from __future__ import annotations

import base64
from datetime import datetime

import pytest
from multidict import MultiDict

from nodecompute.api import server_list_query, servers, validation
from nodecompute.domain.errors import BadRequest, Forbidden
from nodecompute.domain.models import AuthContext
from nodecompute.domain.server_models import BlockDeviceRequest, NetworkRequest

IMAGE_ID = "155d900f-4e14-4e4c-a73d-069cbf4541e6"
B64 = base64.b64encode
NOW = datetime(2024, 1, 1)


def _ctx(admin: bool = False) -> AuthContext:
    return AuthContext("u", "u", "p", "p", ("admin",) if admin else ("member",), NOW, NOW, "a")


# ----- create body ----------------------------------------------------------------------------------------------

def test_decode_create_defaults_and_conversions():
    req = servers.decode_create({
        "server": {"name": "vm", "imageRef": f"http://h/compute/images/{IMAGE_ID}", "flavorRef": 42,
                   "min_count": "2", "config_drive": "True", "return_reservation_id": "yes",
                   "user_data": B64(b"#!/bin/sh\n").decode(),
                   "personality": [{"path": "/etc/motd", "contents": B64(b"hi").decode()}],
                   "networks": "auto", "security_groups": [{"name": "default"}]},
        "os:scheduler_hints": {"group": "g"},
    })
    assert (req.flavor_ref, req.min_count, req.max_count) == ("42", 2, 2)
    assert req.config_drive and req.return_reservation_id
    assert req.user_data == b"#!/bin/sh\n"
    assert [(f.path, f.contents) for f in req.personality] == [("/etc/motd", b"hi")]
    assert req.scheduler_hints == {"group": "g"}
    assert req.image_ref.endswith(IMAGE_ID) and req.access_ipv4 == "" and req.disk_config is None
    assert (req.networks, req.security_groups, req.block_devices) == ("auto", ("default",), ())


def test_decode_create_accepts_wrapped_base64_and_helion_hints_key():
    wrapped = base64.encodebytes(b"x" * 100).decode()  # MIME: lines of 76 characters
    req = servers.decode_create({"server": {"name": "vm", "imageRef": IMAGE_ID, "flavorRef": "1",
                                            "user_data": wrapped, "networks": []},
                                 "OS-SCH-HNT:scheduler_hints": {"same_host": "x"}})
    assert req.user_data == b"x" * 100 and req.scheduler_hints == {"same_host": "x"}
    assert req.networks == ()


def test_decode_create_keeps_mappings_and_networks_as_records():
    req = servers.decode_create({"server": {
        "name": "vm", "imageRef": "", "flavorRef": "1",
        "block_device_mapping_v2": [{"boot_index": "0", "uuid": IMAGE_ID, "source_type": "image",
                                     "destination_type": "local", "delete_on_termination": "true"},
                                    {"boot_index": None, "source_type": "blank", "destination_type": "volume",
                                     "volume_size": "2", "device_name": "/dev/vdb"}],
        "block_device_mapping": [{"volume_id": "v-1", "device_name": "vdc"}],
        "networks": [{"uuid": "n-1", "fixed_ip": "10.0.0.5"}, {"port": "p-1", "tag": "t"}]}})
    assert req.block_devices == (
        BlockDeviceRequest(volume_id="v-1", device_name="vdc", legacy=True),
        BlockDeviceRequest(source_type="image", destination_type="local", boot_index=0, uuid=IMAGE_ID,
                           delete_on_termination=True),
        BlockDeviceRequest(source_type="blank", destination_type="volume", volume_size=2, device_name="/dev/vdb"))
    assert req.networks == (NetworkRequest(uuid="n-1", fixed_ip="10.0.0.5"), NetworkRequest(port="p-1", tag="t"))


@pytest.mark.parametrize("server, message", [
    ({"min_count": 3, "max_count": 2}, "min_count must be <= max_count"),
    ({"user_data": "%%%"}, "'%%%' is not a 'base64'"),
    ({"personality": [{"path": "/a", "contents": "YWJj="}]}, "Personality content for /a cannot be decoded"),
])
def test_decode_create_refuses_what_the_schema_cannot_say(server, message):
    with pytest.raises(BadRequest, match=message):
        servers.decode_create({"server": {"name": "vm", "imageRef": IMAGE_ID, "flavorRef": "1", **server}})


@pytest.mark.parametrize("text, decoded", [("aGk=", b"hi"), ("aG\nk=", b"hi"), ("", b""), ("aGk", None),
                                           ("a-k=", None), ("aGk=aGk=", None)])
def test_strict_base64(text, decoded):
    assert servers.decode_base64(text) == decoded


# ----- list query -----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("text, expected", [
    ("2024-05-06T07:08:09", datetime(2024, 5, 6, 7, 8, 9)),
    ("2024-05-06T07:08:09.123456", datetime(2024, 5, 6, 7, 8, 9, 123456)),
    ("2024-05-06T07:08:09Z", datetime(2024, 5, 6, 7, 8, 9)),
    ("2024-05-06T09:08:09+02:00", datetime(2024, 5, 6, 7, 8, 9)),
    ("2024-05-06T09:08:09Z+02:00", datetime(2024, 5, 6, 7, 8, 9)),
    ("2024-05-06T09:08:09 02:00", datetime(2024, 5, 6, 7, 8, 9)),  # '+' unescaped in the URL
])
def test_changes_since_formats(text, expected):
    assert validation.parse_changes_since(text) == expected


def test_changes_since_refuses_what_is_not_a_time():
    with pytest.raises(BadRequest, match="Invalid filter field: changes-since."):
        validation.parse_changes_since("yesterday")
    with pytest.raises(BadRequest, match="Invalid changes-since value: soon"):  # the image list's words
        validation.parse_changes_since("soon", "Invalid changes-since value: soon")


def test_sort_params_pairing_follows_nova():
    def sort(*pairs, admin=False):
        return server_list_query.parse_sort(MultiDict(pairs), _ctx(admin))

    assert sort() == (("created_at", "desc"),)
    assert sort(("sort_dir", "asc")) == (("created_at", "asc"),)
    assert sort(("sort_key", "display_name")) == (("display_name", "desc"), ("created_at", "desc"))
    assert sort(("sort_key", "display_name"), ("sort_key", "uuid"), ("sort_dir", "asc")) == (
        ("display_name", "asc"), ("uuid", "asc"), ("created_at", "asc"))
    assert sort(("sort_key", "vcpus"), ("sort_key", "display_name"), ("sort_dir", "asc"), ("sort_dir", "desc")) == (
        ("display_name", "desc"), ("created_at", "desc"))  # ignored key dropped with its direction
    assert sort(("sort_key", "host"), admin=True) == (("host", "desc"), ("created_at", "desc"))
    with pytest.raises(Forbidden, match="Only administrators can sort servers by host"):
        sort(("sort_key", "host"))
    with pytest.raises(BadRequest, match="Sort direction size exceeds sort key size"):
        sort(("sort_key", "uuid"), ("sort_dir", "asc"), ("sort_dir", "desc"))


def _list(query: dict, *, admin: bool = False, multi: list[tuple[str, str]] = ()):
    pairs = MultiDict([*query.items(), *multi])
    return server_list_query.parse_list_query(dict(query), pairs, _ctx(admin), "host1")


def test_list_query_filters():
    parsed = _list({"name": "web", "image": f"http://h/images/{IMAGE_ID}", "flavor": "42", "limit": "0",
                    "reservation_id": "r-1", "changes-since": "2024-05-06T07:08:09Z"},
                   multi=[("status", "active"), ("status", " build ")])
    f = parsed.filters
    assert (f.name, f.image, f.flavor, f.reservation_id) == ("web", IMAGE_ID, "42", "r-1")
    assert f.statuses == ("ACTIVE", "BUILD") and f.limit == 0  # Nova: limit=0 lists nothing (issue 9)
    assert f.changes_since == datetime(2024, 5, 6, 7, 8, 9) and not parsed.matches_nothing
    assert _list({"limit": "5000"}).filters.limit == 1000 and _list({"limit": "7"}).filters.limit == 7


def test_list_query_tenancy():
    assert _list({"all_tenants": ""}).filters.all_tenants
    assert not _list({"all_tenants": "0"}).filters.all_tenants
    assert _list({}, multi=[("project_id", "other")]).filters.project_id is None  # not an admin: ignored
    # an admin's tenant_id counts only with all_tenants (Nova ignores it otherwise: issue 9's fidelity bug)
    assert _list({}, admin=True, multi=[("tenant_id", "other")]).filters.project_id is None
    assert _list({"all_tenants": "1"}, admin=True, multi=[("tenant_id", "other")]).filters.project_id == "other"
    with pytest.raises(Forbidden, match="Only administrators may list deleted instances"):
        _list({}, multi=[("status", "deleted")])


def test_list_query_filters_no_server_can_match():
    by_ip = _list({"ip": "10.0.0.1"}, multi=[("ip", "10.0.0.1")])  # matched against the ports' addresses
    assert not by_ip.matches_nothing and (by_ip.filters.ip, by_ip.filters.ip6) == ("10.0.0.1", None)
    assert _list({"ip6": "fd00::"}, multi=[("ip6", "fd00::")]).filters.ip6 is None  # admin-only before 2.5
    assert _list({"ip6": "fd00::"}, admin=True, multi=[("ip6", "fd00::")]).filters.ip6 == "fd00::"
    assert not _list({}, multi=[("host", "elsewhere")]).matches_nothing  # admin-only filter: dropped
    assert _list({}, admin=True, multi=[("host", "elsewhere")]).matches_nothing
    assert not _list({}, admin=True, multi=[("node", "host1")]).matches_nothing
    with pytest.raises(BadRequest):
        _list({"name": "["})
