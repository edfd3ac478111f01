"""Boot from volume on create (issue 20) on the whole app (servers on libvirt's test driver; the real guest boots in
tests/integration/test_boot_from_volume_live.py): block_device_mapping_v2 with destination volume from an image,
a volume, a snapshot or nothing, the legacy block_device_mapping, the root volume as vda of the domain's definition,
the volumes in-use and in the server's view, Nova's faults before anything is written, the rollback of a failed
build (Nova's _cleanup_volumes) and delete with and without delete_on_termination."""
from __future__ import annotations

import dataclasses
import json
import xml.etree.ElementTree as ET

import pytest

from nodecompute.api.keys import servers_key, volume_attachments_key
from nodecompute.app import create_app
from nodecompute.db import servers as servers_db
from nodecompute.storage.volumes import VolumeFiles
from tests.api.attachment_fakes import RecordingPlug
from tests.api.helpers import Api, assert_fault, upload_raw_image
from tests.api.volume_helpers import Cinder
from tests.oracle import validate_with_tempest


@dataclasses.dataclass
class Cloud:
    api: Api
    token: str
    cinder: Cinder
    image: str

    @property
    def service(self):
        return self.api.client.server.app[servers_key]

    async def boot(self, mappings: list[dict], *, status: int = 202, version: str = "2.1", legacy: bool = False,
                   **fields) -> dict:
        key = "block_device_mapping" if legacy else "block_device_mapping_v2"
        if tuple(map(int, version.split("."))) >= (2, 37):
            fields.setdefault("networks", "none")
        body = {"server": {"name": "bfv", "imageRef": "", "flavorRef": "42", key: mappings, **fields}}
        resp = await self.api.post("/servers", self.token, json=body,
                                   headers={"X-OpenStack-Nova-API-Version": version})
        if status != 202:
            return await assert_fault(resp, status)
        assert resp.status == 202, await resp.text()
        await self.service.wait_idle()
        await self.cinder.idle()
        return await self.show((await resp.json())["server"]["id"], version)

    async def show(self, server_id: str, version: str = "2.1") -> dict:
        resp = await self.api.get(f"/servers/{server_id}", self.token,
                                  headers={"X-OpenStack-Nova-API-Version": version})
        assert resp.status == 200, await resp.text()
        return (await resp.json())["server"]

    async def delete(self, server_id: str) -> None:
        resp = await self.api.delete(f"/servers/{server_id}", self.token)
        assert resp.status == 204, await resp.text()
        await self.service.wait_idle()
        await self.cinder.idle()

    async def defined_disks(self, server_id: str) -> dict[str, str]:
        """target -> source file of the domain's definition (libvirt's test driver keeps it)."""
        server = self.service.get(self.cinder.ctx, server_id)
        root = ET.fromstring(await self.service.guests.hv.live_xml(server.instance_name))
        return {d.find("target").get("dev"): d.find("source").get("file") for d in root.findall("devices/disk")}

    async def volume_ids(self) -> set[str]:
        body = await self.cinder.ok("GET", "/volumes", 200)
        return {v["id"] for v in body["volumes"]}


@pytest.fixture
async def cloud(aiohttp_client, cfg):
    client = await aiohttp_client(create_app(cfg))
    api = Api(client)
    token = await api.token("admin", "admin-secret", "admin")
    client.server.app[volume_attachments_key].plug = RecordingPlug()
    client.server.app[servers_key].volume_boot.interval = 0.02
    yield Cloud(api, token, Cinder(api, token), await upload_raw_image(client.server.app, token))
    service = client.server.app[servers_key]
    await service.wait_idle()
    for server in service.store.read(servers_db.list_all_live):  # test:///default is shared by the process
        await service.guests.destroy(server.uuid, server.instance_name)


def image_root(image: str, size: int = 1, **more) -> dict:
    return {"boot_index": 0, "uuid": image, "source_type": "image", "destination_type": "volume",
            "volume_size": size, **more}


