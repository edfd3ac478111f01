"""Integration fixtures: the real daemon, started once per module, stopped (by PID) at the end; the one embedded
libvirt root of the pytest process."""
from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pytest

from tests.integration.daemon import Daemon


@pytest.fixture(scope="module")
def daemon(tmp_path_factory):
    d = Daemon(tmp_path_factory.mktemp("daemon")).start()
    yield d
    d.stop()
    d.kill_guests()
    if d.proc and d.proc.returncode not in (0, -15):
        print(d.log_tail())


@pytest.fixture(scope="session")
def embed_uri():
    """qemu:///embed on a short temp root, for every test module that opens libvirt in the pytest process itself:
    libvirt opens one embedded root per process, for the life of the process (a second one is refused)."""
    root = Path(tempfile.mkdtemp(prefix="nc", dir="/tmp"))  # short: QEMU monitor socket paths are <= 108 bytes
    yield f"qemu:///embed?root={root}"
    shutil.rmtree(root, ignore_errors=True)
