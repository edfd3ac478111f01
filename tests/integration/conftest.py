"""Integration fixtures: the real daemon, started once per module, stopped (by PID) at the end; and the in-process
libvirt connection of the adapter tests. When a test fails while daemons are open, their logs, domain XML and the
guests' console logs are copied under the pytest basetemp (artifacts.py) and the report names the directory.

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
from tests.integration.artifacts import artifact_dir, keep_artifacts
from tests.integration.cloud import Cloud
from tests.integration.daemon import Daemon


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if report.failed and Daemon.opened:
        dest = artifact_dir(item.config._tmp_path_factory.getbasetemp(), f"{item.nodeid}-{report.when}")
        copied = keep_artifacts(list(Daemon.opened), dest)
        report.sections.append(("artifacts", f"{len(copied)} files (daemon log, domain XML, console logs) kept in "
                                             f"{dest}"))
    return report


@pytest.fixture(scope="module")
def daemon(tmp_path_factory):
    d = Daemon(tmp_path_factory.mktemp("daemon")).start()
    yield d
    d.close()  # guests, networks, libvirt root
    if d.proc and d.proc.returncode not in (0, -15):
        print(d.log_tail())


@pytest.fixture(scope="module")
def cloud(daemon) -> Cloud:
    """The admin's client of the module's daemon (whichever `daemon` the module defines)."""
    return Cloud(daemon)


@pytest.fixture(scope="module")
def admin(cloud) -> Cloud:
    return cloud


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
