"""Block storage records (volumes, snapshots, volume types, attachments) and their status tables. No I/O.

Statuses are Cinder's (cinder/objects/fields.py). A volume moves only along TRANSITIONS; a long operation sets its
"-ing" status in the same transaction that checks the one it starts from, and its background task sets the end
status (or the error one). Attachments (issue 20) use reserved/attaching/in-use/detaching.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime

# volume statuses
CREATING, AVAILABLE, RESERVED, ATTACHING, IN_USE = "creating", "available", "reserved", "attaching", "in-use"
DETACHING, DELETING, ERROR, ERROR_DELETING = "detaching", "deleting", "error", "error_deleting"
EXTENDING, ERROR_EXTENDING, DOWNLOADING, UPLOADING = "extending", "error_extending", "downloading", "uploading"
REVERTING = "reverting"  # Cinder's revert to a snapshot (K5's fcx-restore, #1230)
VOLUME_STATUSES = (CREATING, AVAILABLE, RESERVED, ATTACHING, IN_USE, DETACHING, DELETING, ERROR, ERROR_DELETING,
                   EXTENDING, ERROR_EXTENDING, DOWNLOADING, UPLOADING, REVERTING)

# status -> the statuses it may move to (Cinder's volume manager and API, as far as one host has them)
TRANSITIONS: dict[str, tuple[str, ...]] = {
    CREATING: (AVAILABLE, ERROR),
    DOWNLOADING: (AVAILABLE, IN_USE, ERROR),  # Cinder's re-image (a volume-backed server's 2.93 rebuild)
    AVAILABLE: (RESERVED, ATTACHING, DELETING, EXTENDING, UPLOADING, REVERTING),
    RESERVED: (ATTACHING, AVAILABLE),
    ATTACHING: (IN_USE, AVAILABLE),
    # downloading: a 2.93 rebuild re-imaging a root volume; reverting: the system volume of a stopped server (#1230)
    IN_USE: (DETACHING, UPLOADING, DOWNLOADING, REVERTING),
    DETACHING: (AVAILABLE, IN_USE),
    EXTENDING: (AVAILABLE, ERROR_EXTENDING),
    UPLOADING: (AVAILABLE, IN_USE),
    REVERTING: (AVAILABLE, IN_USE, ERROR),
    DELETING: (ERROR_DELETING,),  # or the row is gone
    ERROR: (DELETING,),
    ERROR_EXTENDING: (DELETING,),
    ERROR_DELETING: (DELETING,),
}
# Cinder's delete needs one of these (and no attachment, no snapshot)
DELETABLE = (AVAILABLE, ERROR, "error_restoring", ERROR_EXTENDING, "error_managing")

# snapshot statuses
SNAP_CREATING, SNAP_AVAILABLE, SNAP_DELETING = "creating", "available", "deleting"
SNAP_ERROR, SNAP_ERROR_DELETING = "error", "error_deleting"
SNAPSHOT_DELETABLE = (SNAP_AVAILABLE, SNAP_ERROR)


def may_move(current: str, new: str) -> bool:
    return new in TRANSITIONS.get(current, ())


BDM_NAMESPACE = uuid.UUID("4c1d3a52-9b7e-5f0e-8a61-0d5e8c1f2b90")  # bdm_uuid names (2.89)


@dataclass(frozen=True)
class Attachment:
    id: str
    volume_id: str
    server_id: str
    device: str | None
    attached_at: datetime | None  # None while the hot-plug runs (the volume is attaching)
    attached_host: str | None = None
    tag: str | None = None
    delete_on_termination: bool = False
    boot_index: int | None = None  # 0: the root disk of a volume-backed server (issue 20); None: hot-plugged
    disk_bus: str | None = None  # as the create's mapping asked (virtio when None)
    bdm_uuid: str | None = None  # kept when the attachment was made anew (a 2.93 re-image); None: derived from id

    @property
    def bdm_id(self) -> str:
        """Nova's block device mapping uuid (2.89 `bdm_uuid`): one mapping per attachment here, named from the
        attachment's first id, so it stays when a re-image gives the attachment a new id (Nova keeps the BDM)."""
        return self.bdm_uuid or str(uuid.uuid5(BDM_NAMESPACE, self.id))


@dataclass(frozen=True)
class AttachRequest:
    """A volume attach as Nova's os-volume_attachments takes it."""

    volume_id: str
    device: str | None = None  # /dev/vdb; None: the next free one
    tag: str | None = None  # 2.49
    delete_on_termination: bool = False  # 2.79


@dataclass(frozen=True)
class AttachmentChanges:
    """A 2.85 PUT on an attachment: the fields given (as the GET shows them) and the one that may change."""

    given: dict[str, object] = field(default_factory=dict)
    delete_on_termination: bool | None = None


@dataclass(frozen=True)
class VolumeType:
    id: str
    name: str
    description: str | None
    is_public: bool
    extra_specs: dict[str, str]
    created_at: datetime
    updated_at: datetime | None = None


@dataclass(frozen=True)
class Volume:
    id: str
    project_id: str
    user_id: str
    name: str | None
    description: str | None
    size: int  # GiB
    status: str
    availability_zone: str
    volume_type_id: str
    created_at: datetime
    updated_at: datetime | None = None
    snapshot_id: str | None = None
    source_volid: str | None = None
    image_id: str | None = None  # the image it was made from
    bootable: bool = False
    metadata: dict[str, str] = field(default_factory=dict)
    image_metadata: dict[str, str] | None = None  # Cinder's volume_image_metadata (values are strings)
    previous_status: str | None = None
    extend_to: int | None = None  # the size an extend in flight grows it to (counted against the quota)
    upload_image_id: str | None = None  # the image an upload in flight fills
    attachments: tuple[Attachment, ...] = ()
    volume_type_name: str | None = None
    serial: int = 0
    multiattach: bool = False  # its type's extra spec multiattach is "<is> True" (Cinder)

    @property
    def attached(self) -> bool:
        return bool(self.attachments)


@dataclass(frozen=True)
class Snapshot:
    id: str
    project_id: str
    user_id: str
    volume_id: str
    name: str | None
    description: str | None
    size: int  # the volume's size when taken (Cinder's volume_size)
    status: str
    volume_type_id: str | None
    created_at: datetime
    updated_at: datetime | None = None
    progress: str = "0%"
    metadata: dict[str, str] = field(default_factory=dict)
    serial: int = 0


@dataclass(frozen=True)
class VolumeCreate:
    """A create request, checked against the schema (size may still be missing: it can come from a source)."""

    size: int | None
    name: str | None = None
    description: str | None = None
    volume_type: str | None = None
    availability_zone: str | None = None
    snapshot_id: str | None = None
    source_volid: str | None = None
    image_ref: str | None = None
    metadata: dict[str, str] | None = None


@dataclass(frozen=True)
class ListQuery:
    """A volume or snapshot list as asked: the query's filters (strings), sort keys and directions, page."""

    filters: dict[str, str] = field(default_factory=dict)
    sort: tuple[tuple[str, str], ...] = (("created_at", "desc"),)
    marker: str | None = None
    limit: int | None = None
    offset: int = 0
    all_projects: bool = False
