"""One network's dnsmasq process: started inside the network's DHCP namespace, found again by pid file.

A pid is believed only when /proc/<pid>/cmdline names that very pid file (`--pid-file=<path>`): a recycled pid, or
another daemon's dnsmasq, never matches. Nothing is ever looked up or signalled by process name.

dnsmasq forks into the background itself and its first process exits only once the daemon is up (or with the
error that stopped it), so a start is one blocking call with an exit code. It then outlives our daemon; the next
daemon finds it by its pid file.
"""
from __future__ import annotations

import os
import pwd
import shutil
import signal
import subprocess
import time
from pathlib import Path

from nodecompute.hostnet.errors import HostNetError
from nodecompute.hostnet.namespaces import Home

START_TIMEOUT = 20.0
STOP_TIMEOUT = 5.0


def binary() -> str:
    found = shutil.which("dnsmasq") or shutil.which("dnsmasq", path="/usr/sbin:/sbin")
    if not found:
        raise HostNetError("dnsmasq is not installed (Debian package dnsmasq-base)")
    return found


def default_user() -> str:
    """Debian's dnsmasq-base account when it exists, else nobody (dnsmasq's own default)."""
    try:
        pwd.getpwnam("dnsmasq")
        return "dnsmasq"
    except KeyError:
        return "nobody"


def cmdline(pid: int) -> list[str] | None:
    """The command line of a live process (None when gone or a zombie, whose cmdline is empty)."""
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    return raw.decode(errors="replace").split("\0")[:-1] or None


def running_pid(pid_file: Path) -> int | None:
    """The pid in `pid_file`, when that process is alive and is the dnsmasq started with this pid file."""
    try:
        pid = int(pid_file.read_text().strip())
    except (FileNotFoundError, ValueError):
        return None
    argv = cmdline(pid)
    if argv and f"--pid-file={pid_file}" in argv and os.path.basename(argv[0]).startswith("dnsmasq"):
        return pid
    return None


def start(home: Home, namespace: str, argv: list[str]) -> int:
    """Start dnsmasq inside `namespace` (the child inherits the worker thread's namespace); return its pid."""
    pid_file = Path(next(a for a in argv if a.startswith("--pid-file=")).split("=", 1)[1])
    pid_file.unlink(missing_ok=True)
    with home.inside(namespace):
        try:
            done = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, timeout=START_TIMEOUT,
                                  env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL": "C"})
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise HostNetError(f"dnsmasq did not start in {namespace}: {exc}") from exc
    if done.returncode != 0:
        detail = (done.stderr or done.stdout).decode(errors="replace").strip()
        raise HostNetError(f"dnsmasq failed in {namespace} (exit {done.returncode}): {detail}")
    pid = running_pid(pid_file)
    if pid is None:
        raise HostNetError(f"dnsmasq in {namespace} started but its pid file {pid_file} names no dnsmasq")
    return pid


def reload(pid: int) -> None:
    """SIGHUP: dnsmasq re-reads the hosts and options files."""
    try:
        os.kill(pid, signal.SIGHUP)
    except ProcessLookupError as exc:
        raise HostNetError(f"dnsmasq {pid} is gone") from exc


def stop(pid_file: Path) -> bool:
    """SIGTERM the dnsmasq of `pid_file` (False when none runs) and wait for it to end; SIGKILL if it will not."""
    pid = running_pid(pid_file)
    if pid is None:
        return False
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            return True
        deadline = time.monotonic() + STOP_TIMEOUT
        while running_pid(pid_file) == pid:
            if time.monotonic() > deadline:
                break
            time.sleep(0.01)
        else:
            return True
    raise HostNetError(f"dnsmasq {pid} did not end after SIGKILL")
