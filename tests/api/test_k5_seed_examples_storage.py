"""The K5 seed's documented block storage examples (seeds/003 sections 2.1 and 2.4), sent through
/k5/volume/v2/{tenant_id} and /k5/v1.1/{tenant_id} against volumes and snapshots the test makes: the status, the
keys (the example's plus the D-cells', no others, tests/api/k5_examples.py), the value types, and every value
naming a resource equal to that resource's own. Each test names the seed lines of its example."""
from __future__ import annotations

import pytest

from nodecompute.api.keys import config_key
from tests.api.k5_examples import assert_like
from tests.api.volume_helpers import Cinder

TENANT = "0c2eba2c5af04d3f9e9d0d410b371fde"
LINKS = [{"href": f"http://localhost:8776/v2/{TENANT}/volumes/5aa119a8-d25b-45a7-8d1b-88e127885635", "rel": "self"}]
# L10118: the example of a volume (v2 show); L9993's detail items are the same without `bootable` (see below)
VOLUME = {"status": "available", "attachments": [], "links": LINKS, "availability_zone": "nova", "bootable": "false",
          "os-vol-host-attr:host": "ip-10-168-107-25", "source_volid": None, "snapshot_id": None,
          "id": "5aa119a8-d25b-45a7-8d1b-88e127885635", "description": "Super volume.", "name": "vol-002",
          "created_at": "2013-02-25T02:40:21.000000", "volume_type": "None", "os-vol-tenant-attr:tenant_id": TENANT,
          "size": 1, "metadata": {"contents": "not junk"}}
# L11273: a snapshot (v2 show, detail items L11217)
SNAPSHOT = {"status": "available", "os-extended-snapshot-attributes:progress": "100%", "description": "Daily backup",
            "created_at": "2013-02-25T04:13:17.000000", "metadata": {},
            "volume_id": "5aa119a8-d25b-45a7-8d1b-88e127885635",
            "os-extended-snapshot-attributes:project_id": TENANT, "size": 1,
            "id": "2bb856e1-b3d8-4432-a858-09e4ce939389", "name": "snap-001", "availability_zone": "jp-east-1a"}
# L10194: an os-volumes item (list, detail L10255, create L10346, show L10386)
OS_VOLUME = {"id": "521752a6-acf6-4b2d-bc7a-119f9148cd8c", "displayName": "vol-001",
             "displayDescription": "Another volume.", "size": 30, "volumeType": "289da7f8-6440-407c-9fb4-7db01ec49164",
             "metadata": {"contents": "junk"}, "availabilityZone": "us-east1", "snapshotId": None, "attachments": [],
             "createdAt": "2012-02-14T20:53:07Z"}
# L10495: an os-snapshots item (list; detail L10540 and show L10594 add availability_zone, D58)
OS_SNAPSHOT = {"id": "3fbbcccf-d058-4502-8844-6feeffdf4cb5", "displayName": "snap-001",
               "displayDescription": "Daily backup", "volumeId": "521752a6-acf6-4b2d-bc7a-119f9148cd8c",
               "status": "available", "size": 30, "createdAt": "2012-02-29T03:50:07Z"}


# D60 (k5: "upstream cinder v2" with K5's differences; dialects.md section 1 rule 2: a dialect deviates only where the
# vendor documents a conflict): the keys Cinder v2 shows that K5's older examples leave out. Every other key is
# the example's own.
V2_VOLUME = {"links", "migration_status", "user_id", "replication_status", "multiattach", "consistencygroup_id",
             "encrypted", "updated_at"}
V2_VOLUME_ADMIN = {"os-vol-mig-status-attr:name_id", "os-vol-mig-status-attr:migstat"}  # admin callers (as here)
V2_TYPE = {"os-volume-type-access:is_public", "description", "is_public", "qos_specs_id"}
V2_SNAPSHOT = {"updated_at"}
V2_UPLOAD = {"protected", "visibility"}  # Cinder echoes Glance's answer (cinder/volume/api.py copy_volume_to_image)
V2_UPLOAD_TYPE = {"description", "is_public", "extra_specs"}  # the type object Cinder serialises whole


