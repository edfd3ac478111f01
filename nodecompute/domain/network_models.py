"""Records of the networking service (Neutron's core resources): networks, subnets, ports and their addresses.

Plain frozen dataclasses passed between the service, the database and the API. Addresses are IPv4 strings; times
are naive UTC datetimes like the other records.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from nodecompute.domain.models import utcnow

DHCP_OWNER = "network:dhcp"
ROUTER_INTERFACE_OWNER = "network:router_interface"
ROUTER_GATEWAY_OWNER = "network:router_gateway"
FLOATINGIP_OWNER = "network:floatingip"
COMPUTE_OWNER_PREFIX = "compute:"
NETWORK_OWNER_PREFIX = "network:"
# Neutron's quota resources, in the order `openstack quota show` lists them.
NETWORK_QUOTA_RESOURCES = ("network", "subnet", "port", "router", "floatingip", "security_group",
                           "security_group_rule")


@dataclass(frozen=True)
class AllocationPool:
    start: str
    end: str


@dataclass(frozen=True)
class HostRoute:
    destination: str
    nexthop: str


@dataclass(frozen=True)
class Network:
    id: str
    project_id: str
    name: str = ""
    description: str = ""
    admin_state_up: bool = True
    shared: bool = False
    external: bool = False  # router:external: only the configured external network ([network] external_*)
    is_default: bool = False  # the default external network of auto-allocation
    mtu: int = 1500
    port_security_enabled: bool = True
    created_at: datetime = field(default_factory=utcnow)
    updated_at: datetime = field(default_factory=utcnow)
    revision_number: int = 1
    subnet_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class Subnet:
    id: str
    project_id: str
    network_id: str
    cidr: str
    name: str = ""
    description: str = ""
    gateway_ip: str | None = None
    allocation_pools: tuple[AllocationPool, ...] = ()
    dns_nameservers: tuple[str, ...] = ()
    host_routes: tuple[HostRoute, ...] = ()
    enable_dhcp: bool = True
    created_at: datetime = field(default_factory=utcnow)
    updated_at: datetime = field(default_factory=utcnow)
    revision_number: int = 1
    ip_version: int = 4


@dataclass(frozen=True)
class FixedIp:
    subnet_id: str
    ip_address: str


@dataclass(frozen=True)
class Port:
    id: str
    project_id: str
    network_id: str
    mac_address: str
    name: str = ""
    description: str = ""
    fixed_ips: tuple[FixedIp, ...] = ()
    device_id: str = ""
    device_owner: str = ""
    admin_state_up: bool = True
    status: str = "DOWN"
    port_security_enabled: bool = True
    security_group_ids: tuple[str, ...] = ()
    host_id: str = ""  # binding:host_id
    vif_type: str = "unbound"  # binding:vif_type
    vnic_type: str = "normal"  # binding:vnic_type
    hostname: str = ""  # the DHCP host name (the server's); empty: Neutron's host-<a-b-c-d>
    created_at: datetime = field(default_factory=utcnow)
    updated_at: datetime = field(default_factory=utcnow)
    revision_number: int = 1

    @property
    def is_dhcp(self) -> bool:
        return self.device_owner == DHCP_OWNER

    @property
    def is_router_port(self) -> bool:
        """A router's leg (interface or gateway) or a floating IP's address holder: the L3 service's own ports."""
        return self.device_owner in (ROUTER_INTERFACE_OWNER, ROUTER_GATEWAY_OWNER, FLOATINGIP_OWNER)


@dataclass(frozen=True)
class PortRequest:
    """What a caller asks of a new port (None: the default)."""

    network_id: str
    project_id: str
    name: str = ""
    description: str = ""
    admin_state_up: bool = True
    mac_address: str | None = None
    fixed_ips: tuple[dict, ...] | None = None  # each {"subnet_id"?, "ip_address"?}; None: one address
    device_id: str = ""
    device_owner: str = ""
    port_security_enabled: bool | None = None  # None: the network's
    security_group_ids: tuple[str, ...] | None = None  # None: the project's default group
    host_id: str = ""


