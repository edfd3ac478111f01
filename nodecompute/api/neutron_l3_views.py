"""Neutron's bodies for routers (with ext-gw-mode's `enable_snat`), floating IPs (with fip-port-details) and the
answers of add/remove_router_interface and the auto-allocated topology."""
from __future__ import annotations

from typing import Any

from nodecompute.api.neutron_views import _standard
from nodecompute.domain.network_models import FloatingIp, Port, Router, RouterInterface


def router(r: Router) -> dict[str, Any]:
    gateway = None
    if r.gateway is not None:
        gateway = {"network_id": r.gateway.network_id, "enable_snat": r.enable_snat,
                   "external_fixed_ips": [{"subnet_id": f.subnet_id, "ip_address": f.ip_address}
                                          for f in r.gateway.fixed_ips]}
    return {
        "id": r.id, "name": r.name, "tenant_id": r.project_id, "project_id": r.project_id,
        "admin_state_up": r.admin_state_up, "status": r.status, "external_gateway_info": gateway, **_standard(r),
    }


def floatingip(f: FloatingIp, port: Port | None) -> dict[str, Any]:
    details = None
    if port is not None:
        details = {"name": port.name, "network_id": port.network_id, "mac_address": port.mac_address,
                   "admin_state_up": port.admin_state_up, "status": port.status, "device_id": port.device_id,
                   "device_owner": port.device_owner}
    return {
        "id": f.id, "tenant_id": f.project_id, "project_id": f.project_id,
        "floating_ip_address": f.floating_ip_address, "floating_network_id": f.floating_network_id,
        "router_id": f.router_id, "port_id": f.port_id, "fixed_ip_address": f.fixed_ip_address, "status": f.status,
        "port_details": details, **_standard(f),
    }


def interface(i: RouterInterface) -> dict[str, Any]:
    return {"id": i.router_id, "tenant_id": i.project_id, "project_id": i.project_id, "port_id": i.port_id,
            "network_id": i.network_id, "subnet_id": i.subnet_ids[0] if i.subnet_ids else None,
            "subnet_ids": list(i.subnet_ids)}
