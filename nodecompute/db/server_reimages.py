"""The image a volume-backed server's 2.93 rebuild re-images its root volume from (migration 0033), kept from the
rebuild's claim until its work ends, so that a rebuild replayed after a stop re-images the volume too."""
from __future__ import annotations

from sqlite_utils import Database


def set_reimage(db: Database, uuid: str, image_id: str | None) -> None:
    """The rebuild's image to re-image from, or none (a rebuild that re-images nothing)."""
    db.execute("DELETE FROM server_reimages WHERE server_uuid = ?", [uuid])
    if image_id is not None:
        db.execute("INSERT INTO server_reimages VALUES (?, ?)", [uuid, image_id])


def reimage_of(db: Database, uuid: str) -> str | None:
    row = db.execute("SELECT image_id FROM server_reimages WHERE server_uuid = ?", [uuid]).fetchone()
    return None if row is None else row["image_id"]
