"""scripts/setup.sh unpacks noVNC from Debian's package once; a second run fetches nothing and changes nothing."""
from __future__ import annotations

import os
import subprocess

import pytest

from nodecompute.config import Config
from tests.conftest import REPO

pytestmark = pytest.mark.integration


def run_setup(**env: str) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", str(REPO / "scripts" / "setup.sh")], cwd=REPO, capture_output=True, text=True,
                          stdin=subprocess.DEVNULL, timeout=600, env=dict(os.environ, **env))


def test_novnc_is_unpacked_for_the_daemon():
    novnc = Config().novnc_dir
    assert novnc.resolve() == (REPO / ".venv" / "share" / "novnc").resolve()  # .venv may be a link (a worktree)
    assert (novnc / "vnc_lite.html").is_file() and (novnc / "core" / "rfb.js").is_file()
    assert (novnc / ".deb-version").read_text().startswith("1:1.3.0")  # Debian 12's noVNC
    assert "readQueryVariable('path', 'websockify')" in (novnc / "vnc_lite.html").read_text()
    assert not (novnc / "utils").exists()  # the upstream proxy scripts are left out
    assert list((REPO / ".venv" / "share" / "novnc-deb").glob("novnc_*_all.deb"))  # the cached package


def test_a_second_setup_is_offline_and_changes_nothing():
    first = run_setup()
    assert first.returncode == 0, first.stdout + first.stderr
    novnc = Config().novnc_dir
    before = {path: path.stat().st_mtime_ns for path in novnc.rglob("*")}
    # Any download would go through this dead proxy and fail.
    dead = "http://127.0.0.1:9"
    second = run_setup(http_proxy=dead, https_proxy=dead, HTTP_PROXY=dead, HTTPS_PROXY=dead, no_proxy="")
    assert second.returncode == 0, second.stdout + second.stderr
    assert "noVNC" not in second.stdout
    assert {path: path.stat().st_mtime_ns for path in novnc.rglob("*")} == before
