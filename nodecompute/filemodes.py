"""Modes of everything under the data directory: state and secrets belong to the daemon's user alone.

The database holds password hashes and user data, images hold tenants' disks, console logs can show an admin
password. So files are 0600 and directories 0700 whatever the umask: every `nodecompute` command starts with
umask 077 (`restrict_umask`, which QEMU inherits under qemu:///embed), every file and directory we create gets
its mode explicitly as well, and at start the daemon brings what exists to these modes (`enforce_tree`), so a
data directory made by an older version or by hand is tightened.

Under qemu:///system QEMU runs as libvirt-qemu and must reach the guests' files. The directories on that path
(the data directory, instances/, instances/<uuid>/, instances/_base/ and volumes/) are then 0750 with group
libvirt-qemu, and nothing else opens up: libvirt's DAC driver, with its default dynamic_ownership = 1, chowns each
disk, base image, config drive and console log to libvirt-qemu while the guest runs and gives it back afterwards,
so the files themselves stay 0600. (With dynamic_ownership = 0 the files would need group read and write for libvirt-qemu;
that setting is not supported.)
"""
from __future__ import annotations

import grp
import logging
import os
import stat
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

log = logging.getLogger(__name__)

UMASK = 0o077
FILE_MODE = 0o600
DIR_MODE = 0o700
GUEST_DIR_MODE = 0o750
QEMU_GROUP = "libvirt-qemu"


@dataclass(frozen=True)
class DirAccess:
    mode: int = DIR_MODE
    gid: int | None = None  # None: leave the group alone


PRIVATE = DirAccess()


def restrict_umask() -> None:
    os.umask(UMASK)


def is_system_uri(libvirt_uri: str) -> bool:
    """qemu:///system (or qemu+unix:///system): a libvirtd whose QEMU runs as libvirt-qemu on this host."""
    parts = urlsplit(libvirt_uri)
    return parts.scheme in ("qemu", "qemu+unix") and not parts.netloc and parts.path.rstrip("/") == "/system"


def guest_dir_access(libvirt_uri: str) -> DirAccess:
    """How the directories on the path to guest disks are: private, or 0750 group libvirt-qemu under system."""
    if not is_system_uri(libvirt_uri):
        return PRIVATE
    try:
        gid = grp.getgrnam(QEMU_GROUP).gr_gid
    except KeyError:
        log.warning("%s uses group %s, which does not exist: guest directories stay 0700 and QEMU may not reach "
                    "the disks", libvirt_uri, QEMU_GROUP)
        return PRIVATE
    return DirAccess(GUEST_DIR_MODE, gid)


def data_dir_access(data_dir: Path, instances_dir: Path, guest: DirAccess,
                    volumes_dir: Path | None = None) -> Callable[[Path], DirAccess]:
    """For enforce_tree: `guest` for the directories on the path to guest disks (attached volumes included),
    PRIVATE for every other one."""
    on_guest_path = {Path(data_dir), Path(instances_dir), Path(instances_dir) / "_base"}
    if volumes_dir is not None:
        on_guest_path.add(Path(volumes_dir))

    def access(path: Path) -> DirAccess:
        return guest if path in on_guest_path or path.parent == instances_dir else PRIVATE

    return access


def make_dir(path: Path, access: DirAccess = PRIVATE) -> Path:
    """mkdir -p, where every directory made here gets `access` whatever the umask; existing ones are left alone."""
    path = Path(path)
    missing = []
    probe = path
    while not probe.is_dir():
        missing.append(probe)
        probe = probe.parent
    for directory in reversed(missing):
        try:
            directory.mkdir(mode=access.mode)
        except FileExistsError:
            continue  # made meanwhile by someone else: theirs to set
        apply_dir_access(directory, access)
    return path


def apply_dir_access(path: Path, access: DirAccess, st: os.stat_result | None = None) -> bool:
    """Give an existing directory `access`; True when something changed."""
    st = st or os.stat(path, follow_symlinks=False)
    changed = False
    if access.gid is not None and st.st_gid != access.gid:
        os.chown(path, -1, access.gid, follow_symlinks=False)
        changed = True
    if stat.S_IMODE(st.st_mode) != access.mode:
        os.chmod(path, access.mode)
        changed = True
    return changed


def create_file(path: Path, mode: int = FILE_MODE) -> Path:
    """Create `path` (empty) with `mode` whatever the umask, or set `mode` on it when it exists; never truncates."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC, mode)
    try:
        os.fchmod(fd, mode)
    finally:
        os.close(fd)
    return Path(path)


def open_new(path: Path, mode: int = FILE_MODE):
    """A new file (truncated if it exists) opened for binary writing, with `mode` whatever the umask."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, mode)
    os.fchmod(fd, mode)
    return os.fdopen(fd, "wb")


def write_atomically(path: Path, data: bytes, mode: int = FILE_MODE) -> None:
    """Write through `<path>.tmp` (mode `mode`) and rename: readers see the old file or the whole new one."""
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    with open_new(tmp, mode) as f:
        f.write(data)
    os.replace(tmp, path)


def enforce_tree(root: Path, dir_access: Callable[[Path], DirAccess] = lambda _: PRIVATE,
                 file_mode: int = FILE_MODE) -> int:
    """Bring every directory under root (root included) to dir_access(path) and every other entry to file_mode.

    One lstat per entry, a chmod only where the mode differs; symbolic links are neither followed nor changed.
    Entries that vanish meanwhile are skipped; one that cannot be changed is logged. Returns how many changed.
    """
    root = Path(root)
    changed = _fix(root, os.stat(root, follow_symlinks=False), dir_access, file_mode)
    pending = [root]
    while pending:
        directory = pending.pop()
        try:
            entries = list(os.scandir(directory))
        except (FileNotFoundError, NotADirectoryError):
            continue
        for entry in entries:
            try:
                st = entry.stat(follow_symlinks=False)
            except FileNotFoundError:
                continue
            path = Path(entry.path)
            changed += _fix(path, st, dir_access, file_mode)
            if stat.S_ISDIR(st.st_mode):
                pending.append(path)
    return changed


def _fix(path: Path, st: os.stat_result, dir_access: Callable[[Path], DirAccess], file_mode: int) -> int:
    try:
        if stat.S_ISLNK(st.st_mode):
            return 0
        if stat.S_ISDIR(st.st_mode):
            return int(apply_dir_access(path, dir_access(path), st))
        if stat.S_IMODE(st.st_mode) != file_mode:
            os.chmod(path, file_mode)
            return 1
    except FileNotFoundError:
        pass
    except OSError as exc:
        log.warning("cannot set the mode of %s: %s", path, exc)
    return 0
