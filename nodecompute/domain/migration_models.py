"""Migration records (Nova's `migrations` table) as nodecompute keeps them: a resize on this one host. No I/O."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

# Nova's migration statuses along a resize, in order, and its two endings
PRE_MIGRATING, MIGRATING, POST_MIGRATING, FINISHED = "pre-migrating", "migrating", "post-migrating", "finished"
CONFIRMING, CONFIRMED, REVERTING, REVERTED, ERROR = "confirming", "confirmed", "reverting", "reverted", "error"
IN_PROGRESS = (PRE_MIGRATING, MIGRATING, POST_MIGRATING)
RESIZE = "resize"

# The server row's columns a flavor sets (what a resize changes and a revert puts back)
FLAVOR_COLUMNS = ("flavorid", "flavor_name", "memory_mb", "vcpus", "root_gb", "root_disk_bytes", "ephemeral_gb",
                  "swap", "flavor_extra_specs")


@dataclass(frozen=True)
class Migration:
    id: int
    uuid: str
    server_uuid: str
    project_id: str
    user_id: str
    migration_type: str
    status: str
    source_compute: str | None
    dest_compute: str | None
    source_node: str | None
    dest_node: str | None
    dest_host: str | None
    old_instance_type_id: int | None
    new_instance_type_id: int | None
    old_flavor: dict  # FLAVOR_COLUMNS -> the server's values before the resize
    new_flavor: dict  # FLAVOR_COLUMNS -> its values after
    old_vm_state: str
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class MigrationFilters:
    """GET /os-migrations: Nova's filters (status, instance_uuid, migration_type, source_compute or host),
    2.59 paging and changes-since, 2.66 changes-before, 2.80 user_id/project_id."""

    status: str | None = None
    instance_uuid: str | None = None
    migration_type: str | None = None
    host: str | None = None
    source_compute: str | None = None
    user_id: str | None = None
    project_id: str | None = None
    changes_since: datetime | None = None
    changes_before: datetime | None = None
    limit: int | None = None
    marker: str | None = None
