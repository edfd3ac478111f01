"""Flavors: listing with Nova's visibility rules, create/delete, project access and extra specs.

A non-admin sees public flavors plus private ones shared with its project; anything else is "not found", never
"forbidden", so a private flavor's existence does not leak. Policy (who may write) is the API layer's job.
"""
from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from typing import Any

from nodecompute.domain import regex
from nodecompute.domain.errors import BadRequest, NotFound
from nodecompute.domain.flavor_models import (
    MAX_INT, SQL_SP_FLOAT_MAX, FlavorExtraSpecNotFound, FlavorQuery, InvalidInput, PublicFlavorAccess,
)
from nodecompute.domain.models import Clock, Flavor, id_from_ref
from nodecompute.db import flavors as flavors_db
from nodecompute.db import identity as identity_db
from nodecompute.db.store import Store

# Nova's valid_name_regex: printable, no leading or trailing whitespace.
_VALID_NAME = re.compile(r"^(?![\s])[^\x00-\x1f\x7f]*(?<![\s])$")


def _integer(value: Any, name: str, minimum: int) -> int:
    """oslo's validate_integer, as nova.compute.flavors.create applies it."""
    try:
        number = int(str(value))
    except ValueError:
        raise InvalidInput(reason=f"{name} must be an integer") from None
    if number < minimum:
        raise InvalidInput(reason=f"{name} must be >= {minimum}")
    if number > MAX_INT:
        raise InvalidInput(reason=f"{name} must be <= {MAX_INT}")
    return number


def _rxtx_factor(value: Any) -> float:
    try:
        factor = float(value)
        if not 0 < factor <= SQL_SP_FLOAT_MAX:
            raise ValueError(value)
    except ValueError:
        raise InvalidInput(reason=f"'rxtx_factor' argument must be a float between 0 and {SQL_SP_FLOAT_MAX:g}") from None
    return factor


def _flavor_id(value: Any) -> str:
    if not value:  # absent, null (or 0/"" as Nova's `if not flavorid`): a generated UUID
        return str(uuid.uuid4())
    flavorid = str(value)
    if flavorid.strip() != flavorid:
        raise InvalidInput(reason="id cannot contain leading and/or trailing whitespace(s)")
    return flavorid


