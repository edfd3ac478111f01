"""Ports' firewall profiles (Cyclades' `firewallProfile` action, #327; decisions of issue 23): a profile belongs to
one of the server's ports on the external network (any other port, or another server's, is 400); DISABLED adds no
filtering, ENABLED drops new inbound connections except ICMP echo, PROTECTED is ENABLED plus inbound TCP 22 (the
rule sets are hostnet.secgroups.DEFAULT_PROFILES), enforced in the port's own chain before its security groups,
which stay as they are. New ports start DISABLED. The row is stored, then the host's tables follow (firewall.py)."""
from __future__ import annotations

from collections.abc import Iterable

from nodecompute.compute.firewall import Firewall
from nodecompute.db import firewall_profiles as profiles_db
from nodecompute.db import networks as networks_db
from nodecompute.db.store import Store
from nodecompute.domain.errors import BadRequest
from nodecompute.domain.server_models import Server

PROFILES = ("ENABLED", "DISABLED", "PROTECTED")
NOT_EXTERNAL = "A firewall profile can only be set on a port of the public (external) network"
NOT_ITS_PORT = "The server has no such NIC"


class FirewallProfiles:
    def __init__(self, store: Store, firewall: Firewall | None) -> None:
        self.store, self.firewall = store, firewall

    def of(self, port_ids: Iterable[str]) -> dict[str, str]:
        return self.store.read(profiles_db.profiles, list(port_ids))

    async def set(self, server: Server, port_id: str | None, profile: str) -> None:
        if profile not in PROFILES:
            raise BadRequest(f"Invalid firewall profile {profile!r}")
        nic = next((nic for nic in server.nics if nic.port_id == port_id), None)
        if nic is None:
            raise BadRequest(NOT_ITS_PORT)
        network = self.store.read(networks_db.get_network, nic.network_id)
        if network is None or not network.external:
            raise BadRequest(NOT_EXTERNAL)
        await self.store.write(profiles_db.set_profile, port_id, profile)
        if self.firewall is not None:
            await self.firewall.sync_logged()
