"""The rest of issue 12 on libvirt's test driver: os-hosts (#2119-#2122, gone from 2.43), the admin server actions
(#2101-#2106: resetState, migrate, os-migrateLive, evacuate, resetNetwork, injectNetworkInfo) as Nova answers them
on a cloud with one compute host, and os-instance_usage_audit_log (#2003/#2004)."""
from __future__ import annotations

from datetime import datetime

import pytest

from nodecompute.api.keys import clock_key, host_services_key, servers_key
from nodecompute.compute.usage_audit import last_completed_month
from nodecompute.db import servers as servers_db
from tests.api.helpers import Api, assert_fault
from tests.api.test_host_services import _boot, _get, _put, api  # noqa: F401 (api is a fixture)
from tests.api.test_servers_api import image_id  # noqa: F401 (a fixture)

NO_HOST = "No valid host was found. There are not enough hosts available."


async def _action(api: Api, server_id: str, token: str, body: dict, version: str = "2.1"):
    return await api.post(f"/servers/{server_id}/action", token, json=body,
                          headers={"X-OpenStack-Nova-API-Version": version})


async def _force_down(api: Api, token: str, host: str, down: bool = True) -> None:
    resp = await _put(api, "/os-services/force-down", token,
                      {"host": host, "binary": "nova-compute", "forced_down": down}, "2.11")
    assert resp.status == 200, await resp.text()


async def _last_action(api: Api, server_id: str, token: str) -> dict:
    actions = (await _get(api, f"/servers/{server_id}/os-instance-actions", token, "2.51"))["instanceActions"]
    request_id = actions[0]["request_id"]
    return (await _get(api, f"/servers/{server_id}/os-instance-actions/{request_id}", token, "2.51"))[
        "instanceAction"]


# ----- os-hosts ----------------------------------------------------------------------------------------------------

async def test_hosts_list_show_and_filters(api, admin_token, make_user, image_id, cfg):  # noqa: F811
    host = cfg.host_name
    listed = (await _get(api, "/os-hosts", admin_token))["hosts"]
    assert listed == [{"host_name": host, "service": "scheduler", "zone": "internal"},
                      {"host_name": host, "service": "conductor", "zone": "internal"},
                      {"host_name": host, "service": "compute", "zone": "nova"}]
    assert (await _get(api, "/os-hosts?zone=nova", admin_token))["hosts"] == listed[2:]
    before = (await _get(api, f"/os-hosts/{host}", admin_token))["host"]
    hypervisor = (await _get(api, "/os-hypervisors/detail", admin_token))["hypervisors"][0]
    assert [r["resource"]["project"] for r in before] == ["(total)", "(used_now)", "(used_max)"]
    assert before[0]["resource"] == {"host": host, "project": "(total)", "cpu": hypervisor["vcpus"],
                                     "memory_mb": hypervisor["memory_mb"], "disk_gb": hypervisor["local_gb"]}
    assert before[2]["resource"] | {"host": host} == {"host": host, "project": "(used_max)", "cpu": 0,
                                                      "memory_mb": 0, "disk_gb": 0}
    server = await _boot(api, make_user, image_id, "counted")
    after = (await _get(api, f"/os-hosts/{host}", admin_token))["host"]
    assert [r["resource"]["project"] for r in after] == ["(total)", "(used_now)", "(used_max)",
                                                         server["tenant_id"]]
    flavor = (await _get(api, "/flavors/42", admin_token))["flavor"]
    assert after[3]["resource"] == after[2]["resource"] | {"project": server["tenant_id"]}
    assert after[2]["resource"] == {"host": host, "project": "(used_max)", "cpu": flavor["vcpus"],
                                    "memory_mb": flavor["ram"],
                                    "disk_gb": flavor["disk"] + flavor["OS-FLV-EXT-DATA:ephemeral"]}
    assert after[1]["resource"]["memory_mb"] == before[1]["resource"]["memory_mb"] + flavor["ram"]
    # a disabled compute service leaves the list (Nova lists enabled services only)
    resp = await _put(api, "/os-services/disable", admin_token, {"host": host, "binary": "nova-compute"})
    assert resp.status == 200
    assert [h["service"] for h in (await _get(api, "/os-hosts", admin_token))["hosts"]] == ["scheduler", "conductor"]


