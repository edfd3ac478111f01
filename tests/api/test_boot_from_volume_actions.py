"""Volume-backed servers through the microversions that changed them (issue 20, on libvirt's test driver): 2.93's
rebuild re-images the root volume (same volume id, the image's content and volume_image_metadata; before 2.93 a
different image is Nova's fault), 2.87's rescue of a volume-backed server (a stable device rescue image boots first,
the root volume follows; below 2.87 or without hw_rescue_bus/hw_rescue_device Nova's InstanceNotRescuable)."""
from __future__ import annotations

import xml.etree.ElementTree as ET

from nodecompute.api.keys import reconciler_key
from nodecompute.compute import rebuild
from nodecompute.db import server_reimages, servers as servers_db
from nodecompute.domain import states
from nodecompute.storage.volumes import VolumeFiles
from tests.api.helpers import assert_fault
from tests.api.test_boot_from_volume import Cloud, cloud, image_root  # noqa: F401 (the fixture)
from tests.api.volume_helpers import compare, make_qcow2, store_image


async def act(cloud: Cloud, server_id: str, body: dict, version: str, status: int = 202) -> dict:
    resp = await cloud.api.post(f"/servers/{server_id}/action", cloud.token, json=body,
                                headers={"X-OpenStack-Nova-API-Version": version})
    if status not in (200, 202):
        return await assert_fault(resp, status)
    assert resp.status == status, await resp.text()
    answer = await resp.json() if await resp.read() else {}
    await cloud.service.wait_idle()
    await cloud.cinder.idle()
    return answer


async def attachments(cloud: Cloud, server_id: str) -> list[dict]:
    resp = await cloud.api.get(f"/servers/{server_id}/os-volume_attachments", cloud.token,
                               headers={"X-OpenStack-Nova-API-Version": "2.89"})
    assert resp.status == 200, await resp.text()
    return (await resp.json())["volumeAttachments"]


async def events(cloud: Cloud, server_id: str, version: str = "2.93") -> list[tuple[str, list[str]]]:
    headers = {"X-OpenStack-Nova-API-Version": version}
    resp = await cloud.api.get(f"/servers/{server_id}/os-instance-actions", cloud.token, headers=headers)
    listed = (await resp.json())["instanceActions"]
    out = []
    for action in listed:
        resp = await cloud.api.get(f"/servers/{server_id}/os-instance-actions/{action['request_id']}", cloud.token,
                                   headers=headers)
        shown = (await resp.json())["instanceAction"]
        out.append((shown["action"], [e["event"] for e in shown.get("events", [])]))
    return out


async def test_rebuild_at_2_93_reimages_the_root_volume(cloud: Cloud, tmp_path):
    server = await cloud.boot([image_root(cloud.image, 1, delete_on_termination=True)])
    server_id, root = server["id"], server["os-extended-volumes:volumes_attached"][0]["id"]
    source = make_qcow2(tmp_path / "new.qcow2", "64M", pattern=0x3C)
    new = await store_image(cloud.api, cloud.token, source, "new-root", {"os_distro": "other"})
    fault = await act(cloud, server_id, {"rebuild": {"imageRef": new.id}}, "2.92", 400)
    assert fault["message"] == (f"Image {new.id} is unacceptable: Unable to rebuild with a different image for a "
                                f"volume-backed server.")
    big = await store_image(cloud.api, cloud.token, source, "big", min_disk=2)
    fault = await act(cloud, server_id, {"rebuild": {"imageRef": big.id}}, "2.93", 400)
    assert fault["message"] == ("Volume is smaller than the minimum size specified in image metadata. Volume size "
                                "is 1073741824 bytes, minimum size is 2147483648 bytes.")
    volume_file = cloud.cinder.volume_file(root)
    assert not compare(volume_file, source)  # nothing changed by the refusals
    [before] = await attachments(cloud, server_id)

    answer = await act(cloud, server_id, {"rebuild": {"imageRef": new.id, "name": "reimaged"}}, "2.93")
    assert (answer["server"]["image"], answer["server"]["name"]) == ("", "reimaged")
    shown = await cloud.show(server_id, "2.93")
    assert (shown["status"], shown["image"]) == ("ACTIVE", "")
    assert [a["id"] for a in shown["os-extended-volumes:volumes_attached"]] == [root]  # the same volume
    volume = await cloud.cinder.show(root)
    assert (volume["status"], volume["size"]) == ("in-use", 1)
    assert (volume["volume_image_metadata"]["image_id"], volume["volume_image_metadata"]["os_distro"]) == (
        new.id, "other")
    assert compare(volume_file, source)  # the image's content (grown to the volume's 1 GiB)
    assert (await cloud.defined_disks(server_id))["vda"] == str(volume_file)
    assert ("rebuild", ["compute_rebuild_instance"]) in await events(cloud, server_id)
    # Nova's _rebuild_volume_backed_instance: a new attachment (Cinder's view too), the same block device mapping
    [after] = await attachments(cloud, server_id)
    assert after["attachment_id"] != before["attachment_id"]
    assert ({k: after[k] for k in ("bdm_uuid", "device", "volumeId")}
            == {k: before[k] for k in ("bdm_uuid", "device", "volumeId")})
    assert [a["attachment_id"] for a in volume["attachments"]] == [after["attachment_id"]]
    # the new image is now the root's: the pre-2.93 rebuild takes it, and does not re-image
    again = await act(cloud, server_id, {"rebuild": {"imageRef": new.id}}, "2.92")
    assert again["server"]["image"] == ""
    assert (await cloud.cinder.show(root))["status"] == "in-use"


