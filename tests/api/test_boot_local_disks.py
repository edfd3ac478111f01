"""Ephemeral and swap disks from block_device_mapping_v2 (issue 20; on libvirt's test driver, the real guest in
tests/integration/test_boot_from_volume_live.py): blank -> local mappings become qcow2 disks of the server with
their guest_format and Nova's labels, sized by the mapping or the flavor, extra virtio disks of the domain and
ephemeral<N>/swap in EC2's block-device-mapping; Nova's faults for sizes over the flavor's, a second swap and more
local disks than max_local_block_devices; the flavor's own disks where no mapping of a kind is given; the disks
through rebuild (fresh), resize (kept; a flavor too small for them is Nova's "Unable to resize disk down."),
shelve-offload and unshelve (fresh), and delete (gone)."""
from __future__ import annotations

import io
import json
import subprocess
import xml.etree.ElementTree as ET

import pycdlib

from nodecompute.compute import metadata_documents
from nodecompute.compute.instance_metadata import drive_metadata
from nodecompute.db import servers as servers_db
from nodecompute.storage import qemu_img
from tests.api.test_boot_from_volume import Cloud, cloud, image_root  # noqa: F401 (the fixture)
from tests.api.test_boot_from_volume_actions import act

GiB, MiB = 1 << 30, 1 << 20
EPHEMERAL_TOO_BIG = ("Ephemeral disks requested are larger than the instance type allows. If no size is given in one "
                     "block device mapping, flavor ephemeral size will be used.")


async def flavor(cloud: Cloud, name: str, *, disk: int = 1, ephemeral: int = 0, swap: int = 0) -> str:
    resp = await cloud.api.post("/flavors", cloud.token, json={"flavor": {
        "name": name, "ram": 64, "vcpus": 1, "disk": disk, "OS-FLV-EXT-DATA:ephemeral": ephemeral, "swap": swap}})
    assert resp.status == 200, await resp.text()
    return (await resp.json())["flavor"]["id"]


def image_local(image: str) -> dict:
    """The mapping `openstack server create --image` sends beside its other mappings."""
    return {"boot_index": 0, "uuid": image, "source_type": "image", "destination_type": "local"}


def blank(size: int | None = None, **more) -> dict:
    return {"source_type": "blank", "destination_type": "local", "boot_index": -1,
            **({} if size is None else {"volume_size": size}), **more}


def disk_facts(path) -> tuple[str, int, str]:
    """(format, virtual size, the file system blkid finds on the disk's content)."""
    info = json.loads(subprocess.run([qemu_img.QEMU_IMG, "info", "--output=json", str(path)], check=True,
                                     capture_output=True, text=True).stdout)
    raw = path.with_name(path.name + ".raw")
    subprocess.run([qemu_img.QEMU_IMG, "convert", "-O", "raw", str(path), str(raw)], check=True)
    found = subprocess.run(["blkid", "-o", "export", str(raw)], capture_output=True, text=True).stdout
    raw.unlink()
    fields = dict(line.split("=", 1) for line in found.splitlines() if "=" in line)
    return info["format"], info["virtual-size"], f"{fields.get('TYPE')}:{fields.get('LABEL')}"


def local_files(inst) -> list[str]:
    """The server's disk files beside its root and its config drive."""
    return sorted(p.name for p in inst.iterdir() if p.name.startswith("disk.") and p.name != "disk.config")


def ec2_block_device_mapping(cloud: Cloud, server_id: str) -> dict:
    """EC2's block-device-mapping as the drive and the metadata service serve it (one source: instance_metadata)."""
    server = cloud.service.get(cloud.cinder.ctx, server_id)
    return metadata_documents.ec2_block_device_mapping(
        drive_metadata(server, dhcp_domain="novalocal", files=(), user_data=None))


