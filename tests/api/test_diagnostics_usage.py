"""Server diagnostics (#1901, both forms) and os-simple-tenant-usage (#2001, #2002) from the servers' real
lifetimes under the injected clock (issue 12). The whole app on libvirt's test driver (a real guest's counters:
tests/integration/test_host_views.py)."""
from __future__ import annotations

import dataclasses

import pytest

from nodecompute import app as app_module
from nodecompute.api.dialects.openstack import OPENSTACK
from nodecompute.api.keys import servers_key
from nodecompute.app import create_app, store_key
from nodecompute.db import identity as identity_db
from nodecompute.identity import accounts
from nodecompute.db import servers as servers_db
from tests.api.helpers import Api, assert_fault, upload_raw_image
from tests.api.test_clock import START, MovableClock
from tests.api.test_servers_api import _project_id


@pytest.fixture
async def clocked(aiohttp_client, cfg, monkeypatch):
    v21, *others = OPENSTACK.roots
    mv = dataclasses.replace(v21.microversions, max=(2, 100))
    monkeypatch.setattr(app_module, "OPENSTACK", dataclasses.replace(
        OPENSTACK, roots=(dataclasses.replace(v21, microversions=mv), *others)))
    clock = MovableClock(START)
    client = await aiohttp_client(create_app(cfg, clock=clock))
    yield Api(client), clock
    service = client.server.app[servers_key]
    await service.wait_idle()
    for server in service.store.read(servers_db.list_all_live):
        await service.guests.destroy(server.uuid, server.instance_name)


def _v(version: str) -> dict:
    return {"X-OpenStack-Nova-API-Version": version}


async def _server(api: Api, token: str, image_id: str, name: str) -> str:
    resp = await api.post("/servers", token, json={"server": {"name": name, "imageRef": image_id, "flavorRef": "42"}})
    assert resp.status == 202, await resp.text()
    await api.client.server.app[servers_key].wait_idle()
    return (await resp.json())["server"]["id"]


async def _member(api: Api, cfg, project: str) -> str:
    def create(db):
        if identity_db.find_project(db, project) is None:
            identity_db.create_project(db, project, now=START)
        accounts.create_user(db, cfg, f"{project}-user", project, "member", "pw", now=START)

    await api.client.server.app[store_key].write(create)
    return await api.token(f"{project}-user", "pw", project)


async def test_diagnostics_forms_policy_and_state(clocked, cfg):
    api, clock = clocked
    admin = await api.token("admin", "admin-secret", "admin")
    image_id = await upload_raw_image(api.client.server.app, admin)
    server_id = await _server(api, admin, image_id, "diag")
    clock.move(seconds=90)
    legacy = await (await api.get(f"/servers/{server_id}/diagnostics", admin)).json()
    assert legacy["cpu0_time"] >= 0 and legacy["memory"] == 128 * 1024
    standard = await (await api.get(f"/servers/{server_id}/diagnostics", admin, headers=_v("2.48"))).json()
    assert (standard["state"], standard["driver"], standard["hypervisor_os"], standard["uptime"]) == (
        "running", "libvirt", "linux", 90)
    assert standard["memory_details"]["maximum"] == 128 and standard["num_cpus"] == len(standard["cpu_details"]) == 1
    row = api.client.server.app[servers_key].store.read(servers_db.get_server, server_id)
    assert standard["config_drive"] is bool(row.config_drive) and standard["num_disks"] == len(
        standard["disk_details"])
    member = await _member(api, cfg, "admin")
    await assert_fault(await api.get(f"/servers/{server_id}/diagnostics", member), 403, "forbidden",
                       "Policy doesn't allow os_compute_api:os-server-diagnostics to be performed.")
    assert (await api.post(f"/servers/{server_id}/action", admin, json={"os-stop": None})).status == 202
    await api.client.server.app[servers_key].wait_idle()
    await assert_fault(await api.get(f"/servers/{server_id}/diagnostics", admin), 409, "conflictingRequest",
                       f"Cannot 'get_diagnostics' instance {server_id} while it is in vm_state stopped")


