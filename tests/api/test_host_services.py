"""os-services and os-hypervisors (issue 12): admin only, Nova's views per microversion (2.1, 2.11, 2.28, 2.33,
2.53, 2.75, 2.88), the services' updates, and the one-host scheduler honouring a disabled or forced-down compute
service. The whole app on libvirt's test driver; the compute face negotiates up to 2.100 here."""
from __future__ import annotations

import dataclasses
import json

import pytest

from nodecompute import app as app_module
from nodecompute.api.dialects.openstack import OPENSTACK
from nodecompute.api.keys import host_services_key, servers_key
from nodecompute.app import create_app
from nodecompute.compute.servers import NO_VALID_HOST
from nodecompute.db import servers as servers_db
from nodecompute.virt import host_os
from tests.api.helpers import Api, assert_fault
from tests.api.test_servers_api import _create_body, image_id  # noqa: F401 (image_id is a fixture)

TOP = (2, 100)


@pytest.fixture
async def api(aiohttp_client, cfg, monkeypatch) -> Api:
    v21, *others = OPENSTACK.roots
    mv = dataclasses.replace(v21.microversions, max=TOP)
    monkeypatch.setattr(app_module, "OPENSTACK", dataclasses.replace(
        OPENSTACK, roots=(dataclasses.replace(v21, microversions=mv), *others)))
    client = await aiohttp_client(create_app(cfg))
    yield Api(client)
    service = client.server.app[servers_key]
    await service.wait_idle()
    for server in service.store.read(servers_db.list_all_live):
        await service.guests.destroy(server.uuid, server.instance_name)


async def _get(api: Api, path: str, token: str, version: str = "2.1", status: int = 200):
    resp = await api.get(path, token, headers={"X-OpenStack-Nova-API-Version": version})
    assert resp.status == status, await resp.text()
    return await resp.json()


async def _put(api: Api, path: str, token: str, body: dict, version: str = "2.1"):
    return await api.put(path, token, json=body, headers={"X-OpenStack-Nova-API-Version": version})


async def _boot(api: Api, make_user, image: str, name: str) -> dict:
    token = await make_user("proj-a", "member", name="image-owner-" + name)  # the image is proj-a's
    resp = await api.post("/servers", token, json=_create_body(imageRef=image, name=name))
    assert resp.status == 202, await resp.text()
    server_id = (await resp.json())["server"]["id"]
    await api.client.server.app[servers_key].wait_idle()
    return (await _get(api, f"/servers/{server_id}", token))["server"]


@pytest.mark.parametrize("path", ["/os-services", "/os-hypervisors", "/os-hypervisors/detail",
                                  "/os-hypervisors/statistics", "/os-hypervisors/1", "/os-hypervisors/1/uptime"])
async def test_admin_only(api, make_user, path):
    token = await make_user("proj-a", "member")
    rule = {"/os-services": "os-services:list", "/os-hypervisors": "os-hypervisors:list",
            "/os-hypervisors/detail": "os-hypervisors:list-detail",
            "/os-hypervisors/statistics": "os-hypervisors:statistics", "/os-hypervisors/1": "os-hypervisors:show",
            "/os-hypervisors/1/uptime": "os-hypervisors:uptime"}[path]
    await assert_fault(await api.get(path, token), 403, "forbidden",
                       f"Policy doesn't allow os_compute_api:{rule} to be performed.")


async def test_services_list_per_microversion(api, admin_token, cfg):
    services = (await _get(api, "/os-services", admin_token))["services"]
    assert [(s["binary"], s["host"], s["zone"], s["status"], s["state"]) for s in services] == [
        ("nova-scheduler", cfg.host_name, "internal", "enabled", "up"),
        ("nova-conductor", cfg.host_name, "internal", "enabled", "up"),
        ("nova-compute", cfg.host_name, "nova", "enabled", "up")]
    assert all(isinstance(s["id"], int) and "forced_down" not in s for s in services)
    assert all(s["forced_down"] is False for s in (await _get(api, "/os-services", admin_token, "2.11"))["services"])
    later = (await _get(api, "/os-services?binary=nova-compute", admin_token, "2.53"))["services"]
    assert len(later) == 1 and len(later[0]["id"]) == 36
    await assert_fault(await api.get("/os-services?color=red", admin_token,
                                     headers={"X-OpenStack-Nova-API-Version": "2.75"}), 400, "badRequest")


