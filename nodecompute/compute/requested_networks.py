"""A create request's networks and security groups (Nova's _get_requested_networks, validate_networks and the
security group lookup): what NICs the server gets, checked before any row is written.

- "none": no NIC. No `networks` (before 2.37) or "auto": the one network the project can use (its own and the
  shared ones, not external); several answer 409. With none, the server boots without a NIC: networking part 3
  brings auto-allocation; until then "auto" does not answer Nova's 400 "Unable to automatically allocate a network"
  either, because the stock CLI sends "auto" whenever no network is named and a plain `server create` must keep
  working (README "Networking").
- A list: each item a network `uuid` (with a `fixed_ip` on it, optional) or a `port`, with an optional `tag`.
  Networks must be visible (400), not external for a non-admin (403); ports visible (400) and free (409); a fixed
  IP inside one of the network's subnets (400) and free (400); a port or fixed IP only with max_count 1 (400).
- Without networking on the host (`lookup` None), a list naming a network or port is refused as before.
"""
from __future__ import annotations

import ipaddress
from dataclasses import dataclass, replace
from typing import Any, Protocol

from nodecompute.domain.errors import BadRequest, Conflict, Forbidden, NotFound, SecurityGroupNameNotFound
from nodecompute.domain.models import AuthContext
from nodecompute.domain.server_models import CreateRequest

DEFAULT_SECURITY_GROUP = "default"
NO_NETWORKS = "Networks are not supported yet: send \"auto\", \"none\" or no networks."
AMBIGUOUS = "Multiple possible networks found, use a Network ID to be more specific."


@dataclass(frozen=True)
class NicRequest:
    """One NIC to plug: a new port on `network_id` (at `fixed_ip` when given) or the existing port `port_id`."""

    network_id: str | None = None
    port_id: str | None = None
    fixed_ip: str | None = None
    tag: str | None = None
    security_group_ids: tuple[str, ...] | None = None  # for a port made here; None: the project's default group


@dataclass(frozen=True)
class NetworkPlan:
    mode: str  # "auto" (also for no networks given), "none" or "list"
    nics: tuple[NicRequest, ...] = ()
    security_groups: tuple[str, ...] = (DEFAULT_SECURITY_GROUP,)


class NetworkLookup(Protocol):
    """What planning reads of the networking service (compute/server_ports.py)."""

    def usable_networks(self, ctx: AuthContext) -> list[Any]: ...

    def network(self, ctx: AuthContext, network_id: str) -> Any: ...  # NotFound when not visible

    def port(self, ctx: AuthContext, port_id: str) -> Any: ...  # NotFound when not visible

    def subnets(self, network_id: str) -> list[Any]: ...

    def ip_owner(self, subnet_id: str, ip: str) -> str | None: ...  # the device (server) holding it, or ""


def with_groups(plan: NetworkPlan, group_ids: tuple[str, ...] | None) -> NetworkPlan:
    """The plan with the requested groups on each port it will make (a given port keeps its own)."""
    if group_ids is None:
        return plan
    nics = tuple(replace(n, security_group_ids=group_ids) if n.network_id else n for n in plan.nics)
    return replace(plan, nics=nics, security_groups=group_ids)


class InstanceExternalNetwork(Forbidden):
    pass


def plan_networks(req: CreateRequest, ctx: AuthContext, lookup: NetworkLookup | None = None) -> NetworkPlan:
    """Without networking only the default group may be named; with it, the caller resolves the groups
    (ServerPorts.plan) and puts their ids on the planned NICs (`with_groups`)."""
    if lookup is None:
        for name in req.security_groups:
            if name != DEFAULT_SECURITY_GROUP:
                raise SecurityGroupNameNotFound(name=name, project_id=ctx.project_id)
    if req.networks == "none":
        return NetworkPlan(mode="none")
    if not isinstance(req.networks, tuple) or not req.networks:
        if lookup is None:
            return NetworkPlan(mode="auto")
        usable = lookup.usable_networks(ctx)
        if len(usable) > 1:
            raise Conflict(AMBIGUOUS)
        return NetworkPlan(mode="auto", nics=tuple(NicRequest(network_id=n.id) for n in usable))
    if lookup is None:
        first = req.networks[0]
        if first.port:
            raise BadRequest(f"Port {first.port} could not be found.")
        if first.uuid:
            raise BadRequest(f"Network {first.uuid} could not be found.")
        raise BadRequest(NO_NETWORKS)
    nics = tuple(_nic(item, ctx, lookup) for item in req.networks)
    if req.max_count > 1 and any(n.port_id for n in nics):
        raise BadRequest("Unable to launch multiple instances with a single configured port ID. Please launch your "
                         "instance one by one with different ports.")
    if req.max_count > 1 and any(n.fixed_ip for n in nics):
        raise BadRequest("max_count cannot be greater than 1 if an fixed_ip is specified.")
    ports = [n.port_id for n in nics if n.port_id]
    repeated = next((p for i, p in enumerate(ports) if p in ports[:i]), None)
    if repeated is not None:  # the second use finds it taken
        raise Conflict(f"Port {repeated} is still in use.")
    return NetworkPlan(mode="list", nics=nics)


def _nic(item: Any, ctx: AuthContext, lookup: NetworkLookup) -> NicRequest:
    if item.port:
        try:
            port = lookup.port(ctx, item.port)
        except NotFound:
            raise BadRequest(f"Port id {item.port} could not be found.") from None
        if port.device_id or port.is_dhcp:
            raise Conflict(f"Port {item.port} is still in use.")
        _check_attachable(ctx, lookup, port.network_id)
        return NicRequest(port_id=port.id, tag=item.tag)
    if not item.uuid:
        raise BadRequest(f"Bad networks format: network uuid is not in proper format ({item.uuid})")
    network = _check_attachable(ctx, lookup, item.uuid)
    if item.fixed_ip:
        _check_fixed_ip(lookup, network.id, item.fixed_ip)
    return NicRequest(network_id=network.id, fixed_ip=item.fixed_ip, tag=item.tag)


def _check_attachable(ctx: AuthContext, lookup: NetworkLookup, network_id: str) -> Any:
    try:
        network = lookup.network(ctx, network_id)
    except NotFound:
        raise BadRequest(f"Network {network_id} could not be found.") from None
    if network.external and not ctx.is_admin:
        raise InstanceExternalNetwork(f"It is not allowed to create an interface on external network {network_id}")
    return network


def _check_fixed_ip(lookup: NetworkLookup, network_id: str, fixed_ip: str) -> None:
    address = ipaddress.ip_address(fixed_ip)
    subnet = next((s for s in lookup.subnets(network_id) if address in ipaddress.ip_network(s.cidr)), None)
    if subnet is None:
        raise BadRequest(f"Invalid input received: Fixed IP {fixed_ip} is not a valid ip address for network "
                         f"{network_id}.")
    owner = lookup.ip_owner(subnet.id, fixed_ip)
    if owner is not None:
        raise BadRequest(f"Fixed IP address {fixed_ip} is already in use on instance {owner}.")
