"""The database rows of a create request's servers (compute/servers.py writes them in one transaction)."""
from __future__ import annotations

import secrets
import uuid as uuidlib
from datetime import datetime

from nodecompute.compute import image_properties
from nodecompute.compute.metadata_documents import sanitize_hostname
from nodecompute.config import Config
from nodecompute.domain import disk_config as disk_configs
from nodecompute.domain import states
from nodecompute.domain.models import AuthContext, Flavor, isotime
from nodecompute.domain.guest_channels import channels_for
from nodecompute.domain.server_models import CreateRequest, root_disk_bytes


def reservation_id() -> str:
    return "r-" + "".join(secrets.choice("abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(8))


def server_rows(cfg: Config, ctx: AuthContext, req: CreateRequest, flavor: Flavor, image, key_data: str | None,
                count: int, extra_specs: dict[str, str], now: datetime, root_is_volume: bool = False) -> list[dict]:
    """The rows of one create request's servers (BUILD, scheduling). `image` is the image booted from, or for a
    volume-backed server (root_is_volume) compute/volume_boot.py's VolumeRoot (no local root disk; its id the
    imageRef the request gave beside the volume root, as Nova's instance.image_ref, or "")."""
    now = isotime(now)
    rid = reservation_id()
    disk_config = req.disk_config or disk_configs.image_default(image.properties)  # checked: servers.py
    wants_drive = not req.no_config_drive and (req.config_drive or cfg.compute.force_config_drive
                                               or image.properties.get("img_config_drive") == "mandatory")
    rows = []
    for index in range(count):
        server_uuid = str(uuidlib.uuid4())
        name = f"{req.name}-{index + 1}" if count > 1 else req.name
        rows.append({
            "uuid": server_uuid, "name": name, "project_id": ctx.project_id, "user_id": ctx.user_id,
            "hostname": req.hostname or sanitize_hostname(name, server_uuid),
            "flavorid": flavor.flavorid, "flavor_name": flavor.name, "memory_mb": flavor.memory_mb,
            "vcpus": flavor.vcpus, "root_gb": flavor.root_gb,
            "root_disk_bytes": 0 if root_is_volume else root_disk_bytes(flavor.root_gb, image.virtual_size or 0),
            "root_is_volume": int(root_is_volume),
            "ephemeral_gb": flavor.ephemeral_gb,
            "swap": flavor.swap, "image_id": image.id, "image_sha256": image.content_sha256,
            "key_name": req.key_name, "key_data": key_data, "user_data": req.user_data,
            "config_drive": int(bool(wants_drive)), "access_ipv4": req.access_ipv4,
            "access_ipv6": req.access_ipv6, "disk_config": disk_config,
            "availability_zone": cfg.compute.availability_zone, "vm_state": states.BUILDING,
            "task_state": states.SCHEDULING, "power_state": states.NOSTATE, "launch_index": index,
            "reservation_id": rid, "host": cfg.host_name, "scheduler_hints": req.scheduler_hints,
            "guest_channels": channels_for(image.properties),
            "created_at": now, "updated_at": now, "description": req.description,
            "flavor_extra_specs": extra_specs, "device_tags": req.device_tags,
            "pinned_availability_zone": req.availability_zone or None,
            "image_properties": image_properties.copied(image.properties),
        })
    return rows
