"""Snapshots (#1224-#1229) and volume types (#1214, #1215, types-manage, extra specs) at /volume/v3, with
Cinder's bodies, statuses and rules."""
from __future__ import annotations

from nodecompute.api.keys import block_storage_key
from nodecompute.app import store_key
from nodecompute.db import volumes as volumes_db
from nodecompute.domain.models import utcnow
from nodecompute.domain.volume_models import Attachment
from tests.api.volume_helpers import Cinder, admin, compare, member  # noqa: F401 (fixtures)
from tests.cinder_oracle import SAMPLES
from tests.oracle import key_differences


async def test_snapshot_lifecycle_with_cinders_bodies(member: Cinder):
    volume = await member.create(size=2)
    block = member.app[block_storage_key]
    async with block.jobs.holding(volume["id"]):
        created = await member.ok("POST", "/snapshots", 202, check="/snapshots",
                                  json={"snapshot": {"volume_id": volume["id"], "name": "snap-001",
                                                     "description": "Daily backup", "metadata": {"key": "v3"}}})
        assert key_differences(created, SAMPLES["snapshot-create-response"]) == []
        snapshot = created["snapshot"]
        assert (snapshot["status"], snapshot["size"], snapshot["updated_at"]) == ("creating", 2, None)
        shown = await member.ok("GET", f"/snapshots/{snapshot['id']}", 200, check="/snapshots/{id}")
        assert shown["snapshot"]["os-extended-snapshot-attributes:progress"] == "0%"
        await member.fault("DELETE", f"/snapshots/{snapshot['id']}", 400,
                           message="Invalid snapshot: Snapshot status must be available or error and must not be "
                                   "part of a group.")
    await member.idle()
    shown = await member.ok("GET", f"/snapshots/{snapshot['id']}", 200, check="/snapshots/{id}")
    assert key_differences(shown, SAMPLES["snapshot-show-response"]) == []
    assert (shown["snapshot"]["status"], shown["snapshot"]["os-extended-snapshot-attributes:project_id"]) == (
        "available", member.project_id)
    assert compare(member.snapshot_file(snapshot["id"]), member.volume_file(volume["id"]))
    summary = await member.ok("GET", "/snapshots", 200, check="/snapshots")
    assert [s["id"] for s in summary["snapshots"]] == [snapshot["id"]]
    assert "os-extended-snapshot-attributes:progress" not in summary["snapshots"][0]
    detail = await member.ok("GET", "/snapshots/detail", 200, check="/snapshots/detail")
    assert detail["snapshots"][0] == shown["snapshot"]
    updated = await member.ok("PUT", f"/snapshots/{snapshot['id']}", 200, check="/snapshots/{id}",
                              json={"snapshot": {"display_name": "renamed", "description": "new"}})
    assert (updated["snapshot"]["name"], updated["snapshot"]["description"]) == ("renamed", "new")
    await member.fault("PUT", f"/snapshots/{snapshot['id']}", 400, json={"snapshot": {}},
                       message="is not valid under any of the given schemas")
    await member.ok("DELETE", f"/snapshots/{snapshot['id']}", 202, check="/snapshots/{id}")
    await member.idle()
    await member.fault("GET", f"/snapshots/{snapshot['id']}", 404,
                       message=f"Snapshot {snapshot['id']} could not be found.")
    assert member.files() == [f"volume-{volume['id']}"]


async def test_snapshot_actions_are_unknown_here(member: Cinder):
    """#1230 (K5's fcx-restore) in the openstack dialect: Cinder's unknown action."""
    snapshot = await member.snapshot((await member.create())["id"])
    await member.fault("POST", f"/snapshots/{snapshot['id']}/action", 400, json={"fcx-restore": {}},
                       message="There is no such action: fcx-restore")