async def test_boot_from_a_volume_made_from_an_image_and_delete_with_it(cloud: Cloud):
    server = await cloud.boot([image_root(cloud.image, 2, delete_on_termination=True, tag="root")], version="2.42")
    assert (server["status"], server["image"]) == ("ACTIVE", "")
    attached = server["os-extended-volumes:volumes_attached"]
    assert [a["delete_on_termination"] for a in attached] == [True]
    volume = await cloud.cinder.show(attached[0]["id"])
    assert (volume["status"], volume["size"], volume["bootable"], volume["name"]) == ("in-use", 2, "true", "")
    assert volume["volume_image_metadata"]["image_id"] == cloud.image
    assert [(a["server_id"], a["device"]) for a in volume["attachments"]] == [(server["id"], "/dev/vda")]
    disks = await cloud.defined_disks(server["id"])
    assert disks["vda"] == str(cloud.cinder.volume_file(volume["id"]))  # the root volume is the domain's vda
    assert not (cloud.service.guests.instance_dir(server["id"]) / "disk").exists()  # no local root disk
    server_row = cloud.service.get(cloud.cinder.ctx, server["id"])
    root = ET.fromstring(await cloud.service.guests.hv.live_xml(server_row.instance_name))
    address = root.find("devices/disk/address")  # the tagged root volume's pinned PCI slot
    assert (address.get("bus"), address.get("slot")) == ("0x00", "0x18")
    listed = await cloud.api.get(f"/servers/{server['id']}/os-volume_attachments", cloud.token)
    assert [a["device"] for a in (await listed.json())["volumeAttachments"]] == ["/dev/vda"]
    await cloud.delete(server["id"])
    assert volume["id"] not in await cloud.volume_ids()  # delete_on_termination
    assert not cloud.cinder.volume_file(volume["id"]).exists()


async def test_boot_from_an_existing_volume_keeps_it_and_refuses_its_detach(cloud: Cloud):
    source = await cloud.cinder.create(name="root", imageRef=cloud.image)
    extra = await cloud.cinder.create(name="data")
    server = await cloud.boot([
        {"boot_index": 0, "uuid": source["id"], "source_type": "volume", "destination_type": "volume"},
        {"boot_index": -1, "uuid": extra["id"], "source_type": "volume", "destination_type": "volume",
         "device_name": "/dev/vdc"},
        {"source_type": "blank", "destination_type": "volume", "volume_size": 1, "delete_on_termination": True}])
    assert server["status"] == "ACTIVE"
    made = [a["id"] for a in server["os-extended-volumes:volumes_attached"]][2]
    assert (await cloud.cinder.show(made))["name"] == f"{server['id']}-blank-vol"
    disks = await cloud.defined_disks(server["id"])
    assert (disks["vda"], disks["vdc"], disks["vdb"]) == tuple(
        str(cloud.cinder.volume_file(v)) for v in (source["id"], extra["id"], made))
    assert {(await cloud.cinder.show(v))["status"] for v in (source["id"], extra["id"], made)} == {"in-use"}
    resp = await cloud.api.delete(f"/servers/{server['id']}/os-volume_attachments/{source['id']}", cloud.token)
    await assert_fault(resp, 400, "badRequest", "Cannot detach a root device volume")
    assert (await cloud.cinder.show(source["id"]))["status"] == "in-use"
    for action in ({"os-stop": None}, {"os-start": None}, {"reboot": {"type": "HARD"}}):
        resp = await cloud.api.post(f"/servers/{server['id']}/action", cloud.token, json=action)
        assert resp.status == 202, await resp.text()
        await cloud.service.wait_idle()
        assert (await cloud.defined_disks(server["id"]))["vda"] == str(cloud.cinder.volume_file(source["id"]))
    await cloud.delete(server["id"])
    assert [(await cloud.cinder.show(v))["status"] for v in (source["id"], extra["id"])] == ["available"] * 2
    assert made not in await cloud.volume_ids()


