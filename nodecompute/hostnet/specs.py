"""What the adapter is asked to build: small frozen records, made by the caller from its own database rows.

The adapter imports nothing from the compute service or the API; these records are its whole input. Addresses are
IPv4 strings; interface addresses carry their prefix length ("198.18.5.1/24").
"""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Subnet:
    id: str
    cidr: str  # "198.18.5.0/24"
    gateway_ip: str | None = None  # None: DHCP sends no router option
    dns_nameservers: tuple[str, ...] = ()  # handed to guests; empty: the DHCP port's dnsmasq answers DNS
    host_routes: tuple[tuple[str, str], ...] = ()  # (destination CIDR, next hop), sent in option 121
    enable_dhcp: bool = True
    # The subnet has no router: guests reach 169.254.169.254 through the DHCP port (option 121 route).
    metadata_via_dhcp: bool = False


@dataclass(frozen=True)
class FixedIp:
    subnet_id: str
    ip_address: str


@dataclass(frozen=True)
class Port:
    """A port with addresses on one network: a guest's NIC, or the network's DHCP port."""

    id: str
    network_id: str
    mac: str
    fixed_ips: tuple[FixedIp, ...] = ()
    hostname: str = ""  # DHCP host name; empty: "host-<address with dashes>" as Neutron writes it
    plugged: bool = True  # the port belongs to a server: its tap must exist


@dataclass(frozen=True)
class Network:
    id: str
    subnets: tuple[Subnet, ...] = ()
    dhcp_port: Port | None = None  # None (or no DHCP subnet): no DHCP namespace, no dnsmasq
    domain: str = "openstacklocal"
    mtu: int | None = None  # sent as DHCP option 26 when set
    dns_servers: tuple[str, ...] = ()  # dnsmasq's upstream servers; empty: --no-resolv and nothing upstream
    lease_seconds: int = 86400

    def subnet(self, subnet_id: str) -> Subnet | None:
        return next((s for s in self.subnets if s.id == subnet_id), None)


@dataclass(frozen=True)
class RouterLeg:
    """One veth of a router: its host end joins the network's bridge, the other end lives in the router namespace."""

    port_id: str
    network_id: str
    mac: str
    addresses: tuple[str, ...]  # interface addresses inside the router, "198.18.5.1/24"


@dataclass(frozen=True)
class FloatingIp:
    address: str  # on the external network; added to the gateway leg as a /32
    fixed_ip: str  # the guest address behind the router


@dataclass(frozen=True)
class Router:
    id: str
    interfaces: tuple[RouterLeg, ...] = ()  # one per plugged subnet, carrying the subnet's gateway address
    gateway: RouterLeg | None = None  # the leg on the external network
    gateway_ip: str | None = None  # the external network's next hop: the router's default route
    snat: bool = True  # masquerade outbound traffic to the gateway leg's address
    floating_ips: tuple[FloatingIp, ...] = ()
    metadata_port: int | None = None  # 169.254.169.254:80 is redirected to this port inside the namespace


@dataclass(frozen=True)
class Recorded:
    """What the daemon's database knows, for sweep(): anything of this daemon's outside it is a leftover."""

    network_ids: frozenset[str] = frozenset()  # networks whose DHCP namespace and files are kept
    router_ids: frozenset[str] = frozenset()
    stale_links: frozenset[str] = field(default_factory=frozenset)  # recorded interface names whose owner is gone
