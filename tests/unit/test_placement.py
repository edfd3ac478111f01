"""compute/placement.py, block_devices.py and requested_networks.py without a store or a hypervisor: fit, host
room, injection limits, the block device mappings and networks a create request may carry."""
from __future__ import annotations

from datetime import datetime

import pytest

from nodecompute.compute import placement
from nodecompute.compute.block_devices import (BAD_BOOT_SEQUENCE, BLANK_VOLUME_SIZE, BLANK_WITH_UUID,
                                               IMAGE_VOLUME_SIZE, MISSING_UUID, MIXED_SYNTAX, MULTIPLE_WITH_VOLUME,
                                               NO_LOCAL_DISKS, UNKNOWN_BUS, VOLUME_TYPE_EXISTING, VOLUME_TYPE_LOCAL,
                                               BlockDevicePlan,
                                               VolumeMapping, plan_block_devices)
from nodecompute.compute.requested_networks import plan_networks
from nodecompute.config import ComputeConfig
from nodecompute.domain.errors import BadRequest, Conflict, Forbidden, NotFound, QuotaExceeded
from nodecompute.domain.image_models import Image
from nodecompute.domain.network_models import Network, Port
from nodecompute.domain.models import AuthContext, Flavor
from nodecompute.domain.server_models import (BlockDeviceRequest, CreateRequest, InjectedFileSpec, NetworkRequest,
                                              root_disk_bytes)

GIB = 1 << 30
IMAGE = "155d900f-4e14-4e4c-a73d-069cbf4541e6"
VOLUME = "0c0b7a3e-8a34-4a0e-9d59-9a1b9f2a0c01"
SNAPSHOT = "0c0b7a3e-8a34-4a0e-9d59-9a1b9f2a0c02"
NOW = datetime(2024, 1, 1)
LIMITS = {"metadata_items": 2, "injected_files": 1, "injected_file_path_bytes": 8,
          "injected_file_content_bytes": 4}


def _ctx(admin: bool = False) -> AuthContext:
    return AuthContext("u", "u", "p", "p", ("admin",) if admin else ("member",), NOW, NOW, "a")


def _image(**over) -> Image:
    return Image(**{"id": IMAGE, "name": "i", "owner": "p", "visibility": "public", "status": "active",
                    "created_at": NOW, "updated_at": NOW, "virtual_size": GIB // 2, **over})


def _flavor(**over) -> Flavor:
    return Flavor(**{"flavorid": "1", "name": "f", "memory_mb": 128, "vcpus": 1, "root_gb": 1, **over})


# ----- fit ------------------------------------------------------------------------------------------------------

def test_an_image_that_fits_passes():
    placement.check_fit(_ctx(), _flavor(), _image(min_ram=128, min_disk=1, virtual_size=GIB))


@pytest.mark.parametrize("flavor, image, message", [
    (_flavor(), _image(min_ram=256), "Flavor's memory is too small for requested image."),
    (_flavor(), _image(min_disk=2), f"Flavor disk is {GIB} bytes, minimum requested disk is {2 * GIB} bytes."),
    (_flavor(), _image(virtual_size=GIB + 1), f"Flavor disk is {GIB} bytes, image is {GIB + 1} bytes."),
])
def test_what_does_not_fit_is_400(flavor, image, message):
    with pytest.raises(BadRequest, match=message.replace(".", r"\.")):
        placement.check_fit(_ctx(), flavor, image)


def test_a_zero_disk_flavor_is_for_admins():
    with pytest.raises(Forbidden, match=placement.ZERO_DISK_FLAVOR):
        placement.check_fit(_ctx(), _flavor(root_gb=0), _image())
    placement.check_fit(_ctx(admin=True), _flavor(root_gb=0), _image(virtual_size=50 * GIB))


def test_root_disk_bytes_is_the_flavors_or_the_images():
    assert root_disk_bytes(2, GIB) == 2 * GIB
    assert root_disk_bytes(0, 12345) == 12345


# ----- host ------------------------------------------------------------------------------------------------------

def test_host_capacity_from_the_host_or_the_config():
    assert placement.host_capacity(ComputeConfig(), host_vcpus=2, host_memory_mb=4096, disk_total=10 * GIB) == \
        placement.HostCapacity(vcpus=8, memory_mb=4096 - 512, disk_bytes=10 * GIB)
    configured = ComputeConfig(max_vcpus=3, max_memory_mb=1000, max_disk_gb=5)
    assert placement.host_capacity(configured, host_vcpus=2, host_memory_mb=4096, disk_total=10 * GIB) == \
        placement.HostCapacity(vcpus=3, memory_mb=1000, disk_bytes=5 * GIB)


@pytest.mark.parametrize("used, room", [
    (placement.HostUsage(cores=8, ram=1000, disk=GIB), True),
    (placement.HostUsage(cores=9, ram=1000, disk=GIB), False),
    (placement.HostUsage(cores=1, ram=1001, disk=GIB), False),
    (placement.HostUsage(cores=1, ram=10, disk=GIB + 1), False),
])
def test_host_room_counts_every_resource(used, room):
    assert placement.host_has_room(placement.HostCapacity(vcpus=8, memory_mb=1000, disk_bytes=GIB), used) is room


# ----- injection limits -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("metadata, files, message", [
    (3, (), "Quota exceeded for metadata_items: Requested 3, but already used 0 of 2 metadata_items"),
    (0, (InjectedFileSpec("/a", b""), InjectedFileSpec("/b", b"")), "Personality file limit exceeded"),
    (0, (InjectedFileSpec("/too/long", b""),), "Personality file path exceeds maximum 8"),
    (0, (InjectedFileSpec("/a", b"12345"),), "Personality file content exceeds maximum 4"),
])
def test_injection_limits(metadata, files, message):
    with pytest.raises(QuotaExceeded) as raised:
        placement.check_injection_limits(LIMITS, metadata, files)
    assert raised.value.message == message


