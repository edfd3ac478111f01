"""The ladder's second part on the server routes (issue 10): 2.57 (no personality at create), 2.63 (trusted image
certificates), 2.66 (`changes-before`), 2.67 (a block device `volume_type`), 2.71 (`server_groups`), 2.73
(`locked_reason`, the `locked` filter and sort key) and 2.74 (a requested `host` and `hypervisor_hostname`); each
request at the version before the step and at it, the views checked against Nova's record."""
from __future__ import annotations

from datetime import timedelta

import pytest

from nodecompute.api.keys import config_key
from nodecompute.app import store_key
from nodecompute.db import server_groups as server_groups_db
from nodecompute.domain.models import isotime, utcnow
from tests import oracle
from tests.api.helpers import assert_fault
from tests.api.ladder_fixtures import api, at, insert, ladder, project_id  # noqa: F401 (fixtures)
from tests.api.test_ladder_servers_create import (UNEXPECTED, _body, _create, _refused, _root_mapping,  # noqa: F401
                                                  image_id, member)

SHOW = "/servers/{server_id}"


async def _show(api, token, server_id: str, version: str) -> dict:
    resp = await api.get(f"/servers/{server_id}", token, **at(version))
    body = await resp.json()
    oracle.validate_with_tempest("GET", SHOW, None, version, resp.status, body)
    return body["server"]


async def _update(api, token, server_id: str, version: str) -> dict:
    resp = await api.put(f"/servers/{server_id}", token, json={"server": {"name": "renamed"}}, **at(version))
    body = await resp.json()
    oracle.validate_with_tempest("PUT", SHOW, None, version, resp.status, body)
    return body["server"]


async def _detail(api, token, query: str, version: str) -> list[dict]:
    resp = await api.get(f"/servers/detail{query}", token, **at(version))
    body = await resp.json()
    assert resp.status == 200, body
    oracle.validate_with_tempest("GET", "/servers/detail", None, version, resp.status, body)
    return body["servers"]


async def _ids(api, token, query: str, version: str) -> list[str]:
    resp = await api.get(f"/servers{query}", token, **at(version))
    assert resp.status == 200, await resp.text()
    return [server["id"] for server in (await resp.json())["servers"]]


async def test_2_57_personality_gone_from_create(api, member, image_id):
    files = [{"path": "/etc/motd", "contents": "aGk="}]
    created = await _create(api, member, _body(image_id, personality=files, networks="none"), "2.56")
    assert created["id"]
    await _refused(api, member, _body(image_id, personality=files, networks="none"), "2.57",
                   UNEXPECTED.format("personality"))
    assert (await _create(api, member, _body(image_id, networks="none", user_data="aGk="), "2.57"))["id"]


async def test_2_63_trusted_certificates(api, member, image_id):
    server = await insert(api, project_id(api, "proj-a"))
    assert "trusted_image_certificates" not in await _show(api, member, server.uuid, "2.62")
    assert (await _show(api, member, server.uuid, "2.63"))["trusted_image_certificates"] is None
    assert (await _update(api, member, server.uuid, "2.63"))["trusted_image_certificates"] is None
    assert [s["trusted_image_certificates"] for s in await _detail(api, member, "", "2.63")] == [None]
    certs = ["0b5d2c72-12cc-4ba6-a8d2-3ff5a1d5a1a1"]
    await _refused(api, member, _body(image_id, networks="none", trusted_image_certificates=certs), "2.62",
                   UNEXPECTED.format("trusted_image_certificates"))
    # a cloud that validates no image signatures cannot honour them: refused before any server exists
    await _refused(api, member, _body(image_id, networks="none", trusted_image_certificates=certs), "2.63",
                   f"Image signature certificate validation failed for certificate: {certs[0]}. This cloud does "
                   "not validate image signatures.")
    for bad in ([], ["a", "a"], [""]):
        resp = await api.post("/servers", member, json=_body(image_id, networks="none",
                                                             trusted_image_certificates=bad), **at("2.63"))
        assert resp.status == 400, bad
    assert len(await _detail(api, member, "", "2.63")) == 1  # nothing was made
    created = await _create(api, member, _body(image_id, networks="none", trusted_image_certificates=None), "2.63")
    assert (await _show(api, member, created["id"], "2.63"))["trusted_image_certificates"] is None