async def test_hosts_update_and_power_actions_as_libvirt(api, admin_token, cfg):  # noqa: F811
    host = cfg.host_name
    resp = await _put(api, f"/os-hosts/{host}", admin_token, {"status": "Disable"})
    assert resp.status == 200 and await resp.json() == {"host": host, "status": "disabled"}
    compute = api.client.server.app[host_services_key].compute_service(host)
    assert not compute.disabled  # Nova's compute manager answers without effect for the libvirt driver
    resp = await _put(api, f"/os-hosts/{host}", admin_token, {"status": "enable", "maintenance_mode": "enable"})
    await assert_fault(resp, 501, "notImplemented", "The requested functionality is not supported.")
    for action in ("startup", "shutdown", "reboot"):
        await assert_fault(await api.get(f"/os-hosts/{host}/{action}", admin_token), 501, "notImplemented")
        await assert_fault(await api.get(f"/os-hosts/elsewhere/{action}", admin_token), 404, "itemNotFound",
                           "Host 'elsewhere' is not mapped to any cell")
    await assert_fault(await api.get("/os-hosts/elsewhere", admin_token), 404, "itemNotFound")
    await assert_fault(await _put(api, "/os-hosts/elsewhere", admin_token, {"status": "enable"}), 404)
    await assert_fault(await _put(api, f"/os-hosts/{host}", admin_token, {}), 400, "badRequest")
    await assert_fault(await _put(api, f"/os-hosts/{host}", admin_token, {"status": "on"}), 400, "badRequest")


async def test_hosts_admin_only_and_gone_at_243(api, admin_token, make_user, cfg):  # noqa: F811
    member = await make_user("proj-a", "member")
    await assert_fault(await api.get("/os-hosts", member), 403, "forbidden",
                       "Policy doesn't allow os_compute_api:os-hosts:list to be performed.")
    await assert_fault(await api.get(f"/os-hosts/{cfg.host_name}/reboot", member), 403, "forbidden",
                       "os_compute_api:os-hosts:reboot")
    await _get(api, "/os-hosts", admin_token, "2.42")
    for path in ("/os-hosts", f"/os-hosts/{cfg.host_name}", f"/os-hosts/{cfg.host_name}/startup"):
        resp = await api.get(path, admin_token, headers={"X-OpenStack-Nova-API-Version": "2.43"})
        assert resp.status == 404


# ----- os-resetState, injectNetworkInfo, resetNetwork --------------------------------------------------------------

async def test_reset_state_inject_and_reset_network(api, admin_token, make_user, image_id):  # noqa: F811
    server = await _boot(api, make_user, image_id, "reset")
    server_id = server["id"]
    resp = await _action(api, server_id, admin_token, {"os-resetState": {"state": "error"}})
    assert resp.status == 202
    shown = (await _get(api, f"/servers/{server_id}", admin_token))["server"]
    assert (shown["status"], shown["OS-EXT-STS:vm_state"], shown["OS-EXT-STS:task_state"]) == ("ERROR", "error",
                                                                                               None)
    assert (await _last_action(api, server_id, admin_token))["action"] == "resetState"
    assert (await _action(api, server_id, admin_token, {"os-resetState": {"state": "active"}})).status == 202
    assert (await _get(api, f"/servers/{server_id}", admin_token))["server"]["status"] == "ACTIVE"
    await assert_fault(await _action(api, server_id, admin_token, {"os-resetState": {"state": "stopped"}}), 400)
    member = await make_user("proj-a", "member", name="member-reset")
    await assert_fault(await _action(api, server_id, member, {"os-resetState": {"state": "error"}}), 403,
                       "forbidden", "os_compute_api:os-admin-actions:reset_state")
    stranger = await make_user("proj-b", "member")
    await assert_fault(await _action(api, server_id, stranger, {"os-resetState": {"state": "error"}}), 404)
    assert (await _action(api, server_id, admin_token, {"injectNetworkInfo": None})).status == 202
    await assert_fault(await _action(api, server_id, member, {"injectNetworkInfo": None}), 403)
    for token in (admin_token, member):  # gone before any check, as Nova
        await assert_fault(await _action(api, server_id, token, {"resetNetwork": None}), 410, "computeFault",
                           "This resource is no longer available.")
    assert (await _get(api, f"/servers/{server_id}", admin_token))["server"]["status"] == "ACTIVE"


# ----- migrate, os-migrateLive, evacuate ---------------------------------------------------------------------------