def test_injection_limits_within_and_unlimited():
    placement.check_injection_limits(LIMITS, 2, (InjectedFileSpec("/12345/7", b"1234"),))
    unlimited = dict.fromkeys(LIMITS, -1)
    placement.check_injection_limits(unlimited, 500, tuple(InjectedFileSpec("/" + "x" * 300, b"y" * 9000)
                                                            for _ in range(50)))


# ----- block device mappings -------------------------------------------------------------------------------------

ROOT = BlockDeviceRequest(source_type="image", destination_type="local", boot_index=0, uuid=IMAGE)


@pytest.mark.parametrize("image_ref, mappings, plan", [
    (IMAGE, (), IMAGE),
    (IMAGE, (ROOT,), IMAGE),
    ("", (ROOT,), IMAGE),
    ("", (BlockDeviceRequest(source_type="image", boot_index=0, uuid=IMAGE),), IMAGE),  # local by default
])
def test_the_image_root_mapping_is_accepted(image_ref, mappings, plan):
    assert plan_block_devices(image_ref, mappings) == BlockDevicePlan(image_ref=plan)


@pytest.mark.parametrize("root", [
    BlockDeviceRequest(source_type="volume", destination_type="volume", boot_index=0, uuid=VOLUME),
    BlockDeviceRequest(source_type="blank", destination_type="volume", boot_index=0, volume_size=1),
    BlockDeviceRequest(source_type="image", destination_type="volume", boot_index=0, volume_size=1,
                       uuid="6a1a5c4e-0000-4000-8000-000000000000"),
])
def test_an_imageref_beside_any_root_volume_is_accepted(root):
    """Nova compares nothing: the imageRef is the server's image (compute/servers.py), the volume its root disk."""
    plan = plan_block_devices(IMAGE, (root,))
    assert (plan.image_ref, plan.root_volume.source_type) == ("", root.source_type)


def test_blank_local_mappings_are_the_plans_ephemeral_and_swap_disks():
    swap = BlockDeviceRequest(source_type="blank", destination_type="local", boot_index=-1, guest_format="swap",
                              volume_size=1)
    ephemeral = BlockDeviceRequest(source_type="blank", destination_type="local", volume_size=1)
    assert plan_block_devices(IMAGE, (ROOT, swap, ephemeral)) == BlockDevicePlan(IMAGE, blanks=(swap, ephemeral))
    volume = BlockDeviceRequest(source_type="volume", destination_type="volume", boot_index=0, uuid=VOLUME)
    assert plan_block_devices("", (volume, swap)).blanks == (swap,)  # beside a root volume too
    legacy = (BlockDeviceRequest(virtual_name="swap", volume_size=8, legacy=True),
              BlockDeviceRequest(virtual_name="ephemeral0", legacy=True))
    assert [(m.source_type, m.destination_type, m.guest_format, m.volume_size, m.delete_on_termination)
            for m in plan_block_devices(IMAGE, legacy).blanks] == [("blank", "local", "swap", 8, True),
                                                                    ("blank", "local", None, None, True)]