@pytest.fixture
async def cinder(api, admin_token):
    return Cinder(api, admin_token, root="/k5/volume/v2")


@pytest.fixture
def zone(api):
    return api.client.server.app[config_key].compute.availability_zone


async def _snapshot(cinder, volume_id, **fields):
    made = await cinder.ok("POST", "/snapshots", 202, json={"snapshot": {"volume_id": volume_id, **fields}})
    await cinder.idle()
    return made["snapshot"]


@pytest.fixture
async def volume(cinder):
    return await cinder.create(name="vol-002", description="Super volume.", metadata={"contents": "not junk"})


async def test_volume_types_l9856_l9896(cinder, zone):
    listed = await cinder.ok("GET", "/types", 200)  # L9856
    assert_like(listed, {"volume_types": [{"extra_specs": {"capabilities": "gpu"},
                                           "id": "6685584b-1eac-4da6-b5c3-555430cf68ff", "name": "SSD"}]},
                {"$.volume_types[]": V2_TYPE})
    assert listed["volume_types"]
    first = listed["volume_types"][0]
    shown = await cinder.ok("GET", f"/types/{first['id']}", 200)  # L9896: the zone inside (D60, D63)
    assert_like(shown, {"volume_type": {"id": "6685584b-1eac-4da6-b5c3-555430cf68ff", "name": "SSD",
                                        "extra_specs": {"capabilities": "gpu"}, "availability_zone": "jp-east-1a"}},
                {"$.volume_type": V2_TYPE})
    assert shown["volume_type"] == {**first, "availability_zone": zone}


async def test_volumes_list_l9929(cinder, volume):
    listed = await cinder.ok("GET", "/volumes", 200)
    assert_like(listed, {"volumes": [{"id": VOLUME["id"], "links": LINKS, "name": "vol-004"}]})
    item = next(v for v in listed["volumes"] if v["id"] == volume["id"])
    assert item["name"] == "vol-002"
    assert item["links"][0]["href"].endswith(f"/k5/volume/v2/{cinder.project_id}/volumes/{volume['id']}")


async def test_volumes_detail_l9993_and_show_l10118(cinder, volume, zone):
    listed = await cinder.ok("GET", "/volumes/detail", 200)  # L9993 (its items lack `bootable`, L10118 has it)
    assert_like(listed, {"volumes": [VOLUME]}, {"$.volumes[]": V2_VOLUME - {"links"} | V2_VOLUME_ADMIN})
    shown = await cinder.ok("GET", f"/volumes/{volume['id']}", 200)  # L10118
    assert_like(shown, {"volume": VOLUME}, {"$.volume": V2_VOLUME - {"links"} | V2_VOLUME_ADMIN})
    one = shown["volume"]
    assert one in listed["volumes"]
    assert (one["id"], one["name"], one["description"], one["metadata"], one["size"]) == (
        volume["id"], "vol-002", "Super volume.", {"contents": "not junk"}, 1)
    assert (one["availability_zone"], one["os-vol-tenant-attr:tenant_id"], one["bootable"]) == (
        zone, cinder.project_id, "false")
    assert (one["source_volid"], one["snapshot_id"], one["attachments"]) == (None, None, [])


async def test_volume_create_l10663_l10683(cinder, zone):
    made = await cinder.ok("POST", "/volumes", 202, json={"volume": {  # L10663
        "availability_zone": None, "source_volid": None, "description": None, "snapshot_id": None, "size": 10,
        "name": "my_volume", "imageRef": None, "volume_type": None, "metadata": {}}})
    assert_like(made, {"volume": {  # L10683
        "status": "creating", "name": "my_volume", "attachments": [], "availability_zone": "nova",
        "bootable": "false", "created_at": "2014-02-21T19:52:04.949734", "description": None, "volume_type": "M1",
        "snapshot_id": None, "source_volid": None, "metadata": {}, "id": "93c2e2aa-7744-4fd6-a31a-80c4726b08d7",
        "size": 10}}, {"$.volume": V2_VOLUME})
    await cinder.idle()
    volume = made["volume"]
    assert (volume["name"], volume["size"], volume["availability_zone"], volume["metadata"]) == (
        "my_volume", 10, zone, {})
    assert (await cinder.show(volume["id"]))["id"] == volume["id"]