async def test_migrate_finds_no_other_host(api, admin_token, make_user, image_id, cfg):  # noqa: F811
    server_id = (await _boot(api, make_user, image_id, "cold"))["id"]
    assert (await _action(api, server_id, admin_token, {"migrate": None})).status == 202
    shown = (await _get(api, f"/servers/{server_id}", admin_token))["server"]
    assert (shown["status"], shown["OS-EXT-STS:task_state"]) == ("ACTIVE", None)
    action = await _last_action(api, server_id, admin_token)
    assert (action["action"], action["message"]) == ("migrate", "Error")
    assert [(e["event"], e["result"]) for e in action["events"]] == [("conductor_migrate_server", "Error")]
    assert (await _get(api, "/os-migrations", admin_token))["migrations"] == []
    # 2.56: a named host is checked first; before 2.56 the body is not looked into
    await assert_fault(await _action(api, server_id, admin_token, {"migrate": {"host": cfg.host_name}}, "2.56"),
                       400, "badRequest", "Cannot migrate to the host where the server exists.")
    await assert_fault(await _action(api, server_id, admin_token, {"migrate": {"host": "other"}}, "2.56"), 400,
                       "badRequest", "Compute host other could not be found.")
    assert (await _action(api, server_id, admin_token, {"migrate": {"host": "other"}}, "2.55")).status == 202
    await assert_fault(await _action(api, server_id, admin_token, {"migrate": {"size": 1}}, "2.56"), 400)
    assert (await _action(api, server_id, admin_token, {"pause": None})).status == 202
    await api.client.server.app[servers_key].wait_idle()
    await assert_fault(await _action(api, server_id, admin_token, {"migrate": None}), 409, "conflictingRequest",
                       f"Cannot 'migrate' instance {server_id} while it is in vm_state paused")
    member = await make_user("proj-a", "member", name="member-cold")
    await assert_fault(await _action(api, server_id, member, {"migrate": None}), 403, "forbidden",
                       "os_compute_api:os-migrate-server:migrate")


async def test_live_migrate_per_microversion(api, admin_token, make_user, image_id, cfg):  # noqa: F811
    server_id = (await _boot(api, make_user, image_id, "live"))["id"]
    body = {"os-migrateLive": {"host": None, "block_migration": False, "disk_over_commit": False}}
    await assert_fault(await _action(api, server_id, admin_token, body), 400, "badRequest", NO_HOST)
    own = {"os-migrateLive": {"host": cfg.host_name, "block_migration": False, "disk_over_commit": False}}
    await assert_fault(await _action(api, server_id, admin_token, own), 400, "badRequest",
                       f"Unable to migrate instance ({server_id}) to current host ({cfg.host_name}).")
    await assert_fault(await _action(api, server_id, admin_token, {"os-migrateLive": {"host": None,
                                                                                      "block_migration": False}}),
                       400, "badRequest", "'disk_over_commit' is a required property")
    auto = {"os-migrateLive": {"host": None, "block_migration": "auto"}}
    await assert_fault(await _action(api, server_id, admin_token, auto, "2.25"), 400, "badRequest", NO_HOST)
    await assert_fault(await _action(api, server_id, admin_token, {"os-migrateLive": {
        "host": None, "block_migration": "auto", "force": True}}, "2.30"), 400, "badRequest",
        "Can't force to a non-provided destination")
    await assert_fault(await _action(api, server_id, admin_token, {"os-migrateLive": {
        "host": "other", "block_migration": "auto"}}, "2.30"), 400, "badRequest",
        "Compute host other could not be found.")
    # 2.34: the checks run after the answer; the failure is in the instance action
    assert (await _action(api, server_id, admin_token, auto, "2.34")).status == 202
    action = await _last_action(api, server_id, admin_token)
    assert (action["action"], [(e["event"], e["result"]) for e in action["events"]]) == (
        "live-migration", [("conductor_live_migrate_instance", "Error")])
    shown = (await _get(api, f"/servers/{server_id}", admin_token))["server"]
    assert (shown["status"], shown["OS-EXT-STS:task_state"]) == ("ACTIVE", None)
    await assert_fault(await _action(api, server_id, admin_token, {"os-migrateLive": {
        "host": None, "block_migration": "auto", "force": False}}, "2.68"), 400, "badRequest")


async def test_evacuate_needs_a_down_compute(api, admin_token, make_user, image_id, cfg):  # noqa: F811
    server_id = (await _boot(api, make_user, image_id, "evacuee"))["id"]
    await assert_fault(await _action(api, server_id, admin_token, {"evacuate": {"onSharedStorage": "False"}}), 400,
                       "badRequest", f"Compute service of {cfg.host_name} is still in use.")
    await assert_fault(await _action(api, server_id, admin_token, {"evacuate": {"host": "other"}}, "2.14"), 404,
                       "itemNotFound", "Compute host other not found.")
    await assert_fault(await _action(api, server_id, admin_token, {"evacuate": {"host": cfg.host_name}}, "2.14"),
                       400, "badRequest", "The target host can't be the same one.")
    await assert_fault(await _action(api, server_id, admin_token, {"evacuate": {
        "onSharedStorage": "True", "adminPass": "pw"}}), 400, "badRequest", "admin password can't be changed")
    await assert_fault(await _action(api, server_id, admin_token, {"evacuate": {"force": True}}, "2.29"), 400,
                       "badRequest", "Can't force to a non-provided destination")
    await assert_fault(await _action(api, server_id, admin_token, {"evacuate": {}}), 400, "badRequest",
                       "'onSharedStorage' is a required property")
    await _force_down(api, admin_token, cfg.host_name)
    resp = await _action(api, server_id, admin_token, {"evacuate": {"onSharedStorage": "False"}})
    assert resp.status == 200
    assert len((await resp.json())["adminPass"]) == 12
    shown = (await _get(api, f"/servers/{server_id}", admin_token))["server"]
    assert (shown["status"], shown["OS-EXT-STS:task_state"], shown["fault"]["message"]) == ("ERROR", None, NO_HOST)
    assert (await _last_action(api, server_id, admin_token))["action"] == "evacuate"
    # from 2.14 no adminPass; an ERROR server may be evacuated again
    resp = await _action(api, server_id, admin_token, {"evacuate": {"adminPass": "secret"}}, "2.14")
    assert resp.status == 200 and await resp.read() == b""
    await _force_down(api, admin_token, cfg.host_name, down=False)


