"""SQL for the `images` table (migration 0003). Every function takes the sqlite-utils Database first.

Tags have no column: they live in the `properties` JSON under the reserved key TAGS_KEY and come back out as
`Image.tags`; the service refuses user properties in the reserved `nodecompute:` namespace.
Deleted images stay as rows (deleted=1, status 'deleted') until purge_deleted() drops them after the retention.
"""
from __future__ import annotations

import json
from typing import Any

from sqlite_utils import Database

from nodecompute.domain.image_models import DELETED, SORT_COLUMNS, Image, ImageQuery
from nodecompute.domain.models import isotime, parse_isotime

TAGS_KEY = "nodecompute:tags"
_COLUMNS = ("id", "name", "owner", "visibility", "status", "disk_format", "container_format", "size", "virtual_size",
            "checksum", "os_hash_algo", "os_hash_value", "content_sha256", "min_disk", "min_ram", "protected",
            "created_at", "updated_at", "deleted_at", "deleted")


def _encode_properties(properties: dict[str, str], tags: tuple[str, ...] | list[str]) -> str:
    data = dict(properties)
    if tags:
        data[TAGS_KEY] = list(tags)
    return json.dumps(data, sort_keys=True)


def to_row(image: Image) -> dict[str, Any]:
    row = {name: getattr(image, name) for name in _COLUMNS}
    row.update(protected=int(image.protected), deleted=int(image.deleted),
               created_at=isotime(image.created_at), updated_at=isotime(image.updated_at),
               deleted_at=isotime(image.deleted_at) if image.deleted_at else None,
               properties=_encode_properties(image.properties, image.tags))
    return row


def from_row(row: Any) -> Image:
    data = dict(row)
    properties = json.loads(data.pop("properties") or "{}")
    tags = tuple(properties.pop(TAGS_KEY, ()))
    return Image(
        **{k: data[k] for k in _COLUMNS if k not in ("protected", "deleted", "created_at", "updated_at", "deleted_at")},
        protected=bool(data["protected"]), deleted=bool(data["deleted"]),
        created_at=parse_isotime(data["created_at"]), updated_at=parse_isotime(data["updated_at"]),
        deleted_at=parse_isotime(data["deleted_at"]) if data["deleted_at"] else None,
        properties=properties, tags=tags,
    )


def insert_image(db: Database, image: Image) -> Image:
    db["images"].insert(to_row(image))
    return get_image(db, image.id)


def image_exists(db: Database, image_id: str) -> bool:
    """Any row with that id, deleted or not (Glance never reuses an id)."""
    return db.execute("SELECT 1 FROM images WHERE id = ?", [image_id]).fetchone() is not None


def get_image(db: Database, image_id: str, *, include_deleted: bool = False) -> Image | None:
    sql = "SELECT * FROM images WHERE id = ?" + ("" if include_deleted else " AND deleted = 0")
    row = db.execute(sql, [image_id]).fetchone()
    return from_row(row) if row is not None else None


def save_image(db: Database, image: Image, *, expected_status: str | None = None) -> Image | None:
    """Write every field of `image`; with `expected_status`, only if the stored status still is that (compare and
    set). None when no row matched."""
    row = to_row(image)
    image_id = row.pop("id")
    sets = ", ".join(f"{name} = ?" for name in row)
    sql = f"UPDATE images SET {sets} WHERE id = ? AND deleted = 0"
    params = [*row.values(), image_id]
    if expected_status is not None:
        sql += " AND status = ?"
        params.append(expected_status)
    if db.execute(sql, params).rowcount == 0:
        return None
    return get_image(db, image_id)


def mark_deleted(db: Database, image_id: str, now_text: str) -> None:
    db.execute("UPDATE images SET deleted = 1, status = ?, deleted_at = ?, updated_at = ? WHERE id = ?",
               [DELETED, now_text, now_text, image_id])


def requeue_saving(db: Database, now_text: str) -> int:
    sql = "UPDATE images SET status = 'queued', updated_at = ? WHERE status = 'saving' AND deleted = 0"
    return db.execute(sql, [now_text]).rowcount


def content_referenced(db: Database, sha256: str) -> bool:
    """Does any live image row still point at these bytes?"""
    sql = "SELECT 1 FROM images WHERE content_sha256 = ? AND deleted = 0 LIMIT 1"
    return db.execute(sql, [sha256]).fetchone() is not None


