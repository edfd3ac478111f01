"""Host networking adapter: bridges, taps, veths and namespaces (pyroute2, the only importer), one dnsmasq per
network, routers with their own nftables NAT table, listeners inside namespaces, and the nftables tables that
enforce security groups and anti-spoofing (nft.py, secgroups.py, probe.py). Imports nothing from the
compute service or the API; its inputs are the records of specs.py."""
from nodecompute.hostnet.errors import HostNetError, NamespaceStuck
from nodecompute.hostnet.names import DaemonNames, bridge_name, daemon_prefix, dhcp_leg_name, gateway_leg_name, \
    router_leg_name, tap_name
from nodecompute.hostnet.service import HostNet, Swept
from nodecompute.hostnet.specs import FixedIp, FloatingIp, Network, Port, Recorded, Router, RouterLeg, Subnet

__all__ = [
    "DaemonNames", "FixedIp", "FloatingIp", "HostNet", "HostNetError", "NamespaceStuck", "Network", "Port",
    "Recorded", "Router", "RouterLeg", "Subnet", "Swept", "bridge_name", "daemon_prefix", "dhcp_leg_name",
    "gateway_leg_name", "router_leg_name", "tap_name",
]
