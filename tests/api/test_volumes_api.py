"""Volumes at /volume/v3 (#1216-#1221, #1232): Cinder's bodies at 3.0 (Tempest's schemas and the api-ref samples'
keys), its statuses and rules, on real qcow2 files made by qemu-img in the background."""
from __future__ import annotations

import json
import subprocess

from nodecompute.api.keys import block_storage_key
from nodecompute.app import store_key
from nodecompute.db import volumes as volumes_db
from nodecompute.domain.models import utcnow
from nodecompute.domain.volume_models import Attachment
from tests.api.volume_helpers import (Cinder, admin, compare, make_qcow2, member, qcow2,  # noqa: F401 (fixtures)
                                      store_image)
from tests.cinder_oracle import SAMPLES
from tests.oracle import key_differences

GiB = 1 << 30


def info(path) -> dict:
    return json.loads(subprocess.run(["qemu-img", "info", "--output=json", "-U", str(path)], check=True,
                                     capture_output=True, text=True).stdout)


async def test_create_answers_creating_then_the_file_makes_it_available(member: Cinder):
    resp = await member.request("POST", "/volumes", check="/volumes",
                                json={"volume": {"size": 1, "name": " data ", "description": "d",
                                                 "metadata": {"k": "v"}}})
    assert resp.status == 202
    assert resp.headers["OpenStack-API-Version"] == "volume 3.0"
    assert resp.headers["Vary"] == "OpenStack-API-Version"
    created = (await resp.json())["volume"]
    assert key_differences({"volume": created}, SAMPLES["volume-create-response"]) == [
        "missing volume.migration_status"]  # an admin's key (the sample was made by an admin)
    assert (created["status"], created["size"], created["name"], created["bootable"]) == ("creating", 1, "data",
                                                                                           "false")
    assert (created["volume_type"], created["availability_zone"], created["updated_at"]) == ("__DEFAULT__", "nova",
                                                                                             None)
    assert created["user_id"] == member.ctx.user_id and created["metadata"] == {"k": "v"}
    links = created["links"]
    assert links[0]["href"].endswith(f"/volume/v3/{member.project_id}/volumes/{created['id']}")
    assert links[1]["href"].endswith(f"/volume/{member.project_id}/volumes/{created['id']}")
    await member.idle()
    shown = await member.show(created["id"])
    assert shown["status"] == "available" and shown["updated_at"] is not None
    assert shown["os-vol-tenant-attr:tenant_id"] == member.project_id
    assert "os-vol-host-attr:host" not in shown and "migration_status" not in shown  # admins only
    path = member.volume_file(created["id"])
    found = info(path)
    assert (found["format"], found["virtual-size"], path.stat().st_mode & 0o777) == ("qcow2", GiB, 0o600)
    assert "backing-filename" not in found


async def test_an_admin_sees_cinders_admin_keys(admin: Cinder):
    volume = await admin.create(name="adm")
    assert key_differences({"volume": volume}, SAMPLES["volume-show-response"]) == []
    assert volume["os-vol-host-attr:host"].count("@") == 1 and volume["migration_status"] is None


async def test_lists_summary_and_detail(member: Cinder):
    first = await member.create(name="one")
    second = await member.create(name="two")
    summary = await member.ok("GET", "/volumes", 200, check="/volumes")
    assert key_differences(summary, SAMPLES["volumes-list-response"]) == []
    assert [v["id"] for v in summary["volumes"]] == [second["id"], first["id"]]  # newest first
    detail = await member.ok("GET", "/volumes/detail", 200, check="/volumes/detail")
    assert [v["name"] for v in detail["volumes"]] == ["two", "one"]
    assert detail["volumes"][0] == second


async def test_create_from_image_copies_the_bytes_and_the_image_metadata(member: Cinder, qcow2):
    image = await store_image(member.api, member.token, qcow2, "cirros", properties={"os_distro": "test"},
                              min_disk=1)
    volume = await member.create(imageRef=image.id, size=1)
    assert (volume["status"], volume["bootable"]) == ("available", "true")
    assert volume["volume_image_metadata"] == {
        "os_distro": "test", "image_id": image.id, "image_name": "cirros", "checksum": image.checksum,
        "container_format": "bare", "disk_format": "qcow2", "min_disk": "1", "min_ram": "0",
        "size": str(image.size)}
    assert compare(member.volume_file(volume["id"]), qcow2)
    assert info(member.volume_file(volume["id"]))["virtual-size"] == GiB  # grown to the volume's size
    by_name = await member.create(imageRef="cirros")  # Cinder also takes an image name
    assert by_name["volume_image_metadata"]["image_id"] == image.id
    by_url = await member.create(imageRef=f"http://glance.example/v2/images/{image.id}")
    assert by_url["volume_image_metadata"]["image_id"] == image.id