async def test_volume_update_l10743_l10756(cinder, volume):
    updated = await cinder.ok("PUT", f"/volumes/{volume['id']}", 200, json={"volume": {  # L10743
        "name": "vol-003", "description": "This is yet, another volume."}})
    # L10756: the v2 show without `bootable` and the two os-vol-* keys
    example = {k: v for k, v in VOLUME.items()
               if k not in ("bootable", "os-vol-host-attr:host", "os-vol-tenant-attr:tenant_id")}
    assert_like(updated, {"volume": example}, {"$.volume": V2_VOLUME - {"links"} | {"bootable"}})  # bootable: D60
    assert (updated["volume"]["id"], updated["volume"]["name"], updated["volume"]["description"]) == (
        volume["id"], "vol-003", "This is yet, another volume.")
    assert (await cinder.show(volume["id"]))["name"] == "vol-003"


async def test_volume_upload_image_l10960_l10975(cinder, volume):
    made = await cinder.ok("POST", f"/volumes/{volume['id']}/action", 202, json={  # L10960
        "os-volume_upload_image": {"container_format": "bare", "disk_format": "raw", "image_name": "my_image",
                                   "force": "True"}})
    assert_like(made, {"os-volume_upload_image": {  # L10975: the type object whole (null if untyped, D60)
        "status": "uploading", "image_id": "3dc6c4d9-95e9-4cdb-a076-cc3ed50b9654", "image_name": "my_image",
        "volume_type": {"name": "M1", "qos_specs_id": None, "deleted": False,
                        "created_at": "2014-10-11T11:26:56.000000", "updated_at": None, "deleted_at": None,
                        "id": "13a0247c-9363-401d-acd3-c5d07ccd1a45"},
        "container_format": "bare", "size": 2, "disk_format": "raw",
        "id": "52102306-e352-4c84-9233-2ac2b511d29b", "display_description": None,
        "updated_at": "2015-04-30T06:31:31.000000"}},
        {"$.os-volume_upload_image": V2_UPLOAD, "$.os-volume_upload_image.volume_type": V2_UPLOAD_TYPE})
    upload = made["os-volume_upload_image"]
    types = {t["id"]: t["name"] for t in (await cinder.ok("GET", "/types", 200))["volume_types"]}
    assert types[upload["volume_type"]["id"]] == upload["volume_type"]["name"] == volume["volume_type"]
    await cinder.idle()
    assert (upload["id"], upload["image_name"], upload["size"]) == (volume["id"], "my_image", volume["size"])
    image = await cinder.api.client.get(f"/image/v2/images/{upload['image_id']}",
                                        headers={"X-Auth-Token": cinder.token})
    assert image.status == 200 and (await image.json())["name"] == "my_image"


async def test_volume_extend_l11053(cinder, volume):
    resp = await cinder.request("POST", f"/volumes/{volume['id']}/action", json={"os-extend": {"new_size": 2}})
    assert resp.status == 202 and await resp.read() == b""  # §2.1.6.20: no response example
    await cinder.idle()
    assert (await cinder.show(volume["id"]))["size"] == 2


