"""Security groups and anti-spoofing enforced on the host: the database's rows turned into hostnet's FirewallModel
and applied through the host networking adapter (its nftables tables, one atomic transaction per change).

- The model holds the plugged ports only (a port whose tap is recorded, PortService.bind): each with its MAC,
  fixed addresses, packet mark, bridge, groups and port security; the networks of those ports with their conntrack
  zone and DHCP server addresses; the groups those ports are in, with their rules. A port not plugged is simply
  absent, and with no plugged port at all the daemon's tables are removed (a daemon without guests leaves nothing
  in the kernel).
- `sync()` reads the rows and applies them under one lock, so changes reach the kernel in order and each is one
  transaction; the adapter diffs against what it applied last (a full load at start). `sync_logged()` is what a
  change that the database already holds calls: a failure is logged and retried in the background until the
  kernel matches (the rows are the truth).
- Disabled (`[network] security_groups = false`), nothing is applied and the tables are removed at start.
"""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Mapping
from typing import Any

from nodecompute.compute.secgroup_rules import protocol_number
from nodecompute.db import firewall_profiles as firewall_profiles_db
from nodecompute.db import ports as ports_db
from nodecompute.db import security_groups as security_groups_db
from nodecompute.db.store import Store
from nodecompute.domain.network_models import Port, PortPlug, SecurityGroup
from nodecompute.hostnet import bridge_name
from nodecompute.hostnet import secgroups as fw

log = logging.getLogger(__name__)
RETRY_SECONDS = 5.0


def build_model(ports: Iterable[Port], plugs: Mapping[str, PortPlug], zones: Mapping[str, int],
                dhcp_servers: Mapping[str, tuple[str, ...]], groups: Iterable[SecurityGroup],
                profiles: Mapping[str, str] | None = None) -> fw.FirewallModel:
    """The plugged ports, their networks and their groups as the nftables builder's model; `profiles`: the ports'
    firewall profiles (Cyclades' firewallProfile; a port without one has none)."""
    profiles = profiles or {}
    plugged = [port for port in ports if port.id in plugs]
    network_ids = sorted({port.network_id for port in plugged})
    used = {group_id for port in plugged if port.port_security_enabled for group_id in port.security_group_ids}
    return fw.FirewallModel(
        networks=tuple(fw.Network(bridge_name(net_id), zones[net_id], dhcp_servers.get(net_id, ()))
                       for net_id in network_ids),
        ports=tuple(fw.Port(tap=plugs[port.id].tap, mac=port.mac_address,
                            fixed_ips=tuple(f.ip_address for f in port.fixed_ips), mark=plugs[port.id].mark,
                            bridge=bridge_name(port.network_id),
                            security_groups=tuple(sorted(port.security_group_ids)) if port.port_security_enabled
                            else (), port_security_enabled=port.port_security_enabled,
                            firewall_profile=profiles.get(port.id))
                    for port in sorted(plugged, key=lambda p: plugs[p.id].mark)),
        groups=tuple(_group(group) for group in sorted(groups, key=lambda g: g.id) if group.id in used),
    )


def _group(group: SecurityGroup) -> fw.SecurityGroup:
    return fw.SecurityGroup(group.id, tuple(
        fw.SecurityGroupRule(rule.direction, protocol_number(rule.protocol), rule.port_range_min, rule.port_range_max,
                             rule.remote_ip_prefix, rule.remote_group_id, rule.ethertype)
        for rule in group.rules))


def read_model(db: Any) -> fw.FirewallModel:
    """The model of what the database holds now (one read)."""
    plugs = {plug.port_id: plug for plug in security_groups_db.list_plugs(db)}
    ports = ports_db.list_ports(db)
    plugged = [port for port in ports if port.id in plugs]
    networks = {port.network_id for port in plugged}
    dhcp = {port.network_id: tuple(f.ip_address for f in port.fixed_ips)
            for port in ports if port.is_dhcp and port.network_id in networks}
    group_ids = {group_id for port in plugged for group_id in port.security_group_ids}
    groups = security_groups_db.list_groups(db, ids=group_ids) if group_ids else []
    return build_model(plugged, plugs, security_groups_db.network_zones(db), dhcp, groups,
                       firewall_profiles_db.profiles(db))


class Firewall:
    def __init__(self, store: Store, net: Any, enabled: bool = True) -> None:
        self.store = store
        self.net = net  # a hostnet.HostNet (apply_firewall, remove_firewall), or the tests' stand-in
        self.enabled = enabled
        self._lock = asyncio.Lock()
        self._loaded: bool | None = None  # None: unknown (start), False: our tables are absent, True: loaded
        self._retry: asyncio.Task | None = None

    async def start(self) -> None:
        """At daemon start: the whole model loaded in one transaction (the tables of the previous run, still
        filtering the guests, are replaced atomically), or the tables removed when disabled or nothing is plugged.
        A failure is logged and retried (the previous run's tables keep filtering meanwhile)."""
        if not self.enabled:
            await self.net.remove_firewall()
            self._loaded = False
            return
        await self.sync_logged()

    async def sync(self) -> None:
        """Make the kernel match the rows now; raises when the adapter fails (the caller decides)."""
        if not self.enabled:
            return
        async with self._lock:
            await self._apply()

    async def sync_logged(self) -> None:
        """sync() after a change the database already holds: a failure is logged and retried until it passes."""
        try:
            await self.sync()
        except Exception as exc:
            log.error("security groups: the host's tables are behind the database (retrying every %g s): %s",
                      RETRY_SECONDS, exc)
            self._schedule_retry()

    async def _apply(self) -> None:
        model = self.store.read(read_model)
        if not model.ports:
            if self._loaded is not False:
                await self.net.remove_firewall()
                self._loaded = False
            return
        self._loaded = None
        await self.net.apply_firewall(model)
        self._loaded = True

    def _schedule_retry(self) -> None:
        if self._retry is None or self._retry.done():
            self._retry = asyncio.get_running_loop().create_task(self._retry_until_applied())

    async def _retry_until_applied(self) -> None:
        while True:
            await asyncio.sleep(RETRY_SECONDS)
            try:
                await self.sync()
            except Exception as exc:
                log.error("security groups: the host's tables are still behind the database: %s", exc)
                continue
            log.info("security groups: the host's tables match the database again")
            return

    async def close(self) -> None:
        """Stop retrying; the tables stay (the guests stay filtered while the daemon is down)."""
        if self._retry is not None:
            self._retry.cancel()
            await asyncio.gather(self._retry, return_exceptions=True)
