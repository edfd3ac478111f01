"""nodecompute.virt.displays: where the VNC display sockets go, and that only the daemon's user can reach them."""
from __future__ import annotations

import grp
import os
import shutil
import stat
import tempfile
import uuid
from pathlib import Path

import pytest

from nodecompute.virt import displays
from nodecompute.virt.errors import HypervisorError

UUID = str(uuid.uuid4())


@pytest.fixture
def short_tmp():
    """A directory with a short path (pytest's tmp_path can be 60 bytes long already)."""
    path = Path(tempfile.mkdtemp(prefix="ncd", dir="/tmp"))
    yield path
    shutil.rmtree(path)


def _deep(base, total: int):
    """A directory path under `base` of exactly `total` bytes."""
    path = base / ("d" * (total - len(str(base)) - 1))
    assert len(str(path)) == total
    return path


def test_sockets_under_the_data_dir_while_they_fit(short_tmp):
    data_dir = _deep(short_tmp, 61)  # 61 + len("/vnc/") + 36 + len(".sock") = 107
    chosen = displays.socket_dir(data_dir, runtime_base=short_tmp / "run")
    assert chosen == data_dir / "vnc"
    assert len(os.fsencode(displays.socket_path(chosen, UUID))) == displays.MAX_SOCKET_PATH


def test_deeper_data_dir_uses_a_runtime_dir_per_data_dir(short_tmp):
    base = short_tmp / "run"
    first, second = _deep(short_tmp, 62), _deep(short_tmp / "x", 120)
    chosen = displays.socket_dir(first, runtime_base=base)
    assert chosen.parent == base and chosen.name.startswith("nodecompute-")
    assert displays.socket_dir(first, runtime_base=base) == chosen  # stable across starts
    assert displays.socket_dir(second, runtime_base=base) != chosen  # two daemons never share one
    assert len(os.fsencode(displays.socket_path(chosen, UUID))) <= displays.MAX_SOCKET_PATH


def test_default_runtime_dirs(tmp_path, monkeypatch):
    monkeypatch.setattr(os, "geteuid", lambda: 0)
    assert str(displays.runtime_dir(tmp_path)).startswith("/run/nodecompute-")
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    monkeypatch.setenv("XDG_RUNTIME_DIR", "/run/user/1000")
    assert str(displays.runtime_dir(tmp_path)).startswith("/run/user/1000/nodecompute-")
    monkeypatch.delenv("XDG_RUNTIME_DIR")
    assert str(displays.runtime_dir(tmp_path)).startswith("/tmp/nodecompute-1000-")


def test_no_place_fits_stops_the_daemon(short_tmp):
    with pytest.raises(HypervisorError, match="107 bytes"):
        displays.socket_dir(_deep(short_tmp, 120), runtime_base=_deep(short_tmp / "r", 80))


def test_prepare_makes_and_tightens_a_0700_directory(tmp_path):
    made = displays.prepare(tmp_path / "a" / "vnc")
    assert stat.S_IMODE(made.stat().st_mode) == 0o700
    made.chmod(0o755)
    displays.prepare(made)  # an existing one is tightened at start
    assert stat.S_IMODE(made.stat().st_mode) == 0o700


def test_prepare_for_a_qemu_running_as_another_group(tmp_path):
    group = grp.getgrgid(os.getegid()).gr_name
    made = displays.prepare(tmp_path / "vnc", qemu_group=group)
    assert stat.S_IMODE(made.stat().st_mode) == 0o770 and made.stat().st_gid == os.getegid()
    with pytest.raises(HypervisorError, match="does not exist"):
        displays.prepare(tmp_path / "vnc", qemu_group="no-such-group-nodecompute")


def test_prepare_refuses_what_is_not_our_directory(tmp_path):
    target = tmp_path / "elsewhere"
    target.mkdir()
    (tmp_path / "link").symlink_to(target)
    with pytest.raises(HypervisorError, match="must be a directory owned by"):
        displays.prepare(tmp_path / "link")
    (tmp_path / "file").write_text("")
    with pytest.raises(HypervisorError, match="must be a directory owned by"):
        displays.prepare(tmp_path / "file")


@pytest.mark.skipif(os.geteuid() != 0, reason="making a directory of another user needs root")
def test_prepare_refuses_another_users_directory(tmp_path):
    foreign = tmp_path / "foreign"  # e.g. made in /tmp by someone else before the daemon's first start
    foreign.mkdir(mode=0o755)
    os.chown(foreign, 65534, 65534)
    before = foreign.stat()
    with pytest.raises(HypervisorError, match="must be a directory owned by"):
        displays.prepare(foreign)
    after = foreign.stat()
    assert (after.st_mode, after.st_uid) == (before.st_mode, before.st_uid)  # left as it was


def test_restrict_makes_a_socket_0600(short_tmp):
    import socket

    path = short_tmp / f"{UUID}.sock"
    with socket.socket(socket.AF_UNIX) as listener:
        listener.bind(str(path))
        path.chmod(0o775)  # as QEMU leaves it under libvirt's umask
        displays.restrict(path)
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    displays.restrict(short_tmp / "missing.sock")  # a guest that is not running: nothing to do