async def test_2_66_changes_before(api, member, admin_token):
    pid = project_id(api, "proj-a")
    now = utcnow()
    old = await insert(api, pid, when=now - timedelta(hours=2), name="old")
    new = await insert(api, pid, when=now, name="new")
    gone = await insert(api, pid, when=now - timedelta(hours=2), name="gone")
    await api.client.server.app[store_key].write(lambda db: db.execute(
        "UPDATE servers SET deleted = 1, vm_state = 'deleted', deleted_at = updated_at WHERE uuid = ?", [gone.uuid]))
    cutoff = isotime(now - timedelta(hours=1))
    assert sorted(await _ids(api, member, f"?changes-before={cutoff}", "2.65")) == sorted([old.uuid, new.uuid])
    # 2.66: updated at or before the time; like changes-since, it lists the recently deleted too
    assert sorted(await _ids(api, member, f"?changes-before={cutoff}", "2.66")) == sorted([old.uuid, gone.uuid])
    since = isotime(now - timedelta(hours=3))
    assert sorted(await _ids(api, member, f"?changes-since={since}&changes-before={cutoff}", "2.66")) == \
        sorted([old.uuid, gone.uuid])
    await assert_fault(await api.get(f"/servers?changes-since={cutoff}&changes-before={since}", member,
                                     **at("2.66")), 400, "badRequest",
                       "The value of changes-since must be less than or equal to changes-before.")
    await assert_fault(await api.get("/servers?changes-before=yesterday", member, **at("2.66")), 400,
                       "badRequest", "Invalid filter field: changes-before.")
    # admins' search options are not filtered by version in Nova: the filter applies to them at every version
    assert sorted(await _ids(api, admin_token, f"?all_tenants=1&changes-before={cutoff}", "2.1")) == \
        sorted([old.uuid, gone.uuid])


async def test_2_67_block_device_volume_type(api, member, image_id):
    mapping = [{"uuid": image_id, "boot_index": 0, "source_type": "image", "destination_type": "volume",
                "volume_size": 1, "volume_type": "__DEFAULT__"}]  # Cinder's default type, by name
    await _refused(api, member, _body("", networks="none", block_device_mapping_v2=mapping), "2.66",
                   UNEXPECTED.format("volume_type"))
    assert (await _create(api, member, _body("", networks="none", block_device_mapping_v2=mapping),
                          "2.67"))["id"]
    local = _root_mapping(image_id, volume_type="__DEFAULT__")  # Nova's InvalidBDMFormat
    resp = await api.post("/servers", member, json=_body(image_id, networks="none", block_device_mapping_v2=local),
                          **at("2.67"))
    await assert_fault(resp, 400, "badRequest", "Specifying a volume_type with destination_type=local is not "
                                                "supported.")
    too_long = _root_mapping(image_id, volume_type="v" * 256)
    resp = await api.post("/servers", member, json=_body(image_id, networks="none", block_device_mapping_v2=too_long),
                          **at("2.67"))
    assert resp.status == 400 and "volume_type" in (await resp.json())["badRequest"]["message"]


async def test_2_71_server_groups_in_show_and_update_only(api, member):
    server = await insert(api, project_id(api, "proj-a"))
    assert "server_groups" not in await _show(api, member, server.uuid, "2.70")
    assert "server_groups" not in await _update(api, member, server.uuid, "2.70")
    assert (await _show(api, member, server.uuid, "2.71"))["server_groups"] == []
    assert (await _update(api, member, server.uuid, "2.71"))["server_groups"] == []
    assert all("server_groups" not in s for s in await _detail(api, member, "", "2.71"))  # not the detail list
    made = await api.post("/os-server-groups", member, json={"server_group": {"name": "g", "policies": ["affinity"]}})
    group = (await made.json())["server_group"]["id"]
    await api.client.server.app[store_key].write(server_groups_db.add_members, group, [server.uuid])
    assert (await _show(api, member, server.uuid, "2.71"))["server_groups"] == [group]  # the member's group
    assert (await _update(api, member, server.uuid, "2.71"))["server_groups"] == [group]
    assert (await api.delete(f"/os-server-groups/{group}", member)).status == 204
    assert (await _show(api, member, server.uuid, "2.71"))["server_groups"] == []  # its group is gone


