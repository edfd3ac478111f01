"""The microversion ladder on the server views (issue 9): each step that changes GET /servers/{id}, GET
/servers/detail or PUT /servers/{id}, shown at the version before it and at its version, and every view checked
against Nova's record (Tempest's schema at that version, the keys of Nova's api_samples)."""
from __future__ import annotations

import base64

import pytest

from tests import oracle
from tests.api.helpers import Api
from tests.api.ladder_fixtures import api, at, insert, ladder, project_id  # noqa: F401 (fixtures)

SHOW = "/servers/{server_id}"
EXT_23 = {"OS-EXT-SRV-ATTR:reservation_id", "OS-EXT-SRV-ATTR:launch_index", "OS-EXT-SRV-ATTR:hostname",
          "OS-EXT-SRV-ATTR:kernel_id", "OS-EXT-SRV-ATTR:ramdisk_id", "OS-EXT-SRV-ATTR:root_device_name",
          "OS-EXT-SRV-ATTR:user_data"}


async def _show(api: Api, token: str, server_id: str, version: str) -> dict:
    resp = await api.get(f"/servers/{server_id}", token, **at(version))
    assert resp.status == 200, await resp.text()
    assert resp.headers["OpenStack-API-Version"] == f"compute {version}"
    return (await resp.json())["server"]


async def _detail(api: Api, token: str, version: str) -> list[dict]:
    resp = await api.get("/servers/detail", token, **at(version))
    assert resp.status == 200, await resp.text()
    return (await resp.json())["servers"]


@pytest.fixture
async def member(make_user) -> str:
    return await make_user("proj-a", "member")


@pytest.fixture
async def server(api, member):
    return await insert(api, project_id(api, "proj-a"), {"role": "web"}, tags=("blue", "red"),
                        user_data=b"#!/bin/sh\necho hi\n", description="the web server", locked=1,
                        flavor_extra_specs={"hw:cpu_policy": "shared"}, name="web")


async def test_2_3_extended_attributes_for_admins(api, member, admin_token, server):
    before = await _show(api, admin_token, server.uuid, "2.2")
    assert not EXT_23 & set(before) and "OS-EXT-SRV-ATTR:host" in before
    after = await _show(api, admin_token, server.uuid, "2.3")
    assert EXT_23 <= set(after)
    assert (after["OS-EXT-SRV-ATTR:reservation_id"], after["OS-EXT-SRV-ATTR:launch_index"],
            after["OS-EXT-SRV-ATTR:hostname"]) == ("r-abcd1234", 0, "srv")
    assert (after["OS-EXT-SRV-ATTR:kernel_id"], after["OS-EXT-SRV-ATTR:ramdisk_id"]) == ("", "")
    assert after["OS-EXT-SRV-ATTR:root_device_name"] == "/dev/vda"
    assert base64.b64decode(after["OS-EXT-SRV-ATTR:user_data"]) == b"#!/bin/sh\necho hi\n"
    assert not EXT_23 & set(await _show(api, member, server.uuid, "2.3"))  # admins only


async def test_2_3_no_user_data_and_not_launched(api, admin_token):
    pid = project_id(api, "admin")
    server = await insert(api, pid, vm_state="building", task_state="scheduling", launched_at=None)
    shown = await _show(api, admin_token, server.uuid, "2.3")
    assert shown["OS-EXT-SRV-ATTR:user_data"] is None and shown["OS-EXT-SRV-ATTR:root_device_name"] is None
    (listed,) = await _detail(api, admin_token, "2.3")
    assert EXT_23 <= set(listed)


async def test_2_9_locked(api, member, server):
    assert "locked" not in await _show(api, member, server.uuid, "2.8")
    assert (await _show(api, member, server.uuid, "2.9"))["locked"] is True
    other = await insert(api, project_id(api, "proj-a"))
    assert (await _show(api, member, other.uuid, "2.9"))["locked"] is False


async def test_2_16_host_status_for_admins(api, member, admin_token, server):
    assert "host_status" not in await _show(api, admin_token, server.uuid, "2.15")
    assert (await _show(api, admin_token, server.uuid, "2.16"))["host_status"] == "UP"
    assert "host_status" not in await _show(api, member, server.uuid, "2.16")
    pid = project_id(api, "admin")
    unplaced = await insert(api, pid, host=None, vm_state="error", launched_at=None)
    assert (await _show(api, admin_token, unplaced.uuid, "2.16"))["host_status"] == ""
    resp = await api.get("/servers/detail?all_tenants=1", admin_token, **at("2.16"))
    assert {s["host_status"] for s in (await resp.json())["servers"]} == {"UP", ""}


