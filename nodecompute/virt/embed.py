"""Settings for libvirt's embedded QEMU driver (qemu:///embed?root=DIR), written before its first open.

The embedded driver reads DIR/etc/qemu.conf. Two things must be set there for it to work on a plain host:

- stdio_handler = "file": the default ("logd") asks virtlogd at /run/libvirt/virtlogd-sock, which nobody
  runs for an embedded driver, and every domain start fails with "Failed to connect socket to
  '/run/libvirt/virtlogd-sock'".
- when the daemon runs as root, user/group = "root": the driver is then "privileged" and would run QEMU as
  libvirt-qemu, which cannot traverse 0700/0750 data directories, and whose missing access to /dev/kvm makes
  libvirt re-probe QEMU capabilities forever ("KVM was enabled when probing ..., but it is not available now"),
  hanging the first define. QEMU stays confined by libvirt's seccomp sandbox
  (-sandbox on,elevateprivileges=deny,spawn=deny,...). Operators may edit the file; it is never overwritten.

At each open, `forget_orphaned_jobs` first drops from the domains' status XML the backup jobs a killed daemon left
(virt/leftovers.py settles the rest once the driver is open).

A privileged embedded driver still resolves the user "libvirt-qemu" when it starts, before reading qemu.conf;
that user must exist (Debian's libvirt-daemon-system creates it), see MISSING_QEMU_USER_HINT.
"""
from __future__ import annotations

import os
import re
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from nodecompute.filemodes import PRIVATE, apply_dir_access, make_dir, write_atomically

MISSING_QEMU_USER_HINT = (
    "the embedded QEMU driver needs the system user and group 'libvirt-qemu' when run as root "
    "(create them: useradd --system --user-group --no-create-home --shell /usr/sbin/nologin libvirt-qemu)"
)


def embed_root(uri: str) -> Path | None:
    """DIR of qemu:///embed?root=DIR, else None."""
    parts = urlsplit(uri)
    if parts.scheme != "qemu" or parts.path != "/embed":
        return None
    roots = parse_qs(parts.query).get("root")
    return Path(roots[0]) if roots else None


# The longest socket path the embedded driver makes under DIR before any guest exists: its QEMU capability probe's
# monitor, DIR/lib/qemu/qmp-XXXXXX/qmp.monitor (libvirt's qemuProcessQMPInit). A UNIX socket path has at most 107
# bytes; beyond that the probe fails and libvirt reports no hvm guest at all, which says nothing of the cause.
PROBE_SOCKET_TAIL = "/lib/qemu/qmp-XXXXXX/qmp.monitor"
SOCKET_PATH_MAX = 107


def root_too_deep(root: Path) -> str | None:
    """Why `root` cannot hold the embedded driver's sockets, or None when it can."""
    longest = len(os.fsencode(root)) + len(PROBE_SOCKET_TAIL)
    if longest <= SOCKET_PATH_MAX:
        return None
    return (f"the embedded libvirt root {root} is too deep: QEMU's monitor socket under it would be {longest} bytes "
            f"long, and a UNIX socket path has at most {SOCKET_PATH_MAX}; choose a data_dir at most "
            f"{SOCKET_PATH_MAX - len(PROBE_SOCKET_TAIL) - len('/libvirt')} bytes long, better far shorter (the "
            f"guests' monitor and channel sockets go deeper still), e.g. /var/lib/nodecompute")


def qemu_conf_text(as_root: bool) -> str:
    lines = [
        "# Written by nodecompute for its embedded QEMU driver (see nodecompute/virt/embed.py).",
        "# Edit freely: nodecompute never overwrites this file.",
        "# No virtlogd for an embedded driver: libvirt writes QEMU's own log file itself.",
        'stdio_handler = "file"',
    ]
    if as_root:
        lines += [
            "# Run QEMU as the daemon's user; libvirt's seccomp sandbox still confines it.",
            'user = "root"',
            'group = "root"',
            "# QEMU as root needs no relabelling of disk, drive and log files, nor a private /dev per guest.",
            "dynamic_ownership = 0",
            "remember_owner = 0",
            "namespaces = []",
        ]
    return "\n".join(lines) + "\n"


def ensure_qemu_conf(root: Path) -> Path:
    """Make the root 0700 and create root/etc/qemu.conf unless it exists. Returns its path."""
    make_dir(root)
    apply_dir_access(root, PRIVATE)  # the driver's state, QEMU logs and sockets are the daemon's alone
    conf = root / "etc" / "qemu.conf"
    if not conf.exists():
        make_dir(conf.parent)
        write_atomically(conf, qemu_conf_text(as_root=os.geteuid() == 0).encode())
    return conf


# <job .../> of a status XML whose async job libvirt's reconnect would take over without the data it needs
_ORPHANED_JOB = re.compile(r"\s*<job [^>]*async='backup'[^>]*/>")


def forget_orphaned_jobs(root: Path) -> list[str]:
    """Before libvirt's embedded driver opens `root`: drop the backup job a killed daemon recorded in a running
    domain's status XML (<root>/run/qemu/<name>.xml). libvirt 9.0's reconnect takes such a job over as an async
    job with no owner and, killed early enough, without its backup data ("backup job data missing"): nothing ever
    ends it, and every later start, managed save or backup of the domain fails with "cannot acquire state change
    lock", even after a destroy, until the process ends. The QEMU keeps running; the createImage the job served is
    abandoned at start (its image and copy deleted, compute/server_images.py). Returns the domains whose job was
    dropped (measured: tests/integration/test_crash_loop.py kills into one)."""
    dropped = []
    for status in sorted((root / "run" / "qemu").glob("*.xml")):
        text = status.read_text()
        kept = _ORPHANED_JOB.sub("", text)
        if kept != text:
            write_atomically(status, kept.encode())
            dropped.append(status.stem)
    return dropped