async def test_snapshots_l11335_l11350_l11170_l11217_l11273(cinder, volume, zone):
    made = await cinder.ok("POST", "/snapshots", 202, json={"snapshot": {  # L11335
        "name": "snap-001", "description": "Daily backup", "volume_id": volume["id"], "force": True}})
    created = {k: v for k, v in SNAPSHOT.items()
               if k not in ("availability_zone", "os-extended-snapshot-attributes:progress",
                            "os-extended-snapshot-attributes:project_id")}
    assert_like(made, {"snapshot": created}, {"$.snapshot": V2_SNAPSHOT})  # L11350
    snapshot = made["snapshot"]
    assert (snapshot["name"], snapshot["description"], snapshot["volume_id"], snapshot["size"]) == (
        "snap-001", "Daily backup", volume["id"], volume["size"])
    await cinder.idle()
    listed = await cinder.ok("GET", "/snapshots", 200)  # L11170
    assert_like(listed, {"snapshots": [created]}, {"$.snapshots[]": V2_SNAPSHOT})
    assert [s["id"] for s in listed["snapshots"]] == [snapshot["id"]]
    detail = await cinder.ok("GET", "/snapshots/detail", 200)  # L11217
    assert_like(detail, {"snapshots": [SNAPSHOT]}, {"$.snapshots[]": V2_SNAPSHOT})
    shown = await cinder.ok("GET", f"/snapshots/{snapshot['id']}", 200)  # L11273
    assert_like(shown, {"snapshot": SNAPSHOT}, {"$.snapshot": V2_SNAPSHOT})
    assert detail["snapshots"] == [shown["snapshot"]]
    one = shown["snapshot"]
    assert (one["id"], one["volume_id"], one["availability_zone"],
            one["os-extended-snapshot-attributes:project_id"]) == (snapshot["id"], volume["id"], zone,
                                                                  cinder.project_id)


async def test_snapshot_update_l11388_l11401(cinder, volume):
    snapshot = await _snapshot(cinder, volume["id"], name="snap-001")
    updated = await cinder.ok("PUT", f"/snapshots/{snapshot['id']}", 200, json={"snapshot": {  # L11388
        "name": "snap-002", "description": "This is yet, another snapshot."}})
    assert_like(updated, {"snapshot": {  # L11401
        "created_at": "2013-02-20T08:11:34.000000", "description": "This is yet, another snapshot",
        "name": "vol-002", "id": "4b502fcb-1f26-45f8-9fe5-3b9a0a52eaf2", "size": 1, "status": "available",
        "volume_id": "2402b902-0b7a-458c-9c07-7435a826f794"}}, {"$.snapshot": V2_SNAPSHOT | {"metadata"}})
    assert (updated["snapshot"]["id"], updated["snapshot"]["volume_id"], updated["snapshot"]["name"]) == (
        snapshot["id"], volume["id"], "snap-002")


async def test_snapshot_fcx_restore_l11432(cinder, volume):
    snapshot = await _snapshot(cinder, volume["id"])
    resp = await cinder.request("POST", f"/snapshots/{snapshot['id']}/action", json={"fcx-restore": {}})
    assert resp.status == 202 and await resp.read() == b""  # §2.4.6.7: no response example
    await cinder.idle()
    assert (await cinder.show(volume["id"]))["status"] == "available"


async def test_os_volumes_and_os_snapshots_lists_l10194_l10255_l10495_l10540(api, admin_token, cinder, volume,
                                                                           zone):
    legacy = Cinder(api, admin_token, root="/k5/v1.1")
    snapshot = await _snapshot(cinder, volume["id"], name="snap-001", description="Daily backup")
    for path in ("/os-volumes", "/os-volumes/detail"):  # L10194, L10255
        listed = await legacy.ok("GET", path, 200)
        assert_like(listed, {"volumes": [OS_VOLUME]})
        item = next(v for v in listed["volumes"] if v["id"] == volume["id"])
        assert (item["displayName"], item["availabilityZone"], item["size"]) == ("vol-002", zone, 1)
    listed = await legacy.ok("GET", "/os-snapshots", 200)  # L10495
    assert_like(listed, {"snapshots": [OS_SNAPSHOT]})
    detail = await legacy.ok("GET", "/os-snapshots/detail", 200)  # L10540: + availability_zone (D58, D63)
    assert_like(detail, {"snapshots": [{**OS_SNAPSHOT, "availability_zone": "jp-east-1a"}]})
    for item in (listed["snapshots"][0], detail["snapshots"][0]):
        assert (item["id"], item["volumeId"], item["displayName"]) == (snapshot["id"], volume["id"], "snap-001")
    assert detail["snapshots"][0]["availability_zone"] == zone
