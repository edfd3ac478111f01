"""The attachment rows and volume statuses that move together, one transaction each (compute/volume_attachments.py
and its swap): reserve (available -> attaching with a row without attached_at), unreserve, attached (in-use, the
row's device and time), detached (the row gone, the volume available);
a swap's begin (old detaching, new attaching), end and undo."""
from __future__ import annotations

import dataclasses
from datetime import datetime

from nodecompute.db import volume_attachments as attachments_db
from nodecompute.db import volumes as volumes_db
from nodecompute.domain import volume_models as vm
from nodecompute.domain.errors import BadRequest


def reserve_tx(db, attachment: vm.Attachment, now: datetime) -> None:
    volume = volumes_db.get_volume(db, attachment.volume_id)
    others = attachments_db.of_volume(db, attachment.volume_id)
    if any(a.server_id == attachment.server_id for a in others):
        raise BadRequest(f"Invalid volume: volume {attachment.volume_id} already attached")
    if others:
        servers = " ".join(a.server_id for a in others)
        raise BadRequest(f"Invalid volume: volume {attachment.volume_id} is already attached to instances: "
                         f"{servers}")
    if volume is None or volumes_db.update_volume(db, volume.id, {"status": vm.ATTACHING}, (vm.AVAILABLE,),
                                                  now=now) is None:
        status = volume.status if volume else "deleted"
        raise BadRequest(f"Invalid input received: Invalid volume: Volume {attachment.volume_id} status must be "
                         f"available or downloading to reserve, but the current status is {status}. (HTTP 400)")
    volumes_db.insert_attachment(db, attachment)


def unreserve_tx(db, attachment: vm.Attachment, now: datetime) -> None:
    attachments_db.delete(db, attachment.id)
    volumes_db.update_volume(db, attachment.volume_id, {"status": vm.AVAILABLE}, (vm.ATTACHING,), now=now)


def attached_tx(db, attachment: vm.Attachment, device: str, now: datetime) -> None:
    attachments_db.set_attached(db, attachment.id, device or None, now)
    volumes_db.update_volume(db, attachment.volume_id, {"status": vm.IN_USE}, (vm.ATTACHING,), now=now)


def detached_tx(db, attachment: vm.Attachment, now: datetime) -> None:
    attachments_db.delete(db, attachment.id)
    volumes_db.update_volume(db, attachment.volume_id, {"status": vm.DETACHING}, (vm.IN_USE,), now=now)
    volumes_db.update_volume(db, attachment.volume_id, {"status": vm.AVAILABLE}, (vm.DETACHING, vm.ATTACHING),
                             now=now)


def swap_in(old: vm.Attachment, new_volume_id: str, new_id: str) -> vm.Attachment:
    """The swap's new attachment: the old one's device, tag and delete_on_termination on the new volume."""
    return dataclasses.replace(old, id=new_id, volume_id=new_volume_id, attached_at=None)


def begin_swap_tx(db, old: vm.Attachment, new: vm.Attachment, now: datetime) -> None:
    if volumes_db.update_volume(db, old.volume_id, {"status": vm.DETACHING}, (vm.IN_USE,), now=now) is None:
        raise BadRequest("Invalid volume: Invalid input received: Invalid volume: Unable to detach volume. Volume "
                         "status must be 'in-use' and attach_status must be 'attached' to detach.")
    reserve_tx(db, new, now)


def end_swap_tx(db, old: vm.Attachment, new: vm.Attachment, now: datetime) -> None:
    attached_tx(db, new, new.device or "", now)
    detached_tx(db, old, now)


def undo_swap_tx(db, old: vm.Attachment, new: vm.Attachment, now: datetime) -> None:
    unreserve_tx(db, new, now)
    volumes_db.update_volume(db, old.volume_id, {"status": vm.IN_USE}, (vm.DETACHING,), now=now)
