"""The README's quick start, run exactly as printed (issue 7): its lines are read from README.md and run by bash with
the `openstack` CLI against a test daemon and the test guest.

The first three lines (set-up, `. .venv/bin/activate`, the clouds.yaml of a daemon started by scripts/run.sh) are
what this test's environment stands for: the venv's bin on PATH and the test daemon's clouds.yaml; every line from
`export OS_CLOUD` on runs as printed, in one `bash -e` script.
"""
from __future__ import annotations

import os
import re
import signal
import subprocess

import pytest

from tests.conftest import REPO
from tests.integration.cloud import guest_image

pytestmark = pytest.mark.integration

SCRIPT_TIMEOUT = 900
ENVIRONMENT_LINES = (
    "scripts/setup.sh --test && images/build.sh",
    ". .venv/bin/activate",
    "export OS_CLIENT_CONFIG_FILE=",
)


def quick_start_lines() -> list[str]:
    """The indented block of the README's quick start that boots vm1."""
    readme = (REPO / "README.md").read_text()
    section = readme.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"(?:^    .*\n)+", section, flags=re.MULTILINE)
    block = next(b for b in blocks if "openstack server create" in b)
    return [line[4:] for line in block.splitlines()]


def test_quick_start_block_is_the_expected_shape():
    lines = quick_start_lines()
    for line, start in zip(lines, ENVIRONMENT_LINES):
        assert line.startswith(start), (line, start)
    assert lines[3] == "export OS_CLOUD=nodecompute"
    assert "openstack server reboot --soft --wait vm1" in lines
    assert lines[-1] == "openstack server delete --wait vm1"


def test_quick_start_runs_as_printed(daemon):
    assert guest_image() == REPO / "images" / "out" / "nodecompute-testguest.qcow2"
    script = "\n".join(quick_start_lines()[len(ENVIRONMENT_LINES):]) + "\n"
    env = daemon.cli_env()
    env["PATH"] = f"{REPO / '.venv' / 'bin'}:{env['PATH']}"
    proc = subprocess.Popen(["bash", "-e", "-x", "-c", script], cwd=REPO, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        out, _ = proc.communicate(timeout=SCRIPT_TIMEOUT)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)  # bash and the CLI it is running, all started here
        out, _ = proc.communicate()
        pytest.fail(f"the quick start did not finish in {SCRIPT_TIMEOUT}s:\n{out[-4000:]}\n{daemon.log_tail(40)}")
    assert proc.returncode == 0, f"{out[-6000:]}\n{daemon.log_tail(40)}"
    assert "m1.nano" in out and "testguest" in out
    assert re.search(r"^\| status +\| ACTIVE", out, flags=re.MULTILINE), out[-4000:]
    # The server went through reboot, stop and start (each accepted), and delete waited for it to go.
    log = daemon.log_path.read_text(errors="replace")
    actions = re.findall(r'"POST /compute/v2\.1/servers/[0-9a-f-]+/action HTTP/1\.1" 202', log)
    assert len(actions) == 3, log[-4000:]
    assert "SHUTOFF" in out and daemon.defined_domains() == []
