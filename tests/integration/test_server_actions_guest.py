"""Issue 17 on one real test guest, owned by a member of project demo, through a real daemon (TCG): pause freezes
the guest's clock and unpause resumes it (the stock `openstack` CLI), suspend survives a daemon restart and resume
brings the guest back with its uptime intact, a locked server refuses the member and an admin's unlock works,
`openstack server dump create` makes the guest kernel report an NMI on the console, the topology (2.78) is
Nova's empty answer, a guest that ignores ACPI is rebooted hard after
wait_soft_reboot_seconds, `openstack server event list/show` shows the record, and a soft-deleted server is
restored (it boots) and force-deleted (the reclaim, a timer, is proved by the injected clock in
tests/api/test_server_actions_part1.py). The tests run in file order and share the guest.
"""
from __future__ import annotations

import subprocess
import sys
import time

import pytest

from tests.conftest import REPO
from tests.integration import guest_channel
from tests.integration.cloud import Cloud, guest_lines
from tests.integration.daemon import Daemon
from tests.integration.test_servers_clients import cli, cli_json

pytestmark = pytest.mark.integration

SOFT_REBOOT_WAIT = 2
RECLAIM = 3600


@pytest.fixture(scope="module")
def daemon(tmp_path_factory):
    extra = f"wait_soft_reboot_seconds = {SOFT_REBOOT_WAIT}\nreclaim_instance_interval = {RECLAIM}\n"
    d = Daemon(tmp_path_factory.mktemp("daemon"), extra=extra).start()
    yield d
    d.close()


def nodecompute_cli(daemon: Daemon, *args: str) -> None:
    result = subprocess.run([sys.executable, "-m", "nodecompute", "--config", str(daemon.config), *args],
                            capture_output=True, text=True, timeout=60, cwd=REPO)
    assert result.returncode == 0, result.stderr


@pytest.fixture(scope="module")
def member(daemon) -> Cloud:
    nodecompute_cli(daemon, "project", "create", "demo")
    nodecompute_cli(daemon, "user", "create", "alice", "--project", "demo", "--role", "member", "--password", "pw-a")
    return Cloud(daemon, "alice", "pw-a", "demo")


@pytest.fixture(scope="module")
def guest(admin, member) -> dict:
    image = admin.import_guest(properties={"nodecompute_test_channel": "yes"})
    server_id = member.create_server(name="actions", imageRef=image, flavorRef="42")["server"]["id"]
    member.wait_status(server_id, "ACTIVE")
    member.wait_report(server_id)
    return admin.server(server_id)  # the admin's view names the domain (the channel needs it)


def act(cloud: Cloud, server_id: str, body: dict, status: int = 202) -> dict | None:
    resp = cloud.post(f"/servers/{server_id}/action", body)
    assert resp.status_code == status, resp.text
    return resp.json() if resp.content else None


def ticks(cloud: Cloud, server_id: str) -> list[float]:
    return [float(line.split()[1]) for line in guest_lines(cloud.console(server_id)) if line.startswith("tick ")]


def wait_ticks(cloud: Cloud, server_id: str, more_than: int, timeout: float = 30.0) -> list[float]:
    deadline = time.monotonic() + timeout
    while len(found := ticks(cloud, server_id)) <= more_than:
        assert time.monotonic() < deadline, f"no tick after the {more_than}th within {timeout}s"
        time.sleep(0.5)
    return found


def boot_count(cloud: Cloud, server_id: str) -> int:
    return len(cloud.boots(server_id))


def test_pause_freezes_the_guest_clock_and_unpause_resumes_it(guest, member, daemon):
    assert guest_channel.run(member, daemon, guest, "uptime on").rc == 0
    wait_ticks(member, guest["id"], 1)
    cli(daemon, "server", "pause", guest["id"])
    paused = member.wait_status(guest["id"], "PAUSED")
    assert paused["OS-EXT-STS:power_state"] == 3
    before = ticks(member, guest["id"])
    time.sleep(2.5)
    assert ticks(member, guest["id"]) == before  # a paused guest prints nothing: its clock stands still
    cli(daemon, "server", "unpause", guest["id"])
    member.wait_status(guest["id"], "ACTIVE")
    after = wait_ticks(member, guest["id"], len(before))
    assert after[len(before)] - before[-1] < 2.5  # the guest's uptime went on from where it stopped


def test_suspend_survives_a_daemon_restart_and_resume_keeps_the_uptime(guest, member, daemon):
    boots = boot_count(member, guest["id"])
    act(member, guest["id"], {"suspend": None})
    suspended = member.wait_status(guest["id"], "SUSPENDED", timeout=120)
    assert suspended["OS-EXT-STS:power_state"] == 4  # managed save: the domain is off, its memory on disk
    before = ticks(member, guest["id"])
    assert daemon.stop() == 0
    daemon.start()
    fresh = Cloud(daemon, "alice", "pw-a", "demo")
    assert fresh.wait_status(guest["id"], "SUSPENDED")["OS-EXT-STS:power_state"] == 4
    act(fresh, guest["id"], {"resume": None})
    fresh.wait_status(guest["id"], "ACTIVE", timeout=120)
    after = wait_ticks(fresh, guest["id"], len(before))
    assert before[-1] < after[len(before)] < before[-1] + 5  # the same boot's uptime, not a new boot's
    assert boot_count(fresh, guest["id"]) == boots
    assert guest_channel.run(fresh, daemon, guest, "uptime off").rc == 0


