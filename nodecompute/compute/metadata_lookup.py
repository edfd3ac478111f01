"""Which server a metadata request comes from, and its documents (behaviour.md section 14, issue 16).

The metadata listener knows only the namespace a connection arrived in and the connection's source address
(api/metadata_service.py); nothing the guest sends names the instance. The namespace says where the packet came
from: a network's DHCP namespace (`<prefix>-qdhcp-<network id>`: guests of that network, routed to its DHCP port by
DHCP option 121) or a router's (`<prefix>-qrouter-<router id>`: guests of the subnets it is plugged into, whose
port 80 to 169.254.169.254 it redirects). The source address is looked up among the fixed IPs of those subnets
only; its port must belong to a server (`compute:` owner) that is not deleted. Anti-spoofing (hostnet/secgroups.py)
makes sure a guest's packets carry only its own port's addresses, so the address names the port.

The documents are the config drive's (compute/instance_metadata.py) from the records as they are now, without
admin_pass.
"""
from __future__ import annotations

import ipaddress
import logging

from nodecompute.compute.instance_metadata import drive_metadata, first_fixed_ipv4
from nodecompute.compute.metadata_documents import DriveMetadata
from nodecompute.compute.network_data import network_data, nic_devices
from nodecompute.compute.volume_boot import tagged_disk_devices
from nodecompute.config import Config
from nodecompute.db import networks as networks_db
from nodecompute.db import ports as ports_db
from nodecompute.db import routers as routers_db
from nodecompute.db import servers as servers_db
from nodecompute.db import volume_attachments as attachments_db
from nodecompute.db.store import Store
from nodecompute.domain.network_models import COMPUTE_OWNER_PREFIX, ROUTER_INTERFACE_OWNER, Subnet

log = logging.getLogger(__name__)


class MetadataLookup:
    """lookup(namespace, source address) -> the server's DriveMetadata, or None when nobody is there."""

    def __init__(self, store: Store, cfg: Config, *, dhcp_namespace_start: str, router_namespace_start: str) -> None:
        self.store = store
        self.cfg = cfg
        self.dhcp_start = dhcp_namespace_start
        self.router_start = router_namespace_start

    async def __call__(self, namespace: str, source_ip: str) -> DriveMetadata | None:
        try:
            address = ipaddress.IPv4Address(source_ip)
        except ValueError:
            return None
        return self.store.read(self._find, namespace, address)

    def _subnets(self, db, namespace: str) -> list[Subnet]:
        """The subnets whose guests reach the listener of `namespace`."""
        if namespace.startswith(self.dhcp_start):
            return networks_db.list_subnets(db, namespace[len(self.dhcp_start):])
        if namespace.startswith(self.router_start):
            router_id = namespace[len(self.router_start):]
            router = routers_db.get_router(db, router_id)
            if router is None or not router.admin_state_up:
                return []
            ids = {f.subnet_id for p in routers_db.router_ports(db, router_id, ROUTER_INTERFACE_OWNER)
                   for f in p.fixed_ips}
            return [s for s in (networks_db.get_subnet(db, i) for i in sorted(ids)) if s is not None]
        return []

    def _find(self, db, namespace: str, address: ipaddress.IPv4Address) -> DriveMetadata | None:
        subnet = next((s for s in self._subnets(db, namespace) if s.ip_version == 4
                       and address in ipaddress.IPv4Network(s.cidr)), None)
        port_id = ports_db.ip_owner(db, subnet.id, str(address)) if subnet is not None else None
        port = ports_db.get_port(db, port_id) if port_id is not None else None
        if port is None or not port.device_owner.startswith(COMPUTE_OWNER_PREFIX) or not port.device_id:
            return None
        server = servers_db.find_server(db, port.device_id)
        if server is None or server.deleted:
            return None
        subnet_ids = {subnet_id for nic in server.nics for subnet_id, _ip in nic.fixed_ips}
        subnets = {s.id: s for s in (networks_db.get_subnet(db, i) for i in sorted(subnet_ids)) if s is not None}
        return drive_metadata(server, dhcp_domain=self.cfg.compute.dhcp_domain,
                              files=servers_db.server_files(db, server.uuid), user_data=server.user_data,
                              network_data=network_data(server.nics, subnets),
                              devices=(*tagged_disk_devices(server, attachments_db.of_server(db, server.uuid)),
                                       *nic_devices(server.nics)),  # disks first, as the drive and Nova have them
                              floating_ipv4=_floating_ipv4(db, server))


def _floating_ipv4(db, server) -> str:
    """EC2 public-ipv4, as Nova's metadata (`floating_ips[0]` of ec2utils' ip info): the first floating IP associated
    with any of the server's fixed IPv4 addresses, in NIC order; "" when none is."""
    for nic in server.nics:
        fixed = {ip for _subnet, ip in nic.fixed_ips}
        for fip in routers_db.list_floatingips(db, port_id=nic.port_id):
            if fip.fixed_ip_address in fixed:
                return fip.floating_ip_address
    return ""