# ----- os-instance_usage_audit_log ---------------------------------------------------------------------------------

def test_last_completed_month():
    assert last_completed_month(datetime(2026, 12, 3, 21, 0)) == (datetime(2026, 11, 1), datetime(2026, 12, 1))
    assert last_completed_month(datetime(2026, 1, 1)) == (datetime(2025, 11, 1), datetime(2025, 12, 1))
    assert last_completed_month(datetime(2026, 1, 1, 0, 0, 1)) == (datetime(2025, 12, 1), datetime(2026, 1, 1))


async def test_usage_audit_log_reports_no_audit_run(api, admin_token, make_user, cfg):  # noqa: F811
    now = api.client.server.app[clock_key]()
    begin, end = last_completed_month(now)
    body = (await _get(api, "/os-instance_usage_audit_log", admin_token))["instance_usage_audit_logs"]
    assert body == {"period_beginning": str(begin), "period_ending": str(end), "num_hosts": 1, "num_hosts_done": 0,
                    "num_hosts_running": 0, "num_hosts_not_run": 1, "hosts_not_run": [cfg.host_name],
                    "total_instances": 0, "total_errors": 0, "overall_status": "0 of 1 hosts done. 0 errors.",
                    "log": {}}
    shown = (await _get(api, "/os-instance_usage_audit_log/2012-07-05 10:00:00.5", admin_token))
    assert (shown["instance_usage_audit_log"]["period_beginning"],
            shown["instance_usage_audit_log"]["period_ending"]) == ("2012-06-01 00:00:00", "2012-07-01 00:00:00")
    await assert_fault(await api.get("/os-instance_usage_audit_log/yesterday", admin_token), 400, "badRequest",
                       "Invalid timestamp for date yesterday")
    await _get(api, "/os-instance_usage_audit_log?x=1", admin_token, "2.100")  # ignored up to 2.101
    member = await make_user("proj-a", "member")
    await assert_fault(await api.get("/os-instance_usage_audit_log", member), 403, "forbidden",
                       "os_compute_api:os-instance-usage-audit-log:list")


async def test_no_live_migration_to_force_or_abort(api, admin_token, make_user, image_id):  # noqa: F811
    server_id = (await _boot(api, make_user, image_id, "steady"))["id"]
    path, body = f"/servers/{server_id}/migrations/1", {"force_complete": None}
    assert (await api.post(path + "/action", admin_token, json=body,
                           headers={"X-OpenStack-Nova-API-Version": "2.21"})).status == 404
    resp = await api.post(path + "/action", admin_token, json=body, headers={"X-OpenStack-Nova-API-Version": "2.22"})
    await assert_fault(resp, 409, "conflictingRequest",
                       f"Cannot 'force_complete' instance {server_id} while it is in task_state None")
    assert (await api.delete(path, admin_token, headers={"X-OpenStack-Nova-API-Version": "2.23"})).status == 404
    resp = await api.delete(path, admin_token, headers={"X-OpenStack-Nova-API-Version": "2.24"})
    await assert_fault(resp, 409, "conflictingRequest", "Cannot 'abort live migration' instance")
    member = await make_user("proj-a", "member", name="member-steady")
    resp = await api.delete(path, member, headers={"X-OpenStack-Nova-API-Version": "2.24"})
    await assert_fault(resp, 403, "forbidden", "os_compute_api:servers:migrations:delete")
    # a server caught in task_state migrating has no migration record here
    app = api.client.server.app
    await app[servers_key].store.write(servers_db.update_server, server_id, {"task_state": "migrating"},
                                       now=app[clock_key]())
    resp = await api.post(path + "/action", admin_token, json=body, headers={"X-OpenStack-Nova-API-Version": "2.22"})
    await assert_fault(resp, 400, "badRequest", f"Migration 1 not found for instance {server_id}")
    resp = await api.delete(path, admin_token, headers={"X-OpenStack-Nova-API-Version": "2.65"})
    await assert_fault(resp, 404, "itemNotFound", f"Migration 1 not found for instance {server_id}")
    resp = await _action(api, server_id, admin_token, {"os-resetState": {"state": "active"}})
    assert resp.status == 202
