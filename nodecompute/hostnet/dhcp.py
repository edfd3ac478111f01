"""A network's DHCP: its namespace, the DHCP port's leg into the bridge, the dnsmasq files and process.

Blocking steps for the worker thread. ensure() is idempotent: it makes what is missing, rewrites the hosts and
options files, sends SIGHUP when only they changed, and restarts dnsmasq when its command line differs (a subnet
or the upstream servers changed: dnsmasq re-reads only the files on SIGHUP).
"""
from __future__ import annotations

import pwd
import shutil
import stat
from pathlib import Path

from nodecompute.hostnet import dnsmasq, links, namespaces
from nodecompute.hostnet.dhcp_config import DhcpFiles, dhcp_subnets, dnsmasq_argv, hosts_file, leg_addresses, \
    opts_file
from nodecompute.hostnet.errors import HostNetError
from nodecompute.hostnet.names import DaemonNames, bridge_name, dhcp_leg_name, tap_name
from nodecompute.hostnet.specs import Network, Port
from nodecompute.hostnet.worker import Worker


class Dhcp:
    def __init__(self, worker: Worker, names: DaemonNames, state_dir: Path, user: str) -> None:
        self.worker = worker
        self.names = names
        self.state_dir = state_dir
        self.user = user
        # network id -> (the leg's settings, dnsmasq's argv) of the last ensure that went through in full or found
        # everything in place: dropped when an ensure fails midway or the DHCP is deleted
        self._settled: dict[str, tuple] = {}

    def files(self, network_id: str) -> DhcpFiles:
        return DhcpFiles(self.state_dir / self.names.dhcp_dir_name(network_id))

    def ensure(self, network: Network, ports: tuple[Port, ...]) -> int | None:
        """Everything for the network's DHCP; returns dnsmasq's pid (None: the network needs no DHCP).

        The DHCP leg is checked in full (some twenty netlink calls, about 0.1 s) unless this process set it up for
        the same network settings already and its host end still exists: a port added or removed then costs only
        the files and a SIGHUP."""
        if network.dhcp_port is None or not dhcp_subnets(network):
            self.delete(network.id)
            return None
        namespace = self.names.dhcp_namespace(network.id)
        inner = dhcp_leg_name(network.dhcp_port.id)
        files = self.files(network.id)
        argv = dnsmasq_argv(dnsmasq.binary(), network, files, inner, self.user)
        settled = (_leg_settings(network), tuple(argv))
        new_leg = False
        if self._settled.pop(network.id, None) != settled or links.host_index(tap_name(network.dhcp_port.id)) is None:
            new_leg = self._ensure_leg(network, namespace, inner)
        before = _host_lines(files.hosts)
        changed = self._write_files(files, network, ports)
        gone = before - _host_lines(files.hosts)
        pid = dnsmasq.running_pid(files.pid)
        if pid is not None and dnsmasq.cmdline(pid) == argv and not new_leg and not gone:
            if changed:
                dnsmasq.reload(pid)
            self._settled[network.id] = settled
            return pid
        # A host entry that went (a port deleted or readdressed) takes its lease along: dnsmasq would otherwise
        # keep the address for the old MAC ("not using configured address ... because it is leased to ...") and
        # the next port given that address would get none. dnsmasq keeps leases in memory, so: stop, prune, start.
        dnsmasq.stop(files.pid)
        prune_leases(files.leases, _host_lines(files.hosts))
        pid = dnsmasq.start(self.worker.home, namespace, argv)
        self._settled[network.id] = settled
        return pid

    def _ensure_leg(self, network: Network, namespace: str, inner: str) -> bool:
        """The DHCP port's veth, addressed and up; True when the veth was (re)made (dnsmasq must then restart:
        it knows its interface by index)."""
        port = network.dhcp_port
        assert port is not None
        host = tap_name(port.id)
        self.worker.home.create(namespace)
        with self.worker.ipr() as ipr, self.worker.ipr(namespace) as nsr:
            bridge = links.ensure_bridge(ipr, bridge_name(network.id), mtu=network.mtu)
            links.ensure_loopback_up(nsr)
            with namespaces.handle(namespace) as fd:
                made = links.ensure_veth(ipr, nsr, fd, host, inner)
            links.no_ipv6(host)
            links.set_up(ipr, host, master=bridge, mtu=network.mtu)
            links.ensure_addresses(nsr, inner, leg_addresses(network))
            links.set_up(nsr, inner, mac=port.mac, mtu=network.mtu)
        return made

    def _write_files(self, files: DhcpFiles, network: Network, ports: tuple[Port, ...]) -> bool:
        """Write the hosts and options files (atomically, readable by dnsmasq's user); True when either changed."""
        files.directory.mkdir(mode=0o755, parents=True, exist_ok=True)
        files.directory.chmod(0o755)  # the daemon's umask is 077: dnsmasq re-reads these files as its own user
        changed = False
        for path, text in ((files.hosts, hosts_file(network, ports)), (files.opts, opts_file(network))):
            try:
                if path.read_text() == text:
                    continue
            except FileNotFoundError:
                pass
            tmp = path.with_suffix(".tmp")
            tmp.write_text(text)
            tmp.chmod(0o644)
            tmp.replace(path)
            changed = True
        return changed

    def delete(self, network_id: str, dhcp_port_id: str | None = None) -> None:
        """Stop dnsmasq, remove the namespace (with its leg) and the files. Idempotent."""
        self._settled.pop(network_id, None)
        files = self.files(network_id)
        dnsmasq.stop(files.pid)
        if dhcp_port_id is not None:
            with self.worker.ipr() as ipr:
                links.delete_link(ipr, tap_name(dhcp_port_id))
        destroy_namespace(self.worker, self.names.dhcp_namespace(network_id))
        shutil.rmtree(files.directory, ignore_errors=True)

    def check_reachable(self) -> None:
        """dnsmasq re-reads its files after dropping to its user: every directory above them must let it pass."""
        account = pwd.getpwnam(self.user)
        path = self.state_dir.absolute()
        for directory in (path, *path.parents):
            if not directory.exists():
                continue
            st = directory.stat()
            if st.st_uid == account.pw_uid:
                ok = st.st_mode & stat.S_IXUSR
            elif st.st_gid == account.pw_gid:
                ok = st.st_mode & stat.S_IXGRP
            else:
                ok = st.st_mode & stat.S_IXOTH
            if not ok:
                raise HostNetError(f"dnsmasq runs as {self.user} and cannot reach {directory} (mode "
                                   f"{stat.filemode(st.st_mode)}): give the DHCP state directory traversable parents")


