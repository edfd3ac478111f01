"""network_data.json and the NICs' device metadata from a server's real ports (Nova's netutils.get_network_metadata
and _build_device_metadata; behaviour.md 13.5). Pure functions of the records.

- links: one per NIC, named after its tap, with the port's MAC (which cloud-init matches against the guest's NICs),
  type `bridge` (the ports' VIF type: a tap in a Linux bridge), `mtu` null when the subnet has a DHCP server,
  `vif_id` the port.
- networks: the first IPv4 subnet of each NIC: `ipv4_dhcp` (nothing else) on a DHCP subnet, else `ipv4` with the
  address, netmask, the default route via the gateway and the subnet's host routes, and its DNS servers.
- services: the DNS servers of every subnet, once each. `{}` for a server without a NIC.
"""
from __future__ import annotations

import ipaddress
from collections.abc import Mapping, Sequence

from nodecompute.compute.metadata_documents import DeviceMetadata
from nodecompute.domain.network_models import Subnet
from nodecompute.domain.server_models import ServerNic

def nic_pci_slot(nic: ServerNic) -> int | None:
    """The pinned PCI slot of a tagged NIC (the device metadata names it before the domain exists; chosen when it
    was plugged, db/server_nics.py), else None."""
    return nic.pci_slot if nic.tag else None


def network_data(nics: Sequence[ServerNic], subnets: Mapping[str, Subnet]) -> dict:
    if not nics:
        return {}
    links, networks, services = [], [], []
    for nic in nics:
        subnet, address = _first_ipv4(nic, subnets)
        dhcp = subnet is not None and subnet.enable_dhcp
        links.append({"id": nic.tap, "vif_id": nic.port_id, "type": "bridge", "mtu": None if dhcp else nic.mtu,
                      "ethernet_mac_address": nic.mac})
        if subnet is None:
            continue
        entry: dict = {"id": f"network{len(networks)}", "type": "ipv4_dhcp" if dhcp else "ipv4", "link": nic.tap,
                       "network_id": nic.network_id}
        dns = [{"type": "dns", "address": a} for a in subnet.dns_nameservers]
        if not dhcp:
            cidr = ipaddress.ip_network(subnet.cidr)
            entry.update(ip_address=address, netmask=str(cidr.netmask), routes=_routes(subnet))
            if dns:
                entry["services"] = dns
        networks.append(entry)
        services += [d for d in dns if d not in services]
    return {"links": links, "networks": networks, "services": services}


def _first_ipv4(nic: ServerNic, subnets: Mapping[str, Subnet]) -> tuple[Subnet | None, str | None]:
    for subnet_id, address in nic.fixed_ips:
        subnet = subnets.get(subnet_id)
        if subnet is not None and subnet.ip_version == 4:
            return subnet, address
    return None, None


def _routes(subnet: Subnet) -> list[dict]:
    routes = []
    if subnet.gateway_ip:
        routes.append({"network": "0.0.0.0", "netmask": "0.0.0.0", "gateway": subnet.gateway_ip})
    for route in subnet.host_routes:
        destination = ipaddress.ip_network(route.destination)
        routes.append({"network": str(destination.network_address), "netmask": str(destination.netmask),
                       "gateway": route.nexthop})
    return routes


def nic_devices(nics: Sequence[ServerNic]) -> tuple[DeviceMetadata, ...]:
    """meta_data.json `devices` entries of the tagged NICs: PCI address as the guest sees it, MAC, tag."""
    return tuple(DeviceMetadata(type="nic", bus="pci", address=f"0000:00:{slot:02x}.0", mac=nic.mac,
                                tags=(nic.tag,))
                 for nic in nics if nic.tag and (slot := nic_pci_slot(nic)) is not None)
