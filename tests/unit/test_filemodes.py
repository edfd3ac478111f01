"""nodecompute.filemodes: explicit modes whatever the umask, the tightening walk, and the qemu:///system layout."""
from __future__ import annotations

import grp
import os
import stat
from pathlib import Path
from types import SimpleNamespace

import pytest

from nodecompute import filemodes
from nodecompute.__main__ import main
from nodecompute.filemodes import DirAccess


@pytest.fixture(autouse=True)
def umask_022():
    old = os.umask(0o022)
    yield
    os.umask(old)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


def test_every_command_starts_with_umask_077(cfg_file):
    assert main(["--config", str(cfg_file), "project", "list"]) == 0
    assert os.umask(0o022) == 0o077


def test_made_files_and_dirs_are_private_whatever_the_umask(tmp_path):
    made = filemodes.make_dir(tmp_path / "a" / "b")
    assert mode(tmp_path / "a") == mode(made) == 0o700
    existing = tmp_path / "open"
    existing.mkdir(mode=0o755)
    filemodes.make_dir(existing)
    assert mode(existing) == 0o755  # left alone: enforce_tree at start is what tightens existing ones
    assert mode(filemodes.create_file(made / "log")) == 0o600
    (made / "old").write_bytes(b"keep")
    (made / "old").chmod(0o644)
    filemodes.create_file(made / "old")
    assert mode(made / "old") == 0o600 and (made / "old").read_bytes() == b"keep"
    with filemodes.open_new(made / "new") as f:
        f.write(b"x")
    filemodes.write_atomically(made / "conf", b"secret")
    assert mode(made / "new") == mode(made / "conf") == 0o600
    assert sorted(p.name for p in made.iterdir()) == ["conf", "log", "new", "old"]


@pytest.mark.parametrize("uri, system", [
    ("qemu:///system", True), ("qemu+unix:///system", True), ("qemu:///system?socket=/x", True),
    ("qemu:///embed?root=/var/lib/nodecompute/libvirt", False), ("qemu:///session", False),
    ("qemu+ssh://host/system", False), ("test:///default", False),
])
def test_system_uri(uri, system):
    assert filemodes.is_system_uri(uri) == system


def test_guest_path_is_0750_group_libvirt_qemu_under_system_and_nothing_else_opens(tmp_path, monkeypatch):
    gid = 4242 if os.geteuid() == 0 else os.getgid()  # root may give any group; others only their own
    monkeypatch.setattr(filemodes.grp, "getgrnam",
                        lambda name: SimpleNamespace(gr_gid=gid) if name == "libvirt-qemu" else grp.getgrnam(name))
    guest = filemodes.guest_dir_access("qemu:///system")
    assert guest == DirAccess(0o750, gid)
    assert filemodes.guest_dir_access("qemu:///embed?root=/x") == filemodes.PRIVATE
    data = tmp_path / "data"
    inst = data / "instances"
    for name in ("images", "instances/_base", "instances/uuid-1", "libvirt/etc"):
        (data / name).mkdir(parents=True, mode=0o777)
    for name in ("nodecompute.db", "images/abc", "instances/_base/abc", "instances/uuid-1/disk"):
        (data / name).write_bytes(b"")
        (data / name).chmod(0o664)
    filemodes.enforce_tree(data, filemodes.data_dir_access(data, inst, guest))
    for path in (data, inst, inst / "_base", inst / "uuid-1"):
        assert (mode(path), path.stat().st_gid) == (0o750, gid), path
    for path in (data / "images", data / "libvirt", data / "libvirt/etc"):
        assert mode(path) == 0o700, path
    for name in ("nodecompute.db", "images/abc", "instances/_base/abc", "instances/uuid-1/disk"):
        assert mode(data / name) == 0o600, name
    assert filemodes.enforce_tree(data, filemodes.data_dir_access(data, inst, guest)) == 0  # nothing left to do


def test_missing_group_under_system_keeps_directories_private(monkeypatch, caplog):
    def missing(name):
        raise KeyError(name)

    monkeypatch.setattr(filemodes.grp, "getgrnam", missing)
    assert filemodes.guest_dir_access("qemu:///system") == filemodes.PRIVATE
    assert "libvirt-qemu, which does not exist" in caplog.text