@pytest.mark.parametrize("image_ref, mappings, message", [
    ("", (), BAD_BOOT_SEQUENCE),
    (IMAGE, (BlockDeviceRequest(boot_index=0, uuid=IMAGE),), NO_LOCAL_DISKS),
    ("", (BlockDeviceRequest(source_type="volume", destination_type="volume", boot_index=0, uuid=VOLUME),
          BlockDeviceRequest(source_type="snapshot", destination_type="local", boot_index=-1, uuid=VOLUME)),
     NO_LOCAL_DISKS),
    ("", (BlockDeviceRequest(source_type="image", destination_type="local", boot_index=0, uuid=IMAGE,
                             volume_type="fast"),), VOLUME_TYPE_LOCAL),
    ("", (BlockDeviceRequest(source_type="volume", destination_type="volume", boot_index=0, uuid=VOLUME,
                             volume_type="fast"),), VOLUME_TYPE_EXISTING),
    (IMAGE, (BlockDeviceRequest(source_type="image", destination_type="local", boot_index=0,
                                uuid="6a1a5c4e-0000-4000-8000-000000000000"),), BAD_BOOT_SEQUENCE),
    ("", (BlockDeviceRequest(source_type="image", destination_type="local", boot_index=0),), MISSING_UUID),
    (IMAGE, (BlockDeviceRequest(source_type="blank", destination_type="volume", uuid=IMAGE, volume_size=1),),
     BLANK_WITH_UUID),
    (IMAGE, (BlockDeviceRequest(source_type="volume", destination_type="volume", boot_index=1),), MISSING_UUID),
    ("", (BlockDeviceRequest(source_type="image", destination_type="volume", boot_index=0, uuid=IMAGE),),
     IMAGE_VOLUME_SIZE),
    (IMAGE, (BlockDeviceRequest(source_type="blank", destination_type="volume", boot_index=-1),),
     BLANK_VOLUME_SIZE),
    (IMAGE, (BlockDeviceRequest(source_type="volume", destination_type="volume", uuid=IMAGE, boot_index=1,
                                disk_bus="floppy"),), UNKNOWN_BUS),
    (IMAGE, (BlockDeviceRequest(source_type="volume", destination_type="volume", uuid=IMAGE, boot_index=2),),
     BAD_BOOT_SEQUENCE),  # imageRef is boot index 0: the sequence has a gap
    ("", (BlockDeviceRequest(source_type="volume", destination_type="volume", uuid=IMAGE, boot_index=1),),
     BAD_BOOT_SEQUENCE),  # no boot index 0 without imageRef
    (IMAGE, (BlockDeviceRequest(volume_id="v", legacy=True), ROOT), MIXED_SYNTAX),
])
def test_other_mappings_are_400(image_ref, mappings, message):
    with pytest.raises(BadRequest) as raised:
        plan_block_devices(image_ref, mappings)
    assert raised.value.message == message


def test_one_existing_volume_cannot_boot_several_servers():
    mapping = BlockDeviceRequest(source_type="volume", destination_type="volume", boot_index=0, uuid=VOLUME)
    with pytest.raises(BadRequest) as raised:
        plan_block_devices("", (mapping,), count=2)
    assert raised.value.message == MULTIPLE_WITH_VOLUME
    made = BlockDeviceRequest(source_type="image", destination_type="volume", boot_index=0, uuid=IMAGE,
                              volume_size=1)
    assert plan_block_devices("", (made,), count=2).root_volume.source_type == "image"  # each makes its own


@pytest.mark.parametrize("image_ref, mappings, volumes", [
    ("", (BlockDeviceRequest(source_type="image", destination_type="volume", boot_index=0, uuid=IMAGE,
                             volume_size=2, delete_on_termination=True, device_name="vda", disk_bus="virtio",
                             volume_type="fast", tag="root"),),
     (VolumeMapping("image", IMAGE, 0, 2, "vda", "virtio", True, "fast", "root"),)),
    (IMAGE, (BlockDeviceRequest(source_type="image", destination_type="volume", boot_index=0, uuid=IMAGE,
                                volume_size=1),),  # imageRef naming the root volume's image
     (VolumeMapping("image", IMAGE, 0, 1),)),
    ("", (BlockDeviceRequest(source_type="volume", destination_type="volume", boot_index=0, uuid=VOLUME),
          BlockDeviceRequest(source_type="blank", destination_type="volume", boot_index=-1, volume_size=1),
          BlockDeviceRequest(source_type="snapshot", destination_type="volume", boot_index=None, uuid=SNAPSHOT)),
     (VolumeMapping("volume", VOLUME, 0), VolumeMapping("blank", None, -1, 1),
      VolumeMapping("snapshot", SNAPSHOT, None))),
    # legacy (v1): without imageRef the first volume or snapshot boots, with one the image does
    ("", (BlockDeviceRequest(volume_size=1, legacy=True), BlockDeviceRequest(snapshot_id=SNAPSHOT, legacy=True),
          BlockDeviceRequest(volume_id=VOLUME, device_name="/dev/vdc", delete_on_termination=True, legacy=True)),
     (VolumeMapping("blank", None, -1, 1), VolumeMapping("snapshot", SNAPSHOT, 0),
      VolumeMapping("volume", VOLUME, -1, device_name="/dev/vdc", delete_on_termination=True))),
])
def test_volume_mappings_are_planned(image_ref, mappings, volumes):
    plan = plan_block_devices(image_ref, mappings)
    assert (plan.image_ref, plan.volumes) == ("", volumes)


