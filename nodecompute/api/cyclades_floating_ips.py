"""Cyclades' floating IPs (dialects.md D11, D54): the openstack dialect's os-floating-ips handlers, with the
floating IP's integer serial as `id` and in paths, and `instance_id` the server's serial (a string, as server ids
are); all five keys always present (`null` when unset). A response adapter: the core answer is rewritten."""
from __future__ import annotations

from typing import Any

from aiohttp import web

from nodecompute.api.cyclades_servers import serials
from nodecompute.api.faults import Handler, answer_json, json_response
from nodecompute.api.respond import operation
from nodecompute.domain.errors import BadRequest, NotFound

OPS = frozenset({"#1401", "#1402", "#1403", "#1404"})
KEYS = ("id", "ip", "pool", "fixed_ip", "instance_id")


@web.middleware
async def floating_ip_ids(request: web.Request, handler: Handler) -> web.StreamResponse:
    if request.match_info.http_exception is not None or operation(request) not in OPS:
        return await handler(request)
    info = request.match_info
    if "floating_ip_id" in info:
        text = info["floating_ip_id"]
        if not text.isdigit():
            raise BadRequest("Malformed floating IP id")
        found = serials(request).floating_ip(int(text))
        if found is None:
            raise NotFound(f"Floating IP {text} could not be found.")
        info["floating_ip_id"] = found
    response = await handler(request)
    if not isinstance(response, web.Response) or not response.body or response.status >= 400:
        return response
    body = answer_json(response)
    for key in ("floating_ip", "floating_ips"):
        if key in body:
            items = body[key] if isinstance(body[key], list) else [body[key]]
            _rewrite(request, items)
    return json_response(body, status=response.status)


def _rewrite(request: web.Request, items: list[dict[str, Any]]) -> None:
    lookup = serials(request)
    ips = lookup.floating_ip_serials(item["id"] for item in items)
    servers = lookup.server_serials(item["instance_id"] for item in items if item.get("instance_id"))
    for item in items:
        item["id"] = ips.get(item["id"])
        item["instance_id"] = str(servers[item["instance_id"]]) if item.get("instance_id") in servers else None
        for key in KEYS:
            item.setdefault(key, None)