def test_a_locked_server_refuses_the_member_until_an_admin_unlocks_it(guest, member, daemon):
    cli(daemon, "server", "lock", guest["id"])
    resp = member.post(f"/servers/{guest['id']}/action", {"os-stop": None})
    assert (resp.status_code, resp.json()) == (409, {"conflictingRequest": {
        "code": 409, "message": f"Instance {guest['id']} is locked"}})
    resp = member.post(f"/servers/{guest['id']}/action", {"unlock": None})
    assert resp.status_code == 403  # an admin's lock: unlock_override
    assert member.server(guest["id"])["status"] == "ACTIVE"
    cli(daemon, "server", "unlock", guest["id"])
    act(member, guest["id"], {"pause": None})
    member.wait_status(guest["id"], "PAUSED")
    act(member, guest["id"], {"unpause": None})
    member.wait_status(guest["id"], "ACTIVE")


def test_the_stock_cli_dumps_and_the_kernel_reports_the_nmi(guest, member, daemon):
    """`openstack server dump create` (2.17, negotiated by the CLI) injects libvirt's NMI: the guest kernel's line
    shows in os-getConsoleOutput and the guest carries on."""
    cli(daemon, "server", "dump", "create", guest["id"])
    deadline = time.monotonic() + 30
    while "NMI received for unknown reason" not in member.console(guest["id"]):
        assert time.monotonic() < deadline, member.console(guest["id"], 20)
        time.sleep(0.5)
    assert member.wait_status(guest["id"], "ACTIVE")["OS-EXT-STS:power_state"] == 1


def test_the_topology_of_a_guest_without_numa_is_nova_s_empty_answer(guest, member):
    """GET /servers/{id}/topology (2.78) on the real daemon: no guest here has a NUMA topology."""
    path = f"/servers/{guest['id']}/topology"
    resp = member.get(path, headers={"OpenStack-API-Version": "compute 2.78"})
    assert (resp.status_code, resp.json()) == (200, {"nodes": [], "pagesize_kb": None})
    assert resp.headers["OpenStack-API-Version"] == "compute 2.78"
    assert member.get(path, headers={"OpenStack-API-Version": "compute 2.77"}).status_code == 404


def test_a_guest_that_ignores_acpi_is_rebooted_hard_after_the_wait(guest, member, daemon):
    fresh = Cloud(daemon, "alice", "pw-a", "demo")
    boots = boot_count(fresh, guest["id"])
    assert guest_channel.run(fresh, daemon, guest, "killall acpid").rc == 0
    started = time.monotonic()
    act(fresh, guest["id"], {"reboot": {"type": "SOFT"}})
    fresh.wait_status(guest["id"], "ACTIVE")
    assert time.monotonic() - started >= SOFT_REBOOT_WAIT
    fresh.wait_report(guest["id"], count=boots + 1)
    assert cloud_boot_lines(fresh, guest["id"], boots - 1)[-1] != "poweroff"  # it never shut down: destroyed


def cloud_boot_lines(cloud: Cloud, server_id: str, index: int) -> list[str]:
    return cloud.boots(server_id)[index].lines


def test_the_stock_cli_lists_and_shows_the_record(guest, daemon):
    events = cli_json(daemon, "server", "event", "list", guest["id"])
    actions = [event["Action"] for event in events]
    assert actions[:8] == ["reboot", "trigger_crash_dump", "unpause", "pause", "unlock", "lock", "resume", "suspend"]
    assert actions[-1] == "create"
    shown = cli_json(daemon, "server", "event", "show", guest["id"], events[0]["Request ID"])
    assert [(e["event"], e["result"]) for e in shown["events"]] == [("compute_reboot_instance", "Success")]


def test_a_soft_deleted_server_is_restored_and_boots_then_force_deleted(guest, daemon):
    fresh = Cloud(daemon, "alice", "pw-a", "demo")
    boots = boot_count(fresh, guest["id"])
    assert fresh.delete(f"/servers/{guest['id']}").status_code == 204
    assert fresh.wait_status(guest["id"], "SOFT_DELETED")["OS-EXT-STS:power_state"] == 4
    act(fresh, guest["id"], {"restore": None})
    fresh.wait_status(guest["id"], "ACTIVE")
    fresh.wait_report(guest["id"], count=boots + 1)
    assert fresh.delete(f"/servers/{guest['id']}").status_code == 204
    fresh.wait_status(guest["id"], "SOFT_DELETED")
    act(fresh, guest["id"], {"forceDelete": None})
    fresh.wait_gone(guest["id"])
    assert guest["OS-EXT-SRV-ATTR:instance_name"] not in daemon.defined_domains()