def purge_deleted(db: Database, before_text: str) -> int:
    """Drop image rows deleted before the given time (the changes-since retention window has passed)."""
    return db.execute("DELETE FROM images WHERE deleted = 1 AND deleted_at < ?", [before_text]).rowcount


def _in(column: str, values: tuple, where: list[str], params: list) -> None:
    if values:
        where.append(f"{column} IN ({', '.join('?' for _ in values)})")
        params.extend(values)


def _filters(q: ImageQuery, visible_to: str | None) -> tuple[list[str], list]:
    where: list[str] = []
    params: list = []
    if q.changes_since is not None:
        where.append("updated_at >= ?")
        params.append(isotime(q.changes_since))
    else:
        where.append("deleted = 0")
    if visible_to is not None:
        statuses = q.member_statuses
        status_sql = "" if statuses is None else f" AND status IN ({', '.join('?' for _ in statuses)})"
        member_sql = f"SELECT 1 FROM image_members WHERE image_id = images.id AND member_id = ?{status_sql}"
        if q.visibility == "shared":  # Glance: the caller's shared images and those shared with it
            where.append(f"(owner = ? OR EXISTS ({member_sql}))")
        else:
            where.append(f"(visibility = 'public' OR owner = ? OR (visibility = 'shared' AND EXISTS ({member_sql})))")
        params.extend([visible_to, visible_to, *(statuses or ())])
    for column, values in (("name", q.names), ("id", q.ids), ("status", q.statuses), ("owner", q.owners)):
        _in(column, values, where, params)
    for column, op, value in (("visibility", "=", q.visibility), ("size", ">=", q.size_min),
                              ("size", "<=", q.size_max), ("min_disk", ">=", q.min_disk),
                              ("min_ram", ">=", q.min_ram)):
        if value is not None:
            where.append(f"{column} {op} ?")
            params.append(value)
    for tag in q.tags:
        where.append("EXISTS (SELECT 1 FROM json_each(images.properties, ?) WHERE value = ?)")
        params.extend([f'$."{TAGS_KEY}"', tag])
    for key, value in q.properties:
        where.append("EXISTS (SELECT 1 FROM json_each(images.properties) WHERE key = ? AND value = ?)")
        params.extend([key, value])
    return where, params


def _sort_keys(q: ImageQuery) -> list[tuple[str, str]]:
    keys = [(k, d) for k, d in q.sort if k in SORT_COLUMNS and d in ("asc", "desc")]
    if not any(k == "id" for k, _ in keys):
        keys.append(("id", keys[-1][1] if keys else "desc"))
    return keys


def _after(column: str, direction: str, value: Any, params: list) -> str:
    """SQL for 'strictly after the marker' on one column; NULL sorts first, as SQLite orders it."""
    if direction == "asc":
        if value is None:
            return f"{column} IS NOT NULL"
        params.append(value)
        return f"{column} > ?"
    if value is None:
        return "0"
    params.append(value)
    return f"({column} < ? OR {column} IS NULL)"


def _same(column: str, value: Any, params: list) -> str:
    if value is None:
        return f"{column} IS NULL"
    params.append(value)
    return f"{column} = ?"


def _keyset(keys: list[tuple[str, str]], marker: dict[str, Any]) -> tuple[str, list]:
    """Rows after `marker` in the order `keys`: k1 after, or k1 same and k2 after, and so on."""
    params: list = []
    ors = []
    for i, (column, direction) in enumerate(keys):
        ands = [_same(c, marker[c], params) for c, _ in keys[:i]]
        ands.append(_after(column, direction, marker[column], params))
        ors.append("(" + " AND ".join(ands) + ")")
    return "(" + " OR ".join(ors) + ")", params


def list_images(db: Database, q: ImageQuery, visible_to: str | None, marker: Image | None = None) -> list[Image]:
    """Images matching `q` after `marker`; `visible_to` limits them to public + that project's (None: all)."""
    where, params = _filters(q, visible_to)
    keys = _sort_keys(q)
    if marker is not None:
        clause, extra = _keyset(keys, to_row(marker))
        where.append(clause)
        params.extend(extra)
    order = ", ".join(f"{column} {direction.upper()}" for column, direction in keys)
    sql = f"SELECT * FROM images WHERE {' AND '.join(where)} ORDER BY {order} LIMIT ?"
    rows = db.execute(sql, [*params, q.limit]).fetchall()
    return [from_row(row) for row in rows]
