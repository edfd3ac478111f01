"""The server views of api/server_views.py as pure functions of a Server, a link builder and the caller."""
from __future__ import annotations

import hashlib
from dataclasses import replace
from datetime import datetime
from types import SimpleNamespace
from urllib.parse import urlencode

import pytest
from multidict import MultiDict

from nodecompute.api import server_views as views
from nodecompute.api.respond import Reply
from nodecompute.api.urls import Links
from nodecompute.domain import states
from nodecompute.domain.models import AuthContext
from nodecompute.domain.server_models import CreateRequest, CreateResult, Server, ServerFault

UUID = "6a3f1c2e-0d4b-4c43-9f7e-3c1d2b9a8e11"
WHEN = datetime(2024, 1, 2, 3, 4, 5, 678000)
MEMBER_KEYS = {
    "id", "name", "status", "tenant_id", "user_id", "metadata", "hostId", "image", "flavor", "created", "updated",
    "addresses", "accessIPv4", "accessIPv6", "links", "OS-DCF:diskConfig", "key_name", "config_drive",
    "OS-EXT-AZ:availability_zone", "OS-EXT-STS:power_state", "OS-EXT-STS:task_state", "OS-EXT-STS:vm_state",
    "OS-SRV-USG:launched_at", "OS-SRV-USG:terminated_at", "os-extended-volumes:volumes_attached",
    "security_groups", "progress",
}
ADMIN_KEYS = {"OS-EXT-SRV-ATTR:host", "OS-EXT-SRV-ATTR:hypervisor_hostname", "OS-EXT-SRV-ATTR:instance_name"}


class FixedLinks(Links):
    """Links as a request to http://h/compute/v2.1 with `query` would build them."""

    def __init__(self, query: tuple[tuple[str, str], ...] = ()) -> None:
        self.base = "http://h"
        self.versioned = "http://h/compute/v2.1"
        self.bookmark_root = "http://h/compute"
        self.request = SimpleNamespace(query=MultiDict(query), query_string=urlencode(query))


def _ctx(admin: bool = False) -> AuthContext:
    return AuthContext("u", "u", "p", "p", ("admin",) if admin else ("member",), WHEN, WHEN, "a")


def _server(**over) -> Server:
    values = dict(
        uuid=UUID, serial=42, name="web", project_id="p1", user_id="u1", hostname="web", flavorid="42",
        flavor_name="m1.nano", memory_mb=128, vcpus=1, root_gb=1, root_disk_bytes=1 << 30, ephemeral_gb=0, swap=0,
        image_id="img-1", image_sha256=None, key_name="k1", key_data=None, config_drive=True, access_ipv4="",
        access_ipv6="", disk_config="MANUAL", availability_zone="nova", vm_state=states.ACTIVE, task_state=None,
        power_state=states.RUNNING, progress=100, launch_index=0, reservation_id="r-1", host="node1", locked=False,
        scheduler_hints={}, fault=None, created_at=WHEN, updated_at=WHEN, launched_at=WHEN, terminated_at=None,
        deleted_at=None, deleted=False, metadata={"a": "1"})
    values.update(over)
    return Server(**values)


def _detail(server: Server, links: Links, ctx: AuthContext, version: tuple[int, int] = (2, 1)) -> dict:
    """The full server view at `version` (2.1 unless said)."""
    out = SimpleNamespace(links=links, ctx=ctx, version=version)
    return views.render(views.DETAIL_PARTS.at(version), server, out)


def test_detail_for_a_member_and_an_admin():
    body = _detail(_server(), FixedLinks(), _ctx())
    assert set(body) == MEMBER_KEYS
    assert (body["status"], body["progress"], body["tenant_id"], body["user_id"]) == ("ACTIVE", 100, "p1", "u1")
    assert (body["created"], body["updated"]) == ("2024-01-02T03:04:05Z", "2024-01-02T03:04:05Z")
    assert (body["OS-SRV-USG:launched_at"], body["OS-SRV-USG:terminated_at"]) == ("2024-01-02T03:04:05.678000", None)
    assert body["hostId"] == hashlib.sha224(b"p1node1").hexdigest()
    assert (body["config_drive"], body["key_name"], body["metadata"]) == ("True", "k1", {"a": "1"})
    assert body["image"] == {"id": "img-1", "links": [{"rel": "bookmark", "href": "http://h/compute/images/img-1"}]}
    assert body["links"] == [{"rel": "self", "href": f"http://h/compute/v2.1/servers/{UUID}"},
                             {"rel": "bookmark", "href": f"http://h/compute/servers/{UUID}"}]
    admin = _detail(_server(), FixedLinks(), _ctx(admin=True))
    assert set(admin) == MEMBER_KEYS | ADMIN_KEYS
    assert (admin["OS-EXT-SRV-ATTR:instance_name"], admin["OS-EXT-SRV-ATTR:host"]) == ("instance-0000002a", "node1")


