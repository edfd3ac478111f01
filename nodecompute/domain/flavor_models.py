"""Flavor records and errors shared by the flavor service and its database adapter. No I/O."""
from __future__ import annotations

from dataclasses import dataclass

from nodecompute.domain.errors import BadRequest, Conflict, Forbidden, NotFound

# Nova's flavor list sort keys (schemas/flavors.py VALID_SORT_KEYS) and directions.
SORT_KEYS = (
    "created_at", "description", "disabled", "ephemeral_gb", "flavorid", "id", "is_public", "memory_mb", "name",
    "root_gb", "rxtx_factor", "swap", "updated_at", "vcpu_weight", "vcpus",
)
SORT_KEYS_V2102 = tuple(key for key in SORT_KEYS if key != "rxtx_factor")  # 2.102 drops rxtx_factor
SORT_DIRS = ("asc", "desc")
MAX_INT = 2147483647  # nova.db.constants.MAX_INT
SQL_SP_FLOAT_MAX = 3.40282e+38  # nova.db.constants.SQL_SP_FLOAT_MAX


@dataclass(frozen=True)
class FlavorQuery:
    """One page of the flavors a caller may list (Nova's FlavorList.get_all filters)."""

    project_id: str
    is_admin: bool
    is_public: bool | None = True  # admins only: True public (+ shared with the project), False private, None all
    min_ram: int | None = None
    min_disk: int | None = None
    name: str | None = None  # 2.102: a regular expression (RE2) the name must contain a match of
    sort_key: str = "flavorid"
    sort_dir: str = "asc"
    limit: int | None = None
    marker: str | None = None


class FlavorNotFound(NotFound):
    msg_fmt = "Flavor %(flavor_id)s could not be found."


class FlavorExists(Conflict):
    msg_fmt = "Flavor with name %(name)s already exists."


class FlavorIdExists(Conflict):
    msg_fmt = "Flavor with ID %(flavor_id)s already exists."


class FlavorAccessExists(Conflict):
    msg_fmt = "Flavor access already exists for flavor %(flavor_id)s and project %(project_id)s combination."


class PublicFlavorAccess(Forbidden):
    """Access granted to a public flavor: 403 here, 409 from microversion 2.7 in the openstack dialect."""

    msg_fmt = "Can not add access to a public flavor."


class FlavorAccessNotFound(NotFound):
    msg_fmt = "Flavor access not found for %(flavor_id)s / %(project_id)s combination."


class FlavorExtraSpecNotFound(NotFound):
    msg_fmt = "Flavor %(flavor_id)s has no extra specs with key %(key)s."


class InvalidInput(BadRequest):
    msg_fmt = "Invalid input received: %(reason)s"
