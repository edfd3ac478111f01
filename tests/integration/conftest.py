"""Integration fixtures: the real daemon, started once per module, stopped (by PID) at the end; and the in-process
libvirt connection of the adapter tests.

libvirt opens a single qemu:///embed root per process, for the life of the process ("Cannot open embedded driver
at path B, already open with path A"): `embed_uri` is that root for the whole session, shared by every test
module that opens a Hypervisor in-process (each module gets its own `hv` on it).
"""
from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path

import pytest

from nodecompute.virt.hypervisor import Hypervisor
from tests.integration.daemon import Daemon


@pytest.fixture(scope="module")
def daemon(tmp_path_factory):
    d = Daemon(tmp_path_factory.mktemp("daemon")).start()
    yield d
    d.stop()
    d.kill_guests()
    d.clean_networking()
    if d.proc and d.proc.returncode not in (0, -15):
        print(d.log_tail())


@pytest.fixture(scope="session")
def embed_uri():
    root = Path(tempfile.mkdtemp(prefix="nc", dir="/tmp"))  # short: QEMU monitor socket paths are <= 108 bytes
    yield f"qemu:///embed?root={root}"
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="module")
async def hv(embed_uri):
    started = time.monotonic()
    hypervisor = Hypervisor(embed_uri, virt_type="auto")
    await hypervisor.open()
    print(f"\nopen {embed_uri}: {time.monotonic() - started:.2f}s")
    yield hypervisor
    await hypervisor.close()
