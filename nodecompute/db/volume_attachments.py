"""Volume attachments (Nova's block device mappings of volumes): one row per volume attached to a server, written
by compute/volume_attachments.py in the same transaction as the volume's status."""
from __future__ import annotations

import json
from datetime import datetime

from sqlite_utils import Database

from nodecompute.db.volumes import attachment_rows
from nodecompute.domain.models import isotime
from nodecompute.domain.server_models import AttachedVolume
from nodecompute.domain.volume_models import Attachment


def of_server(db: Database, server_id: str) -> list[Attachment]:
    """In the order they were made."""
    return attachment_rows(db, "server_id = ?", [server_id])


def of_volume(db: Database, volume_id: str) -> list[Attachment]:
    return attachment_rows(db, "volume_id = ?", [volume_id])


def find(db: Database, server_id: str, volume_id: str) -> Attachment | None:
    found = attachment_rows(db, "server_id = ? AND volume_id = ?", [server_id, volume_id])
    return found[0] if found else None


def volume_reverting(db: Database, server_id: str) -> bool:
    """One of the server's volumes is being reverted to a snapshot (K5's fcx-restore of a stopped server's system
    volume): the server takes no action meanwhile."""
    return db.execute("SELECT 1 FROM volume_attachments a JOIN volumes v ON v.id = a.volume_id "
                      "WHERE a.server_id = ? AND v.status = 'reverting' LIMIT 1", [server_id]).fetchone() is not None


def pending(db: Database) -> list[Attachment]:
    """Attachments whose hot-plug never finished (no attached_at)."""
    return attachment_rows(db, "attached_at IS NULL", [])


def set_attached(db: Database, attachment_id: str, device: str, now: datetime) -> None:
    db.execute("UPDATE volume_attachments SET device = ?, attached_at = ? WHERE id = ?",
               [device, isotime(now), attachment_id])


def set_device(db: Database, attachment_id: str, device: str) -> None:
    db.execute("UPDATE volume_attachments SET device = ? WHERE id = ?", [device, attachment_id])


def set_delete_on_termination(db: Database, attachment_id: str, value: bool) -> None:
    db.execute("UPDATE volume_attachments SET delete_on_termination = ? WHERE id = ?", [int(value), attachment_id])


def renew(db: Database, attachment: Attachment, new_id: str) -> None:
    """The attachment made anew under `new_id` (Nova's attachment_create then attachment_delete of the old one),
    in place: its device, tag, order and block device mapping uuid stay."""
    db.execute("UPDATE volume_attachments SET id = ?, bdm_uuid = ? WHERE id = ?",
               [new_id, attachment.bdm_id, attachment.id])


def delete(db: Database, attachment_id: str) -> None:
    db.execute("DELETE FROM volume_attachments WHERE id = ?", [attachment_id])


def volumes_of(db: Database, server_ids: list[str]) -> dict[str, tuple[AttachedVolume, ...]]:
    """server id -> its attached volumes in attach order (every id has an entry): the servers' views."""
    found: dict[str, list[AttachedVolume]] = {u: [] for u in server_ids}
    for server_id, volume_id, delete_on_termination in db.execute(
            "SELECT server_id, volume_id, delete_on_termination FROM volume_attachments WHERE server_id IN "
            "(SELECT value FROM json_each(?)) ORDER BY rowid", [json.dumps(server_ids)]).fetchall():
        found[server_id].append(AttachedVolume(volume_id, bool(delete_on_termination)))
    return {u: tuple(volumes) for u, volumes in found.items()}
