"""A create request's networks and security groups (Nova's _get_requested_networks and security group lookup).

Today the host offers no tenant network: "auto", "none", an empty list or no `networks` at all boot a server
without ports, and the only security group is "default". Networking extends `plan_networks`: a requested network,
port or fixed IP becomes an entry of the plan once it can be found, and the refusals below stay for what cannot.
"""
from __future__ import annotations

from dataclasses import dataclass

from nodecompute.domain.errors import BadRequest
from nodecompute.domain.server_models import CreateRequest, NetworkRequest

DEFAULT_SECURITY_GROUP = "default"
NO_NETWORKS = "Networks are not supported yet: send \"auto\", \"none\" or no networks."


@dataclass(frozen=True)
class NetworkPlan:
    mode: str  # "auto" (also for no networks given) or "none"
    requests: tuple[NetworkRequest, ...] = ()
    security_groups: tuple[str, ...] = (DEFAULT_SECURITY_GROUP,)


def plan_networks(req: CreateRequest, project_id: str) -> NetworkPlan:
    for name in req.security_groups:
        if name != DEFAULT_SECURITY_GROUP:
            raise BadRequest(f"Security group {name} not found for project {project_id}.")
    if isinstance(req.networks, tuple) and req.networks:
        first = req.networks[0]
        if first.port:
            raise BadRequest(f"Port {first.port} could not be found.")
        if first.uuid:
            raise BadRequest(f"Network {first.uuid} could not be found.")
        raise BadRequest(NO_NETWORKS)
    return NetworkPlan(mode="none" if req.networks == "none" else "auto")
