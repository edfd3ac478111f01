"""Tagged local disks (compute/tagged_disks.py): the pinned PCI slots of a tagged image root and of tagged ephemeral
and swap disks, their meta_data.json `devices` entries as Nova's metadata API shows a DiskMetadata whose serial is
the BDM's volume_id (None: "serial": null, no "path"), their order beside tagged volumes, and the domain XML that
pins them."""
from __future__ import annotations

import dataclasses
import json
import xml.etree.ElementTree as ET
from datetime import datetime

from nodecompute.compute import metadata_documents, volume_backed_images
from nodecompute.compute.block_devices import from_image_properties, plan_block_devices
from nodecompute.compute.local_disk_plan import plan_local_disks
from nodecompute.compute.metadata_documents import DeviceMetadata
from nodecompute.compute.tagged_disks import local_disk_devices, local_pci_slots, root_pci_slot
from nodecompute.compute.volume_boot import tagged_disk_devices
from nodecompute.domain import volume_models as vm
from nodecompute.domain.models import Flavor
from nodecompute.domain.server_models import SERVER_FIELDS, BlockDeviceRequest, LocalDisk, Server
from nodecompute.virt import designer, domain_xml
from nodecompute.virt.hostcaps import HostInfo
from tests.unit.test_configdrive import metadata as drive_metadata

GIB = 1 << 30
EPHEMERAL = LocalDisk("ephemeral", "disk.eph0", GIB, "ext4", "ephemeral0", "qcow2", tag="scratch")
HOST = HostInfo(domain_type="qemu", arch="x86_64", machine="pc", emulator=None, hostname="h", vcpus=2, memory_mb=1024)
SWAP = LocalDisk("swap", "disk.swap", 16 << 20, "swap", None, "qcow2", tag="swap")


def server(**changes) -> Server:
    at = datetime(2026, 12, 5, 3, 0, 0)
    values = {name: None for name in SERVER_FIELDS}
    values.update(uuid="u-1", serial=7, name="vm", project_id="p", user_id="u", hostname="vm", flavorid="42",
                  flavor_name="m1", memory_mb=128, vcpus=1, root_gb=1, root_disk_bytes=GIB, ephemeral_gb=1, swap=16,
                  image_id="img", config_drive=True, access_ipv4="", access_ipv6="", disk_config="MANUAL",
                  availability_zone="nova", vm_state="active", power_state=1, progress=0, launch_index=0,
                  reservation_id="r-1", locked=False, scheduler_hints={}, created_at=at, updated_at=at, deleted=False,
                  metadata={}, tags=(), flavor_extra_specs={}, device_tags=(), guest_channels=(), nics=(),
                  extra_keys=(), image_properties={}, volumes=(), server_groups=(), root_is_volume=False)
    values.update(changes)
    return Server(**values)


def test_slots_of_a_tagged_root_and_tagged_local_disks():
    tagged = server(root_disk_tag="root", local_disks=(EPHEMERAL, SWAP))
    assert (root_pci_slot(tagged), local_pci_slots(tagged)) == (0x0C, [0x0D, 0x0E])
    # untagged disks keep libvirt's addresses; the slot is the disk's position, whatever the others' tags
    half = server(local_disks=(dataclasses.replace(EPHEMERAL, tag=None), SWAP))
    assert (root_pci_slot(half), local_pci_slots(half)) == (None, [None, 0x0E])
    # the flavor's own disks carry no tag; a volume-backed server has no local root; a tagged scsi disk has no slot
    assert local_pci_slots(server(root_disk_tag="root", local_disks=None)) == [None, None]
    assert root_pci_slot(server(root_disk_tag="root", root_is_volume=True)) is None
    assert local_pci_slots(server(local_disks=(dataclasses.replace(EPHEMERAL, disk_bus="scsi"),))) == [None]
    # below the tagged NICs (0x10-0x17) and volumes (0x18-0x1f), even on a volume-backed server with 3 local disks
    three = server(root_is_volume=True, image_id="", local_disks=(EPHEMERAL, dataclasses.replace(EPHEMERAL,
                   file="disk.eph1", tag="b"), SWAP))
    assert local_pci_slots(three) == [0x0D, 0x0E, 0x0F]


def test_entries_are_novas_disk_metadata_with_a_null_serial():
    tagged = server(root_disk_tag="root", local_disks=(EPHEMERAL, SWAP))
    assert local_disk_devices(tagged) == (
        DeviceMetadata(type="disk", bus="pci", address="0000:00:0c.0", serial=None, tags=("root",)),
        DeviceMetadata(type="disk", bus="pci", address="0000:00:0d.0", serial=None, tags=("scratch",)),
        DeviceMetadata(type="disk", bus="pci", address="0000:00:0e.0", serial=None, tags=("swap",)))
    tree = metadata_documents.build_tree(drive_metadata(devices=local_disk_devices(tagged)[:1]))
    root_entry = {"type": "disk", "serial": None, "bus": "pci", "address": "0000:00:0c.0", "tags": ["root"]}
    for version in ("2016-06-30", "2018-08-27", "latest"):
        assert json.loads(tree[f"openstack/{version}/meta_data.json"])["devices"] == [root_entry]
    assert "devices" not in json.loads(tree["openstack/2015-10-15/meta_data.json"])  # before Newton


