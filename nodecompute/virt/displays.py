"""Where guests' VNC displays listen: UNIX sockets that only the daemon's user can open, never a TCP port.

Each server's display is `<dir>/<server uuid>.sock` (and its test command channel, when it has one,
`<dir>/<server uuid>.chan`: QEMU makes it the same way); QEMU creates it (and replaces a stale one) at every start,
the daemon makes it 0600 right after, and the directory is 0700, so nobody else can reach it even before that.
The directory is `<data_dir>/vnc` when its socket paths fit the 107 bytes a UNIX socket path may have (sun_path
is 108 bytes with the terminating NUL). A deeper data directory puts them under a short runtime directory named by
a hash of the data directory, so two daemons never share one: `/run/nodecompute-<hash>` as root, else
`$XDG_RUNTIME_DIR/nodecompute-<hash>`, else `/tmp/nodecompute-<uid>-<hash>`. The choice is checked when the
daemon starts, and a path that cannot fit stops it with a message.

When QEMU runs as another user than the daemon (qemu:///system: libvirt-qemu), it must create the sockets: the
directory is then 0770 with that user's group, and the sockets still 0600.
"""
from __future__ import annotations

import grp
import hashlib
import os
import stat
from pathlib import Path

from nodecompute.virt.errors import HypervisorError

MAX_SOCKET_PATH = 107  # bytes, without sun_path's terminating NUL
SOCKET_SUFFIX = ".sock"
CHANNEL_SUFFIX = ".chan"  # no longer than SOCKET_SUFFIX: what fits for the display fits for the channel
SERIAL_SUFFIX = ".ser"  # the serial console's socket; no longer than SOCKET_SUFFIX either
UUID_LENGTH = 36
DIR_NAME = "vnc"
SOCKET_MODE = 0o600


def socket_path(directory: Path, server_uuid: str) -> Path:
    return directory / f"{server_uuid}{SOCKET_SUFFIX}"


def channel_path(directory: Path, server_uuid: str) -> Path:
    """The UNIX socket of the server's test command channel (domain/guest_channels.py TEST_CHANNEL)."""
    return directory / f"{server_uuid}{CHANNEL_SUFFIX}"


def serial_path(directory: Path, server_uuid: str) -> Path:
    """The UNIX socket of the server's serial console (port 0; QEMU also logs it to the console log)."""
    return directory / f"{server_uuid}{SERIAL_SUFFIX}"


def fits(directory: Path) -> bool:
    """True when every server's socket path under `directory` is short enough."""
    longest = len(os.fsencode(directory)) + 1 + UUID_LENGTH + len(SOCKET_SUFFIX)
    return longest <= MAX_SOCKET_PATH


def runtime_dir(data_dir: Path, *, base: Path | None = None) -> Path:
    """The short directory for a data directory too deep for socket paths (one per data directory)."""
    digest = hashlib.sha256(os.fsencode(Path(data_dir).absolute())).hexdigest()[:12]
    if base is not None:
        return base / f"nodecompute-{digest}"
    if os.geteuid() == 0:
        return Path("/run") / f"nodecompute-{digest}"
    xdg = os.environ.get("XDG_RUNTIME_DIR")
    if xdg:
        return Path(xdg) / f"nodecompute-{digest}"
    return Path("/tmp") / f"nodecompute-{os.geteuid()}-{digest}"


def socket_dir(data_dir: Path, *, runtime_base: Path | None = None) -> Path:
    """`<data_dir>/vnc`, or the runtime directory when that is too deep; HypervisorError when neither fits."""
    preferred = Path(data_dir).absolute() / DIR_NAME
    if fits(preferred):
        return preferred
    fallback = runtime_dir(data_dir, base=runtime_base)
    if fits(fallback):
        return fallback
    raise HypervisorError(
        f"VNC display sockets fit neither under {preferred} nor under {fallback}: a UNIX socket path has at most "
        f"{MAX_SOCKET_PATH} bytes; use a shorter data_dir (or XDG_RUNTIME_DIR)")


def prepare(directory: Path, *, qemu_group: str | None = None) -> Path:
    """Create the socket directory, or check and tighten an existing one: a real directory of the daemon's user,
    0700 (0770 with group `qemu_group` when QEMU runs as that group)."""
    try:
        gid = grp.getgrnam(qemu_group).gr_gid if qemu_group else None
    except KeyError:
        raise HypervisorError(f"group {qemu_group!r} (QEMU's, for the VNC display sockets) does not exist") from None
    directory.parent.mkdir(parents=True, exist_ok=True)
    try:
        directory.mkdir(mode=0o700)
    except FileExistsError:
        pass
    info = directory.lstat()
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.geteuid():
        raise HypervisorError(f"{directory} must be a directory owned by uid {os.geteuid()} (VNC display sockets)")
    if gid is not None:
        os.chown(directory, -1, gid)
    os.chmod(directory, 0o770 if gid is not None else 0o700)
    return directory


def restrict(socket: Path) -> None:
    """Make a display socket 0600 (QEMU creates it with libvirt's umask, 002). No error if it is missing."""
    try:
        os.chmod(socket, SOCKET_MODE)
    except FileNotFoundError:
        pass
