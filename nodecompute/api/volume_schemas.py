"""Cinder's request schemas at 3.0 (cinder/api/schemas, api/validation/parameter_types.py), and its query helpers.

Names and descriptions are checked after the schema the way Cinder's format checkers do (stripped, then at most
255 characters, with strutils' message); list queries take Cinder's paging and sort parameters with its messages.
"""
from __future__ import annotations

from typing import Any

from multidict import MultiMapping

from nodecompute.domain.bool_strings import FALSE_STRINGS, TRUE_STRINGS
from nodecompute.domain.bool_strings import bool_from_string as to_bool  # noqa: F401 (callers use volume_schemas.to_bool)
from nodecompute.domain.errors import BadRequest
from nodecompute.domain.volume_errors import InvalidInput

DB_MAX_INT = 0x7FFFFFFF
MAX_LIMIT = 1000
BOOLEAN = {"type": ["boolean", "string"],
           "enum": [True, "True", "TRUE", "true", "1", "ON", "On", "on", "YES", "Yes", "yes", "y", "t",
                    False, "False", "FALSE", "false", "0", "OFF", "Off", "off", "NO", "No", "no", "n", "f"]}
NAME = {"type": ["string", "null"]}  # length checked after stripping (check_names)
NAME_ZERO_MIN = {"type": ["string", "null"], "minLength": 0, "maxLength": 255}
DESCRIPTION = {"type": ["string", "null"], "minLength": 0, "maxLength": 255, "pattern": r"^[^\x00-\x08\x0e-\x1f\x7f]*$"}
SPEC_KEY = r"^[a-zA-Z0-9\-_:. /]{1,255}$"
METADATA = {"type": "object", "patternProperties": {SPEC_KEY: {"type": "string", "maxLength": 255}},
            "additionalProperties": False}
METADATA_OR_NULL = {**METADATA, "type": ["object", "null"]}
OPTIONAL_UUID = {"oneOf": [{"type": "null"}, {"type": "string", "format": "uuid"}]}
SIZE = {"type": ["integer", "string"], "pattern": "^[0-9]+$", "minimum": 1, "maximum": DB_MAX_INT}
SIZE_OR_NULL = {**SIZE, "type": ["integer", "string", "null"]}
SPECS_NO_SPACES = {"type": "object", "patternProperties": {
    r"^[a-zA-Z0-9\-_:.]{1,255}$": {"type": ["string", "null"], "minLength": 0, "maxLength": 255}},
    "additionalProperties": False}


def _wrapped(key: str, properties: dict[str, Any], *, required: tuple[str, ...] = (), extra: bool = False,
             **more: Any) -> dict[str, Any]:
    inner = {"type": "object", "properties": properties, "additionalProperties": extra, **more}
    if required:
        inner["required"] = list(required)
    return {"type": "object", "properties": {key: inner}, "required": [key], "additionalProperties": False}


VOLUME_CREATE = _wrapped("volume", {
    "name": NAME, "description": NAME, "display_name": NAME, "display_description": NAME,
    "volume_type": NAME_ZERO_MIN, "metadata": METADATA_OR_NULL, "snapshot_id": OPTIONAL_UUID,
    "source_volid": OPTIONAL_UUID, "consistencygroup_id": OPTIONAL_UUID, "size": SIZE_OR_NULL,
    "availability_zone": {"type": ["string", "null"], "minLength": 1, "maxLength": 255},
    "multiattach": {"oneOf": [{"type": "null"}, BOOLEAN]},
    "image_id": {"type": ["string", "null"], "minLength": 0, "maxLength": 255},
    "imageRef": {"type": ["string", "null"], "minLength": 0, "maxLength": 255},
}, extra=True)  # Cinder ignores other keys before 3.53
VOLUME_CREATE["properties"]["OS-SCH-HNT:scheduler_hints"] = {"type": ["object", "null"]}
VOLUME_UPDATE = _wrapped("volume", {"name": NAME, "description": NAME, "display_name": NAME,
                                    "display_description": NAME, "metadata": METADATA})
METADATA_BODY = {"type": "object", "properties": {"metadata": METADATA}, "required": ["metadata"],
                 "additionalProperties": False}
META_ITEM_BODY = {"type": "object", "properties": {"meta": {**METADATA, "minProperties": 1, "maxProperties": 1}},
                  "required": ["meta"], "additionalProperties": False}
EXTEND = _wrapped("os-extend", {"new_size": SIZE}, required=("new_size",))
UPLOAD_IMAGE = _wrapped("os-volume_upload_image", {
    "image_name": {"type": "string", "minLength": 1, "maxLength": 255}, "force": BOOLEAN,
    "disk_format": {"type": "string", "enum": ["raw", "vmdk", "vdi", "qcow2", "vhd", "vhdx", "ploop"]},
    "container_format": DESCRIPTION}, required=("image_name",))