async def test_disabled_compute_finds_no_host_until_enabled(api, admin_token, make_user, cfg, image_id):  # noqa: F811
    compute = {"host": cfg.host_name, "binary": "nova-compute"}
    resp = await _put(api, "/os-services/disable-log-reason", admin_token, {**compute, "disabled_reason": "fans"})
    assert resp.status == 200 and await resp.json() == {"service": {**compute, "status": "disabled",
                                                                    "disabled_reason": "fans"}}
    listed = (await _get(api, "/os-services?binary=nova-compute", admin_token))["services"][0]
    assert (listed["status"], listed["disabled_reason"]) == ("disabled", "fans")
    refused = await _boot(api, make_user, image_id, "refused")
    assert refused["status"] == "ERROR" and refused["fault"]["message"] == NO_VALID_HOST
    resp = await _put(api, "/os-services/enable", admin_token, compute)
    assert await resp.json() == {"service": {**compute, "status": "enabled"}}
    assert (await _boot(api, make_user, image_id, "accepted"))["status"] == "ACTIVE"
    resp = await _put(api, "/os-services/force-down", admin_token, {**compute, "forced_down": True}, "2.11")
    assert await resp.json() == {"service": {**compute, "forced_down": True}}
    assert (await _get(api, "/os-hypervisors", admin_token))["hypervisors"][0]["state"] == "down"
    assert (await _boot(api, make_user, image_id, "down"))["status"] == "ERROR"


async def test_service_updates_refused_like_nova(api, admin_token, cfg):
    await assert_fault(await _put(api, "/os-services/disable", admin_token,
                                  {"host": cfg.host_name, "binary": "nova-scheduler"}), 400, "badRequest",
                       "Updating a nova-scheduler service is not supported. Only nova-compute services can be updated.")
    await assert_fault(await _put(api, "/os-services/disable", admin_token,
                                  {"host": "elsewhere", "binary": "nova-compute"}), 404, "itemNotFound")
    await assert_fault(await _put(api, "/os-services/force-down", admin_token,
                                  {"host": cfg.host_name, "binary": "nova-compute", "forced_down": True}), 404)
    await assert_fault(await _put(api, "/os-services/enable", admin_token,
                                  {"host": cfg.host_name, "binary": "nova-compute"}, "2.53"), 404)
    compute = (await _get(api, "/os-services?binary=nova-compute", admin_token, "2.53"))["services"][0]
    path = f"/os-services/{compute['id']}"
    await assert_fault(await _put(api, path, admin_token, {"status": "enabled", "disabled_reason": "x"}, "2.53"),
                       400, "badRequest", "Specifying 'disabled_reason' with status 'enabled' is invalid.")
    await assert_fault(await _put(api, path, admin_token, {}, "2.53"), 400, "badRequest",
                       "No updates were requested. Fields 'status' or 'forced_down' should be specified.")
    await assert_fault(await _put(api, "/os-services/1", admin_token, {"status": "enabled"}, "2.53"), 400,
                       "badRequest", "Invalid uuid 1")
    resp = await _put(api, path, admin_token, {"status": "disabled", "disabled_reason": "fans"}, "2.53")
    updated = (await resp.json())["service"]
    assert (updated["id"], updated["status"], updated["disabled_reason"], updated["forced_down"]) == (
        compute["id"], "disabled", "fans", False)


async def test_delete_service(api, admin_token, make_user, image_id):  # noqa: F811
    services = {s["binary"]: s for s in (await _get(api, "/os-services", admin_token))["services"]}
    await _boot(api, make_user, image_id, "resident")
    await assert_fault(await api.delete(f"/os-services/{services['nova-compute']['id']}", admin_token), 409,
                       "conflictingRequest", "Unable to delete compute service that is hosting instances. "
                       "Migrate or delete the instances first.")
    await assert_fault(await api.delete("/os-services/abc", admin_token), 400, "badRequest")
    assert (await api.delete(f"/os-services/{services['nova-conductor']['id']}", admin_token)).status == 204
    await assert_fault(await api.delete(f"/os-services/{services['nova-conductor']['id']}", admin_token), 404)
    left = [s["binary"] for s in (await _get(api, "/os-services", admin_token))["services"]]
    assert left == ["nova-scheduler", "nova-compute"]


async def test_hypervisor_detail_tells_the_host_and_its_servers(api, admin_token, make_user, cfg, image_id):  # noqa: F811
    before = (await _get(api, "/os-hypervisors/detail", admin_token))["hypervisors"]
    assert len(before) == 1
    h = before[0]
    conn_facts = await api.client.server.app[host_services_key].read_stats()
    disk = host_os.disk_usage(cfg.instances_dir)
    assert (h["id"], h["hypervisor_hostname"], h["hypervisor_type"], h["state"], h["status"]) == (
        1, conn_facts.hypervisor_hostname, conn_facts.hypervisor_type, "up", "enabled")
    assert (h["vcpus"], h["memory_mb"], h["local_gb"]) == (conn_facts.vcpus, conn_facts.memory_mb, disk.total_gb)
    assert (h["vcpus_used"], h["memory_mb_used"], h["running_vms"], h["local_gb_used"]) == (0, 512, 0, 0)
    assert h["free_ram_mb"] == h["memory_mb"] - 512 and h["free_disk_gb"] == h["local_gb"]
    assert json.loads(h["cpu_info"]) == conn_facts.cpu_info.as_nova()
    assert h["service"] == {"id": 3, "host": cfg.host_name, "disabled_reason": None}
    server = await _boot(api, make_user, image_id, "counted")
    after = (await _get(api, "/os-hypervisors/1", admin_token))["hypervisor"]
    assert (after["vcpus_used"], after["memory_mb_used"], after["running_vms"], after["local_gb_used"]) == (
        1, 512 + 128, 1, 1)  # flavor 42: 1 vCPU, 128 MiB, 1 GiB
    stats = (await _get(api, "/os-hypervisors/statistics", admin_token))["hypervisor_statistics"]
    assert (stats["count"], stats["vcpus_used"], stats["running_vms"]) == (1, 1, 1)
    name = h["hypervisor_hostname"]
    found = (await _get(api, f"/os-hypervisors/{name[1:4]}/servers", admin_token))["hypervisors"][0]
    assert [s["uuid"] for s in found["servers"]] == [server["id"]]
    assert found["servers"][0]["name"].startswith("instance-")
    await assert_fault(await api.get("/os-hypervisors/no-such-host/search", admin_token), 404, "itemNotFound",
                       "No hypervisor matching 'no-such-host' could be found.")
    await assert_fault(await api.get("/os-hypervisors/7", admin_token), 404, "itemNotFound",
                       "Hypervisor with ID '7' could not be found.")


