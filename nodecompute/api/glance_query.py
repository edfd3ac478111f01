"""Glance v2 list query (#802) -> ImageQuery, and the `first`/`next` page links.

Filters: name, id, status, owner (each also as `in:a,b`), visibility, size_min/size_max, tag (repeatable),
sort_key/sort_dir (repeatable) or sort=k1:dir,k2, limit (default 25, max 1000) and marker, member_status (which of
the caller's memberships list a shared image); os_hidden=false is accepted; any other key filters on a custom
property (Glance does the same).
"""
from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from multidict import MultiMapping

from nodecompute.api.validation import MAX_LIMIT, int_filter
from nodecompute.domain.errors import BadRequest
from nodecompute.domain.image_models import SORT_COLUMNS, Image, ImageQuery

DEFAULT_LIMIT = 25
IN_FILTERS = {"name": "names", "id": "ids", "status": "statuses", "owner": "owners"}
PAGING = ("limit", "marker", "sort_key", "sort_dir", "sort")
SPECIAL = ("visibility", "member_status", "size_min", "size_max", "tag", "os_hidden")
MEMBER_STATUS_VALUES = ("pending", "accepted", "rejected", "all")


def _values(text: str) -> tuple[str, ...]:
    """`x`, `eq:x` or `in:a,"b c"` -> the values to match."""
    if text.startswith("in:"):
        return tuple(v.strip().strip('"') for v in text[3:].split(",") if v.strip())
    if text.startswith("eq:"):
        text = text[3:]
    return (text,)


def _limit(query: MultiMapping[str]) -> int:
    if "limit" not in query:
        return DEFAULT_LIMIT
    try:
        limit = int(query["limit"])
    except ValueError:
        raise BadRequest("limit param must be an integer") from None
    if limit < 0:
        raise BadRequest("limit param must be positive")
    return min(limit, MAX_LIMIT)


def _size(query: MultiMapping[str], key: str) -> int | None:
    if key not in query:
        return None
    try:
        return int_filter(query[key])
    except ValueError:
        raise BadRequest("Unable to filter using the specified range.") from None


def _check_sort(key: str, direction: str) -> tuple[str, str]:
    if key not in SORT_COLUMNS:
        raise BadRequest(f"Invalid sort key: {key}. It must be one of the following: {', '.join(SORT_COLUMNS)}.")
    if direction not in ("asc", "desc"):
        raise BadRequest(f"Invalid sort direction: {direction}")
    return key, direction


def _sort(query: MultiMapping[str]) -> tuple[tuple[str, str], ...]:
    if "sort" in query:
        if "sort_key" in query or "sort_dir" in query:
            raise BadRequest("The 'sort' parameter cannot be combined with 'sort_key' or 'sort_dir'.")
        pairs = []
        for item in query["sort"].split(","):
            key, _, direction = item.strip().partition(":")
            pairs.append(_check_sort(key, direction or "desc"))
        return tuple(pairs)
    keys = query.getall("sort_key", []) or ["created_at"]
    dirs = query.getall("sort_dir", []) or ["desc"]
    if len(dirs) not in (1, len(keys)):
        raise BadRequest("Number of sort dirs does not match the number of sort keys")
    return tuple(_check_sort(k, dirs[i] if len(dirs) > 1 else dirs[0]) for i, k in enumerate(keys))


def _visibility(query: MultiMapping[str]) -> tuple[str | None, bool]:
    """(visibility filter, nothing can match)."""
    value = query.get("visibility")
    if value is None or value == "all":
        return None, False
    if value in ("public", "private", "shared"):
        return value, False
    if value == "community":
        return None, True
    raise BadRequest(f"Invalid visibility value: {value}")


def _member_statuses(query: MultiMapping[str], default: tuple[str, ...]) -> tuple[str, ...] | None:
    """The member statuses whose shared images are listed: `member_status` (Glance's default `accepted`, a face's
    own default otherwise); `all`: any (None)."""
    value = query.get("member_status")
    if value is None:
        return default
    if value not in MEMBER_STATUS_VALUES:
        raise BadRequest(f"Invalid status: {value}")
    return None if value == "all" else (value,)


def parse(query: MultiMapping[str], member_default: tuple[str, ...] = ("accepted",)) -> ImageQuery:
    visibility, impossible = _visibility(query)
    hidden = query.get("os_hidden", "false").lower()
    if hidden not in ("true", "false"):
        raise BadRequest(f"Invalid value for os_hidden: {hidden}")
    fields: dict[str, Any] = {attr: _values(query[key]) for key, attr in IN_FILTERS.items() if key in query}
    properties = {k: query[k] for k in query.keys() if k not in (*IN_FILTERS, *PAGING, *SPECIAL)}
    if impossible or hidden == "true":
        fields["ids"] = ("",)  # no image has an empty id: an honest empty result
    return ImageQuery(
        **fields, visibility=visibility, tags=tuple(query.getall("tag", [])), properties=tuple(properties.items()),
        size_min=_size(query, "size_min"), size_max=_size(query, "size_max"), sort=_sort(query),
        limit=_limit(query), marker=query.get("marker"), member_statuses=_member_statuses(query, member_default),
    )


def page_links(query: MultiMapping[str], images: list[Image], limit: int) -> dict[str, str]:
    """`first` always (the query without marker); `next` while the page is full (the query, marker = last id)."""
    params = [(k, v) for k, v in query.items() if k != "marker"]
    links = {"first": "/v2/images" + (f"?{urlencode(params)}" if params else "")}
    if images and len(images) == limit:
        links["next"] = "/v2/images?" + urlencode([*params, ("marker", images[-1].id)])
    return links
