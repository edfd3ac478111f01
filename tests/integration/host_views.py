"""Issue 12's proofs on the real daemon and the shared main guest of test_servers_guest.py (no guest of their own):
the hypervisor's figures against what libvirt/QEMU and the OS say, the guest's diagnostics from libvirt's
counters, and the stock `openstack` CLI on hypervisors, services, hosts, server groups (anti-affinity's second
member goes to ERROR), a disabled compute service, usage, a migration refused for want of another host and a reset
state."""
from __future__ import annotations

import json
import os
import re
import subprocess

from nodecompute.virt import host_os
from nodecompute.virt.host_stats import decode_version
from tests.integration.cloud import Cloud
from tests.integration.test_clients_foundation import openstack_batch

NO_VALID_HOST = "No valid host was found. There are not enough hosts available."
GIB = 1024 ** 3


def _live_servers(cloud: Cloud) -> list[dict]:
    return cloud.get("/servers/detail?all_tenants=1").json()["servers"]


def check_hypervisor_and_diagnostics(cloud: Cloud, daemon, server_id: str) -> None:
    (hyp,) = cloud.get("/os-hypervisors/detail").json()["hypervisors"]
    meminfo = host_os.read_meminfo()
    disk = os.statvfs(daemon.data_dir / "instances")
    qemu = subprocess.run(["qemu-system-x86_64", "--version"], capture_output=True, text=True).stdout
    major, minor, release = decode_version(hyp["hypervisor_version"])
    assert re.match(rf"QEMU emulator version {major}\.{minor}\.{release}\b", qemu), (qemu, hyp)
    assert (hyp["hypervisor_type"], hyp["state"], hyp["status"]) == ("QEMU", "up", "enabled")
    assert hyp["vcpus"] == len(os.sched_getaffinity(0)) or hyp["vcpus"] == os.cpu_count()
    assert hyp["memory_mb"] == meminfo.total_kib // 1024
    assert hyp["local_gb"] == disk.f_frsize * disk.f_blocks // GIB and hyp["host_ip"] == host_os.host_ip()
    servers = _live_servers(cloud)
    flavors = [cloud.get(f"/flavors/{s['flavor']['id']}").json()["flavor"] for s in servers]
    assert hyp["running_vms"] == len(servers) >= 1
    assert hyp["vcpus_used"] == sum(f["vcpus"] for f in flavors)
    assert hyp["memory_mb_used"] == 512 + sum(f["ram"] for f in flavors)  # Nova's reserved_host_memory_mb
    assert json.loads(hyp["cpu_info"])["arch"] == "x86_64"
    uptime = cloud.get(f"/os-hypervisors/{hyp['id']}/uptime").json()["hypervisor"]["uptime"]
    assert " up " in uptime and "load average:" in uptime
    diag = cloud.get(f"/servers/{server_id}/diagnostics").json()
    assert diag["cpu0_time"] > 0 and diag["memory"] == 128 * 1024  # ns of CPU, the flavor's KiB
    assert diag["vda_read"] > 0 and diag["vda_read_req"] > 0  # the guest read its root disk booting
    assert {"vda_write", "vda_errors", "memory-actual"} <= set(diag)


