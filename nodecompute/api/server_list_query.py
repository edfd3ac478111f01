"""The servers list's query (#201, #202): Nova's filters, sorting and paging parsed into ServerFilters, per
microversion and caller (an admin's filters, 2.83's user filters, 2.73's `locked`).

A query parsed and found valid is kept (parsed_list_query: an LRU keyed by everything the parse reads): a client
polling its servers, or a page of them, asks the same query again and again, and its parse (the schema, the
filters, the sort) was some 7% of the event loop's time for a page of 100 (issue 22).
"""
from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from aiohttp import web
from multidict import MultiMapping

from nodecompute.api import server_schemas as schemas
from nodecompute.api.respond import face_of, parse_query, rules
from nodecompute.api.validation import (FALSE_STRINGS, MAX_CHECKED_QUERY_CHARS, MAX_LIMIT, TRUE_STRINGS,
                                        parse_changes_since, to_bool)
from nodecompute.caching import lru_get, lru_put
from nodecompute.domain import regex, states
from nodecompute.domain.errors import BadRequest, Forbidden
from nodecompute.domain.models import AuthContext, id_from_ref
from nodecompute.domain.server_models import ServerFilters

REGEX_FILTERS = ("name", "ip", "ip6")
MAX_PARSED_QUERIES = 256  # list queries kept parsed (parsed_list_query)


@dataclass(frozen=True)
class ListQuery:
    filters: ServerFilters
    matches_nothing: bool  # a filter no server can match (an ip, another host)


def parse_sort(query: MultiMapping[str], ctx: AuthContext, spec: schemas.ListRules = schemas.ListRules()
               ) -> tuple[tuple[str, str], ...]:
    """Nova's get_sort_params + remove_invalid_sort_keys + process_sort_params (`locked` sorts from 2.73)."""
    keys = [k.strip() for k in query.getall("sort_key", [])] or ["created_at"]
    dirs = [d.strip() for d in query.getall("sort_dir", [])] or ["desc"]
    for key in list(keys):
        if key in schemas.IGNORED_SORT_KEYS and not (key == "locked" and spec.sort_locked):
            if len(dirs) > keys.index(key):
                dirs.pop(keys.index(key))
            keys.remove(key)
        elif key in schemas.ADMIN_ONLY_SORT_KEYS and not ctx.is_admin:
            raise Forbidden(f"Only administrators can sort servers by {key}")
    default_dir = dirs[0] if dirs else "desc"
    if len(dirs) > len(keys):
        raise BadRequest("Sort direction size exceeds sort key size")
    dirs += [default_dir] * (len(keys) - len(dirs))
    pairs = list(zip(keys, dirs))
    if "created_at" not in keys:
        pairs.append(("created_at", default_dir))
    return tuple(pairs)


def _limit(values: dict[str, Any]) -> int:
    """Clamped to MAX_LIMIT; 0 lists nothing (Nova)."""
    return min(int(values.get("limit", MAX_LIMIT)), MAX_LIMIT)


def _tag_filter(query: MultiMapping[str], name: str, spec: schemas.ListRules) -> tuple[str, ...]:
    """A tag filter's tags (comma-separated, the last value of the parameter), from 2.26."""
    value = query.get(name) if spec.tag_filters else None
    if value is None:
        return ()
    return tuple(query.getall(name)[-1].split(","))


def _statuses(query: MultiMapping[str], spec: schemas.ListRules) -> tuple[tuple[str, ...], bool]:
    """(the statuses asked for, whether none of them is a status at all: 400 from 2.38, else an empty list)."""
    statuses = tuple(s.strip().upper() for s in query.getall("status", []))
    unknown = bool(statuses) and not any(states.vm_states_for_status(status) for status in statuses)
    if unknown and spec.strict_status:
        raise BadRequest("Invalid status value")
    return statuses, unknown


def _allowed(name: str, query: MultiMapping[str], ctx: AuthContext, spec: schemas.ListRules) -> str | None:
    """The last value of a filter that only some versions give non-admins (admins have them at every version, as
    Nova filters only a non-admin's search options)."""
    if name not in query or not (ctx.is_admin or name in spec.user_filters):
        return None
    return query.getall(name)[-1]


def _locked(value: str | None) -> bool | None:
    """The `locked` filter (2.73): a strict boolean (Nova's common.is_locked)."""
    if value is None:
        return None
    text = value.strip().lower()
    if text not in TRUE_STRINGS + FALSE_STRINGS:
        raise BadRequest(f"Invalid input received: Unrecognized value '{value}', acceptable values are: '0', '1', "
                         f"'f', 'false', 'n', 'no', 'off', 'on', 't', 'true', 'y', 'yes'")
    return text in TRUE_STRINGS