def test_a_tagged_disk_on_another_bus_is_listed_as_novas_with_no_address():
    """Nova's _prepare_device_bus: a disk with a drive (or USB) address gets a SCSI, IDE or USB bus and no address
    (the drive address has no format_address), any other bus none at all: the document says "none" for both."""
    buses = {"scsi": "scsi", "ide": "ide", "usb": "usb", "sata": "none"}
    for disk_bus, shown in buses.items():
        tagged = server(local_disks=(dataclasses.replace(EPHEMERAL, disk_bus=disk_bus), SWAP))
        assert local_disk_devices(tagged) == (
            DeviceMetadata(type="disk", bus=shown, address="none", serial=None, tags=("scratch",)),
            DeviceMetadata(type="disk", bus="pci", address="0000:00:0e.0", serial=None, tags=("swap",))), disk_bus
    untagged = server(local_disks=(dataclasses.replace(EPHEMERAL, disk_bus="scsi", tag=None),))
    assert local_disk_devices(untagged) == ()
    tree = metadata_documents.build_tree(drive_metadata(devices=local_disk_devices(server(
        local_disks=(dataclasses.replace(EPHEMERAL, disk_bus="ide"),)))))
    assert json.loads(tree["openstack/latest/meta_data.json"])["devices"] == [
        {"type": "disk", "serial": None, "bus": "ide", "address": "none", "tags": ["scratch"]}]


def test_tagged_volumes_on_other_buses_keep_their_place_and_serial():
    def attachment(volume_id: str, tag: str | None, bus: str | None) -> vm.Attachment:
        return vm.Attachment(id=f"a-{volume_id}", volume_id=volume_id, server_id="u-1", device=None,
                             attached_at=None, attached_host=None, tag=tag, boot_index=None, disk_bus=bus)
    attachments = [attachment("v1", "first", None), attachment("v2", "db", "scsi"), attachment("v3", None, "scsi"),
                   attachment("v4", "logs", "virtio"), attachment("v5", "old", "sata")]
    devices = tagged_disk_devices(server(local_disks=()), attachments)
    assert [(d.tags, d.bus, d.address, d.serial) for d in devices] == [
        (("first",), "pci", "0000:00:18.0", "v1"), (("db",), "scsi", "none", "v2"),
        (("logs",), "pci", "0000:00:19.0", "v4"), (("old",), "none", "none", "v5")]


def test_disk_order_is_the_domains():
    """A volume-backed server: its root volume (vda), its local disks, its other volumes (Nova walks the XML)."""
    def attachment(volume_id: str, tag: str, boot_index: int | None) -> vm.Attachment:
        return vm.Attachment(id=f"a-{volume_id}", volume_id=volume_id, server_id="u-1", device=None,
                             attached_at=None, attached_host=None, tag=tag, boot_index=boot_index)
    attachments = [attachment("data", "data", None), attachment("root", "boot", 0)]
    devices = tagged_disk_devices(server(root_is_volume=True, image_id="", local_disks=(SWAP,)), attachments)
    assert [(d.tags, d.address, d.serial) for d in devices] == [
        (("boot",), "0000:00:19.0", "root"), (("swap",), "0000:00:0d.0", None), (("data",), "0000:00:18.0", "data")]


def test_the_request_keeps_the_tags_of_local_mappings():
    image = BlockDeviceRequest(source_type="image", destination_type="local", boot_index=0, uuid="img", tag="root")
    blank = BlockDeviceRequest(source_type="blank", destination_type="local", boot_index=-1, tag="scratch")
    swap = BlockDeviceRequest(source_type="blank", destination_type="local", boot_index=-1, guest_format="swap",
                              volume_size=16, tag="swap")
    plan = plan_block_devices("img", (image, blank, swap))
    assert plan.root_tag == "root"
    assert plan_block_devices("img", (blank,)).root_tag is None  # imageRef alone: no root mapping, no tag
    flavor = Flavor(flavorid="f", name="f", memory_mb=64, vcpus=1, root_gb=1, ephemeral_gb=1, swap=16)
    disks = plan_local_disks(plan.blanks, flavor, image_root=True)
    assert [(d.kind, d.tag) for d in disks] == [("ephemeral", "scratch"), ("swap", "swap")]
    assert LocalDisk(**{k: v for k, v in disks[0].as_dict().items() if k != "tag"}).tag is None  # rows before


def test_the_domain_pins_a_tagged_root():
    disks = designer.image_backed_disks(root="/i/disk", root_pci_slot=0x0C, config_drive="/i/disk.config", local=[
        designer.GuestDisk("/i/disk.eph0", "qcow2"), designer.GuestDisk("/i/disk.swap", "qcow2", pci_slot=0x0E)])
    spec = designer.design_domain(name="instance-00000007", uuid="u-1", display_name="vm", memory_mb=64, vcpus=1,
                                  disks=disks, console_log="/i/console.log", vnc_socket=None, server_id="u-1",
                                  project_id="p")
    root = ET.fromstring(domain_xml.render(spec, HOST))
    slots = {d.find("target").get("dev"): (d.find("address").get("slot") if d.find("address") is not None else None,
                                           d.find("boot").get("order") if d.find("boot") is not None else None)
             for d in root.findall("devices/disk")}
    assert slots == {"vda": ("0x0c", None), "vdb": (None, None), "vdc": ("0x0e", None), "hda": (None, None)}
    assert root.find("os/boot").get("dev") == "hd"  # libvirt's boot index goes to the first disk, vda
    assert designer.image_backed_disks(root="/i/disk")[0].pci_slot is None


def test_a_volume_backed_servers_image_keeps_the_tags_of_its_local_disks():
    """Nova's snapshot of a volume-backed server maps its blank -> local disks with get_image_mapping(), tag
    included: a server booted from that image gets its tagged disks again."""
    mapping = volume_backed_images._blank_mapping(SWAP, "/dev/vdc")
    assert mapping["tag"] == "swap"
    defined = from_image_properties({"bdm_v2": "True", "block_device_mapping": json.dumps([mapping])})
    assert [(m.source_type, m.guest_format, m.tag) for m in defined] == [("blank", "swap", "swap")]
