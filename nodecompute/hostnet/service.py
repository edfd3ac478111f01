"""HostNet: the async face of the host networking adapter.

Every call runs on the adapter's one worker thread (worker.py) and is idempotent: calling it again after a crash
or with nothing to do is safe. The daemon records what it makes (networks, ports, routers, the interface names)
in its database; at start `restore()` rebuilds whatever is missing from those records and `sweep()` removes this
daemon's leftovers: its prefixed namespaces and DHCP directories that no record names, and interfaces only by the
exact names the daemon hands it.
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
import socket
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from nodecompute.hostnet import dnsmasq, links, namespaces, nft, privileges, probe, secgroups
from nodecompute.hostnet.dhcp import Dhcp, destroy_namespace
from nodecompute.hostnet.listener import ListenerRegistry
from nodecompute.hostnet.names import DaemonNames, bridge_name, tap_name
from nodecompute.hostnet.router_nat import nft_binary
from nodecompute.hostnet.routers import Routers
from nodecompute.hostnet.specs import Network, Port, Recorded, Router
from nodecompute.hostnet.worker import Worker

if TYPE_CHECKING:
    from pyroute2 import IPRoute

log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass
class Swept:
    """What sweep() removed, for the daemon's log."""

    namespaces: list[str] = field(default_factory=list)
    dhcp_dirs: list[str] = field(default_factory=list)
    links: list[str] = field(default_factory=list)


