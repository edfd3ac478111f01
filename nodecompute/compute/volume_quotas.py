"""Block storage quotas as Cinder keeps them: per project, apart from the compute quotas.

Resources (cinder/quota.py): volumes, snapshots, gigabytes, backups, backup_gigabytes, groups, per_volume_gigabytes,
and for every volume type `volumes_<type>`, `gigabytes_<type>`, `snapshots_<type>` (default -1). A limit is the
project's override, else the configured default ([volume] quota_*). Usage is counted from the rows (db/volumes.py
`usage`; snapshots count in gigabytes too, as Cinder's no_snapshot_gb_quota = False), so `reserved` is 0.
`over_quota` is the check the write transactions make, with the exception Cinder raises for the first resource
over its limit, in Cinder's order (volumes, gigabytes, then the type's).
"""
from __future__ import annotations

from nodecompute.config import Config
from nodecompute.db import volume_types as volume_types_db
from nodecompute.db import volumes as volumes_db
from nodecompute.db.store import Store
from nodecompute.domain.errors import BadRequest
from nodecompute.domain.volume_errors import (InvalidInput, SnapshotLimitExceeded, VolumeLimitExceeded,
                                              VolumeSizeExceedsAvailableQuota, VolumeSizeExceedsLimit)

UNLIMITED = -1
MAX_INT = 0x7FFFFFFF  # Cinder's DB_MAX_INT
PER_TYPE = ("volumes", "gigabytes", "snapshots")
NON_QUOTA_KEYS = ("tenant_id", "id")


def base_defaults(cfg: Config) -> dict[str, int]:
    v = cfg.volume
    return {"volumes": v.quota_volumes, "snapshots": v.quota_snapshots, "gigabytes": v.quota_gigabytes,
            "backups": v.quota_backups, "backup_gigabytes": v.quota_backup_gigabytes, "groups": v.quota_groups,
            "per_volume_gigabytes": v.per_volume_size_limit}


def over_quota(limits: dict[str, int], used: dict[str, int], deltas: dict[str, int], *, resource: str,
               size: int) -> None:
    """Raise Cinder's quota error when adding `deltas` passes a limit (`resource`: what is made, volumes or
    snapshots; `size`: its GiB, for the gigabytes message)."""
    for name, delta in deltas.items():
        limit = limits.get(name, UNLIMITED)
        if delta <= 0 or limit == UNLIMITED or used.get(name, 0) + delta <= limit:
            continue
        if "gigabytes" in name:
            raise VolumeSizeExceedsAvailableQuota(name=name, requested=size, quota=limit, consumed=used.get(name, 0))
        if resource == "snapshots":
            raise SnapshotLimitExceeded(allowed=limit, name=name)
        raise VolumeLimitExceeded(allowed=limit, name=name)


def check_size_limit(limits: dict[str, int], size: int) -> None:
    limit = limits.get("per_volume_gigabytes", UNLIMITED)
    if limit != UNLIMITED and size > limit:
        raise VolumeSizeExceedsLimit(size=size, limit=limit)


def volume_deltas(type_name: str, size: int) -> dict[str, int]:
    return {"volumes": 1, "gigabytes": size, f"volumes_{type_name}": 1, f"gigabytes_{type_name}": size}


def snapshot_deltas(type_name: str, size: int) -> dict[str, int]:
    return {"snapshots": 1, "gigabytes": size, f"snapshots_{type_name}": 1, f"gigabytes_{type_name}": size}


class VolumeQuotas:
    def __init__(self, store: Store, cfg: Config) -> None:
        self.store = store
        self.cfg = cfg

    def resources(self) -> list[str]:
        names = list(base_defaults(self.cfg))
        for type_name in self.store.read(volume_types_db.type_names):
            names += [f"{resource}_{type_name}" for resource in PER_TYPE]
        return names

    def defaults(self) -> dict[str, int]:
        values = dict.fromkeys(self.resources(), UNLIMITED)
        values.update(base_defaults(self.cfg))
        return values

    def limits(self, project_id: str) -> dict[str, int]:
        values = self.defaults()
        overrides = self.store.read(volume_types_db.project_limits, project_id)
        values.update({name: limit for name, limit in overrides.items() if name in values})
        return values

    def usage(self, project_id: str) -> dict[str, int]:
        counts = self.store.read(volumes_db.usage, project_id)
        return {name: counts.get(name, 0) if name != "per_volume_gigabytes" else 0 for name in self.resources()}

    def detail(self, project_id: str) -> dict[str, dict[str, int]]:
        limits, used = self.limits(project_id), self.usage(project_id)
        return {name: {"in_use": used[name], "limit": limit, "reserved": 0} for name, limit in limits.items()}

    def check_update(self, values: dict) -> dict[str, int]:
        """The resource values of an update body (Cinder's quota_set format checker): known keys, integers from
        -1 to DB_MAX_INT; `id` and `tenant_id` are ignored."""
        known = set(self.resources())
        bad = [key for key in values if key not in known and key not in NON_QUOTA_KEYS]
        out = {}
        for key, value in values.items():
            if key in NON_QUOTA_KEYS or key in bad:
                continue
            out[key] = _integer(value, key)
        if bad:
            raise InvalidInput(reason=f"Bad key(s) in quota set: {', '.join(bad)}")
        return out

    async def update(self, project_id: str, values: dict[str, int]) -> dict[str, int]:
        """Set overrides; a limit below what the project holds is refused (Cinder's words)."""
        used = self.usage(project_id)
        for key, value in values.items():
            if key == "per_volume_gigabytes" or value == UNLIMITED:
                continue
            if value < used.get(key, 0):
                raise BadRequest(f"Quota {key} limit must be equal or greater than existing resources. Current "
                                 f"usage is {used.get(key, 0)} and the requested limit is {value}.")
        await self.store.write(volume_types_db.set_project_limits, project_id, values)
        return self.limits(project_id)

    async def reset(self, project_id: str) -> None:
        await self.store.write(volume_types_db.delete_project_limits, project_id)


def _integer(value: object, name: str) -> int:
    """oslo's strutils.validate_integer, with its messages."""
    try:
        number = int(str(value))  # True, 1.5 and "1.0" are not integers here either
    except (ValueError, UnicodeEncodeError):
        raise BadRequest(f"{name} must be an integer") from None
    if number < UNLIMITED:
        raise BadRequest(f"{name} must be >= {UNLIMITED}")
    if number > MAX_INT:
        raise BadRequest(f"{name} must be <= {MAX_INT}")
    return number
