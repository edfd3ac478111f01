"""Integration fixtures: the real daemon, started once per module, stopped (by PID) at the end."""
from __future__ import annotations

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
