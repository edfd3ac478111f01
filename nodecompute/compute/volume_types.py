"""Volume types (#1214, #1215 and Cinder v3's types API): the default type and admin-made types with extra specs.

Rules as Cinder's (cinder/volume/volume_types.py, api/contrib/types_manage.py, types_extra_specs.py): everyone
lists and shows public types, admins every type; only admins create, update and delete types and their extra
specs; non-admins see only the user-visible extra specs; a type used by a volume keeps its extra specs and cannot
be deleted; the configured default type cannot be deleted. Renaming a type renames its per-type quota overrides.
"""
from __future__ import annotations

import uuid
from datetime import datetime

from nodecompute.config import Config
from nodecompute.db import volume_types as volume_types_db
from nodecompute.db import volumes as volumes_db
from nodecompute.db.store import Store
from nodecompute.domain.errors import BadRequest, ComputeError, PolicyNotAuthorized
from nodecompute.domain.models import AuthContext, Clock
from nodecompute.domain.volume_errors import (ExtraSpecsNotFound, VolumeTypeExists, VolumeTypeNotFound,
                                              VolumeTypeNotFoundByName)
from nodecompute.domain.volume_models import VolumeType

USER_VISIBLE_EXTRA_SPECS = ("RESKEY:availability_zones", "multiattach", "replication_enabled")


class DefaultTypeMissing(ComputeError):
    code = 500
    msg_fmt = "The request cannot be fulfilled as the default volume type %(volume_type_name)s cannot be found."


def visible_specs(ctx: AuthContext, volume_type: VolumeType) -> dict[str, str]:
    if ctx.is_admin:
        return dict(volume_type.extra_specs)
    return {key: value for key, value in volume_type.extra_specs.items() if key in USER_VISIBLE_EXTRA_SPECS}


def _is_uuid(text: str) -> bool:
    try:
        uuid.UUID(text)
    except ValueError:
        return False
    return True