async def test_snapshot_needs_an_available_volume_or_force(member: Cinder):
    volume = await member.create()
    store = member.app[store_key]
    await store.write(volumes_db.update_volume, volume["id"], {"status": "in-use"}, now=utcnow())
    await store.write(volumes_db.insert_attachment, Attachment(id="a1", volume_id=volume["id"], server_id="s1",
                                                        device="/dev/vdb", attached_at=utcnow()))
    await member.fault("POST", "/snapshots", 400, json={"snapshot": {"volume_id": volume["id"]}},
                       message=f"Invalid volume: Volume {volume['id']} status must be available, but current status "
                               f"is: in-use.")
    # forced: the volume of a stopped server is a file qemu-img may read (no running domain holds it here)
    forced = await member.snapshot(volume["id"], force=True)
    assert forced["status"] == "available"
    await store.write(volumes_db.update_volume, volume["id"], {"status": "error"}, now=utcnow())
    await member.fault("POST", "/snapshots", 400, json={"snapshot": {"volume_id": volume["id"], "force": True}},
                       message="Invalid volume: The snapshot cannot be created when the volume is in error status.")
    missing = "11111111-2222-3333-4444-555555555555"
    await member.fault("POST", "/snapshots", 404, json={"snapshot": {"volume_id": missing}},
                       message=f"Volume {missing} could not be found.")
    await member.fault("POST", "/snapshots", 400, json={"snapshot": {"volume_id": volume["id"],
                                                                     "display_description": "x"}},
                       message="Additional properties are not allowed")


async def test_snapshot_lists_filter_sort_and_page(member: Cinder):
    first, second = await member.create(), await member.create()
    a = await member.snapshot(first["id"], name="a")
    b = await member.snapshot(second["id"], name="b")
    c = await member.snapshot(second["id"], name="c")
    listed = await member.ok("GET", f"/snapshots?volume_id={second['id']}", 200, check="/snapshots")
    assert [s["name"] for s in listed["snapshots"]] == ["c", "b"]
    assert [s["name"] for s in (await member.ok("GET", "/snapshots?name=a", 200))["snapshots"]] == ["a"]
    page = await member.ok("GET", "/snapshots?sort=display_name:asc&limit=2", 200, check="/snapshots")
    assert [s["id"] for s in page["snapshots"]] == [a["id"], b["id"]]
    assert page["snapshots_links"][0]["href"].endswith(f"marker={b['id']}&sort=display_name%3Aasc")
    rest = await member.ok("GET", f"/snapshots?sort=display_name:asc&limit=2&marker={b['id']}", 200)
    assert [s["id"] for s in rest["snapshots"]] == [c["id"]] and "snapshots_links" not in rest
    await member.fault("GET", "/snapshots?sort=name", 400, message="Invalid input received: Invalid sort key")


async def test_the_default_type_and_admin_made_types(member: Cinder, admin: Cinder):
    listed = await member.ok("GET", "/types", 200, check="/types")
    (default,) = listed["volume_types"]
    assert (default["name"], default["description"], default["is_public"]) == ("__DEFAULT__",
                                                                               "Default Volume Type", True)
    assert "qos_specs_id" not in default and default["os-volume-type-access:is_public"] is True
    shown = await member.ok("GET", "/types/default", 200, check="/types/{id}")
    assert shown["volume_type"]["id"] == default["id"]
    created = await admin.ok("POST", "/types", 200, check="/types", json={"volume_type": {
        "name": "vol-type-001", "description": "volume type 0001", "extra_specs": {"capabilities": "gpu",
                                                                                   "multiattach": "<is> False"}}})
    made = created["volume_type"]
    assert made["os-volume-type-access:is_public"] is True and made["extra_specs"]["capabilities"] == "gpu"
    admin_view = await admin.ok("GET", f"/types/{made['id']}", 200, check="/types/{id}")
    assert key_differences(admin_view, SAMPLES["volume-type-show-response"]) == []
    member_view = (await member.ok("GET", f"/types/{made['id']}", 200))["volume_type"]
    assert member_view["extra_specs"] == {"multiattach": "<is> False"}  # only the user-visible specs
    await member.fault("POST", "/types", 403, json={"volume_type": {"name": "mine"}},
                       message="Policy doesn't allow volume_extension:types_manage to be performed.")
    await admin.fault("POST", "/types", 409, json={"volume_type": {"name": "vol-type-001"}},
                      message="Volume Type vol-type-001 already exists.")
    await admin.fault("POST", "/types", 400, json={"volume_type": {"name": "  "}},
                      message="The 'name' can not be empty.")
    updated = await admin.ok("PUT", f"/types/{made['id']}", 200, check="/types/{id}",
                             json={"volume_type": {"name": "gold", "description": "new"}})
    assert (updated["volume_type"]["name"], updated["volume_type"]["description"]) == ("gold", "new")
    await admin.fault("PUT", f"/types/{made['id']}", 400, json={"volume_type": {}},
                      message="Specify volume type name, description, is_public or a combination thereof.")
    await admin.fault("PUT", f"/types/{made['id']}", 409, json={"volume_type": {"name": "__DEFAULT__"}},
                      message="Volume Type __DEFAULT__ already exists.")
    await admin.fault("DELETE", f"/types/{default['id']}", 400,
                      message=f"The volume type {default['id']} is a default volume type and cannot be deleted.")


