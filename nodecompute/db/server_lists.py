"""Server lists in SQL: filters, sort keys and Nova's marker as keyset paging, so a page costs the rows it returns,
not the rows stored (issue 22).

Nova's marker (instance_list.get_marker_record) is any instance, deleted ones included, looked up without the
list's filters; the page is then the rows that sort after the marker's values. Nova appends its default sort keys
`created_at` and `id` in the first key's direction (process_sort_params); `id` is Nova's autoincrement column, our
`serial`, so the order is total and the marker row itself is never on its page. NULLs sort first (SQLite, as
MySQL), and the keyset comparison knows it.
"""
from __future__ import annotations

import itertools
import json
import operator
from collections.abc import Container
from typing import Any

from sqlite_utils import Database

from nodecompute.db import servers as servers_db
from nodecompute.domain import states
from nodecompute.domain.errors import BadRequest, MarkerNotFound
from nodecompute.db.changed_between import add_changed_between
from nodecompute.domain.server_models import Server, ServerFilters, ServerRef

# Nova's sort key -> column (Nova's `id` is its autoincrement key: our serial)
_COLUMN = {"display_name": "name", "uuid": "uuid", "id": "serial", "instance_type_id": "flavorid",
           "image_ref": "image_id", "node": "host"}
# Filter name -> the column it compares: exactly, or as text with a regex (Nova's exact_match_filter_names and
# _regex_instance_filter; Nova's config_drive column holds "True" or "").
EXACT_FILTERS = {"user_id": "user_id", "vm_state": "vm_state", "task_state": "task_state"}
PATTERN_FILTERS = {
    "availability_zone": "availability_zone", "key_name": "coalesce(key_name, '')",
    "config_drive": "CASE config_drive WHEN 1 THEN 'True' ELSE '' END", "created_at": "created_at",
    "launched_at": "coalesce(launched_at, '')", "terminated_at": "coalesce(terminated_at, '')",
    "power_state": "CAST(power_state AS TEXT)", "progress": "CAST(coalesce(progress, 0) AS TEXT)",
    "hostname": "hostname",
}
_SORTABLE_COLUMNS = {"created_at", "updated_at", "name", "uuid", "vm_state", "task_state", "power_state",
                     "launched_at", "terminated_at", "hostname", "key_name", "availability_zone", "flavorid",
                     "image_id", "project_id", "user_id", "host", "launch_index", "locked", "progress",
                     "config_drive", "serial"}
_NULLABLE = {"task_state", "launched_at", "terminated_at", "key_name", "host"}  # the other sort columns never are
_HAS_ADDRESS = ("EXISTS (SELECT 1 FROM ports p JOIN ip_allocations a ON a.port_id = p.id WHERE p.device_id = "
                "servers.uuid AND p.device_owner LIKE 'compute:%' AND instr(a.ip_address, ':') {family} "
                "AND a.ip_address REGEXP ?)")
_HAS_TAG = "EXISTS (SELECT 1 FROM server_tags t WHERE t.server_uuid = servers.uuid AND t.tag = ?)"


def list_servers(db: Database, f: ServerFilters) -> list[Server]:
    """The page of full servers (detail) that `f` asks for."""
    sql, args = _page_query("*", f, db)
    return servers_db.servers_from_rows(db, db.execute(sql, args).fetchall())


def list_server_refs(db: Database, f: ServerFilters) -> list[ServerRef]:
    """The same page as list_servers, only ids and names (the brief list: nothing else is read)."""
    sql, args = _page_query("uuid, name", f, db)
    return [ServerRef(uuid, name) for uuid, name in db.execute(sql, args).fetchall()]


def list_servers_except(db: Database, f: ServerFilters, known: Container[str]) -> list[Server | str]:
    """The same page as list_servers, in its order, where a server whose uuid is in `known` (the caller has it
    rendered) stands as its uuid, unread: only the others' rows, metadata, tags, NICs and volumes are read."""
    if not known:
        return list_servers(db, f)
    uuids = page_ids(db, f)
    unknown = list(itertools.filterfalse(known.__contains__, uuids))  # hold the GIL tens of microseconds less
    if not unknown:
        return uuids
    rows = db.execute(f"SELECT * FROM servers WHERE uuid IN {servers_db.IN_JSON}", [json.dumps(unknown)])
    read = {server.uuid: server for server in servers_db.servers_from_rows(db, rows.fetchall())}
    return [uuid if uuid in known else read[uuid] for uuid in uuids if uuid in known or uuid in read]


def matches_by_regex(f: ServerFilters) -> bool:
    """Whether `f` has a filter evaluated by a regular expression on every candidate row (Nova's too)."""
    return bool(f.name or f.patterns) or f.ip is not None or f.ip6 is not None


def page_ids(db: Database, f: ServerFilters) -> list[str]:
    """The uuids of the page list_servers gives, in its order."""
    sql, args = _page_query("uuid", f, db)
    cursor = db.conn.cursor()
    cursor.row_factory = None  # plain tuples: a sqlite3.Row per id was a sixth of the query's time
    return list(map(_first, cursor.execute(sql, args).fetchall()))  # in C: a thousand ids without a Python loop


_first = operator.itemgetter(0)


def order_of(f: ServerFilters) -> list[tuple[str, bool]]:
    """(column, descending) in sort order, Nova's `id` (serial) last in the first key's direction."""
    order: list[tuple[str, bool]] = []
    for key, direction in f.sort:
        column = _COLUMN.get(key, key)
        if column not in _SORTABLE_COLUMNS:
            raise BadRequest(f"Invalid sort_key: {key}")
        if column not in (c for c, _ in order):
            order.append((column, direction == "desc"))
    first_desc = f.sort[0][1] == "desc" if f.sort else True
    if "serial" not in (c for c, _ in order):
        order.append(("serial", first_desc))
    return order


