"""Neutron's list queries: filters by any attribute (repeated values OR'd), `fields`, `sort_key`/`sort_dir`,
`limit`/`marker`/`page_reverse` paging with `<collection>_links`, as neutron/api/api_common.py does them.

Lists are small (one host's networks, subnets and ports), so they are filtered, sorted and paged over the rendered
items, in Neutron's order of operations: filter, sort, page, then keep the asked fields.
"""
from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from multidict import MultiMapping

from nodecompute.api.neutron_attrs import bad_request, to_boolean
from nodecompute.domain.network_errors import HTTPBadRequest, InvalidInput, TenantIdProjectIdFilterConflict

CONTROL = frozenset({"fields", "sort_key", "sort_dir", "limit", "marker", "page_reverse"})
NOT_FILTERS = frozenset({"allocation_pools", "host_routes", "dns_nameservers", "binding:profile",
                         "binding:vif_details", "security_group_rules", "external_gateway_info", "port_details"})


@dataclass
class ListQuery:
    filters: dict[str, list[str]] = field(default_factory=dict)
    fields: list[str] = field(default_factory=list)
    sorts: list[tuple[str, bool]] = field(default_factory=list)  # (key, ascending)
    limit: int = 0  # 0: no paging
    marker: str | None = None
    page_reverse: bool = False


def parse(query: MultiMapping[str], attributes: Iterable[str]) -> ListQuery:
    """The query against a resource's attributes (names of its rendered body): 400 in Neutron's words."""
    attributes = set(attributes)
    filters: dict[str, list[str]] = {}
    invalid = []
    for key in dict.fromkeys(query.keys()):
        if key in CONTROL:
            continue
        if key not in attributes or key in NOT_FILTERS:
            invalid.append(key)
            continue
        values = [v for v in query.getall(key) if v != ""]
        if values:
            filters[key] = values
    if invalid:
        raise HTTPBadRequest(f"{invalid} is invalid attribute for filtering")
    if "tenant_id" in filters and "project_id" in filters:
        raise TenantIdProjectIdFilterConflict()
    return ListQuery(filters=filters, fields=[f for f in query.getall("fields", []) if f],
                     sorts=_sorts(query, attributes), limit=_limit(query), marker=query.get("marker") or None,
                     page_reverse=query.get("page_reverse", "False").lower() == "true")


def _sorts(query: MultiMapping[str], attributes: set[str]) -> list[tuple[str, bool]]:
    keys = [k for k in query.getall("sort_key", []) if k]
    dirs = [d for d in query.getall("sort_dir", []) if d]
    if len(keys) != len(dirs):
        raise HTTPBadRequest("The number of sort_keys and sort_dirs must be same")
    absent = [k for k in keys if k not in attributes or k in NOT_FILTERS]
    if absent:
        raise HTTPBadRequest(f"{absent} is invalid attribute for sort_keys")
    wrong = [d for d in dirs if d not in ("asc", "desc")]
    if wrong:
        raise HTTPBadRequest(f"{wrong} is invalid value for sort_dirs, valid value is 'asc' and 'desc'")
    return [(k, d == "asc") for k, d in zip(keys, dirs)]


def _limit(query: MultiMapping[str]) -> int:
    text = query.get("limit", "0")
    try:
        limit = int(text)
    except ValueError:
        limit = -1
    if limit < 0:
        raise bad_request("limit", f"Limit must be an integer 0 or greater and not '{text}'")
    return limit


def _converted(sample: Any, text: str) -> Any:
    if isinstance(sample, bool):
        return to_boolean(text)
    if isinstance(sample, int):
        try:
            return int(text)
        except ValueError:
            raise InvalidInput(error_message=f"'{text}' is not an integer") from None
    return text


def _matches(item: Mapping[str, Any], key: str, values: list[str]) -> bool:
    have = item.get(key)
    if key == "fixed_ips":
        return _fixed_ips_match(have or [], values)
    if isinstance(have, list):
        return any(v in have for v in values)
    return any(have == _converted(have, v) for v in values)


def _fixed_ips_match(fixed_ips: list[dict], values: list[str]) -> bool:
    """`fixed_ips=ip_address=10.0.0.5&fixed_ips=subnet_id=<id>`: some address matches every key given."""
    wanted: dict[str, set[str]] = {}
    for value in values:
        key, _, item = value.partition("=")
        wanted.setdefault(key, set()).add(item)
    unknown = set(wanted) - {"ip_address", "subnet_id", "ip_address_substr"}
    if unknown:
        raise InvalidInput(error_message=f"Invalid fixed_ips filter keys: {sorted(unknown)}")
    return any(all(ip.get(k) in v if k != "ip_address_substr" else any(s in ip["ip_address"] for s in v)
                   for k, v in wanted.items()) for ip in fixed_ips)


def _compare(sorts: list[tuple[str, bool]], a: Mapping[str, Any], b: Mapping[str, Any]) -> int:
    for key, ascending in sorts:
        x, y = a.get(key), b.get(key)
        order = 0 if x == y else -1 if x is None else 1 if y is None else (x > y) - (x < y)
        if order:
            return order if ascending else -order
    return 0


def select(items: list[dict[str, Any]], q: ListQuery) -> list[dict[str, Any]]:
    """Filter, sort and page the rendered items (fields are kept later, once links are made)."""
    found = [i for i in items if all(_matches(i, k, v) for k, v in q.filters.items())]
    sorts = list(q.sorts)
    if q.limit and "id" not in dict(sorts):
        sorts.append(("id", True))  # Neutron pages by a total order ending in the id
    if sorts:
        found.sort(key=functools.cmp_to_key(lambda a, b: _compare(sorts, a, b)))
    if not q.limit:
        return found
    if q.marker:
        index = next((n for n, item in enumerate(found) if item["id"] == q.marker), None)
        if index is None:
            return []  # an unknown marker gives nothing (Neutron's emulated pagination)
    else:
        index = len(found) if q.page_reverse else -1
    if q.page_reverse:
        return found[max(index - q.limit, 0):index]
    return found[index + 1:index + 1 + q.limit]


def links(url: str, query: MultiMapping[str], page: list[dict[str, Any]], q: ListQuery) -> list[dict[str, str]]:
    """Neutron's pagination links: `next` unless a short forward page, `previous` unless a short reverse one."""
    if not q.limit:
        return []
    params = [(k, v) for k, v in query.items() if k != "marker"]
    found = []
    if not (len(page) < q.limit and not q.page_reverse):
        forward = [(k, v) for k, v in params if k != "page_reverse"]
        if page:
            forward.append(("marker", page[-1]["id"]))
        found.append({"rel": "next", "href": f"{url}?{urlencode(forward)}"})
    if not (len(page) < q.limit and q.page_reverse):
        backward = [(k, v) for k, v in params if k != "page_reverse"]
        if page:
            backward.append(("marker", page[0]["id"]))
        backward.append(("page_reverse", "True"))
        found.append({"rel": "previous", "href": f"{url}?{urlencode(backward)}"})
    return found


def keep(item: dict[str, Any], fields: list[str], hidden: frozenset[str]) -> dict[str, Any]:
    """The item with only the asked fields (all when none are asked), less what the caller may not see."""
    if fields:
        return {k: v for k, v in item.items() if k in fields and k not in hidden}
    return {k: v for k, v in item.items() if k not in hidden}