class VolumeTypeService:
    def __init__(self, store: Store, cfg: Config, clock: Clock) -> None:
        self.store = store
        self.clock = clock
        self.cfg = cfg

    # reads ----------------------------------------------------------------------------------------------------

    def default(self) -> VolumeType:
        name = self.cfg.volume.default_volume_type
        found = self.store.read(volume_types_db.find_type, name)
        if found is None:
            raise DefaultTypeMissing(volume_type_name=name)
        return found

    def get(self, ctx: AuthContext, type_id: str) -> VolumeType:
        """By id ("default": the default type); a private type is the admins' only."""
        if type_id == "default":
            try:
                return self.default()
            except DefaultTypeMissing:
                raise VolumeTypeNotFound("Default volume type can not be found.") from None
        found = self.store.read(volume_types_db.get_type, type_id)
        if found is None or not (found.is_public or ctx.is_admin):
            raise VolumeTypeNotFound(volume_type_id=type_id)
        return found

    def by_id(self, type_id: str) -> VolumeType | None:
        return self.store.read(volume_types_db.get_type, type_id)

    def get_by_name_or_id(self, ctx: AuthContext, identity: str) -> VolumeType:
        """What a volume create names: an id when it looks like one, else a name."""
        if _is_uuid(identity):
            return self.get(ctx, identity)
        found = self.store.read(volume_types_db.find_type, identity)
        if found is None or not (found.is_public or ctx.is_admin):
            raise VolumeTypeNotFoundByName(volume_type_name=identity)
        return found

    def list(self, ctx: AuthContext, is_public: bool | None = True) -> list[VolumeType]:
        """Non-admins: the public types. Admins: `is_public` True (default) public ones, False private ones,
        None every type."""
        types = self.store.read(volume_types_db.list_types, not ctx.is_admin)
        if ctx.is_admin and is_public is not None:
            types = [t for t in types if t.is_public == is_public]
        return types

    # admin writes ---------------------------------------------------------------------------------------------

    async def create(self, ctx: AuthContext, name: str, description: str | None, extra_specs: dict[str, str],
                     is_public: bool) -> VolumeType:
        _admin(ctx, "volume_extension:types_manage")
        record = VolumeType(id=str(uuid.uuid4()), name=name, description=description, is_public=is_public,
                            extra_specs=dict(extra_specs or {}),
                            created_at=self.clock())
        created = await self.store.write(volume_types_db.insert_type, record)
        if created is None:
            raise VolumeTypeExists(id=name)
        return created

    async def update(self, ctx: AuthContext, type_id: str, name: str | None, description: str | None,
                     is_public: bool | None) -> VolumeType:
        _admin(ctx, "volume_extension:types_manage")
        if name is not None and not name.strip():
            raise BadRequest("Volume type name can not be empty.")
        if name is None and description is None and is_public is None:
            raise BadRequest("Specify volume type name, description, is_public or a combination thereof.")
        old = self.get(ctx, type_id)
        values = {key: value for key, value in (("name", name), ("description", description),
                                                ("is_public", is_public)) if value is not None}
        updated = await self.store.write(_update_tx, type_id, values, old.name, self.clock())
        if updated is None:
            raise VolumeTypeExists(id=name)
        return updated

    async def delete(self, ctx: AuthContext, type_id: str) -> None:
        _admin(ctx, "volume_extension:types_manage")
        found = self.get(ctx, type_id)
        if found.name == self.cfg.volume.default_volume_type:
            raise BadRequest(f"The volume type {found.id} is a default volume type and cannot be deleted.")
        if len(self.store.read(volume_types_db.list_types, False)) == 1:
            raise BadRequest(f"The volume type {found.id} is the only currently defined volume type and cannot "
                             f"be deleted.")
        if not await self.store.write(_delete_tx, found.id):
            raise BadRequest("Target volume type is still in use.")

    # extra specs ----------------------------------------------------------------------------------------------

    def extra_specs(self, ctx: AuthContext, type_id: str) -> dict[str, str]:
        return visible_specs(ctx, self.get(ctx, type_id))

    def extra_spec(self, ctx: AuthContext, type_id: str, key: str) -> dict[str, str]:
        specs = self.extra_specs(ctx, type_id)
        if key not in specs:
            raise ExtraSpecsNotFound(volume_type_id=type_id, extra_specs_key=key)
        return {key: specs[key]}

    async def set_extra_specs(self, ctx: AuthContext, type_id: str, specs: dict[str, str | None]) -> None:
        _admin(ctx, "volume_extension:types_extra_specs:create")
        found = self.get(ctx, type_id)
        merged = {**found.extra_specs, **specs}
        if not await self.store.write(_set_specs_tx, found.id, merged, self.clock()):
            raise BadRequest("Volume Type is currently in use.")

    async def delete_extra_spec(self, ctx: AuthContext, type_id: str, key: str) -> None:
        found = self.get(ctx, type_id)
        _admin(ctx, "volume_extension:types_extra_specs:delete")
        if self.store.read(volumes_db.type_in_use, found.id):
            raise BadRequest("Volume Type is currently in use.")
        if key not in found.extra_specs:
            raise ExtraSpecsNotFound(volume_type_id=type_id, extra_specs_key=key)
        remaining = {k: v for k, v in found.extra_specs.items() if k != key}
        if not await self.store.write(_set_specs_tx, found.id, remaining, self.clock()):
            raise BadRequest("Volume Type is currently in use.")


def _admin(ctx: AuthContext, rule: str) -> None:
    if not ctx.is_admin:
        raise PolicyNotAuthorized(action=rule)


def _update_tx(db, type_id: str, values: dict, old_name: str, now: datetime) -> VolumeType | None:
    updated = volume_types_db.update_type(db, type_id, values, now)
    new_name = values.get("name")
    if updated is not None and new_name and new_name != old_name:
        volume_types_db.rename_type_quotas(db, old_name, new_name)
    return updated


def _delete_tx(db, type_id: str) -> bool:
    if volumes_db.type_in_use(db, type_id):
        return False
    volume_types_db.delete_type(db, type_id)
    return True


def _set_specs_tx(db, type_id: str, specs: dict, now: datetime) -> bool:
    if volumes_db.type_in_use(db, type_id):
        return False
    volume_types_db.update_type(db, type_id, {"extra_specs": specs}, now)
    return True