@dataclass(frozen=True)
class Binding:
    """What giving a port to a server writes on it (Nova's port binding): the device, the host, the DHCP host name
    (the server's), and the VIF type: `bridge`, the daemon's own tap in the network's bridge."""

    device_id: str
    device_owner: str  # "compute:<availability zone>"
    host_id: str
    hostname: str = ""
    vif_type: str = "bridge"


# Security groups (Neutron's security-group extension) ----------------------------------------------------------------

DEFAULT_GROUP = "default"
DEFAULT_GROUP_DESCRIPTION = "Default security group"


@dataclass(frozen=True)
class SecurityGroupRule:
    """A rule as Neutron stores it: `protocol` a lower-case name or a number as a string (None: any); for ICMP the
    port range is the type (min) and code (max); at most one of `remote_ip_prefix` and `remote_group_id`."""

    id: str
    security_group_id: str
    project_id: str
    direction: str  # "ingress" | "egress"
    ethertype: str = "IPv4"
    protocol: str | None = None
    port_range_min: int | None = None
    port_range_max: int | None = None
    remote_ip_prefix: str | None = None
    remote_group_id: str | None = None
    description: str = ""
    created_at: datetime = field(default_factory=utcnow)
    updated_at: datetime = field(default_factory=utcnow)
    revision_number: int = 1


@dataclass(frozen=True)
class SecurityGroup:
    id: str
    project_id: str
    name: str
    description: str = ""
    rules: tuple[SecurityGroupRule, ...] = ()
    created_at: datetime = field(default_factory=utcnow)
    updated_at: datetime = field(default_factory=utcnow)
    revision_number: int = 1

    @property
    def is_default(self) -> bool:
        return self.name == DEFAULT_GROUP


@dataclass(frozen=True)
class RuleRequest:
    """What a caller asks of a new rule, already converted (Neutron's attribute converters)."""

    security_group_id: str
    project_id: str
    direction: str
    ethertype: str = "IPv4"
    protocol: str | None = None
    port_range_min: int | None = None
    port_range_max: int | None = None
    remote_ip_prefix: str | None = None
    remote_group_id: str | None = None
    description: str = ""


@dataclass(frozen=True)
class DefaultRule:
    """Nova's os-security-group-default-rules (nova-network's): an ingress rule copied into every new `default`
    group. `from_port`/`to_port` are -1 for any ICMP type/code."""

    id: int
    protocol: str
    from_port: int
    to_port: int
    cidr: str


@dataclass(frozen=True)
class PortPlug:
    """Where a port is plugged: its tap on this host, and the packet mark its filtering uses."""

    port_id: str
    tap: str
    host: str
    mark: int


# Routers and floating IPs (Neutron's router extension) --------------------------------------------------------

@dataclass(frozen=True)
class RouterGateway:
    """A router's leg on the external network: its port there and that port's addresses."""

    network_id: str
    port_id: str
    fixed_ips: tuple[FixedIp, ...] = ()


@dataclass(frozen=True)
class Router:
    id: str
    project_id: str
    name: str = ""
    description: str = ""
    admin_state_up: bool = True
    status: str = "ACTIVE"
    gw_port_id: str | None = None  # the router's port on the external network (None: no gateway)
    enable_snat: bool = True
    created_at: datetime = field(default_factory=utcnow)
    updated_at: datetime = field(default_factory=utcnow)
    revision_number: int = 1
    gateway: RouterGateway | None = None  # read with the router (from its gateway port)


@dataclass(frozen=True)
class RouterInterface:
    """What add/remove_router_interface answer: the router, the leg's port, its network and subnets."""

    router_id: str
    project_id: str
    port_id: str
    network_id: str
    subnet_ids: tuple[str, ...]


@dataclass(frozen=True)
class FloatingIp:
    id: str
    project_id: str
    floating_network_id: str
    floating_ip_address: str
    floating_port_id: str  # the port on the external network that holds the address
    port_id: str | None = None  # the associated (internal) port
    fixed_ip_address: str | None = None
    router_id: str | None = None  # the router that does its NAT while associated
    status: str = "DOWN"
    description: str = ""
    created_at: datetime = field(default_factory=utcnow)
    updated_at: datetime = field(default_factory=utcnow)
    revision_number: int = 1
