"""A recording stand-in for nodecompute.hostnet.HostNet: the API tests' host side.

It keeps what the host would hold (each network's spec and the host entries of its DHCP) and every call made, and can
be told to fail the next calls of one method, so the tests check what the service asks of the host without making
bridges. Its firewall keeps the last security-group model applied (checked to build into nftables tables). The real adapter is tested on the host in tests/integration (and by tests/api/test_neutron_host.py).
"""
from __future__ import annotations

import socket
from dataclasses import dataclass, field

from nodecompute.hostnet import DaemonNames, HostNetError, Network, Port, Recorded, Router, Swept, tap_name
from nodecompute.hostnet.probe import MissingFeature
from nodecompute.hostnet.secgroups import FirewallModel, build_ruleset


@dataclass
class RecordingHostNet:
    networks: dict[str, Network] = field(default_factory=dict)  # what the host holds, by network id
    routers: dict[str, Router] = field(default_factory=dict)  # the routers' namespaces, by router id
    uplinks: dict[str, str] = field(default_factory=dict)  # network id -> the host interface joined to its bridge
    hosts: dict[str, tuple[Port, ...]] = field(default_factory=dict)  # the DHCP host entries' ports, by network id
    calls: list[tuple[str, str]] = field(default_factory=list)  # (method, network id)
    failing: dict[str, int] = field(default_factory=dict)  # method -> how many next calls fail
    swept: list[Recorded] = field(default_factory=list)
    taps: dict[str, Port] = field(default_factory=dict)  # the guest taps the host holds, by name
    closed: bool = False
    check_error: str | None = None
    missing_features: list[MissingFeature] = field(default_factory=list)  # what the kernel probe reports
    firewall: FirewallModel | None = None  # the model the tables enforce now (None: no tables)
    firewall_log: list[FirewallModel | None] = field(default_factory=list)  # every apply (a model) or removal
    names: DaemonNames = field(default_factory=lambda: DaemonNames("ncfake"))
    # The metadata listeners: namespace -> a real socket on 127.0.0.1 (the host has no such namespaces here), and
    # the local port of each, which namespace_of() maps back to its namespace for accepted connections too.
    listeners: dict[str, socket.socket] = field(default_factory=dict)
    listener_ports: dict[int, str] = field(default_factory=dict)

    def dhcp_namespace(self, network_id: str) -> str:
        return self.names.dhcp_namespace(network_id)

    def router_namespace(self, router_id: str) -> str:
        return self.names.router_namespace(router_id)

    async def open_listener(self, namespace: str, address: str, port: int) -> socket.socket:
        self.calls.append(("open_listener", namespace))
        self._maybe_fail("open_listener")
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        sock.listen(16)
        sock.setblocking(False)
        self.listeners[namespace] = sock
        self.listener_ports[sock.getsockname()[1]] = namespace
        return sock

    async def listener_is_current(self, sock: socket.socket) -> bool:
        namespace = self.namespace_of(sock)
        return namespace is not None and self.listeners.get(namespace) is sock

    def namespace_of(self, sock: socket.socket) -> str | None:
        try:
            return self.listener_ports.get(sock.getsockname()[1])
        except OSError:  # closed
            return None

    def check(self) -> None:
        if self.check_error is not None:
            raise HostNetError(self.check_error)

    def close(self) -> None:
        self.closed = True

    def fail(self, method: str, times: int = 1) -> None:
        self.failing[method] = times

    def _maybe_fail(self, method: str) -> None:
        if self.failing.get(method, 0) > 0:
            self.failing[method] -= 1
            raise HostNetError(f"{method} failed (as the test asked)")

    async def ensure_network(self, network: Network, ports=()) -> int | None:
        self.calls.append(("ensure_network", network.id))
        self._maybe_fail("ensure_network")
        self.networks[network.id] = network
        self.hosts[network.id] = tuple(ports)
        return 4242 if network.dhcp_port is not None and any(s.enable_dhcp for s in network.subnets) else None

    async def delete_network(self, network: Network) -> None:
        self.calls.append(("delete_network", network.id))
        self._maybe_fail("delete_network")
        self.networks.pop(network.id, None)
        self.hosts.pop(network.id, None)

    async def ensure_tap(self, port: Port, *, mtu: int | None = None) -> str:
        self.calls.append(("ensure_tap", port.id))
        self._maybe_fail("ensure_tap")
        self.taps[tap_name(port.id)] = port
        return tap_name(port.id)

    async def delete_link(self, name: str) -> bool:
        self.calls.append(("delete_link", name))
        return self.taps.pop(name, None) is not None

    async def ensure_router(self, router: Router) -> None:
        self.calls.append(("ensure_router", router.id))
        self._maybe_fail("ensure_router")
        self.routers[router.id] = router

    async def set_floating_ips(self, router: Router) -> None:
        self.calls.append(("set_floating_ips", router.id))
        self._maybe_fail("set_floating_ips")
        if router.id not in self.routers:
            raise HostNetError(f"router {router.id} has no namespace")  # as the real adapter fails
        self.routers[router.id] = router

    async def delete_router(self, router_id: str) -> None:
        self.calls.append(("delete_router", router_id))
        self._maybe_fail("delete_router")
        self.routers.pop(router_id, None)

    async def ensure_uplink(self, network_id: str, name: str) -> None:
        self.calls.append(("ensure_uplink", network_id))
        self.uplinks[network_id] = name

    async def restore(self, networks, ports, routers) -> None:
        ports = tuple(ports)
        for network in networks:
            self.calls.append(("restore", network.id))
            await self.ensure_network(network, [p for p in ports if p.network_id == network.id])
        for port in ports:
            if port.plugged:
                await self.ensure_tap(port)
        for router in routers:
            self.calls.append(("restore_router", router.id))
            await self.ensure_router(router)

    async def sweep(self, recorded: Recorded) -> Swept:
        self.swept.append(recorded)
        return Swept()

    async def probe_firewall(self) -> list[MissingFeature]:
        return list(self.missing_features)

    async def apply_firewall(self, model: FirewallModel) -> None:
        self._maybe_fail("apply_firewall")
        build_ruleset("ncfake", model)  # what the real adapter would load must build
        self.firewall = model
        self.firewall_log.append(model)

    async def remove_firewall(self) -> None:
        self._maybe_fail("remove_firewall")
        self.firewall = None
        self.firewall_log.append(None)

    def dhcp_entries(self, network_id: str) -> list[tuple[str, str]]:
        """(MAC, address) of each host entry dnsmasq would serve on the network."""
        network = self.networks[network_id]
        dhcp = {s.id for s in network.subnets if s.enable_dhcp}
        return sorted((p.mac, f.ip_address) for p in self.hosts[network_id] for f in p.fixed_ips
                      if f.subnet_id in dhcp)