@pytest.mark.parametrize("vm_state, task_state, status, progress", [
    (states.BUILDING, states.SPAWNING, "BUILD", 0),
    (states.STOPPED, None, "SHUTOFF", None),
    (states.ACTIVE, states.REBOOTING_HARD, "HARD_REBOOT", None),
    (states.ACTIVE, states.POWERING_OFF, "ACTIVE", 0),
])
def test_status_and_progress_follow_the_states(vm_state, task_state, status, progress):
    body = _detail(_server(vm_state=vm_state, task_state=task_state, progress=0), FixedLinks(), _ctx())
    assert body["status"] == status and body.get("progress") == progress


def test_fault_shows_on_error_with_details_for_admins_only():
    fault = ServerFault(code=500, message="Build failed: boom", created=WHEN, details="Traceback ...")
    server = _server(vm_state=states.ERROR, fault=fault)
    member = _detail(server, FixedLinks(), _ctx())
    assert member["fault"] == {"code": 500, "created": "2024-01-02T03:04:05Z", "message": "Build failed: boom"}
    assert "progress" not in member
    assert _detail(server, FixedLinks(), _ctx(admin=True))["fault"]["details"] == "Traceback ..."
    assert views.fault_view(replace(fault, code=409), _ctx())["details"] == "Traceback ..."  # not a 500: shown
    assert "fault" not in _detail(_server(fault=fault), FixedLinks(), _ctx())  # ACTIVE: no fault


def test_no_host_no_host_id_and_no_image_an_empty_string():
    body = _detail(_server(host=None, image_id=""), FixedLinks(), _ctx())
    assert (body["hostId"], body["image"]) == ("", "")


def test_brief_and_create_response():
    assert views.server_brief(_server(), FixedLinks()) == {
        "id": UUID, "name": "web", "links": FixedLinks().pair("servers", UUID)}
    assert views.create_response(_server(disk_config="AUTO"), FixedLinks(), "pw") == {"server": {
        "id": UUID, "links": FixedLinks().pair("servers", UUID), "OS-DCF:diskConfig": "AUTO",
        "security_groups": [{"name": "default"}], "adminPass": "pw"}}


def test_a_full_page_links_to_the_next_one():
    out = SimpleNamespace(links=FixedLinks((("limit", "2"), ("marker", "old"))), ctx=_ctx())
    page = views.VIEWS["#201"](out, ([_server(uuid="a"), _server(uuid="b")], 2))
    assert [s["id"] for s in page["servers"]] == ["a", "b"]
    assert page["servers_links"] == [{"rel": "next", "href": "http://h/compute/v2.1/servers?limit=2&marker=b"}]
    detail = views.VIEWS["#202"].at((2, 1))(out, ([_server(uuid="a")], 2))
    assert set(detail) == {"servers"} and set(detail["servers"][0]) == MEMBER_KEYS


def test_create_answers_the_reservation_id_or_the_first_server_with_its_location():
    created = CreateResult(servers=(_server(),), admin_pass="pw", reservation_id="r-9")
    out = SimpleNamespace(links=FixedLinks(), ctx=_ctx())
    assert views.VIEWS["#203"](out, (CreateRequest("web", "i", "1", return_reservation_id=True), created)) == {
        "reservation_id": "r-9"}
    reply = views.VIEWS["#203"](out, (CreateRequest("web", "i", "1"), created))
    assert isinstance(reply, Reply) and reply.headers == {"Location": f"http://h/compute/v2.1/servers/{UUID}"}
    assert reply.body["server"]["adminPass"] == "pw"
