"""Shared fixtures: a config on a temp data dir, and the app under an aiohttp test client."""
from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from collections import defaultdict
from pathlib import Path

import pytest

from nodecompute.config import ComputeConfig, Config, ConsoleConfig, IdentityConfig, NetworkConfig, ServerConfig

REPO = Path(__file__).resolve().parent.parent

# Every app a test makes (create_app) registers some 1,700 routes, and aiohttp compiles a regular expression for each
# dynamic one twice (its path, then with the face's prefix): some 1,400 distinct patterns, past the 512 that `re`
# keeps compiled, so each new app compiled them all again (create_app: 0.28 CPU-s, 0.05 with them kept; every API
# test makes at least one app). With room for them all, the second and later apps of a worker find them compiled.
# CPython's `re` reads this module attribute on every compile (3.11-3.13); without it, only the speed is lost.
if getattr(re, "_MAXCACHE", 0) < 8192:
    re._MAXCACHE = 8192


# Seconds each test file took in a whole run on 2 cores (scripts/test.sh; NODECOMPUTE_WRITE_FILE_SECONDS=1 writes
# it again at the end of a run). Only the order of the files comes from it: see pytest_collection_modifyitems.
FILE_SECONDS_TABLE = REPO / "tests" / "file_seconds.json"


def file_of(nodeid: str) -> str:
    """The test file of a test id, as the per-file seconds are kept."""
    return nodeid.split("::", 1)[0]


def file_seconds_table() -> dict[str, float]:
    try:
        return json.loads(FILE_SECONDS_TABLE.read_text())
    except (OSError, ValueError):
        return {}


def pytest_collection_modifyitems(config, items):
    # Longest files first: xdist's --dist loadfile hands out whole files in collection order (scripts/test.sh
    # passes --no-loadscope-reorder; xdist's own order puts files with many tests first), so a four-minute guest
    # module no longer starts last while the other worker sits idle. Files not in the table go last, in their
    # collected order; every worker sorts the same way, so the collections stay equal.
    seconds = file_seconds_table()
    items.sort(key=lambda item: -seconds.get(file_of(item.nodeid), 0.0))
    # CI never skips the real-guest tests; a developer may opt out locally with NODECOMPUTE_SKIP_INTEGRATION=1.
    if os.environ.get("NODECOMPUTE_SKIP_INTEGRATION") == "1" and not os.environ.get("CI"):
        skip = pytest.mark.skip(reason="NODECOMPUTE_SKIP_INTEGRATION=1")
        for item in items:
            if "integration" in item.keywords:
                item.add_marker(skip)


_FILE_SECONDS: dict[str, float] = defaultdict(float)


def pytest_runtest_logreport(report):
    # Setup, call and teardown of every test, summed per file (under xdist, in the controller, from the workers'
    # reports): the suite-time budget is kept per module, and a module-scoped fixture's cost lands on its first test.
    _FILE_SECONDS[file_of(report.nodeid)] += report.duration


def pytest_terminal_summary(terminalreporter):
    if not _FILE_SECONDS:
        return
    ranked = sorted(_FILE_SECONDS.items(), key=lambda item: -item[1])
    terminalreporter.write_sep("=", f"slowest files (of {len(ranked)}, {sum(_FILE_SECONDS.values()):.0f} s in all)")
    for path, seconds in ranked[:25]:
        terminalreporter.write_line(f"{seconds:8.1f}s {path}")
    if os.environ.get("NODECOMPUTE_WRITE_FILE_SECONDS") == "1":
        table = {path: round(seconds, 1) for path, seconds in ranked}
        FILE_SECONDS_TABLE.write_text(json.dumps(table, indent=0) + "\n")
        terminalreporter.write_line(f"wrote {FILE_SECONDS_TABLE}")


@pytest.fixture(scope="session", autouse=True)
def _migrated_schema_template(tmp_path_factory):
    """Every app a test starts opens a new database, and applying the whole migration set to it cost more CPU than
    the rest of the app's start (0.11 of 0.17 s). The set is applied once per worker, to a template; a store opening
    a database that does not exist yet (or is an empty file) gets the template's bytes first, then the real
    open_and_migrate, which finds nothing pending. An existing database is migrated as the daemon would. (The
    template's __DEFAULT__ volume type, id and date, is the same in every app of a worker.) The whole set on an empty
    database is applied here, and tests/unit/test_migrations.py checks the steps themselves."""
    from nodecompute.db import store
    from nodecompute.filemodes import create_file, make_dir

    migrate = store.open_and_migrate
    template = tmp_path_factory.mktemp("schema") / "nodecompute.db"
    migrate(template).close()
    schema = template.read_bytes()

    def open_from_template(path: Path):
        if not path.exists() or path.stat().st_size == 0:
            make_dir(path.parent)
            create_file(path)  # its mode as open_and_migrate gives it, then the migrated content
            with open(path, "r+b") as new:
                new.write(schema)
        return migrate(path)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(store, "open_and_migrate", open_from_template)
        yield


@pytest.fixture(autouse=True)
def _keep_umask():
    """`nodecompute`'s main() sets umask 077 for the process; tests calling it in-process must not change the umask
    the next test runs under."""
    umask = os.umask(0o022)
    os.umask(umask)
    yield
    os.umask(umask)


@pytest.fixture
def data_dir() -> Path:
    """A short path, unlike tmp_path (60 bytes and more): under it the VNC display sockets fit the 107 bytes of a UNIX
    socket path, so the daemon keeps them there instead of making a runtime directory in /run for every test."""
    path = Path(tempfile.mkdtemp(prefix="ncdata", dir="/tmp"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def network_state_dir() -> Path:
    """Where an app under test keeps its dnsmasq files: traversable by dnsmasq's user, removed after the test."""
    path = Path(tempfile.mkdtemp(prefix="ncnet", dir="/tmp"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def cfg(data_dir: Path, network_state_dir: Path) -> Config:
    """Defaults, on a temp data dir, with a cheap KDF so tests can issue hundreds of tokens, and tenant subnets in
    198.18.0.0/15 (the range set aside for network tests)."""
    return Config(
        data_dir=data_dir,
        server=ServerConfig(listen_port=8774),
        identity=IdentityConfig(admin_password="admin-secret", kdf_time_cost=1, kdf_memory_kib=1024),
        compute=ComputeConfig(libvirt_uri="test:///default"),
        network=NetworkConfig(subnet_ranges=("198.18.0.0/15",), state_dir=str(network_state_dir / "hostnet")),
        console=ConsoleConfig(novncproxy_port=0, serialproxy_port=0),  # any free ports: tests run side by side
    )


@pytest.fixture
def cfg_file(cfg: Config, tmp_path: Path) -> Path:
    """`cfg` as a TOML file, for the `nodecompute` CLI working on the same data directory as the app under test."""
    path = tmp_path / "nodecompute.toml"
    path.write_text(
        f'data_dir = "{cfg.data_dir}"\n'
        f'[identity]\nadmin_password = "{cfg.identity.admin_password}"\n'
        f'kdf_time_cost = {cfg.identity.kdf_time_cost}\nkdf_memory_kib = {cfg.identity.kdf_memory_kib}\n'
        f'[compute]\nlibvirt_uri = "{cfg.compute.libvirt_uri}"\n'
    )
    return path