async def test_usage_from_lifetimes(clocked, cfg):
    api, clock = clocked
    admin = await api.token("admin", "admin-secret", "admin")
    image_id = await upload_raw_image(api.client.server.app, admin)
    first = await _server(api, admin, image_id, "first")  # launched at START
    clock.move(hours=1)
    admin = await api.token("admin", "admin-secret", "admin")  # tokens expire by the same clock
    second = await _server(api, admin, image_id, "second")  # launched at START + 1 h
    clock.move(hours=2)
    admin = await api.token("admin", "admin-secret", "admin")
    assert (await api.delete(f"/servers/{first}", admin)).status == 204  # first lived 3 h
    await api.client.server.app[servers_key].wait_idle()
    clock.move(hours=1)  # second has lived 3 h by now
    admin = await api.token("admin", "admin-secret", "admin")
    since = (START.replace(microsecond=0)).isoformat()
    body = await (await api.get(f"/os-simple-tenant-usage?start={since}&detailed=1", admin)).json()
    (usage,) = body["tenant_usages"]
    assert usage["tenant_id"] == _project_id(api, "admin")
    assert abs(usage["total_hours"] - 6.0) < 1 / 3600
    assert abs(usage["total_memory_mb_usage"] - 6.0 * 128) < 1 and abs(usage["total_vcpus_usage"] - 6.0) < 0.01
    by_name = {s["name"]: s for s in usage["server_usages"]}
    assert by_name["first"]["state"] == "terminated" and by_name["first"]["uptime"] == 3 * 3600
    assert by_name["second"]["state"] == "active" and by_name["second"]["ended_at"] is None
    assert abs(by_name["second"]["hours"] - 3.0) < 1 / 3600 and by_name["second"]["flavor"] == "m1.nano"
    window = await (await api.get(f"/os-simple-tenant-usage/{usage['tenant_id']}?start={since}"
                                  f"&end={(START.replace(microsecond=0)).isoformat()[:11]}05:35:06", admin)).json()
    # first's first 1.5 h and second's first 0.5 h (both launched START's 0.789 s past the whole second)
    assert abs(window["tenant_usage"]["total_hours"] - (2.0 - 2 * 0.789 / 3600)) < 1 / 3600
    paged = await (await api.get(f"/os-simple-tenant-usage?start={since}&limit=1", admin,
                                 headers=_v("2.40"))).json()
    assert f"marker={first}&" in paged["tenant_usages_links"][0]["href"] and len(paged["tenant_usages"]) == 1
    empty = await (await api.get("/os-simple-tenant-usage/nobody", admin)).json()
    assert empty == {"tenant_usage": {}}
    await assert_fault(await api.get("/os-simple-tenant-usage?start=yesterday", admin), 400, "badRequest")
    await assert_fault(await api.get(f"/os-simple-tenant-usage?start=2040-01-01T00:00:00", admin), 400,
                       "badRequest", "Invalid start time. The start time cannot occur after the end time.")
    member = await _member(api, cfg, "other")
    await assert_fault(await api.get("/os-simple-tenant-usage", member), 403, "forbidden")
    await assert_fault(await api.get(f"/os-simple-tenant-usage/{usage['tenant_id']}", member), 403, "forbidden")


async def test_diagnostics_of_a_server_whose_domain_is_gone_is_a_409(clocked):
    """Found by the OpenAPI fuzzer (tests/api/test_fuzz_openapi.py): an ACTIVE server whose domain is not on the host
    (the reconciler's case) made diagnostics answer 500."""
    from tests.api.test_servers_api import _insert

    api, _ = clocked
    admin = await api.token("admin", "admin-secret", "admin")
    server = await _insert(api, _project_id(api, "admin"), name="no-domain")
    await assert_fault(await api.get(f"/servers/{server.uuid}/diagnostics", admin), 409, "conflictingRequest",
                       f"Cannot 'get_diagnostics' instance {server.uuid}: its domain is not on this host")