async def test_boot_from_a_snapshot_and_the_legacy_mapping(cloud: Cloud):
    source = await cloud.cinder.create(name="origin", imageRef=cloud.image)
    snapshot = await cloud.cinder.snapshot(source["id"])
    server = await cloud.boot([{"boot_index": 0, "uuid": snapshot["id"], "source_type": "snapshot",
                                "destination_type": "volume", "volume_size": 2}])
    made = await cloud.cinder.show(server["os-extended-volumes:volumes_attached"][0]["id"])
    assert (server["status"], made["snapshot_id"], made["size"], made["bootable"]) == (
        "ACTIVE", snapshot["id"], 2, "true")
    legacy = await cloud.boot([{"volume_id": source["id"], "device_name": "vda"}], legacy=True)
    assert (legacy["status"], legacy["image"]) == ("ACTIVE", "")
    assert [a["id"] for a in legacy["os-extended-volumes:volumes_attached"]] == [source["id"]]
    assert (await cloud.defined_disks(legacy["id"]))["vda"] == str(cloud.cinder.volume_file(source["id"]))


async def test_zero_disk_flavor_boots_a_volume_backed_server_for_a_member(cloud: Cloud, make_user):
    resp = await cloud.api.post("/flavors", cloud.token, json={"flavor": {"name": "nodisk", "ram": 64, "vcpus": 1,
                                                                           "disk": 0}})
    assert resp.status == 200, await resp.text()
    flavor = (await resp.json())["flavor"]["id"]
    server = await cloud.boot([image_root(cloud.image)], flavorRef=flavor)
    assert server["status"] == "ACTIVE"


async def test_bad_mappings_get_novas_faults_and_change_nothing(cloud: Cloud):
    in_use = await cloud.cinder.create(name="taken", imageRef=cloud.image)
    first = await cloud.boot([{"boot_index": 0, "uuid": in_use["id"], "source_type": "volume",
                               "destination_type": "volume"}])
    plain = await cloud.cinder.create(name="plain")  # not bootable: made from nothing
    missing = "6a1a5c4e-0000-4000-8000-00000000000f"
    volumes_before = await cloud.volume_ids()
    servers_before = {s.uuid for s in cloud.service.store.read(servers_db.list_all_live)}
    cases = [
        ([{"boot_index": 0, "uuid": in_use["id"], "source_type": "volume", "destination_type": "volume"}],
         f"Invalid volume: volume {in_use['id']} is already attached to instances: "),
        ([{"boot_index": 0, "uuid": plain["id"], "source_type": "volume", "destination_type": "volume"}],
         f"Block Device {plain['id']} is not bootable."),
        ([{"boot_index": 0, "uuid": missing, "source_type": "snapshot", "destination_type": "volume"}],
         f"Block Device Mapping is Invalid: failed to get snapshot {missing}."),
        ([image_root(missing)], f"Block Device Mapping is Invalid: failed to get image {missing}."),
        ([image_root(cloud.image, volume_type="nope")], "Volume type nope could not be found."),
        ([image_root(cloud.image), {"source_type": "blank", "destination_type": "local", "volume_size": 1}],
         "Ephemeral disks requested are larger than the instance type allows."),  # flavor 42 has none
    ]
    for mappings, message in cases:
        fault = await cloud.boot(mappings, status=400, version="2.67")
        assert message in fault["message"], (mappings, fault)
    fault = await cloud.boot([{"boot_index": 0, "uuid": plain["id"], "source_type": "volume",
                               "destination_type": "volume"}], status=400, max_count=2)
    assert fault["message"] == "Cannot attach one or more volumes to multiple instances"
    assert await cloud.volume_ids() == volumes_before
    assert {s.uuid for s in cloud.service.store.read(servers_db.list_all_live)} == servers_before
    assert (await cloud.cinder.show(in_use["id"]))["attachments"][0]["server_id"] == first["id"]
    assert (await cloud.cinder.show(plain["id"]))["status"] == "available"