def check_stock_cli(cloud: Cloud, daemon, image_id: str, flavor_id: str) -> None:
    """Every command the issue names, with the stock CLI, in two CLI starts (its interactive shell reads the
    commands from stdin): the read-only views and the group's creation, then what needs the group and the servers."""
    (hypervisor,) = cloud.get("/os-hypervisors").json()["hypervisors"]
    host = cloud.get("/os-services?binary=nova-compute").json()["services"][0]["host"]
    (listed,), shown, stats, services, hosts, host_rows, group, groups = openstack_batch(
        daemon, "hypervisor list -f json", f"hypervisor show {hypervisor['hypervisor_hostname']} -f json",
        "hypervisor stats show -f json", "compute service list -f json", "host list -f json",
        f"host show {host} -f json", "server group create --policy anti-affinity cli-spread -f json",
        "server group list -f json")
    assert listed["Hypervisor Type"] == "QEMU" and listed["State"] == "up"
    assert shown["uptime"] and shown["load_average"]
    # the CLI negotiates the newest version; from 2.88 Nova's show drops the resource figures, which 2.87 still has
    at_2_87 = {"OpenStack-API-Version": "compute 2.87"}  # hypervisor ids are UUIDs from 2.53
    (listed_2_87,) = cloud.get("/os-hypervisors", headers=at_2_87).json()["hypervisors"]
    figures = cloud.get(f"/os-hypervisors/{listed_2_87['id']}", headers=at_2_87).json()["hypervisor"]
    assert "running_vms" not in shown and "vcpus" not in shown
    assert figures["running_vms"] == len(_live_servers(cloud))
    assert stats["count"] == 1
    services = {row["Binary"]: row for row in services}
    assert set(services) == {"nova-scheduler", "nova-conductor", "nova-compute"}
    assert (services["nova-compute"]["Zone"], services["nova-compute"]["Status"]) == ("nova", "enabled")
    assert {(row["Service"], row["Zone"]) for row in hosts if row["Host Name"] == host} == {
        ("scheduler", "internal"), ("conductor", "internal"), ("compute", "nova")}
    assert [row["Project"] for row in host_rows][:3] == ["(total)", "(used_now)", "(used_max)"]
    assert host_rows[0]["CPU"] == figures["vcpus"] and host_rows[2]["CPU"] == figures["vcpus_used"]
    assert [g["ID"] for g in groups] == [group["id"]]

    made = cloud.post("/servers", {"server": {"name": "spread-1", "imageRef": image_id, "flavorRef": flavor_id},
                                   "os:scheduler_hints": {"group": group["id"]}})
    assert made.status_code == 202, made.text
    first = made.json()["server"]
    cloud.wait_status(first["id"], "ACTIVE")  # ACTIVE once started: no need to wait for its boot
    second, members, usage, usage_shown = openstack_batch(
        daemon, f"server create --image {image_id} --flavor {flavor_id} --hint group={group['id']} cli-second -f json",
        "server group show cli-spread -f json", "server migrate spread-1",
        "server set --state error --auto-approve spread-1",
        f"compute service set --disable --disable-reason fans {host} nova-compute", "usage list -f json",
        "usage show -f json", "server group delete cli-spread")
    assert set(members["members"]) == {first["id"], second["id"]}
    assert cloud.wait_status(second["id"], "ERROR")["fault"]["message"] == NO_VALID_HOST
    # the migration found no other host: Nova's answer is in the instance action; resetState set ERROR
    actions = cloud.get(f"/servers/{first['id']}/os-instance-actions").json()["instanceActions"]
    assert [a["action"] for a in actions[:2]] == ["resetState", "migrate"] and actions[1]["message"] == "Error"
    assert cloud.server(first["id"])["status"] == "ERROR"
    # the admin project's servers; the CLI asks detailed=True, which Nova reads as not '1': no per-server rows
    assert len(usage) == 1 and usage[0]["CPU Hours"] > 0 and usage[0]["RAM MB-Hours"] > 0
    assert len(usage_shown["Servers"]) >= 2 and float(usage_shown["CPU Hours"]) > 0  # launched ones only
    assert cloud.get(f"/os-server-groups/{group['id']}").status_code == 404

    (compute,) = cloud.get("/os-services?binary=nova-compute").json()["services"]
    assert (compute["status"], compute["disabled_reason"]) == ("disabled", "fans")
    parked = cloud.create_server(name="parked", imageRef=image_id, flavorRef=flavor_id)["server"]
    assert cloud.wait_status(parked["id"], "ERROR")["fault"]["message"] == NO_VALID_HOST
    body = {"host": host, "binary": "nova-compute"}
    assert cloud.request("PUT", "/os-services/enable", json=body).status_code == 200
    for server in (first, second, parked):
        assert cloud.delete(f"/servers/{server['id']}").status_code == 204
    for server in (first, second, parked):
        cloud.wait_gone(server["id"])
