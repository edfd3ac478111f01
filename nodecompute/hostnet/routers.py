"""A router: its namespace (forwarding on inside it only), its legs, its addresses and its NAT table.

Blocking steps for the worker thread. Each subnet leg is a veth whose host end (`tap...`) joins the subnet's bridge
and whose inner end (`qr-...`) carries the subnet's gateway address; the gateway leg (`qg-...`) joins the external
network's bridge and carries the router's external address plus every floating IP as a /32, as Neutron's legacy
router does (the router answers ARP for them). Inside its own namespace everything belongs to the router, so legs
that are no longer wanted are found there and removed.
"""
from __future__ import annotations

import ipaddress
import socket

from nodecompute.hostnet import garp, links, namespaces, router_nat
from nodecompute.hostnet.dhcp import destroy_namespace
from nodecompute.hostnet.names import DaemonNames, bridge_name, gateway_leg_name, router_leg_name, tap_name
from nodecompute.hostnet.specs import Router, RouterLeg
from nodecompute.hostnet.worker import Worker, quiet_pyroute2


class Routers:
    def __init__(self, worker: Worker, names: DaemonNames) -> None:
        self.worker = worker
        self.names = names

    def ensure(self, router: Router) -> None:
        namespace = self.names.router_namespace(router.id)
        home = self.worker.home
        home.create(namespace)
        namespaces.write_sysctl(home, namespace, "net.ipv4.ip_forward", "1")
        wanted = {router_leg_name(leg.port_id): leg for leg in router.interfaces}
        if router.gateway is not None:
            wanted[gateway_leg_name(router.gateway.port_id)] = router.gateway
        with self.worker.ipr() as ipr, self.worker.ipr(namespace) as nsr:
            links.ensure_loopback_up(nsr)
            for link in nsr.link("dump"):
                if link.get("ifname") not in wanted and link.get("ifname") != "lo":
                    links.delete_link(nsr, link.get("ifname"))
            for inner, leg in wanted.items():
                self._ensure_leg(ipr, nsr, namespace, inner, leg, router)
            links.ensure_default_route(nsr, router.gateway_ip if router.gateway else None)
        self.set_floating_ips(router)

    def _ensure_leg(self, ipr, nsr, namespace: str, inner: str, leg: RouterLeg, router: Router) -> None:
        host = tap_name(leg.port_id)
        bridge = links.ensure_bridge(ipr, bridge_name(leg.network_id))
        with namespaces.handle(namespace) as fd:
            links.ensure_veth(ipr, nsr, fd, host, inner)
        links.no_ipv6(host)
        links.set_up(ipr, host, master=bridge)
        if leg is router.gateway:  # floating IPs (the /32s) are set by set_floating_ips, in its order
            floating = {a for a in links.addresses(nsr, inner) if a.endswith("/32")} - set(leg.addresses)
            links.ensure_addresses(nsr, inner, {*leg.addresses, *floating})
        else:
            links.ensure_addresses(nsr, inner, leg.addresses)
        links.set_up(nsr, inner, mac=leg.mac)

    def set_floating_ips(self, router: Router) -> None:
        """Make the router's floating IPs exactly `router.floating_ips`: new addresses first, then the whole NAT
        table in one transaction, then the old addresses go and their tracked connections are forgotten."""
        namespace = self.names.router_namespace(router.id)
        batch = router_nat.nat_ruleset(self.names.nat_table, router)
        if router.gateway is None:
            router_nat.apply(self.worker.home, namespace, batch)
            return
        inner = gateway_leg_name(router.gateway.port_id)
        final = {*router.gateway.addresses, *(f"{f.address}/32" for f in router.floating_ips)}
        with self.worker.ipr(namespace) as nsr:
            have = links.addresses(nsr, inner)
            links.ensure_addresses(nsr, inner, have | final)
        router_nat.apply(self.worker.home, namespace, batch)
        with self.worker.ipr(namespace) as nsr:
            links.ensure_addresses(nsr, inner, final)
        new = sorted(str(ipaddress.IPv4Interface(a).ip) for a in final - have)
        if new:  # as Neutron's L3 agent: neighbours that cached "nobody has it" learn the gateway's MAC now
            with self.worker.home.inside(namespace):
                garp.announce(inner, router.gateway.mac, new)
        gone = {str(ipaddress.IPv4Interface(a).ip) for a in have - final}
        if gone:
            self._forget_connections(namespace, gone)

    def _forget_connections(self, namespace: str, addresses: set[str]) -> None:
        """Drop tracked connections to floating IPs that went away (their NAT would otherwise outlive the rule).
        pyroute2's Conntrack opens its socket on first use, so all of it runs inside the namespace. pyroute2 is
        imported here, on first use (links.py says why)."""
        quiet_pyroute2()
        from pyroute2 import Conntrack
        from pyroute2.netlink.nfnetlink.nfctsocket import NFCTAttrTuple

        with self.worker.home.inside(namespace):
            ct = Conntrack()
            try:
                for address in sorted(addresses):
                    wanted = NFCTAttrTuple(family=socket.AF_INET, daddr=address)
                    for entry in list(ct.dump_entries(tuple_orig=wanted)):
                        ct.delete(entry)
            finally:
                ct.close()

    def delete(self, router_id: str) -> None:
        """Remove the router's namespace with its legs (host ends included) and its table. Idempotent."""
        destroy_namespace(self.worker, self.names.router_namespace(router_id))
