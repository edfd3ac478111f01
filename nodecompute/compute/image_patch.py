"""Glance's image JSON-patch rules as pure functions: which attributes may change, and applying the ops.

Mutable base attributes: name, min_disk, min_ram, visibility, protected, tags (disk_format and container_format
while the image is still queued). Everything else Glance shows is read-only (403), `location`, `deleted`,
`deleted_at`, the `nodecompute:` namespace and Glance's `os_glance*` are reserved (403); any other name is a
custom property.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from nodecompute.domain import errors
from nodecompute.domain.image_models import QUEUED, Image

MUTABLE = ("name", "min_disk", "min_ram", "visibility", "protected", "tags")
MUTABLE_WHILE_QUEUED = ("disk_format", "container_format")
READ_ONLY = ("id", "status", "owner", "created_at", "updated_at", "checksum", "os_hash_algo", "os_hash_value",
             "size", "virtual_size", "self", "file", "schema", "direct_url", "stores", "locations", "os_hidden")
RESERVED = ("location", "deleted", "deleted_at")
RESERVED_PREFIXES = ("nodecompute:", "os_glance")  # Glance bans its os_glance_* namespace (since Wallaby)
BASE = MUTABLE + MUTABLE_WHILE_QUEUED + READ_ONLY
OPS = ("add", "replace", "remove")


class ReadOnlyAttribute(errors.Forbidden):
    msg_fmt = "Attribute '%(name)s' is read-only."


class ReservedAttribute(errors.Forbidden):
    msg_fmt = "Attribute '%(name)s' is reserved."


@dataclass(frozen=True)
class PatchOp:
    op: str  # add, replace, remove
    name: str  # the attribute or property: the one segment of the JSON pointer, unescaped
    value: Any = None
    add_replaces: bool = True  # JSON patch draft 10; under draft 4 (Glance's v2.0 patch) `add` needs a new member


def check_name(name: str) -> None:
    """403 for names no caller may write: read-only base attributes and reserved names."""
    if name in READ_ONLY:
        raise ReadOnlyAttribute(name=name)
    if name in RESERVED or name.startswith(RESERVED_PREFIXES):
        raise ReservedAttribute(name=name)


def check_property_names(properties: dict[str, str]) -> None:
    """Custom properties may not shadow a base attribute (Nova's image metadata goes through here too)."""
    for name in properties:
        check_name(name)
        if name in BASE:
            raise ReadOnlyAttribute(name=name)


def _apply_base(image: Image, op: PatchOp, fields: dict[str, Any]) -> None:
    if op.op == "remove":
        raise errors.Forbidden(f"Property {op.name} may not be removed.")
    if op.name in MUTABLE_WHILE_QUEUED and image.status != QUEUED:
        raise ReadOnlyAttribute(name=op.name)
    fields[op.name] = tuple(dict.fromkeys(op.value)) if op.name == "tags" else op.value


def _apply_property(op: PatchOp, properties: dict[str, str]) -> None:
    if op.op == "add":
        properties[op.name] = op.value
        return
    if op.name not in properties:
        raise errors.Conflict(f"Property {op.name} does not exist.")
    if op.op == "replace":
        properties[op.name] = op.value
    else:
        del properties[op.name]


def apply_patch(image: Image, ops: list[PatchOp], now: datetime) -> Image:
    """The image after `ops`, in order (JSON patch draft 10: `add` on an existing member replaces it; draft 4:
    409)."""
    fields: dict[str, Any] = {}
    properties = dict(image.properties)
    for op in ops:
        if op.op not in OPS:
            raise errors.BadRequest(f"Invalid operation: `{op.op}`. It must be one of the following: "
                                    f"{', '.join(OPS)}.")
        check_name(op.name)
        if op.op == "add" and not op.add_replaces and (op.name in BASE or op.name in properties):
            raise errors.Conflict(f"Property {op.name} already present.")  # Glance's _do_add, draft 4
        if op.name in MUTABLE + MUTABLE_WHILE_QUEUED:
            _apply_base(image, op, fields)
        else:
            _apply_property(op, properties)
    return dataclasses.replace(image, **fields, properties=properties, updated_at=now)