def _leg_settings(network: Network) -> tuple:
    """What `_ensure_leg` makes of a network: when these are as last time, the leg it made is still right."""
    port = network.dhcp_port
    assert port is not None
    return port.id, port.mac.lower(), leg_addresses(network), network.mtu


def _host_lines(path: Path) -> set[str]:
    try:
        return set(path.read_text().splitlines())
    except FileNotFoundError:
        return set()


def prune_leases(leases: Path, host_lines: set[str]) -> None:
    """Keep only the leases ("<expiry> <mac> <ip> <name> <client id>") of the hosts dnsmasq still serves, rewritten
    in place (the file stays dnsmasq's, with its owner and mode)."""
    wanted = {tuple(line.split(",")[:2]) for line in host_lines}
    try:
        lines = leases.read_text().splitlines()
    except FileNotFoundError:
        return
    kept = [line for line in lines if len(line.split()) >= 3 and (line.split()[1].lower(), line.split()[2]) in wanted]
    if kept != lines:
        with open(leases, "r+") as handle:
            handle.truncate(0)
            handle.write("".join(line + "\n" for line in kept))


def destroy_namespace(worker: Worker, namespace: str) -> None:
    """Delete every interface inside one of our namespaces (veth pairs die at once, host ends included), then the
    namespace itself. The namespace is this daemon's, so all it holds is ours."""
    if not namespaces.exists(namespace):
        namespaces.remove(namespace)
        return
    with worker.ipr(namespace) as nsr:
        for link in nsr.link("dump"):
            if link.get("ifname") != "lo":
                links.delete_link(nsr, link.get("ifname"))
    namespaces.remove(namespace)