async def test_a_failed_build_lets_its_volumes_go_as_nova_does(cloud: Cloud, monkeypatch):
    """A volume that cannot be made fails the build: the server is ERROR, the existing volume is available again,
    a made volume with delete_on_termination is deleted, one without is kept (Nova's _cleanup_volumes)."""
    root = await cloud.cinder.create(name="root", imageRef=cloud.image)
    before = await cloud.volume_ids()

    async def broken(self, volume_id, image, image_format, size_gb):
        raise OSError("disk on fire")

    monkeypatch.setattr(VolumeFiles, "create_from_image", broken)
    kept = {"source_type": "blank", "destination_type": "volume", "volume_size": 1}
    server = await cloud.boot([
        {"boot_index": 0, "uuid": root["id"], "source_type": "volume", "destination_type": "volume"}, kept,
        {"uuid": cloud.image, "source_type": "image", "destination_type": "volume", "volume_size": 1,
         "delete_on_termination": True}])
    assert server["status"] == "ERROR"
    assert "did not finish being created" in server["fault"]["message"]
    assert server["os-extended-volumes:volumes_attached"] == []
    assert (await cloud.cinder.show(root["id"]))["status"] == "available"
    left = await cloud.volume_ids() - before
    assert [(await cloud.cinder.show(v))["name"] for v in left] == [f"{server['id']}-blank-vol"]
    assert (await cloud.cinder.show(left.pop()))["status"] == "available"
    await cloud.delete(server["id"])
    assert (await cloud.cinder.show(root["id"]))["status"] == "available"


async def test_os_volumes_boot_is_the_create_up_to_2_102(cloud: Cloud):
    """#204: Nova's old boot-from-volume path, the legacy mapping its api-ref shows (volume_id, device_name vda,
    imageRef ""); gone (the bare 404 of Nova's version check) from 2.103."""
    source = await cloud.cinder.create(name="boot", imageRef=cloud.image)
    body = {"server": {"name": "vboot", "imageRef": "", "flavorRef": "42", "networks": "none",
                       "block_device_mapping": [{"volume_id": source["id"], "device_name": "vda"}]}}
    resp = await cloud.api.post("/os-volumes_boot", cloud.token, json=body,
                                headers={"X-OpenStack-Nova-API-Version": "2.103"})
    await assert_fault(resp, 404, "itemNotFound", "The resource could not be found.")
    assert (await cloud.cinder.show(source["id"]))["status"] == "available"
    resp = await cloud.api.post("/os-volumes_boot", cloud.token, json=body,
                                headers={"X-OpenStack-Nova-API-Version": "2.102"})
    assert resp.status == 202, await resp.text()
    body = await resp.json()
    validate_with_tempest("POST", "/servers", None, "2.102", 202, body)  # the create's answer
    created = body["server"]
    assert resp.headers["Location"].endswith(f"/servers/{created['id']}") and created["adminPass"]
    await cloud.service.wait_idle()
    server = await cloud.show(created["id"], "2.102")
    assert (server["status"], server["image"]) == ("ACTIVE", "")
    assert (await cloud.defined_disks(created["id"]))["vda"] == str(cloud.cinder.volume_file(source["id"]))


async def test_volume_backed_server_through_the_actions(cloud: Cloud):
    """resize changes the flavor only (even to a zero-disk one), rebuild takes the root volume's own image only
    (Nova before 2.93: the volume is not re-imaged), shelve offloads at once without an image and unshelve boots
    the same volume again; rescue and createBackup get Nova's faults and change nothing."""
    server = await cloud.boot([image_root(cloud.image, delete_on_termination=True)])
    server_id, root = server["id"], server["os-extended-volumes:volumes_attached"][0]["id"]
    root_file = str(cloud.cinder.volume_file(root))

    async def act(body: dict, status: int = 202, version: str = "2.1") -> dict | None:
        resp = await cloud.api.post(f"/servers/{server_id}/action", cloud.token, json=body,
                                    headers={"X-OpenStack-Nova-API-Version": version})
        if status != 202:
            return await assert_fault(resp, status)
        assert resp.status in (202, 204), await resp.text()  # confirmResize: 204
        await cloud.service.wait_idle()
        return await cloud.show(server_id, version)

    resp = await cloud.api.post("/flavors", cloud.token, json={"flavor": {"name": "nodisk", "ram": 128, "vcpus": 1,
                                                                           "disk": 0}})
    flavor = (await resp.json())["flavor"]["id"]
    resized = await act({"resize": {"flavorRef": flavor}})
    assert (resized["status"], resized["flavor"]["id"]) == ("VERIFY_RESIZE", flavor)
    assert (await cloud.defined_disks(server_id))["vda"] == root_file
    assert (await act({"confirmResize": None}))["status"] == "ACTIVE"

    other = await upload_raw_image(cloud.api.client.server.app, cloud.token)
    fault = await act({"rebuild": {"imageRef": other}}, 400)
    assert fault["message"] == (f"Image {other} is unacceptable: Unable to rebuild with a different image for a "
                                f"volume-backed server.")
    rebuilt = await act({"rebuild": {"imageRef": cloud.image, "name": "again"}})
    assert (rebuilt["status"], rebuilt["name"], rebuilt["image"]) == ("ACTIVE", "again", "")
    assert (await cloud.defined_disks(server_id))["vda"] == root_file

    fault = await act({"rescue": None}, 400)
    assert fault["message"].endswith("cannot be rescued: Cannot rescue a volume-backed instance")
    fault = await act({"createBackup": {"name": "b", "backup_type": "daily", "rotation": 1}}, 400)
    assert fault["message"] == "Backup is not supported for volume-backed instances."

    shelved = await act({"shelve": None})
    assert shelved["status"] == "SHELVED_OFFLOADED"
    assert (await cloud.cinder.show(root))["status"] == "in-use"
    assert (await act({"unshelve": None}))["status"] == "ACTIVE"
    assert (await cloud.defined_disks(server_id))["vda"] == root_file
    await cloud.delete(server_id)
    assert root not in await cloud.volume_ids()


