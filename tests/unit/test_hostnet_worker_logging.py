"""pyroute2's logger stays at INFO (or the daemon's level) under a DEBUG daemon, whenever pyroute2 is first imported.

pyroute2's import sets its `pyroute2` logger to NOTSET; the daemon imports it on the first host networking step,
long after it set its levels, so the check runs in a fresh interpreter where pyroute2 is not imported yet.
"""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
CHECK = """
import logging, sys
logging.basicConfig(level=logging.{level}, stream=sys.stdout, format="%(name)s %(levelname)s %(message)s")
from nodecompute.hostnet.worker import quiet_pyroute2
assert "pyroute2" not in sys.modules
quiet_pyroute2()
assert "pyroute2" in sys.modules
core = logging.getLogger("pyroute2.netlink.core")
core.debug("netlink message dumped")
core.info("netlink info")
core.warning("netlink warning")
logging.getLogger("nodecompute").debug("own debug")
"""


@pytest.mark.parametrize(("level", "expected"), [
    ("DEBUG", ["pyroute2.netlink.core INFO netlink info", "pyroute2.netlink.core WARNING netlink warning",
               "nodecompute DEBUG own debug"]),
    ("WARNING", ["pyroute2.netlink.core WARNING netlink warning"]),
])
def test_pyroute2_logs_nothing_below_info_nor_below_the_daemons_level(level, expected):
    done = subprocess.run([sys.executable, "-c", CHECK.format(level=level)], cwd=REPO, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == expected