async def test_ephemeral_and_swap_mappings_make_the_servers_disks(cloud: Cloud):
    flavor_id = await flavor(cloud, "eph", ephemeral=3)  # no swap: the root and two ephemerals are Nova's 3
    server = await cloud.boot([image_local(cloud.image), blank(1, guest_format="ext4"), blank(2)],
                              imageRef=cloud.image, flavorRef=flavor_id)
    assert server["status"] == "ACTIVE", server
    inst = cloud.service.guests.instance_dir(server["id"])
    # Nova's libvirt driver: disk.eph<N> labelled ephemeral<N>, its guest_format or vfat
    assert disk_facts(inst / "disk.eph0") == ("qcow2", GiB, "ext4:ephemeral0")
    assert disk_facts(inst / "disk.eph1") == ("qcow2", 2 * GiB, "vfat:ephemeral1")
    assert local_files(inst) == ["disk.eph0", "disk.eph1"]
    disks = await cloud.defined_disks(server["id"])
    assert {target: source.rsplit("/", 1)[1] for target, source in disks.items()} == {
        "vda": "disk", "vdb": "disk.eph0", "vdc": "disk.eph1", "hda": "disk.config"}  # extra virtio disks
    assert ec2_block_device_mapping(cloud, server["id"]) == {
        "ami": "vda", "root": "/dev/vda", "ephemeral0": "/dev/vdb", "ephemeral1": "/dev/vdc"}
    await cloud.delete(server["id"])
    assert not inst.exists()  # the disks went with the server


async def test_a_swap_mapping_on_a_volume_backed_server_and_sizes_from_the_flavor(cloud: Cloud):
    flavor_id = await flavor(cloud, "eph-bfv", disk=0, ephemeral=1, swap=128)
    server = await cloud.boot([image_root(cloud.image, delete_on_termination=True), blank(64, guest_format="swap"),
                               blank(device_name="/dev/vdc", guest_format="vfat")], flavorRef=flavor_id)
    assert server["status"] == "ACTIVE", server
    inst = cloud.service.guests.instance_dir(server["id"])
    assert disk_facts(inst / "disk.swap")[1:] == (64 * MiB, "swap:None")  # a swap mapping's volume_size is MiB
    assert disk_facts(inst / "disk.eph0")[1:] == (GiB, "vfat:ephemeral0")  # no size: the flavor's
    disks = await cloud.defined_disks(server["id"])
    assert (disks["vdc"].rsplit("/", 1)[1], disks["vdb"].rsplit("/", 1)[1]) == ("disk.eph0", "disk.swap")
    assert (ec2_block_device_mapping(cloud, server["id"]))["ephemeral0"] == "/dev/vdc"
    # createImage (stopped: the test driver has no backup job): the image's mappings carry the blank ones too, and
    # booting it makes the disks again
    resp = await cloud.api.post(f"/servers/{server['id']}/action", cloud.token, json={"os-stop": None})
    assert resp.status == 202, await resp.text()
    await cloud.service.wait_idle()
    answer = await act(cloud, server["id"], {"createImage": {"name": "with-local"}}, "2.45")
    image = cloud.service.images.get(cloud.cinder.ctx, answer["image_id"])
    blanks = [{k: m[k] for k in ("source_type", "destination_type", "guest_format", "volume_size", "device_name")}
              for m in json.loads(image.properties["block_device_mapping"]) if m["source_type"] == "blank"]
    assert blanks == [
        {"source_type": "blank", "destination_type": "local", "guest_format": "vfat", "volume_size": 1,
         "device_name": "/dev/vdc"},
        {"source_type": "blank", "destination_type": "local", "guest_format": "swap", "volume_size": 64,
         "device_name": "/dev/vdb"}]
    again = await cloud.boot([], imageRef=image.id, flavorRef=flavor_id)
    assert again["status"] == "ACTIVE", again
    assert local_files(cloud.service.guests.instance_dir(again["id"])) == ["disk.eph0", "disk.swap"]
    fault = await cloud.boot([], imageRef=image.id, status=400)  # flavor 42: no ephemeral space (Nova's check)
    assert fault["message"] == EPHEMERAL_TOO_BIG
    await cloud.delete(again["id"])
    await cloud.delete(server["id"])


async def test_the_flavors_own_disks_when_no_mapping_names_them(cloud: Cloud):
    flavor_id = await flavor(cloud, "eph-default", ephemeral=1, swap=32)
    server = await cloud.boot([], imageRef=cloud.image, flavorRef=flavor_id)
    inst = cloud.service.guests.instance_dir(server["id"])
    assert ["disk", *local_files(inst)] == ["disk", "disk.local", "disk.swap"]
    assert ec2_block_device_mapping(cloud, server["id"]) == {
        "ami": "vda", "root": "/dev/vda", "ephemeral0": "/dev/vdb", "swap": "/dev/vdc"}
    await cloud.delete(server["id"])


