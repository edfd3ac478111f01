"""The README's first promise: `scripts/run.sh` sets up (daemon packages only) and serves on embedded defaults.

The run uses a config from $NODECOMPUTE_CONFIG only to move the data directory and port into a temp dir; everything
else (embedded libvirt root, virt type auto, bootstrap admin and clouds.yaml) is the default.
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest
import yaml

from nodecompute.virt import displays
from tests.conftest import REPO
from tests.integration.daemon import free_port

pytestmark = pytest.mark.integration


def test_setup_without_test_extras_succeeds():
    result = subprocess.run(["bash", str(REPO / "scripts" / "setup.sh")], cwd=REPO, capture_output=True, text=True,
                            stdin=subprocess.DEVNULL, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr


def test_run_script_serves_on_embedded_defaults(tmp_path):
    # a short data dir, as an operator's (/var/lib/nodecompute): a test worker's tmp_path can be too deep for the
    # embedded driver's sockets, which the daemon refuses with the cause (virt/embed.py::root_too_deep)
    data_dir = Path(tempfile.mkdtemp(prefix="ncrun", dir="/tmp"))
    port = free_port()
    config = tmp_path / "nodecompute.toml"
    config.write_text(f'data_dir = "{data_dir}"\n[server]\nlisten_port = {port}\n')
    log = open(tmp_path / "run.log", "wb")
    proc = subprocess.Popen(["bash", str(REPO / "scripts" / "run.sh")], cwd=REPO, stdout=log,
                            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                            env=dict(os.environ, NODECOMPUTE_CONFIG=str(config)))
    try:
        deadline = time.monotonic() + 300
        versions = None
        while versions is None:
            assert proc.poll() is None, (tmp_path / "run.log").read_text()
            assert time.monotonic() < deadline, (tmp_path / "run.log").read_text()
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/compute/v2.1", timeout=2) as resp:
                    versions = json.load(resp)
            except OSError:
                time.sleep(0.5)
        assert versions["version"]["id"] == "v2.1"
        cloud = yaml.safe_load((data_dir / "clouds.yaml").read_text())["clouds"]["nodecompute"]
        assert cloud["auth"]["username"] == "admin" and cloud["auth"]["password"]
        assert (data_dir / "libvirt" / "etc" / "qemu.conf").is_file()  # qemu:///embed?root=<data dir>/libvirt
        text = (tmp_path / "run.log").read_text()
        assert f"libvirt qemu:///embed?root={data_dir}/libvirt open" in text
    finally:
        proc.send_signal(signal.SIGTERM)  # run.sh execs the daemon: this PID is the daemon's
        code = proc.wait(60)
        log.close()
        shutil.rmtree(displays.runtime_dir(data_dir), ignore_errors=True)
        shutil.rmtree(data_dir, ignore_errors=True)
        assert code == 0