async def test_2_73_locked_reason_filter_and_sort(api, member, admin_token):
    pid = project_id(api, "proj-a")
    now = utcnow()
    locked = await insert(api, pid, locked=1, name="locked", when=now - timedelta(minutes=1))
    free = await insert(api, pid, name="free", when=now)
    assert "locked_reason" not in await _show(api, member, locked.uuid, "2.72")
    shown = await _show(api, member, locked.uuid, "2.73")
    assert (shown["locked"], shown["locked_reason"]) == (True, None)
    assert (await _update(api, member, free.uuid, "2.73"))["locked_reason"] is None
    assert all(s["locked_reason"] is None for s in await _detail(api, member, "", "2.73"))
    resp = await api.post(f"/servers/{free.uuid}/action", member, json={"lock": {"locked_reason": "maintenance"}},
                          **at("2.73"))
    assert resp.status == 202, await resp.text()
    assert (await _show(api, member, free.uuid, "2.73"))["locked_reason"] == "maintenance"
    assert [s["locked_reason"] for s in await _detail(api, member, "?locked=true", "2.73")] == ["maintenance", None]
    assert (await api.post(f"/servers/{free.uuid}/action", member, json={"unlock": None})).status == 202
    assert (await _show(api, member, free.uuid, "2.73"))["locked_reason"] is None
    # the filter: ignored for a member before 2.73, then a strict boolean
    assert sorted(await _ids(api, member, "?locked=true", "2.72")) == sorted([locked.uuid, free.uuid])
    assert await _ids(api, member, "?locked=true", "2.73") == [locked.uuid]
    assert await _ids(api, member, "?locked=0", "2.73") == [free.uuid]
    await assert_fault(await api.get("/servers?locked=maybe", member, **at("2.73")), 400, "badRequest",
                       "Invalid input received: Unrecognized value 'maybe', acceptable values are: '0', '1', 'f', "
                       "'false', 'n', 'no', 'off', 'on', 't', 'true', 'y', 'yes'")
    # the sort key: ignored before 2.73 (newest first, the default), then sorted on
    assert await _ids(api, member, "?sort_key=locked&sort_dir=asc", "2.72") == [free.uuid, locked.uuid]
    assert await _ids(api, member, "?sort_key=locked&sort_dir=desc", "2.73") == [locked.uuid, free.uuid]
    assert await _ids(api, member, "?sort_key=locked&sort_dir=asc", "2.73") == [free.uuid, locked.uuid]


async def test_2_74_requested_host_and_node(api, member, image_id, make_user):
    host = api.client.server.app[config_key].host_name
    admin_token = await make_user("proj-a", "admin")  # sees proj-a's image
    for field in ("host", "hypervisor_hostname"):
        await _refused(api, admin_token, _body(image_id, networks="none", **{field: host}), "2.73",
                       UNEXPECTED.format(field))
    # a member may not choose (Nova's requested_destination policy is admin-only)
    await assert_fault(await api.post("/servers", member, json=_body(image_id, networks="none", host=host),
                                      **at("2.74")), 403, "forbidden",
                       "Policy doesn't allow compute:servers:create:requested_destination to be performed.")
    for fields in ({"host": "elsewhere"}, {"hypervisor_hostname": "elsewhere"},
                   {"host": host, "hypervisor_hostname": "elsewhere"}):
        await _refused(api, admin_token, _body(image_id, networks="none", **fields), "2.74",
                       "Compute host elsewhere could not be found.")
    await _refused(api, admin_token, _body(image_id, networks="none", host="bad host"), "2.74",
                   "Invalid input for field/attribute host. Value: bad host. 'bad host' does not match "
                   "'^[a-zA-Z0-9-._]*$'")
    created = await _create(api, admin_token, _body(image_id, networks="none", host=host,
                                                    hypervisor_hostname=host), "2.74")
    assert created["id"]


async def test_2_83_more_filters_for_non_admins(api, member, admin_token):
    pid = project_id(api, "proj-a")
    first = await insert(api, pid, key_name="k1", user_id="u-1", name="first")
    second = await insert(api, pid, key_name=None, user_id="u-2", vm_state="stopped", power_state=4, config_drive=0,
                          progress=0, name="second")
    both = sorted([first.uuid, second.uuid])
    # 2.82: a member's filters on these columns are dropped
    assert sorted(await _ids(api, member, "?key_name=k1&user_id=u-2", "2.82")) == both
    for query, expected in (("?key_name=k1", [first.uuid]), ("?key_name=^k", [first.uuid]),
                            ("?user_id=u-2", [second.uuid]), ("?vm_state=stopped", [second.uuid]),
                            ("?power_state=4", [second.uuid]), ("?config_drive=True", [first.uuid]),
                            ("?availability_zone=nov", both), ("?created_at=^2", both),
                            ("?task_state=spawning", []), ("?key_name=k1&user_id=u-2", [])):
        assert sorted(await _ids(api, member, query, "2.83")) == sorted(expected), query
    resp = await api.get("/servers?key_name=(", member, **at("2.83"))
    assert resp.status == 400 and "key_name" in (await resp.json())["badRequest"]["message"]
    # admins had them at every version (Nova filters only a non-admin's options)
    assert await _ids(api, admin_token, "?all_tenants=1&key_name=k1", "2.1") == [first.uuid]
    assert await _ids(api, admin_token, "?all_tenants=1&user_id=u-2", "2.1") == [second.uuid]