def _page_query(columns: str, f: ServerFilters, db: Database) -> tuple[str, list[Any]]:
    where, args = filter_clauses(f)
    order = order_of(f)
    if f.marker is not None:
        marker = db.execute(f"SELECT {', '.join(c for c, _ in order)} FROM servers WHERE uuid = ?",
                            [f.marker]).fetchone()
        if marker is None:
            raise MarkerNotFound(marker=f.marker)
        clause, values = _after(order, tuple(marker))
        where.append(clause)
        args.extend(values)
    order_sql = ", ".join(f"{column} {'DESC' if desc else 'ASC'}" for column, desc in order)
    return (f"SELECT {columns} FROM servers WHERE {' AND '.join(where)} ORDER BY {order_sql} LIMIT ?",
            [*args, f.limit])


def _after(order: list[tuple[str, bool]], values: tuple) -> tuple[str, list[Any]]:
    """The keyset condition "sorts after the marker": for some key i, keys before i equal the marker's and key i
    comes after it (NULL is the smallest value). The first key's bound comes first, as a plain range an index on
    it can serve."""
    alternatives, args = [], []
    for i, (column, desc) in enumerate(order):
        terms, term_args = [], []
        for j, (prior, _) in enumerate(order[:i]):
            terms.append(f"{prior} IS ?")
            term_args.append(values[j])
        value = values[i]
        if value is None:
            if desc:
                continue  # nothing sorts after NULL going down
            terms.append(f"{column} IS NOT NULL")
        else:
            below = f"({column} < ? OR {column} IS NULL)" if column in _NULLABLE else f"{column} < ?"
            terms.append(below if desc else f"{column} > ?")
            term_args.append(value)
        alternatives.append("(" + " AND ".join(terms) + ")")
        args.extend(term_args)
    clause = "(" + " OR ".join(alternatives) + ")" if alternatives else "0"
    first, desc = order[0]
    if values[0] is not None:  # a range on the first key (implied by the alternatives; lets an index seek)
        at_most = f"({first} <= ? OR {first} IS NULL)" if first in _NULLABLE else f"{first} <= ?"
        clause = f"{at_most} AND {clause}" if desc else f"{first} >= ? AND {clause}"
        args.insert(0, values[0])
    return clause, args


def filter_clauses(f: ServerFilters) -> tuple[list[str], list[Any]]:
    """WHERE terms and their arguments for the filters of `f` (no marker, no order)."""
    where: list[str] = []
    args: list[Any] = []
    if f.changes_since is None and f.changes_before is None:  # either lists the recently deleted too (Nova)
        where.append("deleted = 0")
    if not f.all_tenants or f.project_id:
        where.append("project_id = ?")
        args.append(f.project_id)
    add_changed_between(where, args, f.changes_since, f.changes_before)
    if f.locked is not None:
        where.append("locked = ?")
        args.append(int(f.locked))
    for name, value in f.exact:
        where.append(f"{EXACT_FILTERS[name]} = ?")
        args.append(value)
    for name, pattern in f.patterns:
        where.append(f"{PATTERN_FILTERS[name]} REGEXP ?")
        args.append(pattern)
    for clause, value in (("name REGEXP ?", f.name), ("image_id = ?", f.image), ("flavorid = ?", f.flavor),
                          ("reservation_id = ?", f.reservation_id)):
        if value:
            where.append(clause)
            args.append(value)
    for pattern, family in ((f.ip, "= 0"), (f.ip6, "> 0")):
        if pattern is not None:  # Nova: re.match on the fixed addresses of the server's ports, of that family
            where.append(_HAS_ADDRESS.format(family=family))
            args.append(f"^(?:{pattern})")
    if f.statuses:
        _status_clause(f.statuses, where, args)
    _tag_filters(f, where, args)
    if not where:
        where.append("1")
    return where, args


def _status_clause(statuses: tuple[str, ...], where: list[str], args: list[Any]) -> None:
    """Nova's status -> (vm_state, task_state) pairs, led by a plain `vm_state IN (...)` an index can serve."""
    clauses: list[str] = []
    vm_states = sorted({vm_state for status in statuses for vm_state, _ in states.vm_states_for_status(status)})
    if vm_states:
        where.append(f"vm_state IN ({','.join('?' * len(vm_states))})")
        args.extend(vm_states)
    for status in statuses:
        for vm_state, task in states.vm_states_for_status(status):
            if task is None:
                overridden = list(states.STATUS_MAP[vm_state][1])
                marks = ",".join("?" * len(overridden))
                extra = f" AND (task_state IS NULL OR task_state NOT IN ({marks}))" if overridden else ""
                clauses.append(f"(vm_state = ?{extra})")
                args.extend([vm_state, *overridden])
            else:
                clauses.append("(vm_state = ? AND task_state = ?)")
                args.extend([vm_state, task])
    where.append("(" + " OR ".join(clauses) + ")" if clauses else "0")


def _tag_filters(f: ServerFilters, where: list[str], args: list[Any]) -> None:
    """Nova's tag filters (2.26): `tags` all of them, `tags-any` one of them, `not-tags` not all of them,
    `not-tags-any` none of them."""
    for tags, joiner, negate in ((f.tags, " AND ", False), (f.tags_any, " OR ", False),
                                 (f.not_tags, " AND ", True), (f.not_tags_any, " OR ", True)):
        if tags:
            clause = "(" + joiner.join([_HAS_TAG] * len(tags)) + ")"
            where.append(f"NOT {clause}" if negate else clause)
            args.extend(tags)
