"""The host side of the networking service: the records of one network turned into the host networking adapter's
specs (nodecompute.hostnet), and the calls that make the host match them.

Every network has its bridge; a network with a DHCP port and a DHCP subnet also has its DHCP namespace and dnsmasq,
with one host entry (MAC, address, host name) per fixed address of its other ports. At start `restore()` rebuilds
what is missing from the database (networks, then routers: compute/router_host.py; the external network's uplink)
and sweeps this daemon's leftovers (namespaces and DHCP directories no network or up router names). Guest taps
belong to servers and are made by the server side (compute/server_ports.py); `restore()` makes again the taps of the
ports plugged into servers (`compute:` owners), so guests find them after a host reboot.
"""
from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from nodecompute import hostnet
from nodecompute.compute.router_host import up_router_specs
from nodecompute.config import Config
from nodecompute.db import networks as networks_db
from nodecompute.db import ports as ports_db
from nodecompute.db.store import Store
from nodecompute.compute.metadata_listeners import MetadataListeners
from nodecompute.domain.network_models import COMPUTE_OWNER_PREFIX, ROUTER_INTERFACE_OWNER, Network, Port, Subnet

log = logging.getLogger(__name__)


def _host_port(port: Port) -> hostnet.Port:
    return hostnet.Port(id=port.id, network_id=port.network_id, mac=port.mac_address,
                        fixed_ips=tuple(hostnet.FixedIp(f.subnet_id, f.ip_address) for f in port.fixed_ips),
                        hostname=port.hostname, plugged=port.device_owner.startswith(COMPUTE_OWNER_PREFIX))


def routed_subnets(ports: Iterable[Port]) -> set[str]:
    """The subnets a router is plugged into (their guests reach the metadata service through the router)."""
    return {f.subnet_id for p in ports if p.device_owner == ROUTER_INTERFACE_OWNER for f in p.fixed_ips}


def host_spec(cfg: Config, network: Network, subnets: Iterable[Subnet], ports: Iterable[Port]) -> hostnet.Network:
    ports = list(ports)
    dhcp = next((p for p in ports if p.is_dhcp), None)
    routed = routed_subnets(ports)
    return hostnet.Network(
        id=network.id,
        subnets=tuple(hostnet.Subnet(
            id=s.id, cidr=s.cidr, gateway_ip=s.gateway_ip, dns_nameservers=s.dns_nameservers,
            host_routes=tuple((r.destination, r.nexthop) for r in s.host_routes), enable_dhcp=s.enable_dhcp,
            metadata_via_dhcp=s.id not in routed,
        ) for s in subnets),
        dhcp_port=_host_port(dhcp) if dhcp is not None else None,
        domain=cfg.network.dhcp_domain, mtu=network.mtu, dns_servers=cfg.network.dns_servers,
    )


class HostSync:
    """Makes the host match the database, one network at a time (the caller holds the service's lock)."""

    def __init__(self, store: Store, net: Any, cfg: Config) -> None:
        self.store = store
        self.net = net  # a hostnet.HostNet (tests hand in a recording stand-in with the same methods)
        self.cfg = cfg
        self.listeners: MetadataListeners | None = None  # the metadata service's sockets (set when it runs)

    def _records(self, network_id: str) -> tuple[Network, list[Subnet], list[Port]] | None:
        network = self.store.read(networks_db.get_network, network_id)
        if network is None:
            return None
        subnets = self.store.read(networks_db.list_subnets, network_id)
        ports = self.store.read(lambda db: ports_db.list_ports(db, network_id=network_id))
        return network, subnets, ports

    async def apply(self, network_id: str) -> None:
        """Bridge, DHCP and host entries of the network as recorded now."""
        records = self._records(network_id)
        if records is None:
            return
        network, subnets, ports = records
        pid = await self.net.ensure_network(host_spec(self.cfg, network, subnets, ports),
                                            [_host_port(p) for p in ports if not p.is_dhcp])
        await self._metadata_listener(network.id, has_dhcp=pid is not None)

    async def _metadata_listener(self, network_id: str, *, has_dhcp: bool) -> None:
        """The metadata service's socket in the network's DHCP namespace, while it has one."""
        if self.listeners is None:
            return
        namespace = self.net.dhcp_namespace(network_id)
        try:
            if has_dhcp:
                await self.listeners.ensure_dhcp(namespace)
            else:
                await self.listeners.drop(namespace)
        except (hostnet.HostNetError, OSError) as exc:  # the network itself stands: log, retried at the next change
            log.error("the metadata service cannot listen in %s: %s", namespace, exc)

    async def ensure_tap(self, port: Port, mtu: int | None) -> str:
        """The tap of a port plugged into a server, in its network's bridge."""
        return await self.net.ensure_tap(_host_port(port), mtu=mtu)

    async def delete_tap(self, name: str) -> None:
        await self.net.delete_link(name)

    async def remove(self, network: Network, subnets: Iterable[Subnet], ports: Iterable[Port]) -> None:
        """Everything of the network on the host: dnsmasq, its namespace and files, the bridge."""
        if self.listeners is not None:
            await self.listeners.drop(self.net.dhcp_namespace(network.id))
        await self.net.delete_network(host_spec(self.cfg, network, subnets, ports))

    async def restore(self) -> None:
        """At start: rebuild every recorded network, then remove this daemon's unrecorded leftovers."""
        networks = self.store.read(networks_db.list_networks)
        subnets = self.store.read(networks_db.list_subnets)
        ports = self.store.read(ports_db.list_ports)
        specs = [host_spec(self.cfg, n, [s for s in subnets if s.network_id == n.id],
                           [p for p in ports if p.network_id == n.id]) for n in networks]
        for spec in specs:
            try:
                await self.net.restore([spec], [_host_port(p) for p in ports if p.network_id == spec.id
                                                and not p.is_dhcp], [])
                await self._metadata_listener(spec.id, has_dhcp=spec.dhcp_port is not None and any(
                    s.enable_dhcp for s in spec.subnets))
            except hostnet.HostNetError as exc:  # one broken network must not keep the others down
                log.error("could not restore network %s on the host: %s", spec.id, exc)
        await self._uplink(networks)
        routers = self.store.read(up_router_specs)
        for router in routers:
            try:
                await self.net.restore([], [], [router])
                if self.listeners is not None:
                    await self.listeners.ensure_router(self.net.router_namespace(router.id))
            except hostnet.HostNetError as exc:
                log.error("could not restore router %s on the host: %s", router.id, exc)
        swept = await self.net.sweep(hostnet.Recorded(network_ids=frozenset(n.id for n in networks),
                                                      router_ids=frozenset(r.id for r in routers)))
        if swept.namespaces or swept.dhcp_dirs or swept.links:
            log.warning("removed networking leftovers of this daemon: %s", swept)
        log.info("restored %d networks and %d routers on the host", len(networks), len(routers))

    async def _uplink(self, networks: list[Network]) -> None:
        """Join `[network] external_uplink` to the external network's bridge (the way to real hosts)."""
        external = next((n for n in networks if n.external), None)
        if external is None or not self.cfg.network.external_uplink:
            return
        try:
            await self.net.ensure_uplink(external.id, self.cfg.network.external_uplink)
        except hostnet.HostNetError as exc:
            log.error("could not join the uplink %s to the external network: %s", self.cfg.network.external_uplink,
                      exc)
