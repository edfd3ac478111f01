"""shelve (#321), shelveOffload (#322) and unshelve (#323) on libvirt's test driver, through the whole app, with real
qcow2 disks: a shelve makes an active "<name>-shelved" image of the root disk and (shelved_offload_time 0, Nova's
default) offloads at once: no domain, no disks, no host; unshelve boots a copy of that image and deletes it; with
offloading off the shelved server keeps its disk, shelveOffload (admin) frees it; the 2.77 zone and 2.91 host and
unpinned zone as Nova answers on one host; a shelve a stop cut short is abandoned, an unshelve done again. The
real guest (a file written before is there after unshelve, no QEMU while offloaded):
tests/integration/test_server_actions2_guest.py."""
from __future__ import annotations

import dataclasses

import pytest

from nodecompute import app as app_module
from nodecompute.api.keys import reconciler_key, servers_key
from nodecompute.app import create_app
from nodecompute.db import images as images_db
from nodecompute.db import servers as servers_db
from nodecompute.domain import states
from nodecompute.domain.image_models import ImageQuery
from nodecompute.domain.models import AuthContext
from nodecompute.storage import qemu_img
from tests.api.helpers import Api, upload_raw_image
from tests.api.scripted_hypervisor import ScriptedHypervisor
from tests.api.test_clock import START, MovableClock
from tests.api.conftest import ladder_dialect
from tests.api.test_server_actions_part1 import Cloud, cloud  # noqa: F401 (the fixture)


def _images(cloud: Cloud, server_id: str, *statuses: str) -> list:
    query = ImageQuery(properties=(("instance_uuid", server_id),), statuses=statuses, limit=100)
    return cloud.app[servers_key].store.read(images_db.list_images, query, None)


def _inst(cloud: Cloud, server_id: str):
    return cloud.app[servers_key].guests.instance_dir(server_id)


async def _fault(resp, status: int, message: str) -> None:
    body = await resp.json()
    assert resp.status == status and next(iter(body.values()))["message"] == message, (resp.status, body)


async def _cloud(aiohttp_client, cfg, monkeypatch, offload_time: int):
    """A cloud negotiating up to 2.91 whose shelved servers are offloaded after `offload_time` (-1: never)."""
    cfg = dataclasses.replace(cfg, compute=dataclasses.replace(cfg.compute, shelved_offload_time=offload_time))
    monkeypatch.setattr(app_module, "OPENSTACK", ladder_dialect((2, 91)))
    clock = MovableClock(START)
    client = await aiohttp_client(create_app(cfg, clock=clock, hypervisor_factory=ScriptedHypervisor.for_config))
    made = Cloud(Api(client), clock, cfg)
    made.admin = await made.api.token("admin", "admin-secret", "admin")
    made.member = await made.user("demo", "member", "alice")
    made.image = await upload_raw_image(client.server.app, made.member)
    return made


async def _clean(made: Cloud) -> None:
    service = made.app[servers_key]
    await service.wait_idle()
    for server in service.store.read(servers_db.list_all_live):  # test:///default is shared by the process
        await service.guests.destroy(server.uuid, server.instance_name)


@pytest.fixture
async def kept(aiohttp_client, cfg, monkeypatch):
    made = await _cloud(aiohttp_client, cfg, monkeypatch, -1)
    yield made
    await _clean(made)


@pytest.fixture
async def offloading(aiohttp_client, cfg, monkeypatch):
    made = await _cloud(aiohttp_client, cfg, monkeypatch, 0)
    yield made
    await _clean(made)


async def test_shelve_offloads_at_once_and_unshelve_boots_a_copy_of_the_image_then_deletes_it(cloud):  # noqa: F811
    server_id = await cloud.server()
    hv = cloud.app[servers_key].guests.hv
    await cloud.act(server_id, {"shelve": None})
    row = cloud.row(server_id)
    assert (row.vm_state, row.task_state, row.power_state, row.host) == (
        states.SHELVED_OFFLOADED, None, states.NOSTATE, None)
    [image] = _images(cloud, server_id)
    assert (image.name, image.status, image.properties["image_type"]) == ("vm-shelved", "active", "snapshot")
    assert not (_inst(cloud, server_id) / "disk").exists()
    assert await hv.power_state(row.instance_name) == states.NOSTATE  # undefined
    shown = await cloud.call("GET", f"/servers/{server_id}", cloud.member)
    assert (await shown.json())["server"]["status"] == "SHELVED_OFFLOADED"

    await cloud.act(server_id, {"unshelve": None})
    row = cloud.row(server_id)
    assert (row.vm_state, row.task_state, row.power_state, row.host) == (
        states.ACTIVE, None, states.RUNNING, cloud.cfg.host_name)
    disk = await qemu_img.info(_inst(cloud, server_id) / "disk")
    assert disk.backing_file is None and disk.virtual_size == row.root_disk_bytes  # standalone, full size
    assert _images(cloud, server_id, "active") == []  # Nova deletes the shelved image
    listed = await cloud.call("GET", f"/servers/{server_id}/os-instance-actions", cloud.member)
    assert [a["action"] for a in (await listed.json())["instanceActions"]][:2] == ["unshelve", "shelve"]


