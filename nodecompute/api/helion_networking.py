"""Helion's floating IPs and security groups (dialects.md D54, D55; #1401, #1501): the openstack handlers, with
integer ids in and out.

Nodecompute's security groups, rules and floating IPs are Neutron rows with UUIDs; Helion shows and takes integer
ids. Each gets a serial on first sight (compute/serial_ids.py), kept for good: a path or body naming a serial names
that UUID, and every id in an answer is shown as its serial. Floating IPs show no `pool` and allocate ignoring any
body (D54); group and rule create answer 202 (the status table); rule ports may be strings (the core takes them).
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from aiohttp import web

from nodecompute.api import floating_ips, nova_secgroups, server_security_groups, validation
from nodecompute.api.faults import answer_json, json_response
from nodecompute.api.keys import serial_ids_key
from nodecompute.api.routing import Handler, Route

GROUP, RULE, FLOATING_IP = "security_group", "security_group_rule", "floatingip"
# path parameter -> the kind of serial it may carry
PATH_KINDS = {"security_group_id": GROUP, "security_group_rule_id": RULE, "floating_ip_id": FLOATING_IP}
BODY_KINDS = {"parent_group_id": GROUP, "group_id": GROUP}


def _path_ids(request: web.Request) -> None:
    serials = request.config_dict[serial_ids_key]
    for key, kind in PATH_KINDS.items():
        ref = request.match_info.get(key)
        found = serials.id_of_serial(kind, ref) if ref is not None else None
        if found is not None:
            request.match_info[key] = found


async def _body_ids(request: web.Request) -> None:
    """A rule create's `parent_group_id`/`group_id` given as integers (or their strings) name those groups."""
    body = await validation.json_body(request)
    rule = body.get("security_group_rule")
    if isinstance(rule, dict):
        serials = request.config_dict[serial_ids_key]
        for key, kind in BODY_KINDS.items():
            if isinstance(rule.get(key), (int, str)) and not isinstance(rule.get(key), bool):
                found = serials.id_of_serial(kind, rule[key])
                if found is not None:
                    rule[key] = found
    request[validation.ADAPTED_BODY] = body


def _collect(doc: Any, out: dict[str, set[str]]) -> None:
    if isinstance(doc, dict):
        for group in doc.get("security_groups", []) if isinstance(doc.get("security_groups"), list) else []:
            _collect_group(group, out)
        if isinstance(doc.get("security_group"), dict):
            _collect_group(doc["security_group"], out)
        if isinstance(doc.get("security_group_rule"), dict):
            _collect_rule(doc["security_group_rule"], out)
        fips = doc.get("floating_ips") if isinstance(doc.get("floating_ips"), list) else []
        for fip in fips + ([doc["floating_ip"]] if isinstance(doc.get("floating_ip"), dict) else []):
            out[FLOATING_IP].add(fip.get("id"))


def _collect_group(group: dict, out: dict[str, set[str]]) -> None:
    if "id" in group:
        out[GROUP].add(group["id"])
    for rule in group.get("rules", []):
        _collect_rule(rule, out)


def _collect_rule(rule: dict, out: dict[str, set[str]]) -> None:
    out[RULE].add(rule.get("id"))
    out[GROUP].add(rule.get("parent_group_id"))


def _rewrite(doc: Any, serials: Mapping[str, Mapping[str, int]]) -> None:
    def swap(item: dict, key: str, kind: str) -> None:
        if item.get(key) in serials[kind]:
            item[key] = serials[kind][item[key]]

    def group(item: dict) -> None:
        swap(item, "id", GROUP)
        for rule_item in item.get("rules", []):
            rule(rule_item)

    def rule(item: dict) -> None:
        swap(item, "id", RULE)
        swap(item, "parent_group_id", GROUP)

    for item in doc.get("security_groups", []) if isinstance(doc.get("security_groups"), list) else []:
        group(item)
    if isinstance(doc.get("security_group"), dict):
        group(doc["security_group"])
    if isinstance(doc.get("security_group_rule"), dict):
        rule(doc["security_group_rule"])
    fips = doc.get("floating_ips") if isinstance(doc.get("floating_ips"), list) else []
    for fip in fips + ([doc["floating_ip"]] if isinstance(doc.get("floating_ip"), dict) else []):
        swap(fip, "id", FLOATING_IP)
        fip.pop("pool", None)


async def _integer_ids(request: web.Request, response: web.StreamResponse) -> web.StreamResponse:
    if not isinstance(response, web.Response) or not response.body or response.status >= 400:
        return response
    doc = answer_json(response)
    if not isinstance(doc, dict):
        return response
    found: dict[str, set[str]] = {GROUP: set(), RULE: set(), FLOATING_IP: set()}
    _collect(doc, found)
    serials = request.config_dict[serial_ids_key]
    given = {kind: await serials.serials_of(kind, sorted(i for i in ids if isinstance(i, str)))
             for kind, ids in found.items()}
    _rewrite(doc, given)
    headers = {k: v for k, v in response.headers.items() if k.lower() not in ("content-type", "content-length")}
    return json_response(doc, status=response.status, headers=headers)


def with_integer_ids(core: Handler, body_ids: bool = False) -> Handler:
    async def handler(request: web.Request) -> web.StreamResponse:
        _path_ids(request)
        if body_ids:
            await _body_ids(request)
        return await _integer_ids(request, await core(request))
    return handler


async def allocate_floating_ip(request: web.Request) -> web.StreamResponse:
    """D54: allocation ignores any body (the default pool)."""
    request[validation.ADAPTED_BODY] = {}
    return await floating_ips.create_floating_ip(request)


_PROXY = {"until": (2, 35)}
_GROUP_PATH = "/os-security-groups/{security_group_id}"
_ROWS: tuple[tuple[str, str, str, Callable, bool], ...] = (
    ("#1401", "GET", "/os-floating-ips", floating_ips.list_floating_ips, False),
    ("#1402", "POST", "/os-floating-ips", allocate_floating_ip, False),
    ("#1403", "GET", "/os-floating-ips/{floating_ip_id}", floating_ips.show_floating_ip, False),
    ("#1404", "DELETE", "/os-floating-ips/{floating_ip_id}", floating_ips.delete_floating_ip, False),
    ("#1501", "GET", "/os-security-groups", nova_secgroups.list_groups, False),
    ("#1502", "POST", "/os-security-groups", nova_secgroups.create_group, False),
    ("#1503", "GET", _GROUP_PATH, nova_secgroups.show_group, False),
    ("#1504", "PUT", _GROUP_PATH, nova_secgroups.update_group, False),
    ("#1505", "DELETE", _GROUP_PATH, nova_secgroups.delete_group, False),
    ("#1506", "POST", "/os-security-group-rules", nova_secgroups.create_rule, True),
    ("#1507", "DELETE", "/os-security-group-rules/{security_group_rule_id}", nova_secgroups.delete_rule, False),
)
ROUTES = tuple(Route("compute", op, method, path, with_integer_ids(core, body), **_PROXY)
               for op, method, path, core, body in _ROWS) + (
    Route("compute", "#1508", "GET", "/servers/{server_id}/os-security-groups",
          with_integer_ids(server_security_groups.list_server_groups)),)
OPS = frozenset(route.op for route in ROUTES)
STATUSES = {"#1502": 202, "#1506": 202}