async def test_private_types_and_the_is_public_filter(member: Cinder, admin: Cinder):
    private = (await admin.ok("POST", "/types", 200, json={"volume_type": {
        "name": "hidden", "os-volume-type-access:is_public": False}}))["volume_type"]
    assert private["is_public"] is False
    await member.fault("GET", f"/types/{private['id']}", 404,
                       message=f"Volume type {private['id']} could not be found.")
    await member.fault("POST", "/volumes", 404, json={"volume": {"size": 1, "volume_type": "hidden"}},
                       message="Volume type with name hidden could not be found.")
    names = lambda body: sorted(t["name"] for t in body["volume_types"])  # noqa: E731
    assert names(await member.ok("GET", "/types?is_public=false", 200)) == ["__DEFAULT__"]
    assert names(await admin.ok("GET", "/types", 200)) == ["__DEFAULT__"]
    assert names(await admin.ok("GET", "/types?is_public=false", 200)) == ["hidden"]
    assert names(await admin.ok("GET", "/types?is_public=None", 200)) == ["__DEFAULT__", "hidden"]
    await admin.fault("GET", "/types?is_public=maybe", 400, message="Invalid is_public filter [maybe]")


async def test_extra_specs_and_a_type_in_use(member: Cinder, admin: Cinder):
    made = (await admin.ok("POST", "/types", 200, json={"volume_type": {"name": "silver"}}))["volume_type"]
    url = f"/types/{made['id']}/extra_specs"
    assert await admin.ok("POST", url, 200, check="/types/{id}/extra_specs",
                          json={"extra_specs": {"a": "1", "b": "2"}}) == {"extra_specs": {"a": "1", "b": "2"}}
    assert await admin.ok("GET", url, 200, check="/types/{id}/extra_specs") == {"extra_specs": {"a": "1", "b": "2"}}
    assert await admin.ok("GET", url + "/a", 200, check="/types/{id}/extra_specs/{key}") == {"a": "1"}
    assert await admin.ok("PUT", url + "/a", 200, check="/types/{id}/extra_specs/{key}", json={"a": "9"}) == {
        "a": "9"}
    await admin.fault("PUT", url + "/a", 400, json={"b": "9"}, message="Request body and URI mismatch")
    await admin.ok("DELETE", url + "/b", 202)
    await admin.fault("GET", url + "/b", 404,
                      message=f"Volume Type {made['id']} has no extra specs with key b.")
    await member.fault("POST", url, 403, json={"extra_specs": {"c": "3"}},
                       message="Policy doesn't allow volume_extension:types_extra_specs:create to be performed.")
    await member.create(volume_type="silver")
    await admin.fault("POST", url, 400, json={"extra_specs": {"c": "3"}}, message="Volume Type is currently in use.")
    await admin.fault("DELETE", url + "/a", 400, message="Volume Type is currently in use.")
    await admin.fault("DELETE", f"/types/{made['id']}", 400, message="Target volume type is still in use.")
    unused = (await admin.ok("POST", "/types", 200, json={"volume_type": {"name": "bronze"}}))["volume_type"]
    await admin.ok("DELETE", f"/types/{unused['id']}", 202, check="/types/{id}")
    await admin.fault("GET", f"/types/{unused['id']}", 404)
