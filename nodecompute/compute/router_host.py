"""The host side of routers: the records of one router turned into the host networking adapter's spec
(nodecompute.hostnet.Router), and the calls that make the host match them.

A router that is up has its namespace: a leg per interface port (its addresses with the subnet's prefix), the
gateway leg with the router's external address, the external subnet's gateway as default route, SNAT when
`enable_snat`, and a DNAT/SNAT pair per associated floating IP. A router that is down (admin_state_up false) has
nothing on the host, as Neutron's L3 agent removes it. Interface ports are the router's. The NAT table redirects
guests' 169.254.169.254:80 to ROUTER_METADATA_PORT, where the metadata service listens inside the namespace
(compute/metadata_listeners.py).
"""
from __future__ import annotations

import ipaddress
import logging
from collections.abc import Callable
from typing import Any

from nodecompute import hostnet
from nodecompute.compute.metadata_listeners import ROUTER_METADATA_PORT, MetadataListeners
from nodecompute.db import networks as networks_db
from nodecompute.db import ports as ports_db
from nodecompute.db import routers as routers_db
from nodecompute.db.store import Store
from nodecompute.domain.errors import InternalError
from nodecompute.domain.network_models import ROUTER_INTERFACE_OWNER, Port, Router

log = logging.getLogger(__name__)


def _leg(db: Any, port: Port) -> hostnet.RouterLeg:
    addresses = []
    for fixed in port.fixed_ips:
        subnet = networks_db.get_subnet(db, fixed.subnet_id)
        prefixlen = ipaddress.IPv4Network(subnet.cidr).prefixlen if subnet is not None else 32
        addresses.append(f"{fixed.ip_address}/{prefixlen}")
    return hostnet.RouterLeg(port.id, port.network_id, port.mac_address, tuple(addresses))


def _gateway_ip(db: Any, port: Port) -> str | None:
    for fixed in port.fixed_ips:
        subnet = networks_db.get_subnet(db, fixed.subnet_id)
        if subnet is not None and subnet.gateway_ip:
            return subnet.gateway_ip
    return None


def router_spec(db: Any, router: Router) -> hostnet.Router:
    """What the host holds for an up router, from the rows (read inside one read)."""
    legs = tuple(_leg(db, p) for p in routers_db.router_ports(db, router.id, ROUTER_INTERFACE_OWNER))
    gateway = gateway_ip = None
    if router.gw_port_id is not None:
        port = ports_db.get_port(db, router.gw_port_id)
        if port is not None:
            gateway, gateway_ip = _leg(db, port), _gateway_ip(db, port)
    floating = tuple(hostnet.FloatingIp(f.floating_ip_address, f.fixed_ip_address)
                     for f in routers_db.list_floatingips(db, router_id=router.id) if f.fixed_ip_address)
    return hostnet.Router(router.id, interfaces=legs, gateway=gateway, gateway_ip=gateway_ip,
                          snat=router.enable_snat, floating_ips=floating, metadata_port=ROUTER_METADATA_PORT)


def up_router_specs(db: Any) -> list[hostnet.Router]:
    """Every router that is up, as the host should hold it (for the restore at start)."""
    return [router_spec(db, r) for r in routers_db.list_routers(db) if r.admin_state_up]


class RouterHost:
    """Makes the host match one router's rows (the caller holds the networking service's lock)."""

    def __init__(self, store: Store, net: Any) -> None:
        self.store = store
        self.net = net  # a hostnet.HostNet (tests hand in a recording stand-in with the same methods)
        self.listeners: MetadataListeners | None = None  # the metadata service's sockets (set when it runs)

    def _spec(self, router_id: str) -> hostnet.Router | None:
        def read(db: Any) -> hostnet.Router | None:
            router = routers_db.get_router(db, router_id)
            return router_spec(db, router) if router is not None and router.admin_state_up else None

        return self.store.read(read)

    async def apply(self, router_id: str, *, floating_only: bool = False) -> None:
        """The router as recorded now: made or corrected when up, removed when down or gone. `floating_only`:
        only its floating IPs changed (addresses and one NAT table replacement)."""
        spec = self._spec(router_id)
        namespace = self.net.router_namespace(router_id)
        if spec is None:
            if self.listeners is not None:
                await self.listeners.drop(namespace)
            await self.net.delete_router(router_id)
        elif floating_only:
            await self.net.set_floating_ips(spec)
        else:
            await self.net.ensure_router(spec)
            if self.listeners is not None:
                try:
                    await self.listeners.ensure_router(namespace)
                except (hostnet.HostNetError, OSError) as exc:  # the router itself stands; retried at next change
                    log.error("the metadata service cannot listen in %s: %s", namespace, exc)

    async def apply_or_undo(self, router_id: str, undo: Callable[[Any], Any], *, floating_only: bool = False) -> None:
        """apply(); when it fails, run `undo` (a write restoring the rows), apply again and answer 500."""
        try:
            await self.apply(router_id, floating_only=floating_only)
        except Exception as exc:
            log.error("host networking failed for router %s: %s", router_id, exc)
            await self.store.write(undo)
            try:
                await self.apply(router_id)
            except Exception as again:
                log.error("host networking still fails for router %s: %s", router_id, again)
            raise InternalError() from exc

    async def apply_logged(self, router_id: str, *, floating_only: bool = False) -> None:
        """After a change the database holds for good: a failure is logged and repaired by the next change or
        start."""
        try:
            await self.apply(router_id, floating_only=floating_only)
        except Exception as exc:
            log.error("host networking failed for router %s (repaired at the next change or start): %s",
                      router_id, exc)