class HostNet:
    def __init__(self, prefix: str, state_dir: Path, *, dnsmasq_user: str | None = None) -> None:
        self.names = DaemonNames(prefix)
        self.state_dir = Path(state_dir)
        self._worker = Worker()
        self._listeners = ListenerRegistry()
        self._dhcp = Dhcp(self._worker, self.names, self.state_dir, dnsmasq_user or dnsmasq.default_user())
        self._routers = Routers(self._worker, self.names)
        self._firewall = nft.RulesetApplier()

    def check(self) -> None:
        """Fail early, with the reason, when the host cannot run what the adapter needs."""
        lacking = privileges.describe_missing()
        if lacking is not None:
            raise HostNetError(lacking)
        dnsmasq.binary()
        nft_binary()
        self.state_dir.mkdir(mode=0o755, parents=True, exist_ok=True)
        self.state_dir.chmod(0o755)  # whatever the daemon's umask (077): dnsmasq's user must pass through it
        self._dhcp.check_reachable()

    def close(self) -> None:
        """Stop the worker thread. Everything made stays (guests keep their network while the daemon restarts); only
        an empty state directory goes (no network has DHCP files in it)."""
        self._worker.close()
        with contextlib.suppress(OSError):
            self.state_dir.rmdir()

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        return await self._worker.run(fn, *args)

    # interfaces in the host -----------------------------------------------------------------------------------

    async def ensure_bridge(self, network_id: str, *, mtu: int | None = None) -> str:
        name = bridge_name(network_id)
        await self.run(self._with_host, lambda ipr: links.ensure_bridge(ipr, name, mtu=mtu))
        return name

    async def ensure_tap(self, port: Port, *, mtu: int | None = None) -> str:
        """The port's tap in its network's bridge, made before the guest starts (libvirt type='ethernet' with
        `<target dev=... managed='no'/>` opens it)."""
        name = tap_name(port.id)

        def job() -> None:
            with self._worker.ipr() as ipr:
                bridge = bridge_name(port.network_id)  # made if missing, else as its network made it
                links.ensure_tap(ipr, name, mac=port.mac, mtu=mtu,
                                 master=links.host_index(bridge) or links.ensure_bridge(ipr, bridge, mtu=mtu))

        await self.run(job)
        return name

    async def ensure_uplink(self, network_id: str, name: str) -> None:
        """Join the existing host interface `name` (an uplink to real hosts) to the network's bridge, up. The
        interface is the operator's: it is never made or deleted here."""

        def job() -> None:
            with self._worker.ipr() as ipr:
                bridge = links.ensure_bridge(ipr, bridge_name(network_id))
                links.set_up(ipr, name, master=bridge)

        await self.run(job)

    async def delete_link(self, name: str) -> bool:
        """Delete the host interface called exactly `name` (one the daemon recorded). False when absent."""
        return await self.run(self._with_host, links.delete_link, name)

    async def exists(self, name: str) -> bool:
        return name in await self.list_links([name])

    async def list_links(self, names: Iterable[str]) -> set[str]:
        """Which of these exact host interface names exist."""
        return await self.run(self._with_host, links.present, list(names))

    def _with_host(self, fn: Callable[..., T], *args: Any) -> T:
        """fn(ipr, *args) with an IPRoute in the host namespace."""
        with self._worker.ipr() as ipr:
            return fn(ipr, *args)

    # namespaces -----------------------------------------------------------------------------------------------

    async def ensure_namespace(self, name: str) -> bool:
        return await self.run(self._worker.home.create, name)

    async def delete_namespace(self, name: str) -> None:
        self._listeners.forget(name)
        await self.run(destroy_namespace, self._worker, name)

    async def list_namespaces(self) -> list[str]:
        """This daemon's namespaces (by prefix)."""
        return namespaces.list_names(self.names.prefix + "-")

    async def in_namespace(self, name: str, fn: Callable[[IPRoute], T]) -> T:
        """Run fn(ipr) with an IPRoute inside namespace `name`, on the worker thread."""

        def job() -> T:
            with self._worker.ipr(name) as ipr:
                return fn(ipr)

        return await self.run(job)

    async def set_sysctl(self, namespace: str, key: str, value: str) -> None:
        await self.run(namespaces.write_sysctl, self._worker.home, namespace, key, value)

    async def get_sysctl(self, namespace: str, key: str) -> str:
        return await self.run(namespaces.read_sysctl, self._worker.home, namespace, key)

    async def open_listener(self, namespace: str, address: str, port: int) -> socket.socket:
        """A listening TCP socket inside `namespace` for the host process to serve (aiohttp web.SockSite)."""
        return await self.run(self._listeners.open, self._worker.home, namespace, address, port)

    def namespace_of(self, sock: socket.socket) -> str | None:
        """The namespace of a listener opened here, or of a connection one of them accepted."""
        return self._listeners.namespace_of(sock)

    async def listener_is_current(self, sock: socket.socket) -> bool:
        """False when the listener's namespace was deleted (and perhaps made again): open a new listener. Asked
        here, not on the worker (listener.py says why)."""
        return self._listeners.is_current(sock)

    # DHCP and routers -----------------------------------------------------------------------------------------

    def dhcp_namespace(self, network_id: str) -> str:
        return self.names.dhcp_namespace(network_id)

    def router_namespace(self, router_id: str) -> str:
        return self.names.router_namespace(router_id)

    async def ensure_network(self, network: Network, ports: Iterable[Port] = ()) -> int | None:
        """The network's bridge and, when it has a DHCP port and a DHCP subnet, its DHCP namespace and dnsmasq
        serving `ports`' addresses. Returns dnsmasq's pid (None without DHCP)."""

        def job() -> int | None:
            with self._worker.ipr() as ipr:
                links.ensure_bridge(ipr, bridge_name(network.id), mtu=network.mtu)
            return self._dhcp.ensure(network, tuple(ports))

        return await self.run(job)

    async def delete_network(self, network: Network) -> None:
        """The network's DHCP (namespace, dnsmasq, files) and its bridge. Taps and router legs on it go first."""
        self._listeners.forget(self.names.dhcp_namespace(network.id))

        def job() -> None:
            self._dhcp.delete(network.id, network.dhcp_port.id if network.dhcp_port else None)
            with self._worker.ipr() as ipr:
                links.delete_link(ipr, bridge_name(network.id))

        await self.run(job)

    def dhcp_pid(self, network_id: str) -> int | None:
        return dnsmasq.running_pid(self._dhcp.files(network_id).pid)

    def dhcp_dir(self, network_id: str) -> Path:
        return self._dhcp.files(network_id).directory

    async def ensure_router(self, router: Router) -> None:
        await self.run(self._routers.ensure, router)

    async def set_floating_ips(self, router: Router) -> None:
        """Only the floating IPs changed: gateway leg addresses and one atomic NAT table replacement."""
        await self.run(self._routers.set_floating_ips, router)

    async def delete_router(self, router_id: str) -> None:
        self._listeners.forget(self.names.router_namespace(router_id))
        await self.run(self._routers.delete, router_id)

    # security groups and anti-spoofing (secgroups.py, nft.py) -------------------------------------------------

    @property
    def firewall_tables(self) -> list[tuple[str, str]]:
        """(family, name) of this daemon's two nftables tables."""
        return secgroups.our_tables(self.names.prefix)

    async def probe_firewall(self) -> list[probe.MissingFeature]:
        """The kernel features security groups need that this host lacks (empty: they can be enforced)."""
        return await probe.probe(self.names.prefix)

    async def apply_firewall(self, model: secgroups.FirewallModel) -> None:
        """Make this daemon's tables enforce `model`: one transaction, a diff against the last one applied (the
        first is a full load that replaces whatever a previous run left)."""
        ruleset = await asyncio.to_thread(secgroups.build_ruleset, self.names.prefix, model)
        await self._firewall.converge(ruleset)

    async def remove_firewall(self) -> None:
        """Remove this daemon's tables (absent ones are no error)."""
        await self._firewall.remove(self.firewall_tables)

    # start-up ---------------------------------------------------------------------------------------------------

    async def restore(self, networks: Iterable[Network], ports: Iterable[Port], routers: Iterable[Router]) -> None:
        """Recreate whatever is missing for these records (bridges, DHCP, taps, routers); what exists is kept."""
        ports = tuple(ports)
        for network in networks:
            await self.ensure_network(network, [p for p in ports if p.network_id == network.id])
        for port in ports:
            if port.plugged:
                await self.ensure_tap(port)
        for router in routers:
            await self.ensure_router(router)

    async def sweep(self, recorded: Recorded) -> Swept:
        """Remove this daemon's leftovers that no record names; interfaces only by the recorded stale names."""
        return await self.run(self._sweep, recorded)

    def _sweep(self, recorded: Recorded) -> Swept:
        swept = Swept()
        for start, kept in ((self.names.dhcp_namespace_start, recorded.network_ids),
                            (self.names.router_namespace_start, recorded.router_ids)):
            for name in namespaces.list_names(start):
                if name[len(start):] not in kept:
                    if start == self.names.dhcp_namespace_start:
                        self._stop_dnsmasq_of(name[len(start):])  # it holds the namespace
                    destroy_namespace(self._worker, name)
                    swept.namespaces.append(name)
        if self.state_dir.is_dir():
            start = self.names.dhcp_dir_start
            for directory in sorted(d for d in self.state_dir.iterdir() if d.name.startswith(start)):
                if directory.name[len(start):] not in recorded.network_ids:
                    self._stop_dnsmasq_of(directory.name[len(start):])
                    shutil.rmtree(directory, ignore_errors=True)
                    swept.dhcp_dirs.append(directory.name)
        if recorded.stale_links:  # else no netlink socket (nor pyroute2, links.py) at start
            with self._worker.ipr() as ipr:
                swept.links = [name for name in sorted(recorded.stale_links) if links.delete_link(ipr, name)]
        return swept

    def _stop_dnsmasq_of(self, network_id: str) -> None:
        try:
            files = self._dhcp.files(network_id)
        except ValueError:  # not a name this adapter makes
            return
        dnsmasq.stop(files.pid)
