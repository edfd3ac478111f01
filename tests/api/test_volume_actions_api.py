"""Volume actions at /volume/v3 (#1222 os-volume_upload_image, #1223 os-extend, os-set_bootable): Cinder 3.0's
rules, statuses and bodies, on the real files."""
from __future__ import annotations

import json
import subprocess

from nodecompute.api.keys import block_storage_key, images_key
from nodecompute.app import store_key
from nodecompute.db import volumes as volumes_db
from nodecompute.domain.image_models import ImageQuery
from nodecompute.domain.models import utcnow
from tests.api.volume_helpers import Cinder, admin, compare, member, qcow2, store_image  # noqa: F401 (fixtures)
from tests.cinder_oracle import SAMPLES, validate_named
from tests.oracle import key_differences

GiB = 1 << 30


def virtual_size(path) -> int:
    out = subprocess.run(["qemu-img", "info", "-U", "--output=json", str(path)], check=True, capture_output=True,
                         text=True).stdout
    return json.loads(out)["virtual-size"]


async def action(cinder: Cinder, volume_id: str, body: dict):
    return await cinder.request("POST", f"/volumes/{volume_id}/action", json=body)


async def test_extend_grows_an_available_volume(member: Cinder):
    volume = await member.create()
    block = member.app[block_storage_key]
    async with block.jobs.holding(volume["id"]):  # the resize waits: the status in between is visible
        resp = await action(member, volume["id"], {"os-extend": {"new_size": 3}})
        assert resp.status == 202 and await resp.read() == b""
        validate_named("volumes", "extend_volume", resp.status, None)
        shown = await member.show(volume["id"])
        assert (shown["status"], shown["size"]) == ("extending", 1)
        used = await member.ok("GET", f"/os-quota-sets/{member.project_id}?usage=True", 200)
        assert used["quota_set"]["gigabytes"]["in_use"] == 3  # the new size counts from the request on
    await member.idle()
    shown = await member.show(volume["id"])
    assert (shown["status"], shown["size"]) == ("available", 3)
    assert virtual_size(member.volume_file(volume["id"])) == 3 * GiB


async def test_extend_refusals_are_cinders(member: Cinder, admin: Cinder):
    volume = await member.create(size=2)
    resp = await action(member, volume["id"], {"os-extend": {"new_size": 2}})
    await member.fault("POST", f"/volumes/{volume['id']}/action", 400, json={"os-extend": {"new_size": 2}},
                       message="Invalid input received: New size for extend must be greater than current size. "
                               "(current: 2, extended: 2).")
    assert resp.status == 400
    store = member.app[store_key]
    await store.write(volumes_db.update_volume, volume["id"], {"status": "in-use"}, now=utcnow())
    await member.fault("POST", f"/volumes/{volume['id']}/action", 400, json={"os-extend": {"new_size": 3}},
                       message=f"Invalid volume: Volume {volume['id']} status must be '{{'status': 'available'}}' "
                               f"to extend, currently in-use.")
    await store.write(volumes_db.update_volume, volume["id"], {"status": "available"}, now=utcnow())
    await admin.ok("PUT", f"/os-quota-sets/{member.project_id}", 200,
                   json={"quota_set": {"gigabytes": 4, "per_volume_gigabytes": 3}})
    await member.fault("POST", f"/volumes/{volume['id']}/action", 413, json={"os-extend": {"new_size": 4}},
                       message="VolumeSizeExceedsLimit: Requested volume size 4G is larger than maximum allowed "
                               "limit 3G.")
    await admin.ok("PUT", f"/os-quota-sets/{member.project_id}", 200, json={"quota_set": {"per_volume_gigabytes": -1}})
    fault = await member.fault("POST", f"/volumes/{volume['id']}/action", 413, json={"os-extend": {"new_size": 5}},
                               message="VolumeSizeExceedsAvailableQuota: Requested volume or snapshot exceeds "
                                       "allowed gigabytes quota. Requested 3G, quota is 4G and 2G has been consumed.")
    assert fault["retryAfter"] == "0"
    assert (await member.show(volume["id"]))["status"] == "available"  # a refusal changes nothing


