"""The systemd unit verifies with real paths, and the daemon tells systemd READY=1 once it serves."""
from __future__ import annotations

import shutil
import socket
import subprocess
import urllib.request

import pytest

from tests.conftest import REPO
from tests.integration.daemon import Daemon

pytestmark = pytest.mark.integration


def test_unit_passes_systemd_analyze_verify(tmp_path):
    if shutil.which("systemd-analyze") is None:
        pytest.fail("systemd-analyze is missing: scripts/setup.sh --test installs the systemd package")
    binary = REPO / ".venv" / "bin" / "nodecompute"
    assert binary.exists(), "run scripts/setup.sh first"
    text = (REPO / "systemd" / "nodecompute.service").read_text().replace("@NODECOMPUTE_BIN@", str(binary))
    assert "@" not in text.split("[Service]")[1].split("\n", 2)[1]
    unit = tmp_path / "nodecompute.service"
    unit.write_text(text)
    result = subprocess.run(["systemd-analyze", "verify", str(unit)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "Type=notify" in text and "KillMode=process" in text


def test_sd_notify_ready_after_listening(tmp_path):
    sock_path = tmp_path / "notify.sock"
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    listener.bind(str(sock_path))
    listener.settimeout(60)
    (tmp_path / "data").mkdir()
    daemon = Daemon(tmp_path / "data", env={"NOTIFY_SOCKET": str(sock_path)})
    try:
        daemon.start()
        message = listener.recv(4096).decode()
        assert message == "READY=1"
        with urllib.request.urlopen(f"{daemon.url}/compute/v2.1") as resp:  # serving when READY arrives
            assert resp.status == 200
        daemon.stop()
        assert listener.recv(4096).decode() == "STOPPING=1"
    finally:
        daemon.close()  # the runtime display directory too (tmp_path is too deep for sockets)
        listener.close()
