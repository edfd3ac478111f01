"""os-floating-ips (#1401-#1404) and os-floating-ip-pools (#1405): Nova's proxies to the networking service, over
the same calls as the Neutron face, from 2.1 to 2.35 (Nova's bare 404 from 2.36, as every proxy).

As Nova with Neutron answers them: ids are the floating IPs' UUIDs, `pool` is the external network's name (its id
when it has none), `instance_id` the associated port's device (null while unassociated); the list holds the
caller's project's floating IPs only, admins included. Allocation takes `pool` by name or id; without one, the
default external network ([network] external_default; Nova reads its [neutron] default_floating_pool). The
association actions (addFloatingIp, removeFloatingIp, #1406-#1407) come with servers on networks.
"""
from __future__ import annotations

import uuid
from typing import Any

from aiohttp import web

from nodecompute.api import validation
from nodecompute.api.auth import context, require_writer
from nodecompute.api.keys import network_key
from nodecompute.api.respond import parse_body, respond
from nodecompute.domain.errors import Forbidden, NotFound
from nodecompute.domain.models import AuthContext
from nodecompute.domain.network_errors import FloatingIPNotFound, IpAddressGenerationFailure, OverQuota

POLICY = "os_compute_api:os-floating-ips:%s"
CREATE_BODY = {"type": "object", "properties": {"pool": {"type": ["string", "null"]}}}  # null: _create_body


def _networking(request: web.Request) -> Any:
    """The networking service, or None when it is off on this host (no pools, no floating IPs)."""
    return request.config_dict.get(network_key)


def _not_found(floating_ip_id: str) -> NotFound:
    return NotFound(f"Floating IP not found for ID {floating_ip_id}")


def _view(services: Any, fip: Any, pools: dict[str, Any]) -> dict[str, Any]:
    port = services.floating_ips.port_details(fip)
    pool = pools.get(fip.floating_network_id)
    return {"fixed_ip": fip.fixed_ip_address, "id": fip.id, "instance_id": port.device_id if port else None,
            "ip": fip.floating_ip_address, "pool": (pool.name or pool.id) if pool else fip.floating_network_id}


def _pools(services: Any, ctx: AuthContext) -> dict[str, Any]:
    return {n.id: n for n in services.floating_ips.external_networks(ctx)}


async def list_floating_ips(request: web.Request) -> web.StreamResponse:
    ctx = context(request)
    services = _networking(request)
    if services is None:
        return respond(request, [])
    pools = _pools(services, ctx)
    mine = [f for f in services.floating_ips.list(ctx) if f.project_id == ctx.project_id]
    return respond(request, [_view(services, f, pools) for f in mine])


async def show_floating_ip(request: web.Request) -> web.StreamResponse:
    ctx = context(request)
    floating_ip_id = request.match_info["floating_ip_id"]
    services = _networking(request)
    if services is None:
        raise _not_found(floating_ip_id)
    try:
        fip = services.floating_ips.get(ctx, floating_ip_id)
    except FloatingIPNotFound:
        raise _not_found(floating_ip_id) from None
    return respond(request, _view(services, fip, _pools(services, ctx)))


def _pool_id(services: Any, ctx: AuthContext, pool: str | None) -> str:
    """The external network named (or with the id) `pool`; without one, the default external network."""
    networks = services.floating_ips.external_networks(ctx)
    if pool is None:
        found = [n for n in networks if n.is_default] or networks[:1]
    elif _is_uuid(pool):
        found = [n for n in networks if n.id == pool]
    else:
        found = [n for n in networks if n.name == pool]
    if len(found) != 1:
        raise NotFound("Floating IP pool not found.")
    return found[0].id


def _is_uuid(text: str) -> bool:
    try:
        uuid.UUID(text)
    except ValueError:
        return False
    return True


async def _create_body(request: web.Request) -> dict | None:
    """Nova takes no body at all, and a JSON null (its schema allows it), as well as an object."""
    raw = await request.read()
    if not raw:
        return None
    try:
        if validation.parse_json(raw) is None:
            return None
    except ValueError:
        pass  # parse_body answers Nova's fault for it
    return await parse_body(request)


async def create_floating_ip(request: web.Request) -> web.StreamResponse:
    ctx = require_writer(request, POLICY % "create")
    pool = ((await _create_body(request)) or {}).get("pool")
    services = _networking(request)
    if services is None:
        raise NotFound("Floating IP pool not found.")
    network_id = _pool_id(services, ctx, pool)
    try:
        fip = await services.floating_ips.create(ctx, ctx.project_id, {"floating_network_id": network_id})
    except OverQuota:
        raise Forbidden(f"IP allocation over quota in pool {pool}." if pool else "IP allocation over quota.") \
            from None
    except IpAddressGenerationFailure:
        raise NotFound(f"No more floating IPs in pool {pool}." if pool else "No more floating IPs available.") \
            from None
    return respond(request, _view(services, fip, _pools(services, ctx)))


async def delete_floating_ip(request: web.Request) -> web.StreamResponse:
    ctx = require_writer(request, POLICY % "delete")
    floating_ip_id = request.match_info["floating_ip_id"]
    services = _networking(request)
    if services is None:
        raise _not_found(floating_ip_id)
    try:
        await services.floating_ips.delete(ctx, floating_ip_id)
    except FloatingIPNotFound:
        raise _not_found(floating_ip_id) from None
    return respond(request)


async def list_pools(request: web.Request) -> web.StreamResponse:
    services = _networking(request)
    if services is None:
        return respond(request, [])
    return respond(request, list(_pools(services, context(request)).values()))


VIEWS = {
    "#1401": lambda out, views: {"floating_ips": views},
    "#1402": lambda out, view: {"floating_ip": view},
    "#1403": lambda out, view: {"floating_ip": view},
    "#1405": lambda out, pools: {"floating_ip_pools": [{"name": n.name or n.id} for n in pools]},
}
STATUSES = {"#1404": 202}
BODIES = {"#1402": CREATE_BODY}