async def test_upload_makes_an_image_of_the_volume(member: Cinder, qcow2, api):
    """qcow2 here (a raw image of a 1 GiB volume is 1 GiB to hash: the CLI test uploads the default raw once)."""
    image = await store_image(member.api, member.token, qcow2, "base", properties={"os_distro": "test"})
    volume = await member.create(imageRef=image.id, description="vol")
    block = member.app[block_storage_key]
    request = {"os-volume_upload_image": {"image_name": "from-volume", "disk_format": "qcow2"}}
    async with block.jobs.holding(volume["id"]):
        resp = await action(member, volume["id"], request)
        assert resp.status == 202
        body = await resp.json()
        assert (await member.show(volume["id"]))["status"] == "uploading"
        glance = await api.client.get(f"/image/v2/images/{body['os-volume_upload_image']['image_id']}",
                                      headers={"X-Auth-Token": member.token})
        assert (await glance.json())["status"] in ("queued", "saving")
    # the sample's volume had no type (2017); Cinder writes the volume's type object there
    assert key_differences(body, SAMPLES["volume-upload-to-image-response"], data_keyed={"volume_type"}) == []
    upload = body["os-volume_upload_image"]
    assert (upload["id"], upload["status"], upload["size"], upload["display_description"]) == (
        volume["id"], "uploading", 1, "vol")
    assert (upload["image_name"], upload["disk_format"], upload["container_format"]) == ("from-volume", "qcow2",
                                                                                         "bare")
    assert (upload["visibility"], upload["protected"], upload["volume_type"]["name"]) == ("private", False,
                                                                                          "__DEFAULT__")
    await member.idle()
    assert (await member.show(volume["id"]))["status"] == "available"
    made = member.app[images_key].get(member.ctx, upload["image_id"])
    assert (made.status, made.disk_format, made.owner) == ("active", "qcow2", member.project_id)
    assert made.properties == {"os_distro": "test"}  # the volume's image metadata less Glance's core properties
    assert compare(member.app[images_key].files.path_for(made.content_sha256), member.volume_file(volume["id"]))


async def test_upload_refusals(member: Cinder):
    volume = await member.create()
    await member.fault("POST", f"/volumes/{volume['id']}/action", 400,
                       json={"os-volume_upload_image": {"image_name": "x", "disk_format": "vmdk"}},
                       message="Image format 'vmdk' is not supported")
    await member.fault("POST", f"/volumes/{volume['id']}/action", 400,
                       json={"os-volume_upload_image": {"image_name": "x", "disk_format": "ami"}},
                       message="Invalid input for field/attribute disk_format.")
    await member.fault("POST", f"/volumes/{volume['id']}/action", 400,
                       json={"os-volume_upload_image": {"disk_format": "raw"}},
                       message="'image_name' is a required property")
    await member.app[store_key].write(volumes_db.update_volume, volume["id"], {"status": "in-use"}, now=utcnow())
    await member.fault("POST", f"/volumes/{volume['id']}/action", 400,
                       json={"os-volume_upload_image": {"image_name": "x", "force": True}},
                       message=f"Invalid volume: Volume {volume['id']} status must be available")
    assert member.app[images_key].list(member.ctx, ImageQuery()) == []  # nothing was made


async def test_set_bootable_and_the_action_dispatcher(member: Cinder):
    volume = await member.create()
    resp = await action(member, volume["id"], {"os-set_bootable": {"bootable": "True"}})
    validate_named("volumes", "set_bootable_volume", resp.status, None)
    assert (await member.show(volume["id"]))["bootable"] == "true"
    await member.fault("POST", f"/volumes/{volume['id']}/action", 400, json={"os-reserve": None},
                       message="There is no such action: os-reserve")
    await member.fault("POST", f"/volumes/{volume['id']}/action", 400,
                       json={"os-extend": {"new_size": 2}, "os-set_bootable": {"bootable": True}},
                       message="Malformed request body")
    await member.fault("POST", f"/volumes/{volume['id']}/action", 400, json={"os-extend": {"new_size": "two"}},
                       message="Invalid input for field/attribute new_size.")
    missing = "11111111-2222-3333-4444-555555555555"
    await member.fault("POST", f"/volumes/{missing}/action", 404, json={"os-extend": {"new_size": 2}},
                       message=f"Volume {missing} could not be found.")
