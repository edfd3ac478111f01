#!/usr/bin/env python3
"""A seeded crash loop: SIGKILL `nodecompute serve` at points drawn from a seeded generator while it creates,
deletes, or runs each server action that changes states (nodecompute.domain.states.ACTIONS), on real guests, then
restart it and check what it left.

    .venv/bin/python bench/crash_loop.py [--iterations 100] [--seed N]

One guest (the keeper) lives through the whole loop; a second server is created and deleted under the kill. Each
iteration picks the next operation of a seeded plan that the keeper's state allows, sends it, waits a seeded delay
(0 to --max-delay seconds), SIGKILLs the daemon and starts it again. After each restart: no server stuck in a task
state (once the reconciler has run), no QEMU process and no domain definition without a live server row, no
instance directory without its row, and every ACTIVE server's guest running. The seed is printed first;
tests/integration/test_crash_loop.py runs 20 iterations (seed 1103 unless NODECOMPUTE_CRASH_SEED is set), each
line gives the daemon's restart and the settling time.
"""
from __future__ import annotations

import argparse
import os
import random
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import requests

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.cloud_util import Cloud  # noqa: E402
from bench.daemon_util import Daemon  # noqa: E402
from nodecompute.domain.states import ACTIONS  # noqa: E402

# The request body of each state action of nodecompute.domain.states.ACTIONS (the loop sends these).
ACTION_BODIES = {
    "reboot": {"reboot": {"type": "SOFT"}}, "reboot_hard": {"reboot": {"type": "HARD"}},
    "start": {"os-start": None}, "stop": {"os-stop": None}, "pause": {"pause": None}, "unpause": {"unpause": None},
    "suspend": {"suspend": None}, "resume": {"resume": None}, "trigger_crash_dump": {"trigger_crash_dump": None},
}
# ... and the actions it does not send, with why (an action added to the states table must be one or the other).
NOT_LOOPED = {
    "soft_delete": "a DELETE with reclaim_instance_interval > 0; the loop's daemon deletes at once (the delete op)",
    "restore": "needs a soft-deleted server (see soft_delete)",
    "snapshot": "copies the whole disk into the image store (too slow for a kill every few seconds); its SIGKILL "
                "between copy and upload is tests/integration/test_server_actions2_guest.py's snapshot_copied, one "
                "inside the copy's libvirt backup job tests/integration/test_crash_loop.py's backup test",
    "backup": "a snapshot with rotation (see snapshot)",
    "change_password": "needs the guest agent's channel answering, which a guest killed mid-boot has not opened",
    "rebuild": "needs an image id in its body; its SIGKILLs between staging and swap are the crash points "
               "rebuild_staged/rebuild_swapped (tests/integration/test_server_actions2_guest.py)",
    "rescue": "needs a rescue image; a stop during it is settled by unrescue (tests/api/test_server_rebuild.py)",
    "unrescue": "needs a rescued server (see rescue)",
    "resize": "needs a second flavor and copies the whole disk; its SIGKILL with the disks kept is the crash point "
              "resize_disks_kept (tests/integration/test_server_actions2_guest.py), its settling after a stop "
              "tests/api/test_server_resize.py",
    "confirm_resize": "needs a resized server (see resize)",
    "revert_resize": "needs a resized server (see resize)",
    "shelve": "makes an image of the whole disk (see snapshot); its settling after a stop is "
              "tests/api/test_server_shelve.py, its SIGKILL between the offload's undefine and its row the crash "
              "point shelve_offloaded (tests/integration/test_server_actions2_guest.py)",
    "shelve_offload": "needs a shelved server (see shelve)",
    "unshelve": "needs a shelved server (see shelve)",
}
ALLOWED = ACTIONS  # the vm states in which the loop may send each action: the states table's `allowed`
VERSION = {"OpenStack-API-Version": "compute 2.17"}  # trigger_crash_dump is from 2.17
NANO = "42"
EXTRA = "wait_soft_reboot_seconds = 2\nshutdown_timeout = 2\n"  # a guest killed mid-boot may ignore ACPI


@dataclass
class Outcome:
    seed: int
    lines: list[str] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)
    covered: set[str] = field(default_factory=set)


def _qemu_names(daemon: Daemon) -> dict[int, str]:
    """pid -> the domain name on each QEMU command line of this daemon (`-name guest=<name>,...`)."""
    names = {}
    for pid in daemon.qemu_pids():
        try:
            args = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        for i, arg in enumerate(args[:-1]):
            if arg == b"-name":
                names[pid] = args[i + 1].decode().split(",")[0].removeprefix("guest=")
    return names


def live_servers(cloud: Cloud) -> dict[str, dict]:
    resp = cloud.get("/servers/detail?all_tenants=1")
    assert resp.status_code == 200, resp.text
    return {s["id"]: s for s in resp.json()["servers"]}


def settle(cloud: Cloud, timeout: float) -> tuple[dict[str, dict], list[str]]:
    """The live servers once no task state is left (the reconciler replays or ends what the kill interrupted)."""
    deadline = time.monotonic() + timeout
    while True:
        servers = live_servers(cloud)
        busy = [f"{s['name']} {s['status']}/{s['OS-EXT-STS:task_state']}" for s in servers.values()
                if s["OS-EXT-STS:task_state"] is not None]
        if not busy or time.monotonic() > deadline:
            return servers, [f"stuck in a task state after {timeout:.0f} s: {', '.join(busy)}"] if busy else []
        time.sleep(0.3)