async def test_image_checks_are_cinders(member: Cinder, qcow2, tmp_path):
    big = make_qcow2(tmp_path / "big.qcow2", size="2048M")
    image = await store_image(member.api, member.token, big, "big")
    await member.fault("POST", "/volumes", 400, json={"volume": {"size": 1, "imageRef": image.id}},
                       message=f"Image {image.id} is unacceptable: Image virtual size is 2GB and doesn't fit in a "
                               "volume of size 1GB.")
    needy = await store_image(member.api, member.token, qcow2, "needy", min_disk=3)
    await member.fault("POST", "/volumes", 400, json={"volume": {"size": 2, "imageRef": needy.id}},
                       message="Invalid input received: Volume size 2GB cannot be smaller than the image minDisk "
                               "size 3GB.")
    await member.fault("POST", "/volumes", 400, json={"volume": {"size": 1, "imageRef": "no-such-image"}},
                       message="Invalid image identifier or unable to access requested image.")
    await store_image(member.api, member.token, qcow2, "twin")
    await store_image(member.api, member.token, qcow2, "twin")
    await member.fault("POST", "/volumes", 409, json={"volume": {"size": 1, "imageRef": "twin"}},
                       message="Multiple matches found for 'twin', use an ID to be more specific.")
    await member.idle()
    assert member.files() == []


async def test_a_volume_from_a_snapshot_of_a_volume_from_the_image_has_its_bytes(member: Cinder, qcow2):
    image = await store_image(member.api, member.token, qcow2, "img")
    volume = await member.create(imageRef=image.id)
    snapshot = await member.snapshot(volume["id"], name="snap")
    assert compare(member.snapshot_file(snapshot["id"]), qcow2)
    copy = await member.create(snapshot_id=snapshot["id"], size=2)
    assert (copy["snapshot_id"], copy["size"], copy["bootable"]) == (snapshot["id"], 2, "true")
    assert copy["volume_image_metadata"]["image_id"] == image.id  # carried over, as Cinder does
    assert compare(member.volume_file(copy["id"]), qcow2)
    clone = await member.create(source_volid=copy["id"], size=None)
    assert (clone["source_volid"], clone["size"]) == (copy["id"], 2)
    assert compare(member.volume_file(clone["id"]), member.volume_file(copy["id"]))
    # the image and the snapshot go: the volumes made from them are standalone files and stay whole
    await member.ok("DELETE", f"/snapshots/{snapshot['id']}", 202)
    resp = await member.api.client.delete(f"/image/v2/images/{image.id}", headers={"X-Auth-Token": member.token})
    assert resp.status == 204
    await member.idle()
    for made in (volume, copy, clone):
        found = info(member.volume_file(made["id"]))
        assert "backing-filename" not in found
        assert compare(member.volume_file(made["id"]), qcow2)


async def test_size_rules_are_cinders(member: Cinder):
    await member.fault("POST", "/volumes", 400, json={"volume": {"name": "no size"}},
                       message="Invalid input received: Volume size 'None' must be an integer and greater than 0")
    await member.fault("POST", "/volumes", 400, json={"volume": {"size": "0"}},
                       message="Invalid input received: Volume size '0' must be an integer and greater than 0")
    await member.fault("POST", "/volumes", 400, json={"volume": {"size": 0}}, message="size")
    source = await member.create(size=2)
    snapshot = await member.snapshot(source["id"])
    await member.fault("POST", "/volumes", 400, json={"volume": {"size": 1, "snapshot_id": snapshot["id"]}},
                       message="Invalid input received: Volume size '1'GB cannot be smaller than the snapshot size "
                               "2GB. They must be >= original snapshot size.")
    await member.fault("POST", "/volumes", 400, json={"volume": {"size": 1, "source_volid": source["id"]}},
                       message="Invalid input received: Volume size '1'GB cannot be smaller than original volume "
                               "size  2GB. They must be >= original volume size.")
    sized = await member.create(snapshot_id=snapshot["id"], size=None)
    assert sized["size"] == 2  # taken from the snapshot