async def test_create_image_of_a_volume_backed_server_and_boot_it(cloud: Cloud):
    """createImage: a snapshot of each volume and an active image of size 0 carrying Nova's block_device_mapping;
    booting that image makes the root volume from the snapshot."""
    server = await cloud.boot([image_root(cloud.image, 2, delete_on_termination=True)])
    root = server["os-extended-volumes:volumes_attached"][0]["id"]
    # stopped: the snapshot is qemu-img's copy (the test driver has no backup job; the real guest's is libvirt's)
    resp = await cloud.api.post(f"/servers/{server['id']}/action", cloud.token, json={"os-stop": None})
    assert resp.status == 202, await resp.text()
    await cloud.service.wait_idle()
    resp = await cloud.api.post(f"/servers/{server['id']}/action", cloud.token,
                                json={"createImage": {"name": "bfv-snap", "metadata": {"k": "v"}}},
                                headers={"X-OpenStack-Nova-API-Version": "2.45"})
    assert resp.status == 202, await resp.text()
    image_id = (await resp.json())["image_id"]
    await cloud.service.wait_idle()
    image = cloud.service.images.get(cloud.cinder.ctx, image_id)
    assert (image.status, image.size, image.properties["k"]) == ("active", 0, "v")
    assert (image.properties["bdm_v2"], image.properties["root_device_name"]) == ("True", "/dev/vda")
    [mapping] = json.loads(image.properties["block_device_mapping"])
    snapshot = (await cloud.cinder.ok("GET", f"/snapshots/{mapping['snapshot_id']}", 200))["snapshot"]
    assert (snapshot["volume_id"], snapshot["status"], snapshot["name"]) == (root, "available",
                                                                              "snapshot for bfv-snap")
    assert {k: mapping[k] for k in ("source_type", "destination_type", "boot_index", "volume_size",
                                    "delete_on_termination", "device_name")} == {
        "source_type": "snapshot", "destination_type": "volume", "boot_index": 0, "volume_size": 2,
        "delete_on_termination": True, "device_name": "/dev/vda"}
    resp = await cloud.api.post("/servers", cloud.token, json={"server": {
        "name": "from-snap", "imageRef": image_id, "flavorRef": "42"}})
    assert resp.status == 202, await resp.text()
    await cloud.service.wait_idle()
    again = await cloud.show((await resp.json())["server"]["id"])
    made = await cloud.cinder.show(again["os-extended-volumes:volumes_attached"][0]["id"])
    assert (again["status"], made["snapshot_id"], made["size"]) == ("ACTIVE", snapshot["id"], 2)
    assert again["image"]["id"] == image_id  # Nova's instance.image_ref: the imageRef booted from
    resp = await cloud.api.get(f"/servers?image={image_id}", cloud.token)
    assert [s["id"] for s in (await resp.json())["servers"]] == [again["id"]]
    assert (await cloud.defined_disks(again["id"]))["vda"] == str(cloud.cinder.volume_file(made["id"]))
