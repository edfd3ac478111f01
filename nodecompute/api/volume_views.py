"""Cinder's bodies at 3.0 for volumes, snapshots and volume types (cinder/api/v3/views, api/views, api/contrib).

Which keys appear depends on the call and the caller, as Cinder's extensions add them: a volume's
`os-vol-tenant-attr:tenant_id` and `volume_image_metadata` only on show and detail lists (readers), the host and
migration attributes for admins only, `migration_status` for admins on every volume body; a snapshot's
`os-extended-snapshot-attributes:*` only on show and detail lists; a type's extra specs filtered to the
user-visible ones for non-admins, `qos_specs_id` for admins, `os-volume-type-access:is_public` for members.
Times are Cinder's `YYYY-MM-DDTHH:MM:SS.ffffff` (UTC, no zone).
"""
from __future__ import annotations

from typing import Any

from nodecompute.api.keys import config_key
from nodecompute.api.respond import Out
from nodecompute.compute.volume_types import visible_specs
from nodecompute.domain.models import isotime
from nodecompute.domain.volume_models import Snapshot, Volume, VolumeType

MAX_LIMIT = 1000  # Cinder's osapi_max_limit


def _time(value) -> str | None:
    return isotime(value) if value is not None else None


def host_of(out: Out) -> str:
    """Cinder's host@backend#pool of the one backend."""
    return f"{out.request.config_dict[config_key].host_name}@nodecompute#qcow2"


def _attachments(out: Out, volume: Volume) -> list[dict[str, Any]]:
    return [{"id": volume.id, "attachment_id": a.id, "volume_id": volume.id, "server_id": a.server_id,
             "host_name": a.attached_host if out.ctx.is_admin else None, "device": a.device,
             "attached_at": _time(a.attached_at)} for a in volume.attachments]


def volume_body(out: Out, volume: Volume, *, extended: bool) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": volume.id, "status": volume.status, "size": volume.size,
        "availability_zone": volume.availability_zone, "created_at": isotime(volume.created_at),
        "updated_at": _time(volume.updated_at), "name": volume.name, "description": volume.description,
        "volume_type": volume.volume_type_name, "snapshot_id": volume.snapshot_id,
        "source_volid": volume.source_volid, "metadata": dict(volume.metadata),
        "links": out.links.pair("volumes", volume.id), "user_id": volume.user_id,
        "bootable": str(volume.bootable).lower(), "encrypted": False, "replication_status": None,
        "consistencygroup_id": None, "multiattach": volume.multiattach, "attachments": _attachments(out, volume),
    }
    if out.ctx.is_admin:
        body["migration_status"] = None
    if extended:
        body["os-vol-tenant-attr:tenant_id"] = volume.project_id
        if out.ctx.is_admin:
            body["os-vol-host-attr:host"] = host_of(out)
            body["os-vol-mig-status-attr:migstat"] = None
            body["os-vol-mig-status-attr:name_id"] = None
        if volume.image_metadata:
            body["volume_image_metadata"] = dict(volume.image_metadata)
    return body


def volume_summary(out: Out, volume: Volume) -> dict[str, Any]:
    return {"id": volume.id, "name": volume.name, "links": out.links.pair("volumes", volume.id)}


def collection_links(out: Out, items: list, path: str, limit: int | None) -> list[dict[str, str]] | None:
    """Cinder's next link: when the page holds as many items as it could (limit, or the maximum)."""
    wanted = min(limit, MAX_LIMIT) if limit is not None else MAX_LIMIT
    if items and len(items) >= wanted:
        return out.links.next_page(path, items[-1].id)
    return None


def volume_list(out: Out, result: tuple[list[Volume], int | None], *, detail: bool) -> dict[str, Any]:
    volumes, limit = result
    body: dict[str, Any] = {"volumes": [volume_body(out, v, extended=True) if detail else volume_summary(out, v)
                                        for v in volumes]}
    links = collection_links(out, volumes, "volumes/detail" if detail else "volumes", limit)
    if links:
        body["volumes_links"] = links
    return body


def snapshot_body(out: Out, snapshot: Snapshot, *, extended: bool) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": snapshot.id, "created_at": isotime(snapshot.created_at), "updated_at": _time(snapshot.updated_at),
        "name": snapshot.name, "description": snapshot.description, "volume_id": snapshot.volume_id,
        "status": snapshot.status, "size": snapshot.size, "metadata": dict(snapshot.metadata),
    }
    if extended:
        body["os-extended-snapshot-attributes:progress"] = snapshot.progress
        body["os-extended-snapshot-attributes:project_id"] = snapshot.project_id
    return body


def snapshot_list(out: Out, result: tuple[list[Snapshot], int | None], *, detail: bool) -> dict[str, Any]:
    snapshots, limit = result
    body: dict[str, Any] = {"snapshots": [snapshot_body(out, s, extended=detail) for s in snapshots]}
    links = collection_links(out, snapshots, "snapshots/detail" if detail else "snapshots", limit)
    if links:
        body["snapshots_links"] = links
    return body


def type_body(out: Out, volume_type: VolumeType) -> dict[str, Any]:
    """Show and list (cinder/api/v3/views/types.py, with the type-access extension)."""
    body: dict[str, Any] = {"id": volume_type.id, "name": volume_type.name, "is_public": volume_type.is_public,
                            "description": volume_type.description,
                            "extra_specs": visible_specs(out.ctx, volume_type)}
    if out.ctx.is_admin:
        body["qos_specs_id"] = None
    if out.ctx.can_write:
        body["os-volume-type-access:is_public"] = volume_type.is_public
    return body


def managed_type_body(out: Out, volume_type: VolumeType, *, created: bool) -> dict[str, Any]:
    """Create and update (types_manage's builder, cinder/api/views/types.py; create is extended with access)."""
    body: dict[str, Any] = {"id": volume_type.id, "name": volume_type.name, "is_public": volume_type.is_public,
                            "extra_specs": dict(volume_type.extra_specs), "description": volume_type.description}
    if created:
        body["os-volume-type-access:is_public"] = volume_type.is_public
    return body