def _patterns(query: MultiMapping[str], ctx: AuthContext, spec: schemas.ListRules) -> tuple[tuple[str, str], ...]:
    """Nova's regex filters on other columns (2.83 for non-admins), each checked as RE2 first."""
    found = []
    for name in schemas.PATTERN_FILTERS:
        value = _allowed(name, query, ctx, spec)
        if value is not None:
            regex.compile_filter(value, name)
            found.append((name, value))
    return tuple(found)


def _changes_before(value: str | None, since: datetime | None) -> datetime | None:
    if value is None:
        return None
    before = parse_changes_since(value, "Invalid filter field: changes-before.")
    if since is not None and before < since:
        raise BadRequest("The value of changes-since must be less than or equal to changes-before.")
    return before


def parse_list_query(values: dict[str, Any], query: MultiMapping[str], ctx: AuthContext, host_name: str,
                     spec: schemas.ListRules = schemas.ListRules()) -> ListQuery:
    """`values`: the query as its schema checked it (respond.parse_query); `query`: every value of it; `spec`:
    the rules of the request's microversion (server_schemas.ListRules)."""
    name = values.get("name")
    for field in REGEX_FILTERS:  # RE2 checks them all
        if values.get(field):
            regex.compile_filter(values[field], field)
    all_tenants = "all_tenants" in values and (values["all_tenants"] == "" or to_bool(values["all_tenants"]))
    project = None
    if ctx.is_admin and all_tenants:  # without all_tenants Nova lists the caller's project, whatever tenant_id says
        project = query.get("project_id") or query.get("tenant_id")
    changes_since = values.get("changes-since")
    since = parse_changes_since(changes_since) if changes_since is not None else None
    statuses, unknown_status = _statuses(query, spec)
    filters = ServerFilters(
        name=name or None,
        statuses=statuses,
        image=id_from_ref(values["image"]) if values.get("image") else None,
        flavor=id_from_ref(values["flavor"]) if values.get("flavor") else None,
        changes_since=since,
        changes_before=_changes_before(_allowed("changes-before", query, ctx, spec), since),
        locked=_locked(_allowed("locked", query, ctx, spec)),
        exact=tuple((name, value) for name in schemas.EXACT_FILTERS
                    if (value := _allowed(name, query, ctx, spec)) is not None),
        patterns=_patterns(query, ctx, spec),
        reservation_id=values.get("reservation_id") or None,
        all_tenants=all_tenants,
        project_id=project,
        limit=_limit(values),
        marker=values.get("marker"),
        sort=parse_sort(query, ctx, spec),
        tags=_tag_filter(query, "tags", spec),
        tags_any=_tag_filter(query, "tags-any", spec),
        not_tags=_tag_filter(query, "not-tags", spec),
        not_tags_any=_tag_filter(query, "not-tags-any", spec),
        ip=(values.get("ip") or "") if "ip" in query else None,
        ip6=(values.get("ip6") or "") if "ip6" in query and (ctx.is_admin or "ip6" in spec.user_filters) else None,
    )
    if filters.statuses == ("DELETED",) and not ctx.is_admin:
        raise Forbidden("Only administrators may list deleted instances")
    nothing = unknown_status
    if ctx.is_admin:
        nothing = nothing or any(query.get(k) not in (None, host_name) for k in ("host", "node"))
    return ListQuery(filters=filters, matches_nothing=nothing)


_parsed: OrderedDict[tuple, ListQuery] = OrderedDict()  # parsed_list_query's LRU


def parsed_list_query(request: web.Request, ctx: AuthContext, host_name: str) -> ListQuery:
    """parse_list_query of the request's query, kept when it is valid and short: the key holds all the parse
    reads (the operation and microversion: the schema and rules; whether the caller is an admin; the host's name;
    the raw query). A query that fails is parsed every time, so its fault stays the same."""
    dialect, version, op = face_of(request)
    key = (dialect.name, op, version, ctx.is_admin, host_name, request.query_string)
    found = lru_get(_parsed, key)
    if found is None:
        found = parse_list_query(parse_query(request), request.query, ctx, host_name, rules(request))
        if len(request.query_string) <= MAX_CHECKED_QUERY_CHARS:
            lru_put(_parsed, key, found, MAX_PARSED_QUERIES)
    return found
