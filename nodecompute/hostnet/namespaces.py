"""Named network namespaces, entered per thread: no fork, no `ip netns`.

A network namespace is a file under /run/netns bind-mounted from a namespace handle, as iproute2 and pyroute2 make
them (so `ip netns` sees ours). setns(2) with CLONE_NEWNET changes only the calling thread, and everything that
thread then creates (sockets, netlink sockets, child processes, /proc/sys/net files it opens) belongs to the
namespace it is in. So a worker thread enters a namespace, creates what it needs, and comes back; `Home` checks that
it did come back before every job (a thread left in a guest namespace would do the next job in the wrong place).

pyroute2's own netns.create() forks a child to unshare; forking a multi-threaded daemon is what this avoids.
"""
from __future__ import annotations

import contextlib
import ctypes
import errno
import os
from collections.abc import Iterator
from pathlib import Path

from nodecompute.hostnet.errors import HostNetError, NamespaceStuck

NETNS_DIR = Path("/run/netns")
CLONE_NEWNET = 0x40000000
MS_REC = 0x4000
MS_BIND = 0x1000
MS_SHARED = 1 << 20
MNT_DETACH = 2
NSFS_MAGIC = 0x6E736673

_libc = ctypes.CDLL(None, use_errno=True)


def _check(result: int, what: str) -> None:
    if result != 0:
        code = ctypes.get_errno()
        raise OSError(code, f"{what}: {os.strerror(code)}")


def _thread_namespace_inode() -> int:
    return os.stat("/proc/thread-self/ns/net").st_ino


def namespace_path(name: str) -> Path:
    if not name or "/" in name or name in (".", ".."):
        raise ValueError(f"not a namespace name: {name!r}")
    return NETNS_DIR / name


class Home:
    """The host namespace of this process, as a handle a worker thread can always return to."""

    def __init__(self) -> None:
        self._fd = os.open("/proc/thread-self/ns/net", os.O_RDONLY | os.O_CLOEXEC)
        self.inode = os.fstat(self._fd).st_ino
        self.stuck = False

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def check(self) -> None:
        """Refuse to work on a thread that is not in the host namespace."""
        if self.stuck or _thread_namespace_inode() != self.inode:
            self.stuck = True
            raise NamespaceStuck("a host networking thread is not in the host network namespace")

    def go_back(self) -> None:
        if _libc.setns(self._fd, CLONE_NEWNET) != 0:
            self.stuck = True
            raise NamespaceStuck(f"cannot return to the host network namespace: {os.strerror(ctypes.get_errno())}")

    @contextlib.contextmanager
    def inside(self, name: str) -> Iterator[None]:
        """Run the body on this thread inside namespace `name`, then come back to the host (even when the body
        fails). Not nestable: the way back is always the host namespace."""
        try:
            fd = os.open(namespace_path(name), os.O_RDONLY | os.O_CLOEXEC)
        except FileNotFoundError as exc:
            raise HostNetError(f"network namespace {name} does not exist") from exc
        try:
            _check(_libc.setns(fd, CLONE_NEWNET), f"setns {name}")
        finally:
            os.close(fd)
        try:
            yield
        finally:
            self.go_back()

    def create(self, name: str) -> bool:
        """Make namespace `name` unless it exists (then False); the thread stays in the host namespace."""
        path = namespace_path(name)
        _share_netns_dir()
        try:
            os.close(os.open(path, os.O_RDONLY | os.O_CREAT | os.O_EXCL, 0))
        except FileExistsError:
            if _is_mounted_namespace(path):
                return False
        try:
            _check(_libc.unshare(CLONE_NEWNET), "unshare")
            try:
                _check(_libc.mount(b"/proc/thread-self/ns/net", bytes(path), b"none", MS_BIND, None),
                       f"bind {path}")
            finally:
                self.go_back()
        except OSError as exc:
            path.unlink(missing_ok=True)
            raise HostNetError(f"cannot create network namespace {name}: {exc}") from exc
        return True


def remove(name: str) -> bool:
    """Unmount and remove namespace `name` (False when it did not exist). Interfaces inside die with it once
    nothing (a process, a socket) holds the namespace any more."""
    path = namespace_path(name)
    if not path.exists():
        return False
    if _libc.umount2(bytes(path), MNT_DETACH) != 0 and ctypes.get_errno() not in (errno.EINVAL, errno.ENOENT):
        code = ctypes.get_errno()
        raise HostNetError(f"cannot unmount network namespace {name}: {os.strerror(code)}")
    path.unlink(missing_ok=True)
    return True


def list_names(start: str) -> list[str]:
    """Namespace names beginning with `start` (the daemon prefix): only this daemon's."""
    try:
        return sorted(p.name for p in NETNS_DIR.iterdir() if p.name.startswith(start))
    except FileNotFoundError:
        return []


def exists(name: str) -> bool:
    return _is_mounted_namespace(namespace_path(name))


def _is_mounted_namespace(path: Path) -> bool:
    """A namespace file is a mount of an nsfs handle; an empty leftover file (a failed create) is not."""
    buf = ctypes.create_string_buffer(120)  # struct statfs; f_type is its first field (a long)
    if _libc.statfs(bytes(path), buf) != 0:
        return False
    return int.from_bytes(buf.raw[:ctypes.sizeof(ctypes.c_long)], "little") == NSFS_MAGIC


def _share_netns_dir() -> None:
    """Make /run/netns a shared mount point, as iproute2 does, so namespaces show in every mount namespace."""
    NETNS_DIR.mkdir(mode=0o755, parents=True, exist_ok=True)
    if _libc.mount(b"", bytes(NETNS_DIR), b"none", MS_SHARED | MS_REC, None) == 0:
        return
    _check(_libc.mount(bytes(NETNS_DIR), bytes(NETNS_DIR), b"none", MS_BIND | MS_REC, None), "bind /run/netns")
    _check(_libc.mount(b"", bytes(NETNS_DIR), b"none", MS_SHARED | MS_REC, None), "share /run/netns")


@contextlib.contextmanager
def handle(name: str) -> Iterator[int]:
    """An open file descriptor of namespace `name` (for moving an interface into it)."""
    fd = os.open(namespace_path(name), os.O_RDONLY | os.O_CLOEXEC)
    try:
        yield fd
    finally:
        os.close(fd)


def write_sysctl(home: Home, namespace: str, key: str, value: str) -> None:
    """Set a `net.*` sysctl inside `namespace` only (/proc/sys/net follows the opening thread's namespace).
    Nothing else is per-namespace, so nothing else may be set: the host's own settings are never touched."""
    if not key.startswith("net.") or ".." in key or "/" in key:
        raise ValueError(f"only net.* sysctls are per network namespace: {key!r}")
    with home.inside(namespace):
        Path("/proc/sys", *key.split(".")).write_text(f"{value}\n")


def read_sysctl(home: Home, namespace: str, key: str) -> str:
    if not key.startswith("net.") or ".." in key or "/" in key:
        raise ValueError(f"only net.* sysctls are per network namespace: {key!r}")
    with home.inside(namespace):
        return Path("/proc/sys", *key.split(".")).read_text().strip()
