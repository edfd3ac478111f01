"""Image records passed between the image service, its SQL functions and the views. No I/O."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

# Glance's lifecycle as far as a local store needs it (behaviour.md section 9.7 maps it for the compute proxy).
QUEUED, SAVING, ACTIVE, DELETED = "queued", "saving", "active", "deleted"
DISK_FORMATS = ("qcow2", "raw")
CONTAINER_FORMATS = ("bare",)
VISIBILITIES = ("public", "private", "shared")  # shared: seen by its members (image_members)
MEMBER_STATUSES = ("pending", "accepted", "rejected")
HASH_ALGO = "sha512"
SORT_COLUMNS = ("name", "status", "container_format", "disk_format", "size", "virtual_size", "id", "created_at",
                "updated_at", "min_disk", "min_ram", "visibility", "owner")


@dataclass(frozen=True)
class Image:
    id: str
    name: str | None
    owner: str | None
    visibility: str
    status: str
    created_at: datetime
    updated_at: datetime
    disk_format: str | None = None
    container_format: str | None = None
    size: int | None = None
    virtual_size: int | None = None
    checksum: str | None = None  # md5 hex, Glance's `checksum`
    os_hash_algo: str | None = None
    os_hash_value: str | None = None
    content_sha256: str | None = None  # key of the stored bytes (content-addressed, shared between images)
    min_disk: int = 0
    min_ram: int = 0
    protected: bool = False
    properties: dict[str, str] = field(default_factory=dict)
    tags: tuple[str, ...] = ()
    deleted_at: datetime | None = None
    deleted: bool = False

    @property
    def sha256(self) -> str | None:
        return self.content_sha256

    def visible_to(self, project_id: str, is_admin: bool = False) -> bool:
        return is_admin or self.visibility == "public" or self.owner == project_id


@dataclass(frozen=True)
class ImageQuery:
    """One page of a listing, filters already parsed. Who may see what is the service's business, not the query's."""

    names: tuple[str, ...] = ()
    ids: tuple[str, ...] = ()
    statuses: tuple[str, ...] = ()
    owners: tuple[str, ...] = ()
    visibility: str | None = None
    tags: tuple[str, ...] = ()
    properties: tuple[tuple[str, str], ...] = ()
    size_min: int | None = None
    size_max: int | None = None
    min_disk: int | None = None
    min_ram: int | None = None
    changes_since: datetime | None = None  # also lists deleted images
    sort: tuple[tuple[str, str], ...] = (("created_at", "desc"),)
    limit: int = 25
    marker: str | None = None
    # a member's shared images listed when its membership has one of these statuses (Glance's member_status,
    # default accepted); None: any status
    member_statuses: tuple[str, ...] | None = ("accepted",)


@dataclass(frozen=True)
class ImageMember:
    """A project an image is shared with (Glance v2 image members, #809-#813)."""

    image_id: str
    member_id: str
    status: str
    created_at: datetime
    updated_at: datetime
