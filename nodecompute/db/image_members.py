"""SQL for the `image_members` table (migration 0030_image_members). Every function takes the sqlite-utils Database
first."""
from __future__ import annotations

from typing import Any

from sqlite_utils import Database

from nodecompute.domain.image_models import ImageMember
from nodecompute.domain.models import isotime, parse_isotime


def _member(row: Any) -> ImageMember:
    data = dict(row)
    return ImageMember(image_id=data["image_id"], member_id=data["member_id"], status=data["status"],
                       created_at=parse_isotime(data["created_at"]), updated_at=parse_isotime(data["updated_at"]))


def get_member(db: Database, image_id: str, member_id: str) -> ImageMember | None:
    row = db.execute("SELECT * FROM image_members WHERE image_id = ? AND member_id = ?",
                     [image_id, member_id]).fetchone()
    return _member(row) if row is not None else None


def list_members(db: Database, image_id: str) -> list[ImageMember]:
    rows = db.execute("SELECT * FROM image_members WHERE image_id = ? ORDER BY created_at, member_id", [image_id])
    return [_member(row) for row in rows.fetchall()]


def count_members(db: Database, image_id: str) -> int:
    return db.execute("SELECT COUNT(*) FROM image_members WHERE image_id = ?", [image_id]).fetchone()[0]


def insert_member(db: Database, member: ImageMember) -> ImageMember:
    db.execute("INSERT INTO image_members (image_id, member_id, status, created_at, updated_at) VALUES (?, ?, ?, ?, ?)",
               [member.image_id, member.member_id, member.status, isotime(member.created_at),
                isotime(member.updated_at)])
    return member


def set_status(db: Database, member: ImageMember) -> ImageMember:
    db.execute("UPDATE image_members SET status = ?, updated_at = ? WHERE image_id = ? AND member_id = ?",
               [member.status, isotime(member.updated_at), member.image_id, member.member_id])
    return member


def delete_member(db: Database, image_id: str, member_id: str) -> int:
    return db.execute("DELETE FROM image_members WHERE image_id = ? AND member_id = ?",
                      [image_id, member_id]).rowcount