SET_BOOTABLE = _wrapped("os-set_bootable", {"bootable": BOOLEAN}, required=("bootable",))
SNAPSHOT_CREATE = _wrapped("snapshot", {
    "name": NAME_ZERO_MIN, "display_name": NAME_ZERO_MIN, "description": DESCRIPTION,
    "volume_id": {"oneOf": [{"type": "string", "format": "uuid"}, {"type": "null"}]}, "force": BOOLEAN,
    "metadata": METADATA_OR_NULL}, required=("volume_id",))
SNAPSHOT_UPDATE = _wrapped("snapshot", {
    "name": NAME_ZERO_MIN, "description": DESCRIPTION, "display_name": NAME_ZERO_MIN,
    "display_description": DESCRIPTION},
    anyOf=[{"required": [key]} for key in ("name", "description", "display_name", "display_description")])
TYPE_CREATE = _wrapped("volume_type", {
    "name": {"type": "string", "minLength": 1, "maxLength": 255}, "description": DESCRIPTION,
    "extra_specs": {"type": "object", "patternProperties": {
        SPEC_KEY: {"type": ["string", "null"], "maxLength": 255}}, "additionalProperties": False},
    "os-volume-type-access:is_public": BOOLEAN}, required=("name",))
TYPE_UPDATE = _wrapped("volume_type", {"name": {"type": ["string", "null"], "minLength": 1, "maxLength": 255},
                                       "description": DESCRIPTION, "is_public": BOOLEAN})
EXTRA_SPECS_CREATE = {"type": "object", "properties": {"extra_specs": SPECS_NO_SPACES}, "required": ["extra_specs"],
                      "additionalProperties": False}
EXTRA_SPEC_UPDATE = {**SPECS_NO_SPACES, "minProperties": 1, "maxProperties": 1}
QUOTA_UPDATE = {"type": "object", "properties": {"quota_set": {"type": "object", "minProperties": 1}},
                "required": ["quota_set"], "additionalProperties": False}


def check_names(values: dict[str, Any]) -> dict[str, Any]:
    """Cinder's clean_name_and_description and its remove_white_spaces format checks: strip, then at most 255."""
    out = dict(values)
    for key, entity in (("name", "name"), ("display_name", "name"), ("description", "description"),
                        ("display_description", "description")):
        value = out.get(key)
        if isinstance(value, str):
            out[key] = value = value.strip()
            if len(value) > 255:
                raise InvalidInput(reason=f"{entity} has {len(value)} characters, more than 255.")
    return out


def name_and_description(values: dict[str, Any]) -> dict[str, Any]:
    """The API's name/description (display_* as aliases; the API names win)."""
    out = {}
    for key, alias in (("name", "display_name"), ("description", "display_description")):
        if key in values:
            out[key] = values[key]
        elif alias in values:
            out[key] = values[alias]
    return out


def _integer(value: str, name: str, low: int, high: int) -> int:
    try:
        number = int(value)
    except ValueError:
        raise BadRequest(f"{name} must be an integer") from None
    if number < low:
        raise BadRequest(f"{name} must be >= {low}")
    if number > high:
        raise BadRequest(f"{name} must be <= {high}")
    return number


def paging(query: MultiMapping[str]) -> tuple[str | None, int | None, int]:
    """(marker, limit, offset) with Cinder's messages; limit is capped at 1000 and None when absent."""
    limit = None
    if "limit" in query:
        try:
            limit = int(query.getall("limit")[-1])
        except ValueError:
            raise BadRequest("limit param must be an integer") from None
        if limit < 0:
            raise BadRequest("limit param must be positive")
        limit = min(limit, MAX_LIMIT)
    offset = _integer(query.getall("offset")[-1], "offset", 0, DB_MAX_INT) if "offset" in query else 0
    marker = query.getall("marker")[-1] if "marker" in query else None
    return marker, limit, offset


def sorting(query: MultiMapping[str]) -> tuple[tuple[str, str], ...]:
    """Cinder's get_sort_params: `sort=k1:dir,k2` or the deprecated sort_key/sort_dir (not both)."""
    if "sort" in query and ("sort_key" in query or "sort_dir" in query):
        raise BadRequest("The 'sort_key' and 'sort_dir' parameters are deprecated and cannot be used with the "
                         "'sort' parameter.")
    if "sort" in query:
        keys = []
        for item in query.getall("sort")[-1].strip().split(","):
            key, _sep, direction = item.partition(":")
            keys.append((key.strip(), (direction or "desc").strip()))
        return tuple(keys)
    key = query.getall("sort_key")[-1] if "sort_key" in query else "created_at"
    direction = query.getall("sort_dir")[-1] if "sort_dir" in query else "desc"
    return ((key.strip(), direction.strip()),)


NOT_FILTERS = ("limit", "offset", "marker", "sort", "sort_key", "sort_dir", "with_count")


def filters(query: MultiMapping[str]) -> dict[str, str]:
    return {key: query.getall(key)[-1] for key in query.keys() if key not in NOT_FILTERS}


def strict_bool(value: str, name: str) -> bool:
    """Cinder's get_bool_param."""
    lowered = value.strip().lower()
    if lowered in TRUE_STRINGS:
        return True
    if lowered in FALSE_STRINGS:
        return False
    raise BadRequest(f"Value '{value}' for '{name}' is not a boolean.")