async def test_a_2_93_rebuild_cut_short_by_a_stop_reimages_the_volume_at_start(cloud: Cloud, tmp_path):
    server = await cloud.boot([image_root(cloud.image, 1, delete_on_termination=True)])
    server_id, root = server["id"], server["os-extended-volumes:volumes_attached"][0]["id"]
    source = make_qcow2(tmp_path / "new.qcow2", "64M", pattern=0x5A)
    new = await store_image(cloud.api, cloud.token, source, "replayed-root")
    [before] = await attachments(cloud, server_id)
    service = cloud.service
    # what a SIGKILL at `rebuild_staged` leaves: the claim's row (task and the image to re-image from), the
    # task rebuild_spawning, nothing re-imaged yet
    claimed = await service.store.write(rebuild._claim, server_id, {"task_state": states.REBUILDING}, None, (),
                                        new.id, now=service.clock())
    assert claimed is not None and service.store.read(server_reimages.reimage_of, server_id) == new.id
    await service.store.write(servers_db.update_server, server_id, {"task_state": states.REBUILD_SPAWNING},
                              now=service.clock())
    await cloud.api.client.server.app[reconciler_key].at_start()
    await service.wait_idle()
    await cloud.cinder.idle()
    assert (await cloud.show(server_id, "2.93"))["status"] == "ACTIVE"
    volume = await cloud.cinder.show(root)
    assert (volume["status"], volume["volume_image_metadata"]["image_id"]) == ("in-use", new.id)
    assert compare(cloud.cinder.volume_file(root), source)  # re-imaged as the 2.93 rebuild would have
    [after] = await attachments(cloud, server_id)
    assert (after["attachment_id"] != before["attachment_id"], after["bdm_uuid"]) == (True, before["bdm_uuid"])
    assert service.store.read(server_reimages.reimage_of, server_id) is None  # kept only while the work runs


async def test_a_failed_reimage_leaves_the_volume_whole_and_the_server_in_error(cloud: Cloud, monkeypatch, tmp_path):
    server = await cloud.boot([image_root(cloud.image, 1, delete_on_termination=True)])
    server_id, root = server["id"], server["os-extended-volumes:volumes_attached"][0]["id"]
    source = make_qcow2(tmp_path / "new.qcow2", "64M", pattern=0x3C)
    new = await store_image(cloud.api, cloud.token, source, "new-root")
    before = cloud.cinder.volume_file(root).read_bytes()

    async def broken(self, volume_id, image, image_format, size_gb):
        raise OSError("disk on fire")

    monkeypatch.setattr(VolumeFiles, "reimage", broken)
    await act(cloud, server_id, {"rebuild": {"imageRef": new.id}}, "2.93")
    shown = await cloud.show(server_id, "2.93")
    assert shown["status"] == "ERROR"
    assert shown["fault"]["message"].endswith(f"Build of instance {server_id} aborted: Failed to rebuild volume "
                                              f"backed instance.")  # the house's "<action> failed: " before it
    volume = await cloud.cinder.show(root)
    assert (volume["status"], volume["volume_image_metadata"]["image_id"]) == ("in-use", cloud.image)
    assert cloud.cinder.volume_file(root).read_bytes() == before
    assert not [p for p in cloud.cinder.volume_file(root).parent.iterdir() if p.name.startswith(".partial-")]