def test_an_image_backed_server_takes_further_volumes():
    plan = plan_block_devices(IMAGE, (BlockDeviceRequest(volume_id=VOLUME, legacy=True),))
    assert (plan.image_ref, plan.volumes, plan.root_volume) == (IMAGE, (VolumeMapping("volume", VOLUME, -1),), None)


# ----- networks and security groups ------------------------------------------------------------------------------

@pytest.mark.parametrize("networks, mode", [(None, "auto"), ("auto", "auto"), ("none", "none"), ((), "auto")])
def test_networks_without_ports(networks, mode):
    plan = plan_networks(CreateRequest("vm", IMAGE, "1", networks=networks, security_groups=("default",)), _ctx())
    assert (plan.mode, plan.nics, plan.security_groups) == (mode, (), ("default",))


@pytest.mark.parametrize("req, message", [
    (CreateRequest("vm", IMAGE, "1", security_groups=("web",)), "Security group web not found for project p."),
    (CreateRequest("vm", IMAGE, "1", networks=(NetworkRequest(uuid="n-1"),)), "Network n-1 could not be found."),
    (CreateRequest("vm", IMAGE, "1", networks=(NetworkRequest(port="p-1"),)), "Port p-1 could not be found."),
    (CreateRequest("vm", IMAGE, "1", networks=(NetworkRequest(fixed_ip="10.0.0.5"),)),
     "Networks are not supported yet"),
])
def test_requested_networks_are_400(req, message):
    with pytest.raises(BadRequest, match=message):
        plan_networks(req, _ctx())


class _Lookup:
    """What planning reads of the networking service, as plain records."""

    def __init__(self, networks, ports=()):
        self.networks = {n.id: n for n in networks}
        self.ports = {p.id: p for p in ports}

    def usable_networks(self, ctx):
        return [n for n in self.networks.values() if not n.external]

    def network(self, ctx, network_id):
        if network_id not in self.networks:
            raise NotFound("no")
        return self.networks[network_id]

    def port(self, ctx, port_id):
        if port_id not in self.ports:
            raise NotFound("no")
        return self.ports[port_id]

    def subnets(self, network_id):
        return []

    def ip_owner(self, subnet_id, ip):
        return None


def _net(network_id: str, external: bool = False):
    return Network(id=network_id, project_id="p", external=external)


def test_a_member_may_not_plug_into_an_external_network_an_admin_may():
    req = CreateRequest("vm", IMAGE, "1", networks=(NetworkRequest(uuid="ext"),))
    lookup = _Lookup([_net("ext", external=True)])
    with pytest.raises(Forbidden, match="It is not allowed to create an interface on external network ext"):
        plan_networks(req, _ctx(), lookup)
    assert [n.network_id for n in plan_networks(req, _ctx(admin=True), lookup).nics] == ["ext"]


def test_auto_takes_the_one_usable_network_and_a_port_twice_is_409():
    lookup = _Lookup([_net("one"), _net("ext", external=True)], [Port(id="p1", project_id="p", network_id="one",
                                                                     mac_address="fa:16:3e:00:00:01")])
    assert [n.network_id for n in plan_networks(CreateRequest("vm", IMAGE, "1"), _ctx(), lookup).nics] == ["one"]
    twice = CreateRequest("vm", IMAGE, "1", networks=(NetworkRequest(port="p1"), NetworkRequest(port="p1")))
    with pytest.raises(Conflict, match="Port p1 is still in use."):
        plan_networks(twice, _ctx(), lookup)
    many = CreateRequest("vm", IMAGE, "1", networks=(NetworkRequest(port="p1"),), max_count=2)
    with pytest.raises(BadRequest, match="multiple instances with a single configured port"):
        plan_networks(many, _ctx(), lookup)
