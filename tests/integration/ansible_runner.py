"""Run a playbook with the venv's `ansible-playbook` against a test daemon, the way an Ansible user would: the real
openstack.cloud modules (bundled in PyPI's `ansible`), run on localhost by the venv's Python, authenticated only
through the daemon's generated clouds.yaml (OS_CLIENT_CONFIG_FILE, OS_CLOUD). Nothing reaches the network and
nothing outside the test's temp dir is read or written: an explicit ansible.cfg, collections from the installed
`ansible` package only (no Galaxy), Ansible's home and temp dirs in the temp dir, no stdin. Results come back
through the `ansible.posix.json` stdout callback, one record per task, for the test to assert on."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from tests.integration.daemon import Daemon

VENV_BIN = Path(sys.executable).parent
SITE_PACKAGES = Path(sysconfig.get_paths()["purelib"])  # holds ansible_collections/ of the `ansible` package
PLAYBOOK_TIMEOUT = 600

# openstack.cloud 2.5 reads `sdk.version.__version__` right after `import openstack` (module_utils/openstack.py).
# openstacksdk 4.x no longer imports its `version` submodule from `openstack/__init__.py`, so every module fails
# with AttributeError before it sends a request. A real user hits the same; it is the collection's bug, not the
# daemon's, so the harness works around it here and the product is left alone: Python imports `sitecustomize`
# from PYTHONPATH at start-up, in ansible-playbook and in every module process it starts (connection local keeps
# the environment), and this one imports `openstack.version` so that the attribute exists. It changes nothing
# else: the modules import `openstack` themselves anyway.
SITECUSTOMIZE = '''\
"""Test harness only (tests/integration/ansible_runner.py): openstack.cloud 2.5 reads openstack.version
without importing it, which openstacksdk 4.x no longer does for it."""
import openstack.version  # noqa: F401
'''


def ansible_cfg(workdir: Path, inventory: Path) -> str:
    """Everything Ansible would otherwise take from the user's home, /etc/ansible or the current directory."""
    return f"""\
[defaults]
inventory = {inventory}
stdout_callback = ansible.posix.json
collections_path = {SITE_PACKAGES}
collections_scan_sys_path = False
home = {workdir / "ansible-home"}
local_tmp = {workdir / "ansible-tmp"}
remote_tmp = {workdir / "ansible-tmp"}
interpreter_python = {sys.executable}
forks = 1
nocolor = True
retry_files_enabled = False
localhost_warning = False
"""


@dataclass
class TaskResult:
    name: str
    action: str
    result: dict  # the module's result on localhost (changed, failed, msg, and what the module returns)

    @property
    def changed(self) -> bool:
        return bool(self.result.get("changed"))

    @property
    def failed(self) -> bool:
        return bool(self.result.get("failed"))


@dataclass
class PlaybookRun:
    returncode: int
    tasks: list[TaskResult]
    stats: dict
    stderr: str
    playbook: str = field(repr=False)

    def task(self, name: str) -> TaskResult:
        found = [t for t in self.tasks if t.name == name]
        assert len(found) == 1, f"expected one task named {name!r}, ran {[t.name for t in self.tasks]}"
        return found[0]

    def failed_tasks(self) -> list[TaskResult]:
        return [t for t in self.tasks if t.failed]

    def describe(self) -> str:
        """For assertion messages: what ran, what failed and why, and Ansible's stderr."""
        lines = [f"ansible-playbook exited {self.returncode}"]
        for t in self.tasks:
            state = "FAILED" if t.failed else "changed" if t.changed else "ok"
            lines.append(f"  {state:8} {t.name} ({t.action})")
            if t.failed:
                lines.append("    " + json.dumps({k: t.result.get(k) for k in ("msg", "exception")})[:4000])
        return "\n".join(lines) + "\n" + self.stderr[-3000:]

    def assert_ok(self) -> "PlaybookRun":
        assert self.returncode == 0 and not self.failed_tasks(), self.describe()
        return self


def playbook_env(daemon: Daemon, workdir: Path, config: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OS_", "ANSIBLE_"))}
    site = workdir / "sitecustomize"
    site.mkdir(exist_ok=True)
    (site / "sitecustomize.py").write_text(SITECUSTOMIZE)
    env.update(
        OS_CLIENT_CONFIG_FILE=str(daemon.clouds_yaml),
        OS_CLOUD="nodecompute",
        ANSIBLE_CONFIG=str(config),
        PYTHONPATH=str(site),
        LC_ALL="C.UTF-8",  # ansible-core refuses a non-UTF-8 locale
        PATH=f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}",
    )
    return env


def run_playbook(daemon: Daemon, workdir: Path, tasks: list[dict], name: str = "playbook",
                 timeout: float = PLAYBOOK_TIMEOUT) -> PlaybookRun:
    """Write `tasks` as one play on localhost into `workdir` and run it; returns every task's result.

    A failed task ends the play (Ansible's default); the run still returns, with returncode 2 and that task last.
    """
    assert (SITE_PACKAGES / "ansible_collections" / "openstack" / "cloud").is_dir(), \
        "the `ansible` package (test extras) is not installed in this venv"
    workdir.mkdir(parents=True, exist_ok=True)
    inventory = workdir / "inventory.ini"
    inventory.write_text(f"localhost ansible_connection=local ansible_python_interpreter={sys.executable}\n")
    config = workdir / "ansible.cfg"
    config.write_text(ansible_cfg(workdir, inventory))
    play = [{"name": name, "hosts": "localhost", "gather_facts": False, "tasks": tasks}]
    playbook = workdir / f"{name}.yml"
    playbook.write_text(yaml.safe_dump(play, sort_keys=False))

    proc = subprocess.run([str(VENV_BIN / "ansible-playbook"), str(playbook)], cwd=workdir,
                          env=playbook_env(daemon, workdir, config), stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=timeout)
    try:
        report = json.loads(proc.stdout)
    except json.JSONDecodeError:
        raise AssertionError(f"ansible-playbook exited {proc.returncode} without a JSON report:\n"
                             f"{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}") from None
    results = [TaskResult(t["task"]["name"], t["hosts"]["localhost"].get("action", ""), t["hosts"]["localhost"])
               for play_report in report["plays"] for t in play_report["tasks"]
               if "localhost" in t["hosts"]]  # meta tasks have no host result
    return PlaybookRun(proc.returncode, results, report["stats"], proc.stderr, playbook.read_text())
