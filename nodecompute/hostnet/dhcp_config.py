"""dnsmasq's command line, hosts file and options file for one network, as pure functions (Neutron's layout).

- Static mode only: dnsmasq answers the MACs of the hosts file (`--dhcp-range=set:subnet-<id>,<net>,static,...`),
  one tag per subnet so each subnet's options go to its own hosts.
- Nothing from the host: `--conf-file=/dev/null` (no /etc/dnsmasq.conf), `--no-hosts` (no /etc/hosts),
  `--no-resolv` (no /etc/resolv.conf); upstream DNS only through `--server` for each configured server.
- It listens only on the DHCP leg inside the namespace (`--interface`, `--bind-interfaces`, `--except-interface=lo`).
- The hosts and options files are re-read on SIGHUP; the command line (subnets, leg, servers) needs a restart.
- Option 121 (classless static routes, with Microsoft's 249 beside it): the subnet's host routes, the metadata
  route 169.254.169.254/32 via the DHCP port when the subnet has no router, and then the default route too,
  because a client that gets option 121 ignores option 3 (RFC 3442).
"""
from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from pathlib import Path

from nodecompute.hostnet.specs import Network, Port, Subnet

METADATA_ADDRESS = "169.254.169.254"
_HOSTNAME_BAD = re.compile(r"[^a-z0-9-]+")


@dataclass(frozen=True)
class DhcpFiles:
    """The files of one network's dnsmasq, all in one per-daemon directory."""

    directory: Path

    @property
    def pid(self) -> Path:
        return self.directory / "pid"

    @property
    def leases(self) -> Path:
        return self.directory / "leases"

    @property
    def hosts(self) -> Path:
        return self.directory / "hosts"

    @property
    def opts(self) -> Path:
        return self.directory / "opts"

    @property
    def log(self) -> Path:
        return self.directory / "log"


def dhcp_subnets(network: Network) -> tuple[Subnet, ...]:
    return tuple(s for s in network.subnets if s.enable_dhcp)


def dhcp_port_address(network: Network, subnet: Subnet) -> str | None:
    port = network.dhcp_port
    if port is None:
        return None
    return next((f.ip_address for f in port.fixed_ips if f.subnet_id == subnet.id), None)


def leg_addresses(network: Network) -> tuple[str, ...]:
    """The DHCP leg's interface addresses: the DHCP port's address on each DHCP subnet, and the metadata address."""
    found = []
    for subnet in dhcp_subnets(network):
        ip = dhcp_port_address(network, subnet)
        if ip is not None:
            found.append(f"{ip}/{ipaddress.IPv4Network(subnet.cidr).prefixlen}")
    return (*found, f"{METADATA_ADDRESS}/32")


def tag(subnet: Subnet) -> str:
    return f"subnet-{subnet.id}"


def dnsmasq_argv(binary: str, network: Network, files: DhcpFiles, interface: str, user: str) -> list[str]:
    argv = [
        binary, "--conf-file=/dev/null", "--no-hosts", "--no-resolv",
        f"--pid-file={files.pid}", f"--dhcp-leasefile={files.leases}",
        f"--dhcp-hostsfile={files.hosts}", f"--dhcp-optsfile={files.opts}", f"--log-facility={files.log}",
        f"--interface={interface}", "--except-interface=lo", "--bind-interfaces",
        f"--user={user}", "--dhcp-authoritative", f"--domain={network.domain}",
    ]
    size = 0
    for subnet in dhcp_subnets(network):
        net = ipaddress.IPv4Network(subnet.cidr)
        size += net.num_addresses
        argv.append(f"--dhcp-range=set:{tag(subnet)},{net.network_address},static,{net.netmask},"
                    f"{network.lease_seconds}s")
    argv.append(f"--dhcp-lease-max={size}")
    argv.extend(f"--server={server}" for server in network.dns_servers)
    return argv


def hostname(port: Port, ip: str) -> str:
    """A DNS-safe host name: the port's own, cleaned, or Neutron's host-<a-b-c-d>."""
    name = _HOSTNAME_BAD.sub("-", port.hostname.lower()).strip("-")[:63].strip("-")
    return name or "host-" + ip.replace(".", "-")


def hosts_file(network: Network, ports: list[Port] | tuple[Port, ...]) -> str:
    """One `MAC,IP,hostname` line per fixed address of each port on a DHCP subnet of the network."""
    subnets = {s.id for s in dhcp_subnets(network)}
    lines = []
    for port in sorted(ports, key=lambda p: p.id):
        if port.network_id != network.id or (network.dhcp_port and port.id == network.dhcp_port.id):
            continue
        for fixed in port.fixed_ips:
            if fixed.subnet_id in subnets:
                lines.append(f"{port.mac.lower()},{fixed.ip_address},{hostname(port, fixed.ip_address)}")
    return "".join(line + "\n" for line in lines)


def classless_routes(network: Network, subnet: Subnet) -> list[tuple[str, str]]:
    routes = list(subnet.host_routes)
    dhcp_ip = dhcp_port_address(network, subnet)
    if subnet.metadata_via_dhcp and dhcp_ip is not None:
        routes.append((f"{METADATA_ADDRESS}/32", dhcp_ip))
    if routes and subnet.gateway_ip:
        routes.append(("0.0.0.0/0", subnet.gateway_ip))
    return routes


def opts_file(network: Network) -> str:
    lines = []
    for subnet in dhcp_subnets(network):
        t = f"tag:{tag(subnet)}"
        lines.append(f"{t},option:router" + (f",{subnet.gateway_ip}" if subnet.gateway_ip else ""))
        if subnet.dns_nameservers:
            lines.append(f"{t},option:dns-server," + ",".join(subnet.dns_nameservers))
        routes = classless_routes(network, subnet)
        if routes:
            flat = ",".join(f"{dst},{hop}" for dst, hop in routes)
            lines.append(f"{t},option:classless-static-route,{flat}")
            lines.append(f"{t},249,{flat}")
        if network.mtu:
            lines.append(f"{t},option:mtu,{network.mtu}")
    return "".join(line + "\n" for line in lines)
