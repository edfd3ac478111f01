"""Run the real daemon as a subprocess (`nodecompute serve`) on a temp data dir and a free loopback port.

Shared by the benchmarks and the integration tests (tests/integration/daemon.py re-exports it): nothing here imports
a test module. `Daemon.close()` leaves nothing behind: the process, its guests' QEMU processes, its embedded
libvirt root (a short directory under /tmp) and, for a data directory too deep for UNIX socket paths, its display
socket directory. `Daemon.opened` lists the daemons not closed yet (the integration conftest copies their logs,
domain XML and console logs when a test fails).
"""
from __future__ import annotations

import atexit
import ipaddress
import os
import random
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

from nodecompute.hostnet import bridge_name, daemon_prefix, tap_name
from nodecompute.hostnet.dnsmasq import running_pid
from nodecompute.hostnet.secgroups import our_tables

REPO = Path(__file__).resolve().parent.parent
TEST_RANGE = ipaddress.IPv4Network("198.18.0.0/15")  # set aside for network tests


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PortTaken(Exception):
    """The daemon could not bind its port: another process took it after free_port() chose it."""


def listening_pid_holds(pid: int, port: int) -> bool:
    """Whether process `pid` holds a TCP socket listening on `port` (/proc/net/tcp and tcp6, state 0A)."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if fields[3] == "0A" and int(fields[1].rsplit(":", 1)[1], 16) == port:
                inodes.add(f"socket:[{fields[9]}]")
    if not inodes:
        return False
    try:
        fds = list(Path(f"/proc/{pid}/fd").iterdir())
    except OSError:
        return False
    for fd in fds:
        try:
            if os.readlink(fd) in inodes:
                return True
        except OSError:
            continue
    return False


def qemu_pids_under(root: Path) -> list[int]:
    """PIDs of the QEMU processes whose command line names `root` (an embed root's paths are in it)."""
    pids = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes()
        except OSError:
            continue
        if b"qemu-system" in cmdline.split(b"\0", 1)[0] and str(root).encode() in cmdline:
            pids.append(int(proc.name))
    return pids


class Daemon:
    """One `nodecompute serve` process. `libvirt_root` is short (UNIX socket paths are limited to 108 bytes)."""

    opened: list[Daemon] = []

    def __init__(self, data_dir: Path, *, libvirt_uri: str | None = None, extra: str = "",
                 env: dict[str, str] | None = None, log_level: str = "DEBUG", external_network: bool = False) -> None:
        self.data_dir = data_dir
        self.port = free_port()
        self.libvirt_root = Path(tempfile.mkdtemp(prefix="nc", dir="/tmp"))
        self.libvirt_uri = libvirt_uri or f"qemu:///embed?root={self.libvirt_root}"
        # Networking: tenant subnets in a /24 of its own out of 198.18.0.0/15, dnsmasq files in a directory
        # dnsmasq's user can traverse (the data directory is 0700). With `external_network`, an external network
        # ("public", the default one) on another /24 with no uplink, its pool .10-.20 (.1 is free for a test's
        # "outside" namespace).
        self.subnet_range = random.choice(list(TEST_RANGE.subnets(new_prefix=24)))
        self.external = random.choice([n for n in TEST_RANGE.subnets(new_prefix=24) if n != self.subnet_range]) \
            if external_network else None
        external_keys = f'external_cidr = "{self.external}"\nexternal_pool = ["{self.external[10]}-' \
                        f'{self.external[20]}"]\n' if self.external else ""
        self.network_state_dir = Path(tempfile.mkdtemp(prefix="ncnet", dir="/tmp"))
        self.network_state_dir.chmod(0o755)
        self.config = data_dir / "nodecompute.toml"
        self.config.write_text(
            f'data_dir = "{data_dir}"\nlog_level = "{log_level}"\n'
            f'[server]\nlisten_port = {self.port}\n'
            f'[identity]\nkdf_time_cost = 1\nkdf_memory_kib = 1024\n'
            f'[console]\nnovncproxy_port = 0\nserialproxy_port = 0\n'  # any free ports: daemons run side by side
            f'[network]\nsubnet_ranges = ["{self.subnet_range}"]\nstate_dir = "{self.network_state_dir}"\n'
            f'{external_keys}'
            f'[compute]\nlibvirt_uri = "{self.libvirt_uri}"\n{extra}'
        )
        atexit.register(shutil.rmtree, self.network_state_dir, True)  # clean_networking() removes it sooner
        self.env = dict(os.environ, **(env or {}))
        self.proc: subprocess.Popen | None = None
        self.log_path = data_dir / "daemon.log"
        Daemon.opened.append(self)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def clouds_yaml(self) -> Path:
        return self.data_dir / "clouds.yaml"

    def start(self, timeout: float = 60.0) -> "Daemon":
        """Starts the daemon and waits until IT listens on its port (another process that took the port between
        free_port() and the bind would answer a mere connect). A first start that finds the port taken moves to
        another free port; a restart keeps its port (clients hold the URL)."""
        first = self.proc is None
        for _ in range(3):
            try:
                return self._start_once(timeout)
            except PortTaken:
                if not first:
                    raise
                old, self.port = self.port, free_port()
                self.config.write_text(self.config.read_text().replace(f"listen_port = {old}\n",
                                                                       f"listen_port = {self.port}\n"))
        raise RuntimeError(f"no free port found for the daemon:\n{self.log_tail()}")

    def _start_once(self, timeout: float) -> "Daemon":
        log_start = self.log_path.stat().st_size if self.log_path.exists() else 0
        with open(self.log_path, "ab") as log:  # the child keeps its own descriptor
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "nodecompute", "--config", str(self.config), "serve"],
                cwd=REPO, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=self.env,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                if "address already in use" in self.log_path.read_text(errors="replace")[log_start:].lower():
                    raise PortTaken(self.port)
                raise RuntimeError(f"daemon exited with {self.proc.returncode}:\n{self.log_tail()}")
            if listening_pid_holds(self.proc.pid, self.port):
                return self
            time.sleep(0.1)
        raise TimeoutError(f"daemon did not listen within {timeout}s:\n{self.log_tail()}")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30.0) -> int | None:
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else None
        self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait(timeout)

    def wait_exit(self, timeout: float = 60.0) -> int:
        assert self.proc is not None
        return self.proc.wait(timeout)

    def qemu_pids(self) -> list[int]:
        """QEMU processes of this daemon's guests (their command line names the embed root)."""
        return qemu_pids_under(self.libvirt_root)

    def defined_domains(self) -> list[str]:
        """Names of the persistent domains under the embed root (read from disk, no libvirt needed)."""
        config_dir = self.libvirt_root / "etc" / "qemu"
        return sorted(p.stem for p in config_dir.glob("*.xml")) if config_dir.is_dir() else []

    def kill_guests(self) -> None:
        """End the QEMU processes this daemon started (guests outlive the daemon by design)."""
        for pid in self.qemu_pids():
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + 10
        while self.qemu_pids() and time.monotonic() < deadline:
            time.sleep(0.1)

    @property
    def network_prefix(self) -> str:
        """The daemon's prefix on the host (namespaces, DHCP directories)."""
        return daemon_prefix(self.data_dir)

    def dhcp_dir(self, network_id: str) -> Path:
        return self.network_state_dir / f"{self.network_prefix}-dhcp-{network_id}"

    def clean_networking(self) -> None:
        """Remove what the daemon's networks hold on the host (they outlive the daemon by design): each recorded
        network's dnsmasq and bridge, the taps of its servers' ports, the daemon's namespaces, its nftables tables,
        its DHCP directory. Only by exact names and pids."""
        network_ids, port_ids = [], []
        if self.data_dir.joinpath("nodecompute.db").exists():
            with sqlite3.connect(self.data_dir / "nodecompute.db") as db:
                try:
                    network_ids = [row[0] for row in db.execute("SELECT id FROM networks")]
                    port_ids = [row[0] for row in
                                db.execute("SELECT id FROM ports WHERE device_owner LIKE 'compute:%'")]
                except sqlite3.OperationalError:
                    pass
        for port_id in port_ids:
            subprocess.run(["ip", "link", "del", tap_name(port_id)], capture_output=True)
        for network_id in network_ids:
            pid = running_pid(self.dhcp_dir(network_id) / "pid")
            if pid is not None:
                os.kill(pid, signal.SIGKILL)
            subprocess.run(["ip", "link", "del", bridge_name(network_id)], capture_output=True)
        netns = Path("/run/netns")
        for name in sorted(os.listdir(netns)) if netns.is_dir() else []:
            if name.startswith(self.network_prefix + "-"):
                subprocess.run(["ip", "netns", "del", name], capture_output=True)
        for family, table in our_tables(self.network_prefix) if shutil.which("nft") else []:
            subprocess.run(["nft", "delete", "table", family, table], capture_output=True)
        shutil.rmtree(self.network_state_dir, ignore_errors=True)

    def close(self) -> None:
        """Stop the daemon and remove everything it made outside its data directory: its guests, its networks'
        host side, its embedded libvirt root, a runtime display directory. Calling it again does nothing."""
        from nodecompute.virt import displays

        self.stop()
        self.kill_guests()
        self.clean_networking()
        shutil.rmtree(self.libvirt_root, ignore_errors=True)
        socket_dir = displays.socket_dir(self.data_dir)
        if not socket_dir.is_relative_to(self.data_dir):
            shutil.rmtree(socket_dir, ignore_errors=True)
        if self in Daemon.opened:
            Daemon.opened.remove(self)

    def artifacts(self) -> list[Path]:
        """What to keep when a test fails: the daemon log, every domain definition and live XML, every console log."""
        found = [self.log_path, self.config]
        for pattern in ("etc/qemu/*.xml", "run/qemu/*.xml", "log/qemu/*.log"):
            found += sorted(self.libvirt_root.glob(pattern))
        found += sorted((self.data_dir / "instances").glob("*/console.log*"))
        return [path for path in found if path.is_file()]

    def log_tail(self, lines: int = 60) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except FileNotFoundError:
            return ""

    def cloud(self) -> dict:
        return yaml.safe_load(self.clouds_yaml.read_text())["clouds"]["nodecompute"]

    def cli_env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("OS_")}
        env["OS_CLIENT_CONFIG_FILE"] = str(self.clouds_yaml)
        return env