async def test_rescue_of_a_volume_backed_server_from_2_87(cloud: Cloud, tmp_path):
    server = await cloud.boot([image_root(cloud.image, 1, delete_on_termination=True)])
    server_id, root = server["id"], server["os-extended-volumes:volumes_attached"][0]["id"]
    stable = await store_image(cloud.api, cloud.token, make_qcow2(tmp_path / "rescue.qcow2"), "rescue",
                               {"hw_rescue_bus": "virtio", "hw_rescue_device": "disk"})
    plain = await store_image(cloud.api, cloud.token, make_qcow2(tmp_path / "plain.qcow2"), "plain")
    refused = f"Instance {server_id} cannot be rescued: Cannot rescue a volume-backed instance"
    for version, ref in (("2.86", stable.id), ("2.87", plain.id), ("2.87", None)):
        body = {"rescue": {"rescue_image_ref": ref} if ref else None}
        fault = await act(cloud, server_id, body, version, 400)
        assert fault["message"] == refused, (version, ref)
    assert (await cloud.show(server_id))["status"] == "ACTIVE"

    answer = await act(cloud, server_id, {"rescue": {"rescue_image_ref": stable.id, "adminPass": "pw"}}, "2.87",
                       200)
    assert answer == {"adminPass": "pw"}
    assert (await cloud.show(server_id))["status"] == "RESCUE"
    row = cloud.service.get(cloud.cinder.ctx, server_id)
    domain = ET.fromstring(await cloud.service.guests.hv.live_xml(row.instance_name))
    disks = {d.find("target").get("dev"): (d.find("source").get("file"), d.find("boot").get("order")
                                           if d.find("boot") is not None else None)
             for d in domain.findall("devices/disk")}
    inst = cloud.service.guests.instance_dir(server_id)
    # Nova's stable device rescue: the root volume keeps vda, the rescue disk comes after it and boots first
    assert (disks["vda"], disks["vdb"]) == ((str(cloud.cinder.volume_file(root)), None),
                                            (str(inst / "disk.rescue"), "1"))
    assert domain.find("os/boot") is None  # libvirt takes per-disk boot orders or <os><boot dev>, not both
    assert (await cloud.cinder.show(root))["status"] == "in-use"
    await act(cloud, server_id, {"unrescue": None}, "2.87")
    assert (await cloud.show(server_id))["status"] == "ACTIVE"
    assert (await cloud.defined_disks(server_id))["vda"] == str(cloud.cinder.volume_file(root))
    assert not (inst / "disk.rescue").exists()
    # a volume snapshot image as the rescue image: Nova's UnsupportedRescueImage
    snap = await store_image(cloud.api, cloud.token, make_qcow2(tmp_path / "s.qcow2"), "snap",
                             {"block_device_mapping": "[]", "hw_rescue_bus": "virtio", "hw_rescue_device": "disk"})
    fault = await act(cloud, server_id, {"rescue": {"rescue_image_ref": snap.id}}, "2.87", 400)
    assert fault["message"] == f"Requested rescue image '{snap.id}' is not supported"


async def test_the_image_shown_is_the_image_ref_given_beside_a_volume_root(cloud: Cloud):
    """Nova's instance.image_ref is the request's imageRef: novaclient's `--image X --block-device
    source=image,dest=volume` shows X; without an imageRef the server shows "" (the stock CLI's
    --boot-from-volume); beside a blank root volume too (Tempest's stable rescue of a volume-backed server: Nova
    compares nothing); an imageRef that names no image is Nova's 400 and nothing is made."""
    shown = await cloud.boot([image_root(cloud.image, delete_on_termination=True)], imageRef=cloud.image)
    assert (shown["status"], shown["image"]["id"]) == ("ACTIVE", cloud.image)
    assert cloud.service.get(cloud.cinder.ctx, shown["id"]).volume_backed
    assert (await cloud.defined_disks(shown["id"]))["vda"] == str(cloud.cinder.volume_file(
        shown["os-extended-volumes:volumes_attached"][0]["id"]))
    bare = await cloud.boot([image_root(cloud.image, delete_on_termination=True)])
    assert bare["image"] == ""
    blank = {"boot_index": "0", "delete_on_termination": "true", "source_type": "blank", "volume_size": 1,
             "destination_type": "volume"}  # Tempest's, strings and all
    shown = await cloud.boot([blank], imageRef=cloud.image)
    assert (shown["status"], shown["image"]["id"]) == ("ACTIVE", cloud.image)
    root = shown["os-extended-volumes:volumes_attached"][0]["id"]
    assert (await cloud.defined_disks(shown["id"]))["vda"] == str(cloud.cinder.volume_file(root))
    assert (await cloud.cinder.ok("GET", f"/volumes/{root}", 200))["volume"]["bootable"] == "false"  # made blank
    before = await cloud.volume_ids()
    missing = "6a1a5c4e-0000-4000-8000-00000000000e"
    fault = await cloud.boot([image_root(cloud.image)], status=400, imageRef=missing)
    assert fault["message"] == "Can not find requested image"
    assert await cloud.volume_ids() == before