async def test_local_mappings_beyond_the_flavor_get_novas_faults_and_change_nothing(cloud: Cloud):
    flavor_id = await flavor(cloud, "eph-small", ephemeral=2, swap=64)
    servers_before = {s.uuid for s in cloud.service.store.read(servers_db.list_all_live)}
    cases = [
        ([blank(2), blank(1)], EPHEMERAL_TOO_BIG),
        ([blank(), blank(1)], EPHEMERAL_TOO_BIG),  # no size: the flavor's 2 GiB, then 1 more
        ([blank(65, guest_format="swap")], "Swap drive requested is larger than instance type allows."),
        ([blank(8, guest_format="swap"), blank(8, guest_format="swap")],
         "Block Device Mapping is Invalid: More than one swap drive requested."),
        ([blank(1), blank(1), blank(8, guest_format="swap")],  # the image's root counts: 4 local disks
         "Block Device Mapping is Invalid: You specified more local devices than the limit allows"),
        ([blank(1), blank(1)],  # the flavor's swap is made beside them: 4 again
         "Block Device Mapping is Invalid: You specified more local devices than the limit allows"),
        ([{"source_type": "blank", "destination_type": "local", "boot_index": -1, "uuid": cloud.image}],
         "Block Device Mapping is Invalid: Invalid device UUID."),
        ([blank(1, volume_type="fast")],
         "Block Device Mapping is Invalid: Specifying a volume_type with destination_type=local is not supported."),
    ]
    for mappings, message in cases:
        fault = await cloud.boot([image_local(cloud.image), *mappings], imageRef=cloud.image, flavorRef=flavor_id,
                                 status=400, version="2.67")
        assert fault["message"] == message, (mappings, fault)
    fault = await cloud.boot([image_local(cloud.image), blank(1)], imageRef=cloud.image, status=400)  # flavor 42
    assert fault["message"] == EPHEMERAL_TOO_BIG
    assert {s.uuid for s in cloud.service.store.read(servers_db.list_all_live)} == servers_before


async def test_ephemeral_disks_through_rebuild_resize_and_shelve(cloud: Cloud):
    flavor_id = await flavor(cloud, "eph-act", ephemeral=2, swap=64)
    bigger = await flavor(cloud, "eph-act-big", disk=2, ephemeral=3, swap=128)
    smaller = await flavor(cloud, "eph-act-small", disk=2, ephemeral=0, swap=0)
    server = await cloud.boot([image_local(cloud.image), blank(1, guest_format="ext4"), blank(32, guest_format="swap")],
                              imageRef=cloud.image, flavorRef=flavor_id)
    server_id = server["id"]
    inst = cloud.service.guests.instance_dir(server_id)
    ephemeral = inst / "disk.eph0"
    ephemeral.with_name("marker").write_text("")
    first = ephemeral.stat().st_ino
    # rebuild: Nova's spawn makes the ephemeral disks anew (preserve_ephemeral is its driver's refusal)
    await act(cloud, server_id, {"rebuild": {"imageRef": cloud.image}}, "2.1")
    assert (await cloud.show(server_id))["status"] == "ACTIVE"
    assert ephemeral.stat().st_ino != first and disk_facts(ephemeral)[1:] == (GiB, "ext4:ephemeral0")
    # resize: the mappings' disks are kept as they are; a flavor smaller than their 1 GiB is refused
    kept = ephemeral.stat().st_ino
    await act(cloud, server_id, {"resize": {"flavorRef": smaller}}, "2.1")
    row = cloud.service.get(cloud.cinder.ctx, server_id)
    assert (row.vm_state, row.task_state, row.flavorid) == ("active", None, flavor_id)  # as it was
    listed = await cloud.api.get(f"/servers/{server_id}/os-instance-actions", cloud.token)
    request_id = (await listed.json())["instanceActions"][0]["request_id"]
    shown = await cloud.api.get(f"/servers/{server_id}/os-instance-actions/{request_id}", cloud.token)
    events = {e["event"]: e for e in (await shown.json())["instanceAction"]["events"]}
    assert "Resize error: Unable to resize disk down." in events["compute_resize_instance"]["traceback"]
    await act(cloud, server_id, {"resize": {"flavorRef": bigger}}, "2.1")
    assert (await cloud.show(server_id))["status"] == "VERIFY_RESIZE"
    resp = await cloud.api.post(f"/servers/{server_id}/action", cloud.token, json={"confirmResize": None})
    assert resp.status == 204, await resp.text()
    await cloud.service.wait_idle()
    assert ephemeral.stat().st_ino == kept and disk_facts(inst / "disk.swap")[1] == 32 * MiB
    assert local_files(inst) == ["disk.eph0", "disk.swap"]
    # shelve-offload removes them, unshelve makes them anew
    await act(cloud, server_id, {"shelve": None}, "2.1")
    assert (await cloud.show(server_id))["status"] == "SHELVED_OFFLOADED"
    assert not ephemeral.exists()
    await act(cloud, server_id, {"unshelve": None}, "2.1")
    assert (await cloud.show(server_id))["status"] == "ACTIVE"
    assert disk_facts(ephemeral)[1:] == (GiB, "ext4:ephemeral0")
    await cloud.delete(server_id)


