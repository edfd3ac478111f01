"""Address allocation and the DHCP port, run inside the service's write transactions (each function takes the
sqlite-utils Database the writer hands in, and calls only nodecompute.db functions and the pure IPAM).

A fixed address is unique per subnet (the allocations' primary key says so too); the gateway is never handed to a
port; the DHCP port of a network holds one address on each of its DHCP subnets, the first free one.
"""
from __future__ import annotations

from datetime import datetime

import ipaddress
import secrets
import socket
import uuid
from collections.abc import Sequence
from typing import Any

from nodecompute.compute import ipam
from nodecompute.db import networks as networks_db
from nodecompute.db import ports as ports_db
from nodecompute.domain.models import isotime
from nodecompute.domain.network_errors import (InvalidInput, InvalidIpForNetwork, InvalidIpForSubnet,
                                               IpAddressAlreadyAllocated, IpAddressGenerationFailure,
                                               SubnetNotFound)
from nodecompute.domain.network_models import DHCP_OWNER, FixedIp, Network, Port, Subnet

MAC_PREFIX = "fa:16:3e"  # Neutron's base_mac
ROUTER_OWNERS = ("network:router_interface", "network:router_gateway", "network:router_interface_distributed")


def new_mac(db: Any) -> str:
    """A random MAC under Neutron's prefix that no port has."""
    while True:
        mac = MAC_PREFIX + "".join(f":{b:02x}" for b in secrets.token_bytes(3))
        if not ports_db.mac_in_use(db, mac):
            return mac


def _taken(db: Any, subnet: Subnet, mine: Sequence[FixedIp], chosen: list[FixedIp]) -> set[str]:
    taken = ports_db.allocated_ips(db, subnet.id) - {f.ip_address for f in mine if f.subnet_id == subnet.id}
    taken |= {f.ip_address for f in chosen if f.subnet_id == subnet.id}
    if subnet.gateway_ip:
        taken.add(subnet.gateway_ip)
    return taken


def _next_free(db: Any, subnet: Subnet, mine: Sequence[FixedIp], chosen: list[FixedIp]) -> str | None:
    return ipam.first_free(subnet.allocation_pools, _taken(db, subnet, mine, chosen))


def _asked_address(db: Any, subnet: Subnet, ip: str, owner: str, mine: Sequence[FixedIp],
                   chosen: list[FixedIp]) -> FixedIp:
    net = ipaddress.IPv4Network(subnet.cidr)
    if ipaddress.IPv4Address(ip) not in net or not ipam.in_subnet(net, ip):
        raise InvalidIpForSubnet(ip_address=ip)
    taken = _taken(db, subnet, mine, chosen)
    if ip == subnet.gateway_ip and owner in ROUTER_OWNERS and (
            ports_db.ip_owner(db, subnet.id, ip) is None or FixedIp(subnet.id, ip) in mine):
        taken.discard(ip)  # a router's leg may hold the gateway address, when no other leg holds it already
    if ip in taken:
        raise IpAddressAlreadyAllocated(ip=ip, subnet_id=subnet.id)
    return FixedIp(subnet.id, ip)


def _subnet_of(network: Network, subnets: Sequence[Subnet], subnet_id: str) -> Subnet:
    subnet = next((s for s in subnets if s.id == subnet_id), None)
    if subnet is None:
        raise InvalidInput(error_message=f"Failed to create port on network {network.id}, because fixed_ips included "
                                         f"invalid subnet {subnet_id}")
    return subnet


def allocate(db: Any, network: Network, requested: Sequence[dict] | None, owner: str,
             mine: Sequence[FixedIp] = ()) -> tuple[FixedIp, ...]:
    """The fixed addresses of a new port (`mine` empty) or of a port's update (`mine` its current addresses, which
    it may keep). `requested` None: one address from the first subnet with room."""
    subnets = networks_db.list_subnets(db, network.id)
    chosen: list[FixedIp] = []
    if requested is None:
        for subnet in subnets:
            ip = _next_free(db, subnet, mine, chosen)
            if ip is not None:
                return (FixedIp(subnet.id, ip),)
        if subnets:
            raise IpAddressGenerationFailure(net_id=network.id)
        return ()
    for item in requested:
        chosen.append(_one(db, network, subnets, item, owner, mine, chosen))
    return tuple(chosen)


def _one(db: Any, network: Network, subnets: Sequence[Subnet], item: dict, owner: str, mine: Sequence[FixedIp],
         chosen: list[FixedIp]) -> FixedIp:
    subnet_id, ip = item.get("subnet_id"), item.get("ip_address")
    if subnet_id is not None and networks_db.get_subnet(db, subnet_id) is None:
        raise SubnetNotFound(subnet_id=subnet_id)
    if ip is not None:
        if subnet_id is not None:
            return _asked_address(db, _subnet_of(network, subnets, subnet_id), ip, owner, mine, chosen)
        for subnet in subnets:
            net = ipaddress.IPv4Network(subnet.cidr)
            if ipaddress.IPv4Address(ip) in net and ipam.in_subnet(net, ip):
                return _asked_address(db, subnet, ip, owner, mine, chosen)
        raise InvalidIpForNetwork(ip_address=ip)
    if subnet_id is None:
        raise InvalidInput(error_message=f"Invalid data format for fixed IP: '{item}'")
    subnet = _subnet_of(network, subnets, subnet_id)
    kept = next((f for f in mine if f.subnet_id == subnet.id and f not in chosen), None)
    if kept is not None:
        return kept
    ip = _next_free(db, subnet, mine, chosen)
    if ip is None:
        raise IpAddressGenerationFailure(net_id=network.id)
    return FixedIp(subnet.id, ip)


def dhcp_device_id(network_id: str) -> str:
    """Neutron's DHCP port device id: dhcp<uuid5 of the host name>-<network id>."""
    return f"dhcp{uuid.uuid5(uuid.NAMESPACE_DNS, socket.gethostname())}-{network_id}"


def sync_dhcp_port(db: Any, network: Network, host_name: str, now: datetime) -> Port | None:
    """Make the network's DHCP port match its DHCP subnets: one address on each (kept where it has one), made on
    the first DHCP subnet and deleted with the last. Returns the port (None: the network has no DHCP)."""
    subnets = [s for s in networks_db.list_subnets(db, network.id) if s.enable_dhcp]
    port = next((p for p in ports_db.list_ports(db, network_id=network.id) if p.is_dhcp), None)
    if not subnets:
        if port is not None:
            ports_db.delete_port(db, port.id)
        return None
    mine = port.fixed_ips if port is not None else ()
    fixed: list[FixedIp] = []
    for subnet in subnets:
        kept = next((f for f in mine if f.subnet_id == subnet.id), None)
        ip = kept.ip_address if kept is not None else _next_free(db, subnet, mine, fixed)
        if ip is not None:  # a full subnet still serves DHCP from the addresses its other subnets give the port
            fixed.append(FixedIp(subnet.id, ip))
    if port is None:
        port = Port(id=str(uuid.uuid4()), project_id=network.project_id, network_id=network.id,
                    mac_address=new_mac(db), fixed_ips=tuple(fixed), device_id=dhcp_device_id(network.id),
                    device_owner=DHCP_OWNER, status="ACTIVE", host_id=host_name, vif_type="bridge",
                    created_at=now, updated_at=now)
        ports_db.insert_port(db, port)
    elif tuple(fixed) != port.fixed_ips:
        ports_db.set_fixed_ips(db, port.id, tuple(fixed))
        ports_db.update_port(db, port.id, {}, isotime(now))
    return ports_db.get_port(db, port.id)
