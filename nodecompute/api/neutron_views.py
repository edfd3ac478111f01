"""Neutron's bodies for networks, subnets and ports (what an ML2 Neutron with the listed extensions shows), and the
attributes its default policy shows to admins only."""
from __future__ import annotations

from typing import Any

from nodecompute.domain.models import zulu
from nodecompute.domain.network_models import Network, Port, Subnet

# Neutron's default policy shows these port attributes to admins only.
ADMIN_ONLY = frozenset({"binding:host_id", "binding:profile", "binding:vif_details", "binding:vif_type"})


def _standard(record: Any) -> dict[str, Any]:
    """The standard attributes: description, timestamps, revision number."""
    return {"description": record.description, "created_at": zulu(record.created_at),
            "updated_at": zulu(record.updated_at), "revision_number": record.revision_number}


def network(n: Network) -> dict[str, Any]:
    """An external network also shows `is_default` (auto-allocated-topology), as Neutron shows it only there."""
    view = {
        "id": n.id, "name": n.name, "tenant_id": n.project_id, "project_id": n.project_id,
        "admin_state_up": n.admin_state_up, "mtu": n.mtu, "status": "ACTIVE", "subnets": list(n.subnet_ids),
        "shared": n.shared, "router:external": n.external, "port_security_enabled": n.port_security_enabled,
        "l2_adjacency": True, **_standard(n),
    }
    if n.external:
        view["is_default"] = n.is_default
    return view


def subnet(s: Subnet) -> dict[str, Any]:
    return {
        "id": s.id, "name": s.name, "tenant_id": s.project_id, "project_id": s.project_id,
        "network_id": s.network_id, "ip_version": s.ip_version, "subnetpool_id": None, "enable_dhcp": s.enable_dhcp,
        "ipv6_ra_mode": None, "ipv6_address_mode": None, "gateway_ip": s.gateway_ip, "cidr": s.cidr,
        "allocation_pools": [{"start": p.start, "end": p.end} for p in s.allocation_pools],
        "host_routes": [{"destination": r.destination, "nexthop": r.nexthop} for r in s.host_routes],
        "dns_nameservers": list(s.dns_nameservers), **_standard(s),
    }


def port(p: Port) -> dict[str, Any]:
    return {
        "id": p.id, "name": p.name, "network_id": p.network_id, "tenant_id": p.project_id,
        "project_id": p.project_id, "mac_address": p.mac_address, "admin_state_up": p.admin_state_up,
        "status": p.status, "device_id": p.device_id, "device_owner": p.device_owner,
        "fixed_ips": [{"subnet_id": f.subnet_id, "ip_address": f.ip_address} for f in p.fixed_ips],
        "security_groups": list(p.security_group_ids),
        "port_security_enabled": p.port_security_enabled, "binding:host_id": p.host_id, "binding:profile": {},
        "binding:vif_details": {"port_filter": True, "connectivity": "l2"} if p.vif_type == "bridge" else {},
        "binding:vif_type": p.vif_type, "binding:vnic_type": p.vnic_type, **_standard(p),
    }


def hidden(is_admin: bool) -> frozenset[str]:
    """The attributes a caller does not see."""
    return frozenset() if is_admin else ADMIN_ONLY