async def test_the_legacy_mappings_swap_and_ephemeral_virtual_names(cloud: Cloud):
    """Nova's BlockDeviceDict.from_legacy: virtual_name "swap" and "ephemeral<N>" are blank -> local disks."""
    flavor_id = await flavor(cloud, "eph-legacy", ephemeral=1, swap=64)
    server = await cloud.boot([{"virtual_name": "ephemeral0", "device_name": "/dev/vdb"},
                               {"virtual_name": "swap", "volume_size": 16, "device_name": "/dev/vdc"}],
                              legacy=True, imageRef=cloud.image, flavorRef=flavor_id)
    assert server["status"] == "ACTIVE", server
    inst = cloud.service.guests.instance_dir(server["id"])
    assert disk_facts(inst / "disk.eph0")[1:] == (GiB, "vfat:ephemeral0")
    assert disk_facts(inst / "disk.swap")[1:] == (16 * MiB, "swap:None")
    await cloud.delete(server["id"])


def drive_devices(path) -> list[dict]:
    """meta_data.json `devices` of an ISO 9660 config drive (latest)."""
    iso = pycdlib.PyCdlib()
    iso.open(str(path))
    try:
        out = io.BytesIO()
        iso.get_file_from_iso_fp(out, rr_path="/openstack/latest/meta_data.json")
    finally:
        iso.close()
    return json.loads(out.getvalue())["devices"]


async def pinned_disks(cloud: Cloud, server_id: str) -> dict[str, tuple[str | None, str | None]]:
    """target -> (pinned PCI slot, boot order) of the disks of the server's domain."""
    server = cloud.service.get(cloud.cinder.ctx, server_id)
    root = ET.fromstring(await cloud.service.guests.hv.live_xml(server.instance_name))
    return {d.find("target").get("dev"): (d.find("address").get("slot") if d.find("address") is not None else None,
                                          d.find("boot").get("order") if d.find("boot") is not None else None)
            for d in root.findall("devices/disk")}


async def test_tagged_local_disks_are_pinned_and_in_the_drives_devices(cloud: Cloud):
    """2.42: a tagged image -> local root and tagged blank -> local disks are in meta_data.json's `devices` as Nova's
    libvirt driver lists them (serial null), at the PCI slots the domain pins them to, through a rebuild and a
    (legacy) rescue, whose domain keeps the root where the drive says."""
    flavor_id = await flavor(cloud, "eph-tagged", ephemeral=1, swap=64)
    server = await cloud.boot([image_local(cloud.image) | {"tag": "root"}, blank(1),
                               blank(32, guest_format="swap", tag="swap")],
                              imageRef=cloud.image, flavorRef=flavor_id, config_drive=True, version="2.42")
    assert server["status"] == "ACTIVE", server
    server_id = server["id"]
    inst = cloud.service.guests.instance_dir(server_id)
    expected = [{"type": "disk", "serial": None, "bus": "pci", "address": f"0000:00:{slot}.0", "tags": [tag]}
                for slot, tag in (("0c", "root"), ("0e", "swap"))]  # the swap disk is the second local disk
    assert drive_devices(inst / "disk.config") == expected
    pinned = {"vda": ("0x0c", None), "vdb": (None, None), "vdc": ("0x0e", None), "hda": (None, None)}
    assert await pinned_disks(cloud, server_id) == pinned  # the untagged ephemeral disk where libvirt puts it
    await act(cloud, server_id, {"rebuild": {"imageRef": cloud.image}}, "2.1")
    assert drive_devices(inst / "disk.config") == expected and await pinned_disks(cloud, server_id) == pinned
    await act(cloud, server_id, {"rescue": None}, "2.1", status=200)
    assert (await cloud.show(server_id))["status"] == "RESCUE"
    assert drive_devices(inst / "disk.config.rescue") == expected
    assert (await pinned_disks(cloud, server_id))["vdb"] == ("0x0c", None)  # the root, second: the same address
    await act(cloud, server_id, {"unrescue": None}, "2.1")
    assert await pinned_disks(cloud, server_id) == pinned
    await cloud.delete(server_id)