async def test_zone_type_and_sources_are_checked(member: Cinder, admin: Cinder):
    await member.fault("POST", "/volumes", 400, json={"volume": {"size": 1, "availability_zone": "elsewhere"}},
                       message="Availability zone 'elsewhere' is invalid.")
    await member.fault("POST", "/volumes", 404, json={"volume": {"size": 1, "volume_type": "gold"}},
                       message="Volume type with name gold could not be found.")
    missing = "11111111-2222-3333-4444-555555555555"
    await member.fault("POST", "/volumes", 404, json={"volume": {"size": 1, "volume_type": missing}},
                       message=f"Volume type {missing} could not be found.")
    await member.fault("POST", "/volumes", 404, json={"volume": {"size": 1, "snapshot_id": missing}},
                       message=f"Snapshot {missing} could not be found.")
    await member.fault("POST", "/volumes", 404, json={"volume": {"size": 1, "source_volid": missing}},
                       message=f"Volume {missing} could not be found.")
    await member.fault("POST", "/volumes", 400, json={"volume": {"size": 1, "multiattach": True}},
                       message="multiattach parameter has been removed.")
    gold = await admin.ok("POST", "/types", 200, json={"volume_type": {"name": "gold"}})
    typed = await member.create(volume_type="gold")
    assert typed["volume_type"] == "gold"
    clone = await member.create(source_volid=typed["id"])
    assert clone["volume_type"] == "gold"  # a clone keeps its source's type
    by_id = await member.create(volume_type=gold["volume_type"]["id"])
    assert by_id["volume_type"] == "gold"
    others = await admin.create()
    await member.fault("GET", f"/volumes/{others['id']}", 404, message=f"Volume {others['id']} could not be found.")


async def test_update_name_description_and_metadata(member: Cinder):
    volume = await member.create(name="old", metadata={"a": "1"})
    body = await member.ok("PUT", f"/volumes/{volume['id']}", 200, check="/volumes/{id}",
                           json={"volume": {"name": "  new  ", "display_description": "described",
                                            "metadata": {"b": "2"}}})
    assert (body["volume"]["name"], body["volume"]["description"], body["volume"]["metadata"]) == (
        "new", "described", {"b": "2"})
    await member.fault("PUT", f"/volumes/{volume['id']}", 400, json={"volume": {"name": "x" * 256}},
                       message="Invalid input received: name has 256 characters, more than 255.")
    await member.fault("PUT", f"/volumes/{volume['id']}", 400, json={"volume": {"size": 2}},
                       message="Additional properties are not allowed")
    url, shape = f"/volumes/{volume['id']}/metadata", "/volumes/{id}/metadata"
    assert await member.ok("GET", url, 200, check=shape) == {"metadata": {"b": "2"}}
    assert await member.ok("POST", url, 200, check=shape, json={"metadata": {"c": "3"}}) == {
        "metadata": {"b": "2", "c": "3"}}
    assert await member.ok("PUT", url, 200, check=shape, json={"metadata": {"d": "4"}}) == {"metadata": {"d": "4"}}
    assert await member.ok("GET", url + "/d", 200, check=shape + "/{key}") == {"meta": {"d": "4"}}
    assert await member.ok("PUT", url + "/e", 200, check=shape + "/{key}", json={"meta": {"e": "5"}}) == {
        "meta": {"e": "5"}}
    await member.fault("PUT", url + "/f", 400, json={"meta": {"g": "7"}}, message="Request body and URI mismatch")
    await member.ok("DELETE", url + "/d", 200)
    await member.fault("GET", url + "/d", 404, message=f"Volume {volume['id']} has no metadata with key d.")
    await member.fault("DELETE", url + "/d", 404, message=f"Volume {volume['id']} has no metadata with key d.")
    assert (await member.show(volume["id"]))["metadata"] == {"e": "5"}


async def test_delete_follows_cinders_conditions(member: Cinder):
    refused = ("Invalid volume: Volume status must be available or error or error_restoring or error_extending or "
               "error_managing and must not be migrating, attached, belong to a group, have snapshots, awaiting a "
               "transfer, or be disassociated from snapshots after volume transfer.")
    volume = await member.create()
    snapshot = await member.snapshot(volume["id"])
    await member.fault("DELETE", f"/volumes/{volume['id']}", 400, message=refused)
    await member.ok("DELETE", f"/snapshots/{snapshot['id']}", 202, check="/snapshots/{id}")
    store = member.app[store_key]
    attachment = Attachment(id="a1", volume_id=volume["id"], server_id="s1", device="/dev/vdb",
                            attached_at=utcnow())
    await store.write(volumes_db.insert_attachment, attachment)
    await member.idle()
    await member.fault("DELETE", f"/volumes/{volume['id']}", 400, message=refused)
    await store.write(lambda db: db.execute("DELETE FROM volume_attachments"))
    async with member.app[block_storage_key].jobs.holding(volume["id"]):  # the delete waits for this lock
        resp = await member.request("DELETE", f"/volumes/{volume['id']}", check="/volumes/{id}")
        assert resp.status == 202 and await resp.read() == b""
        assert (await member.show(volume["id"]))["status"] == "deleting"
        await member.fault("DELETE", f"/volumes/{volume['id']}", 400, message="Invalid volume: Volume status")
    await member.idle()
    await member.fault("GET", f"/volumes/{volume['id']}", 404)
    assert member.files() == []