async def test_2_19_description(api, member, server):
    assert "description" not in await _show(api, member, server.uuid, "2.18")
    assert (await _show(api, member, server.uuid, "2.19"))["description"] == "the web server"


async def test_2_26_tags_in_the_view(api, member, server):
    assert "tags" not in await _show(api, member, server.uuid, "2.25")
    assert (await _show(api, member, server.uuid, "2.26"))["tags"] == ["blue", "red"]
    (listed,) = await _detail(api, member, "2.26")
    assert listed["tags"] == ["blue", "red"]


async def test_2_47_flavor_embedded(api, member, server):
    before = (await _show(api, member, server.uuid, "2.46"))["flavor"]
    assert set(before) == {"id", "links"} and before["id"] == "42"
    after = (await _show(api, member, server.uuid, "2.47"))["flavor"]
    assert after == {"vcpus": 1, "ram": 128, "disk": 1, "ephemeral": 0, "swap": 0, "original_name": "m1.nano",
                     "extra_specs": {"hw:cpu_policy": "shared"}}
    (listed,) = await _detail(api, member, "2.47")
    assert listed["flavor"] == after


UPDATE_21 = {"id", "name", "status", "tenant_id", "user_id", "metadata", "hostId", "image", "flavor", "created",
             "updated", "addresses", "accessIPv4", "accessIPv6", "links", "OS-DCF:diskConfig", "progress"}


@pytest.mark.parametrize("version, added", [
    ("2.1", set()), ("2.9", {"locked"}), ("2.19", {"locked", "description"}),
    ("2.26", {"locked", "description", "tags"}), ("2.52", {"locked", "description", "tags"})])
async def test_update_answers_novas_update_view(api, admin_token, version, added):
    """PUT /servers/{id}: Nova's update view (no OS-EXT-*, config_drive, key_name, security_groups,
    volumes_attached, host_status before 2.75), for admins too."""
    server = await insert(api, project_id(api, "admin"), locked=0)
    resp = await api.put(f"/servers/{server.uuid}", admin_token, json={"server": {"name": "n"}}, **at(version))
    assert resp.status == 200, await resp.text()
    body = await resp.json()
    assert set(body["server"]) == UPDATE_21 | added
    oracle.validate_with_tempest("PUT", SHOW, None, version, resp.status, body)
    # Nova's samples of PUT are at 2.1, 2.19 and 2.47 only; its update view gains `locked` at 2.9 and `tags` at
    # 2.26 as its show view does (views/servers.py show(), which update() calls)
    oracle.assert_keys_like_nova(body, "PUT", SHOW, None, version,
                                 optional=("extra server.locked", "extra server.tags"))


# Every full view at every version where it changed, as an admin and as a member, against Tempest's schema and
# the keys of Nova's sample at the nearest version. Nova's samples are an admin's (except the 2.26 one, a
# member's): a member lacks the admin keys; the samples of the list page with `servers_links`.
VERSIONS = ("2.1", "2.2", "2.3", "2.9", "2.16", "2.19", "2.26", "2.47", "2.52")
ADMIN_ONLY = ("OS-EXT-SRV-ATTR:host", "OS-EXT-SRV-ATTR:hypervisor_hostname", "OS-EXT-SRV-ATTR:instance_name",
              *sorted(EXT_23), "host_status")


@pytest.mark.parametrize("version", VERSIONS)
async def test_show_and_detail_match_novas_record(api, member, admin_token, server, version):
    await insert(api, project_id(api, "admin"), tags=("t",), name="admins")
    for token in (admin_token, member):
        missing = () if token == admin_token else ADMIN_ONLY
        extra = ADMIN_ONLY if token == admin_token and version == "2.26" else ()
        optional = tuple(f"missing server.{key}" for key in missing) + tuple(f"extra server.{key}" for key in extra)
        resp = await api.get(f"/servers/{server.uuid}", token, **at(version))
        body = await resp.json()
        oracle.validate_with_tempest("GET", SHOW, None, version, resp.status, body)
        oracle.assert_keys_like_nova(body, "GET", SHOW, None, version, optional=optional)
        resp = await api.get("/servers/detail", token, **at(version))
        listed = await resp.json()
        assert len(listed["servers"]) == 1
        oracle.validate_with_tempest("GET", "/servers/detail", None, version, resp.status, listed)
        listed_optional = ("missing servers_links", *(o.replace(" server.", " servers[].") for o in optional))
        oracle.assert_keys_like_nova(listed, "GET", "/servers/detail", None, version, optional=listed_optional)