def check(daemon: Daemon, servers: dict[str, dict]) -> list[str]:
    """What the host holds that no live server row owns, and ACTIVE servers whose guest is not running."""
    found = []
    names = {s["OS-EXT-SRV-ATTR:instance_name"]: s for s in servers.values()}
    running = _qemu_names(daemon)
    for pid, name in running.items():
        if name not in names:
            found.append(f"QEMU {pid} ({name}) without a live server row")
    for name in daemon.defined_domains():
        if name not in names:
            found.append(f"domain {name} defined without a live server row")
    instances = daemon.data_dir / "instances"
    for path in instances.iterdir() if instances.is_dir() else ():
        if path.name != "_base" and path.name not in servers:
            found.append(f"instance directory {path.name} without a live server row")
    for name, server in names.items():
        if server["status"] == "ACTIVE" and name not in running.values():
            found.append(f"{server['name']} is ACTIVE but its guest ({name}) is not running")
    return found


class Loop:
    def __init__(self, daemon: Daemon, seed: int, iterations: int, max_delay: float = 1.5,
                 settle_timeout: float = 120.0, say: Callable[[str], None] = print) -> None:
        self.daemon, self.rng, self.iterations = daemon, random.Random(seed), iterations
        self.max_delay, self.settle_timeout, self.say = max_delay, settle_timeout, say
        self.outcome = Outcome(seed)
        self.cloud = Cloud(daemon)
        self.image_id = ""
        self.keeper = ""
        self.extra: str | None = None  # the server the create op made, until the delete op

    def _plan(self) -> list[str]:
        ops = ["create", "delete", *ACTION_BODIES]
        self.rng.shuffle(ops)
        while len(ops) < self.iterations:
            ops.append(self.rng.choice([*ACTION_BODIES, "create", "delete"]))
        return ops

    def _possible(self, op: str, keeper_state: str) -> bool:
        if op == "create":
            return self.extra is None
        if op == "delete":
            return self.extra is not None
        return keeper_state in ALLOWED[op].allowed

    def _send(self, op: str) -> str:
        try:
            if op == "create":
                resp = self.cloud.post("/servers", {"server": {"name": "crash-extra", "imageRef": self.image_id,
                                                               "flavorRef": NANO}})
                if resp.status_code == 202:
                    self.extra = resp.json()["server"]["id"]
            elif op == "delete":
                resp = self.cloud.delete(f"/servers/{self.extra}")
            else:
                resp = self.cloud.post(f"/servers/{self.keeper}/action", ACTION_BODIES[op], headers=VERSION)
        except requests.ConnectionError as error:
            return f"no answer ({type(error).__name__})"
        return str(resp.status_code)

    def start(self) -> None:
        self.image_id = self.cloud.import_guest()
        self.keeper = self.cloud.create_server(name="crash-keeper", imageRef=self.image_id,
                                               flavorRef=NANO)["server"]["id"]
        self.cloud.wait_status(self.keeper, "ACTIVE")

    def run(self) -> Outcome:
        self.say(f"crash loop seed {self.outcome.seed}, {self.iterations} kills")
        plan = self._plan()
        for n in range(self.iterations):
            keeper = self.cloud.server(self.keeper)
            state = keeper["OS-EXT-STS:vm_state"]
            op = next((candidate for candidate in plan if self._possible(candidate, state)), None)
            if op is None:
                op = self.rng.choice([name for name in ACTION_BODIES if self._possible(name, state)])
            else:
                plan.remove(op)
            delay = self.rng.uniform(0, self.max_delay)
            started = time.monotonic()
            answer = self._send(op)
            time.sleep(max(0.0, delay - (time.monotonic() - started)))
            assert self.daemon.proc is not None
            os.kill(self.daemon.proc.pid, signal.SIGKILL)
            self.daemon.wait_exit(timeout=30)
            restarting = time.monotonic()
            self.daemon.start()
            self.cloud = Cloud(self.daemon)
            settling = time.monotonic()
            servers, stuck = settle(self.cloud, self.settle_timeout)
            restart, settled = settling - restarting, time.monotonic() - settling
            if self.extra is not None and self.extra not in servers:  # deleted (or its create never answered)
                self.extra = None
            found = stuck + check(self.daemon, servers)
            self.outcome.covered.add(op)
            self.outcome.violations += [f"kill {n + 1} ({op}): {problem}" for problem in found]
            line = (f"kill {n + 1:2}: {op:18} from {state:9} answer {answer:22} killed after {delay:.2f} s; "
                    f"then {len(servers)} servers, keeper {servers.get(self.keeper, {}).get('status', 'gone')}"
                    f"{'; ' + '; '.join(found) if found else ''} ({time.monotonic() - started:.1f} s: restart "
                    f"{restart:.1f}, settle {settled:.1f})")
            self.outcome.lines.append(line)
            self.say(line)
            if self.keeper not in servers:
                self.outcome.violations.append(f"kill {n + 1} ({op}): the keeper is gone")
                break
        return self.outcome


def make_daemon(data_dir: Path, env: dict[str, str] | None = None) -> Daemon:
    return Daemon(data_dir, extra=EXTRA, log_level="INFO", env=env).start()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--iterations", type=int, default=100)
    parser.add_argument("--seed", type=int, default=random.SystemRandom().randrange(1 << 31))
    parser.add_argument("--max-delay", type=float, default=3.0)
    args = parser.parse_args()
    data_dir = Path(tempfile.mkdtemp(prefix="nccrash", dir="/tmp"))
    try:
        daemon = make_daemon(data_dir)
        try:
            loop = Loop(daemon, args.seed, args.iterations, args.max_delay)
            loop.start()
            outcome = loop.run()
        finally:
            daemon.close()
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)  # the daemon's data: its guests are gone with close()
    print(f"seed {outcome.seed}: {len(outcome.violations)} violations; covered {sorted(outcome.covered)}")
    for line in outcome.violations:
        print(line)
    sys.exit(1 if outcome.violations else 0)


if __name__ == "__main__":
    main()
