"""Volume and snapshot lists as Cinder answers them at 3.0: filters, sort keys and marker paging, pure.

Filters (cinder/api/v3/volumes.py, resource_filters.json): a non-admin's filters outside the allowed list are
dropped silently; an admin may filter on any column, and a name that is no column gives an empty list (Cinder's
query builder returns nothing). Values go through `ast.literal_eval` as Cinder's check_volume_filters does (so
`size=1` is the number), names excepted; `bootable` takes Cinder's pre-3.?? loose booleans; `metadata` must be a
dict literal (anything else: empty list). A list value means "one of". `all_tenants` is the admins'.

Paging: the whole visible list is sorted (the caller's keys, then id), the marker is looked up in it before the
filters apply (Cinder fetches the marker by id and continues after it), then offset and limit cut the page.
"""
from __future__ import annotations

import ast
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar

from nodecompute.domain.volume_errors import InvalidInput
from nodecompute.domain.volume_models import Snapshot, Volume

T = TypeVar("T", Volume, Snapshot)
EMPTY = object()  # a filter that matches nothing

# non-admin filters at 3.0 (resource_filters.json less the ones added later: group_id 3.10, created_at 3.60...)
VOLUME_USER_FILTERS = ("name", "status", "metadata", "bootable", "migration_status", "availability_zone", "size",
                       "consumes_quota")
SNAPSHOT_USER_FILTERS = ("status", "volume_id", "name")  # metadata only from 3.22
# Cinder column -> attribute (None: a column that is always NULL on one host)
VOLUME_COLUMNS: dict[str, str | None] = {
    "id": "id", "display_name": "name", "display_description": "description", "size": "size", "status": "status",
    "availability_zone": "availability_zone", "bootable": "bootable", "user_id": "user_id",
    "project_id": "project_id", "volume_type_id": "volume_type_id", "snapshot_id": "snapshot_id",
    "source_volid": "source_volid", "created_at": "created_at", "updated_at": "updated_at", "migration_status": None, "group_id": None, "consistencygroup_id": None,
    "host": None, "cluster_name": None, "provider_id": None, "replication_status": None}
SNAPSHOT_COLUMNS: dict[str, str | None] = {
    "id": "id", "display_name": "name", "display_description": "description", "volume_size": "size",
    "status": "status", "volume_id": "volume_id", "project_id": "project_id", "user_id": "user_id",
    "progress": "progress", "created_at": "created_at", "updated_at": "updated_at", "cgsnapshot_id": None,
    "group_snapshot_id": None}
SORT_DIRECTIONS = ("asc", "desc")


def sort_keys(raw: Sequence[tuple[str, str]], columns: dict[str, str | None], *,
              name_alias: bool) -> list[tuple[str, str]]:
    """Cinder's checks of the sort keys and directions ("name" is display_name for volumes, not for snapshots at
    3.0); the attributes to sort on (a column that is always NULL here orders nothing and is left out)."""
    out = []
    for key, direction in raw:
        if name_alias and key == "name":
            key = "display_name"
        if direction not in SORT_DIRECTIONS:
            raise InvalidInput(reason="Unknown sort direction, must be 'desc' or 'asc'.")
        if key not in columns:
            raise InvalidInput(reason="Invalid sort key")
        if columns[key] is not None:
            out.append((columns[key], direction))
    return out


def _evaluated(value: str) -> Any:
    try:
        return ast.literal_eval(value)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return value


def _loose_bool(value: Any) -> bool:
    if value in ("False", "false", "FALSE"):
        return False
    if value in ("True", "true", "TRUE"):
        return True
    return bool(value)


def volume_filters(raw: dict[str, str], admin: bool) -> dict[str, Any] | object:
    """{attribute or "metadata": wanted value}, or EMPTY when no volume can match."""
    wanted: dict[str, Any] = {}
    for key, value in raw.items():
        if key == "all_tenants" or (not admin and key not in VOLUME_USER_FILTERS):
            continue
        column = "display_name" if key == "name" else key
        if column == "metadata":
            metadata = _evaluated(value)
            if not isinstance(metadata, dict):
                return EMPTY
            wanted["metadata"] = {str(k): v for k, v in metadata.items()}
        elif column == "bootable":
            wanted["bootable"] = _loose_bool(value)
        elif column not in VOLUME_COLUMNS:
            return EMPTY
        elif VOLUME_COLUMNS[column] is None:
            if _evaluated(value) is not None:
                return EMPTY
        else:
            wanted[VOLUME_COLUMNS[column]] = value if column == "display_name" else _evaluated(value)
    return wanted


def snapshot_filters(raw: dict[str, str], admin: bool) -> dict[str, Any] | object:
    wanted: dict[str, Any] = {}
    for key, value in raw.items():
        if key in ("all_tenants", "metadata") or (not admin and key not in SNAPSHOT_USER_FILTERS):
            continue
        column = "display_name" if key == "name" else key
        if column not in SNAPSHOT_COLUMNS:
            return EMPTY
        if SNAPSHOT_COLUMNS[column] is None:
            if _evaluated(value) is not None:
                return EMPTY
            continue
        wanted[SNAPSHOT_COLUMNS[column]] = value if column == "display_name" else _evaluated(value)
    return wanted


def matches(item: Volume | Snapshot, wanted: dict[str, Any]) -> bool:
    for name, value in wanted.items():
        have = getattr(item, name)
        if name == "metadata":
            if any(have.get(k) != v for k, v in value.items()):
                return False
        elif isinstance(value, (list, tuple, set)):
            if have not in value:
                return False
        elif have != value:
            return False
    return True


def page(items: Iterable[T], wanted: dict[str, Any] | object, marker: str | None, limit: int | None,
         offset: int, not_found: Callable[[str], Exception]) -> list[T]:
    """The page after `marker` (an id of `items`, which are in order), filtered, from `offset`, `limit` long."""
    items = list(items)
    if marker is not None:
        index = next((i for i, item in enumerate(items) if item.id == marker), None)
        if index is None:
            raise not_found(marker)
        items = items[index + 1:]
    if wanted is EMPTY:
        return []
    chosen = [item for item in items if matches(item, wanted)][offset:]
    return chosen if limit is None else chosen[:limit]