class FlavorService:
    def __init__(self, store: Store, clock: Clock) -> None:
        self.store = store
        self.clock = clock

    @staticmethod
    def _filter_project(project_id: str, is_admin: bool) -> str | None:
        """The project an access check runs for; None (no check) for admins."""
        return None if is_admin else project_id

    def data_version(self) -> int:
        """Changes whenever the stored data may have changed (for caches of rendered lists)."""
        return self.store.data_version()

    def list_visible(self, project_id: str, is_admin: bool, **filters: Any) -> list[Flavor]:
        """Filters: is_public (admins only), min_ram, min_disk, name (2.102, RE2), sort_key, sort_dir, limit,
        marker. A name pattern RE2 cannot compile is a 400 before the read."""
        if filters.get("name") is not None:
            regex.compile_filter(filters["name"])
        query = FlavorQuery(project_id=project_id, is_admin=is_admin, **filters)
        return self.store.read(_with_specs(flavors_db.list_flavors), query)

    def get_for_project(self, flavor_ref: Any, project_id: str, is_admin: bool) -> Flavor:
        """A flavor by id or URL, if the caller may see it; FlavorNotFound otherwise."""
        flavorid = id_from_ref(flavor_ref)
        return self.store.read(flavors_db.get_flavor, flavorid, self._filter_project(project_id, is_admin))

    def show(self, flavor_ref: Any, project_id: str, is_admin: bool) -> Flavor:
        """get_for_project with the flavor's extra specs (the views show them from 2.61)."""
        flavor = self.get_for_project(flavor_ref, project_id, is_admin)
        return self.store.read(flavors_db.with_extra_specs, [flavor])[0]

    async def set_description(self, flavorid: str, description: str | None) -> Flavor:
        """PUT /flavors/{id} (2.55): the description is the only thing a flavor lets change."""
        return await self.store.write(flavors_db.set_description, flavorid, description)

    async def create(self, name: str, ram: Any, vcpus: Any, disk: Any, *, flavorid: Any = None, ephemeral: Any = 0,
                     swap: Any = 0, rxtx_factor: Any = 1.0, is_public: bool = True,
                     description: str | None = None) -> Flavor:
        """Validate as nova.compute.flavors.create does, then store. 409 on a duplicate id or name."""
        if not _VALID_NAME.search(name) or not 1 <= len(name) <= 255:
            raise InvalidInput(reason="Flavor names can only contain printable characters and horizontal spaces.")
        flavor = Flavor(
            flavorid=_flavor_id(flavorid), name=name, memory_mb=_integer(ram, "memory_mb", 1),
            vcpus=_integer(vcpus, "vcpus", 1), root_gb=_integer(disk, "root_gb", 0),
            ephemeral_gb=_integer(ephemeral, "ephemeral_gb", 0), swap=_integer(swap, "swap", 0),
            rxtx_factor=_rxtx_factor(rxtx_factor), is_public=bool(is_public), description=description,
        )
        return await self.store.write(flavors_db.insert_flavor, flavor, self.clock())

    async def delete(self, flavorid: str) -> None:
        await self.store.write(flavors_db.delete_flavor, flavorid)

    # -- project access (private flavors) --

    def access_list(self, flavorid: str, project_id: str, is_admin: bool) -> list[str]:
        flavor = self.get_for_project(flavorid, project_id, is_admin)
        if flavor.is_public:
            raise NotFound("Access list not available for public flavors.")
        return self.store.read(flavors_db.flavor_projects, flavorid)

    def _verify_project(self, project_id: str) -> None:
        """Nova's identity.verify_project_id: the tenant must be a known project id."""
        project = self.store.read(identity_db.find_project, project_id)
        if project is None or project.id != project_id:
            raise BadRequest(f"Project ID {project_id} is not a valid project.")

    async def add_access(self, flavorid: str, tenant: str) -> list[str]:
        self._verify_project(tenant)
        flavor = self.store.read(flavors_db.get_flavor, flavorid)
        if flavor.is_public:
            raise PublicFlavorAccess()
        return await self.store.write(flavors_db.add_flavor_project, flavorid, tenant)

    async def remove_access(self, flavorid: str, tenant: str) -> list[str]:
        self._verify_project(tenant)
        return await self.store.write(flavors_db.remove_flavor_project, flavorid, tenant)

    # -- extra specs --

    def extra_specs(self, flavorid: str, project_id: str, is_admin: bool) -> dict[str, str]:
        self.get_for_project(flavorid, project_id, is_admin)
        return self.store.read(flavors_db.extra_specs, flavorid)

    def extra_spec(self, flavorid: str, key: str, project_id: str, is_admin: bool) -> str:
        specs = self.extra_specs(flavorid, project_id, is_admin)
        if key not in specs:
            raise FlavorExtraSpecNotFound(flavor_id=flavorid, key=key)
        return specs[key]

    async def set_extra_specs(self, flavorid: str, specs: dict[str, Any]) -> None:
        """Create or update; numbers are stored as their text, like Nova's string column."""
        texts = {key: str(value) for key, value in specs.items()}
        for text in texts.values():
            if len(text) > 255:  # a number's length, which the schema cannot check (Nova does it here)
                raise InvalidInput(reason=f"extra_specs value has {len(text)} characters, more than 255.")
        await self.store.write(flavors_db.merge_extra_specs, flavorid, texts)

    async def delete_extra_spec(self, flavorid: str, key: str) -> None:
        await self.store.write(flavors_db.delete_extra_spec, flavorid, key)


def _with_specs(lister: Callable[..., list[Flavor]]) -> Callable[..., list[Flavor]]:
    """A db list function whose flavors come with their extra specs (in the same read)."""
    def read(db: Any, *args: Any) -> list[Flavor]:
        return flavors_db.with_extra_specs(db, lister(db, *args))
    return read