async def test_with_offloading_off_the_shelved_server_keeps_its_disk_until_shelve_offload(kept):
    cloud = kept
    server_id = await cloud.server()
    await cloud.act(server_id, {"os-stop": None})
    await cloud.act(server_id, {"shelve": None})
    row = cloud.row(server_id)
    assert (row.vm_state, row.host) == (states.SHELVED, cloud.cfg.host_name)
    assert (_inst(cloud, server_id) / "disk").exists()
    resp = await cloud.call("POST", f"/servers/{server_id}/action", cloud.member, {"shelveOffload": None})
    assert resp.status == 403
    resp = await cloud.call("POST", f"/servers/{server_id}/action", cloud.member,
                            {"unshelve": {"availability_zone": "nova"}}, version="2.77")
    await _fault(resp, 409, f"Specifying an availability zone or a host when unshelving server {server_id} with "
                            f"status SHELVED is not supported. The server status must be SHELVED_OFFLOADED.")
    await cloud.act(server_id, {"shelveOffload": None}, token=cloud.admin)
    assert cloud.row(server_id).vm_state == states.SHELVED_OFFLOADED
    assert not (_inst(cloud, server_id) / "disk").exists()
    assert await cloud.app[servers_key].shelves.offload_due(0) == 0  # nothing shelved is left


async def test_unshelve_zone_and_host_as_nova_answers_on_one_host(offloading):
    cloud = offloading
    server_id = await cloud.server()
    await cloud.act(server_id, {"shelve": None})
    url = f"/servers/{server_id}/action"
    await _fault(await cloud.call("POST", url, cloud.member, {"unshelve": {"availability_zone": "elsewhere"}},
                                  version="2.77"), 400, "The requested availability zone is not available")
    await _fault(await cloud.call("POST", url, cloud.admin, {"unshelve": {"host": "other-host"}}, version="2.91"),
                 400, "Compute host other-host could not be found.")
    resp = await cloud.call("POST", url, cloud.member, {"unshelve": {"host": cloud.cfg.host_name}}, version="2.91")
    assert resp.status == 403
    resp = await cloud.call("POST", url, cloud.member, {"unshelve": {"host": "h"}}, version="2.90")
    assert resp.status == 400  # no host before 2.91
    assert cloud.row(server_id).vm_state == states.SHELVED_OFFLOADED  # the refusals changed nothing
    await cloud.act(server_id, {"unshelve": {"availability_zone": "nova"}}, version="2.91")
    row = cloud.row(server_id)
    assert (row.vm_state, row.pinned_availability_zone) == (states.ACTIVE, "nova")
    await cloud.act(server_id, {"shelve": None})
    await cloud.act(server_id, {"unshelve": {"availability_zone": None, "host": cloud.cfg.host_name}},
                    token=cloud.admin, version="2.91")
    row = cloud.row(server_id)
    assert (row.vm_state, row.pinned_availability_zone) == (states.ACTIVE, None)


async def test_a_shelve_cut_short_is_abandoned_and_an_unshelve_done_again(cloud):  # noqa: F811
    server_id = await cloud.server()
    service = cloud.app[servers_key]
    store, server = service.store, cloud.row(server_id)
    ctx = AuthContext.system("test", cloud.clock(), server.project_id)
    image = await service.images.create(ctx, *service.images_of.record(ctx, server, "vm-shelved", {}))
    await store.write(servers_db.update_server, server_id, {"task_state": states.SHELVING_IMAGE_PENDING_UPLOAD},
                      now=cloud.clock())
    await cloud.app[reconciler_key].at_start()
    row = cloud.row(server_id)
    assert (row.vm_state, row.task_state) == (states.ACTIVE, None)
    assert store.read(images_db.get_image, image.id) is None  # the unfinished image is gone
    await cloud.act(server_id, {"shelve": None})
    await store.write(servers_db.update_server, server_id, {"task_state": states.UNSHELVING}, now=cloud.clock())
    await cloud.app[reconciler_key].at_start()
    row = cloud.row(server_id)
    assert (row.vm_state, row.task_state, row.power_state) == (states.ACTIVE, None, states.RUNNING)
    assert (_inst(cloud, server_id) / "disk").exists()

