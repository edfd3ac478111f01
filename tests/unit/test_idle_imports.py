"""What an idle daemon does not load (issue 22: its RSS under 80 MB): pyroute2 (some 9 MB) waits for the first
host networking step that needs netlink; a NetlinkError is still a HostNetError once it is loaded."""
from __future__ import annotations

import asyncio
import subprocess
import sys

import pytest

from nodecompute.hostnet.errors import HostNetError
from nodecompute.hostnet.worker import Worker
from tests.conftest import REPO

IMPORTS_OF_SERVE = """
import sys
import nodecompute.__main__, nodecompute.app, nodecompute.hostnet
print(sorted(name for name in ("pyroute2", "pycdlib") if name in sys.modules))
"""


def test_the_daemon_modules_load_without_pyroute2():
    done = subprocess.run([sys.executable, "-c", IMPORTS_OF_SERVE], cwd=REPO, capture_output=True, text=True,
                          check=True)
    assert done.stdout.strip() == "[]", done.stdout


def test_a_netlink_error_of_a_job_is_a_hostnet_error():
    from pyroute2.netlink.exceptions import NetlinkError

    def job() -> None:
        raise NetlinkError(17, "File exists")

    async def run() -> None:
        worker = Worker()
        try:
            with pytest.raises(HostNetError, match="netlink"):
                await worker.run(job)
        finally:
            worker.close()
    asyncio.run(run())