async def test_hypervisor_views_per_microversion(api, admin_token):
    assert isinstance((await _get(api, "/os-hypervisors/1", admin_token, "2.28"))["hypervisor"]["cpu_info"], dict)
    paged = await _get(api, "/os-hypervisors?limit=1", admin_token, "2.33")
    assert paged["hypervisors_links"][0]["href"].endswith("/os-hypervisors?limit=1&marker=1")
    assert (await _get(api, "/os-hypervisors?marker=1", admin_token, "2.33"))["hypervisors"] == []
    listed = (await _get(api, "/os-hypervisors?with_servers=true", admin_token, "2.53"))["hypervisors"][0]
    assert len(listed["id"]) == 36 and "servers" not in listed
    assert (await _get(api, "/os-hypervisors?with_servers=1", admin_token, "2.75"))["hypervisors"][0]["servers"] == []
    await assert_fault(await api.get("/os-hypervisors/1", admin_token,
                                     headers={"X-OpenStack-Nova-API-Version": "2.53"}), 400, "badRequest",
                       "Invalid uuid 1")
    await assert_fault(await api.get("/os-hypervisors?hypervisor_hostname_pattern=a&limit=1", admin_token,
                                     headers={"X-OpenStack-Nova-API-Version": "2.53"}), 400, "badRequest")
    shown = (await _get(api, f"/os-hypervisors/{listed['id']}", admin_token, "2.88"))["hypervisor"]
    assert set(shown) == {"id", "hypervisor_hostname", "state", "status", "hypervisor_type", "hypervisor_version",
                          "host_ip", "service", "uptime"}
    assert " up " in shown["uptime"] and "load average" in shown["uptime"]
    await _get(api, "/os-hypervisors/statistics", admin_token, "2.88", status=404)
    await _get(api, f"/os-hypervisors/{listed['id']}/uptime", admin_token, "2.88", status=404)
    await _get(api, "/os-hypervisors/a/search", admin_token, "2.53", status=404)
    uptime = (await _get(api, "/os-hypervisors/1/uptime", admin_token))["hypervisor"]
    assert set(uptime) == {"id", "hypervisor_hostname", "state", "status", "uptime"}


async def test_migrations_are_none_on_one_host(api, admin_token, make_user, image_id):  # noqa: F811
    member = await make_user("proj-a", "member")
    await assert_fault(await api.get("/os-migrations", member), 403, "forbidden")
    assert await _get(api, "/os-aggregates", admin_token) == {"aggregates": []}  # `openstack hypervisor show`
    await assert_fault(await api.get("/os-aggregates", member), 403, "forbidden")
    assert await _get(api, "/os-migrations?status=done&host=x", admin_token) == {"migrations": []}
    assert await _get(api, "/os-migrations?user_id=u&project_id=p", admin_token, "2.80") == {"migrations": []}
    await assert_fault(await api.get("/os-migrations?marker=abc", admin_token, headers={
        "X-OpenStack-Nova-API-Version": "2.59"}), 400, "badRequest", "Marker abc could not be found.")
    await assert_fault(await api.get("/os-migrations?color=red", admin_token, headers={
        "X-OpenStack-Nova-API-Version": "2.59"}), 400, "badRequest")
    server = await _boot(api, make_user, image_id, "still")
    await _get(api, f"/servers/{server['id']}/migrations", admin_token, "2.22", status=404)
    assert await _get(api, f"/servers/{server['id']}/migrations", admin_token, "2.23") == {"migrations": []}
    await assert_fault(await api.get(f"/servers/{server['id']}/migrations/4", admin_token, headers={
        "X-OpenStack-Nova-API-Version": "2.23"}), 404, "itemNotFound",
        f"In-progress live migration 4 is not found for server {server['id']}.")