async def test_cascade_deletes_the_snapshots_too(member: Cinder):
    volume = await member.create()
    first = await member.snapshot(volume["id"])
    second = await member.snapshot(volume["id"])
    await member.fault("DELETE", f"/volumes/{volume['id']}?cascade=maybe", 400,
                       message="Value 'maybe' for 'cascade' is not a boolean.")
    await member.fault("DELETE", f"/volumes/{volume['id']}?cascade=False", 400, message="have snapshots")
    async with member.app[block_storage_key].jobs.holding(volume["id"]):
        await member.ok("DELETE", f"/volumes/{volume['id']}?cascade=True", 202)  # openstack volume delete --purge
        assert (await member.ok("GET", f"/snapshots/{first['id']}", 200))["snapshot"]["status"] == "deleting"
    await member.idle()
    for path in (f"/volumes/{volume['id']}", f"/snapshots/{first['id']}", f"/snapshots/{second['id']}"):
        await member.fault("GET", path, 404)
    assert member.files() == []


async def test_a_creating_volume_cannot_be_deleted(member: Cinder):
    body = await member.ok("POST", "/volumes", 202, json={"volume": {"size": 1}})
    await member.fault("DELETE", f"/volumes/{body['volume']['id']}", 400, message="Invalid volume: Volume status")
    await member.idle()


async def test_readers_read_and_members_write(member: Cinder, make_user, api):
    volume = await member.create()
    reader = Cinder(api, await make_user("voltenant", "reader"))
    assert (await reader.show(volume["id"]))["id"] == volume["id"]
    await reader.fault("POST", "/volumes", 403, json={"volume": {"size": 1}},
                       message="Policy doesn't allow volume:create to be performed.")
    await reader.fault("DELETE", f"/volumes/{volume['id']}", 403,
                       message="Policy doesn't allow volume:delete to be performed.")


async def test_the_v2_root_serves_the_same_core_without_version_headers(member: Cinder, api):
    volume = await member.create(name="both")
    v2 = Cinder(api, member.token, root="/volume/v2")
    resp = await v2.request("GET", f"/volumes/{volume['id']}")
    assert resp.status == 200 and "OpenStack-API-Version" not in resp.headers
    body = (await resp.json())["volume"]
    assert body["links"][0]["href"].endswith(f"/volume/v2/{member.project_id}/volumes/{volume['id']}")
    assert {k: v for k, v in body.items() if k != "links"} == {k: v for k, v in volume.items() if k != "links"}
    no_project = Cinder(api, member.token, with_project=False)
    listed = await no_project.ok("GET", "/volumes", 200, check="/volumes")
    assert listed["volumes"][0]["links"][0]["href"].endswith(f"/volume/v3/volumes/{volume['id']}")


async def test_wrong_project_content_type_and_version_are_refused_as_cinder_does(member: Cinder, api):
    other = Cinder(api, member.token)
    other.root = "/volume/v3/someoneelse"
    await other.fault("GET", "/volumes", 400, message="Malformed request url")
    await member.fault("POST", "/volumes", 400, data=b"{}", headers={"Content-Type": "application/xml"},
                       message="Unsupported Content-Type")
    resp = await member.request("GET", "/volumes", headers={"OpenStack-API-Version": "volume 3.1"})
    assert resp.status == 406 and resp.headers["OpenStack-API-Version"] == "volume 3.1"  # the one asked for
    body = await resp.json()
    assert body["computeFault"]["message"] == ("Version 3.1 is not supported by the API. Minimum is 3.0 and maximum "
                                               "is 3.0.")
    await member.fault("GET", "/volumes/nope", 404, message="Volume nope could not be found.")
    await member.fault("GET", "/backups", 404)
    resp = await api.client.get(f"/volume/v3/{member.project_id}/volumes")
    assert resp.status == 401


async def test_block_storage_answers_without_a_hypervisor(member: Cinder):
    assert member.app[block_storage_key].volumes.live is None  # in-use copies come with the servers (issue 20)
