"""The bodies of `POST /v1/imageimport` and `POST /v1/imageexport`, checked into requests or refused with K5's codes.

Import (doc §1.6.3.1): a parameter absent or null is "not specified"; the missing ones are reported first, in the
table's order, then bad values (codes and wording: image_job_errors). `conversion` must be true (the JSON boolean or
the string "true"), `disk_format` raw and `container_format` bare when given, `os_type` one of K5's keywords in any
case (the document's own example says "RHEL" for `Rhel`), `password` Base64. `location` and `ovf_location` are
object paths of the caller's project (another project's AUTH_: 403 40301). The .ovf is checked and echoed but not
read: qemu-img converts the vmdk alone. Keys the document does not name are ignored. A body that is not a JSON
object counts as an empty one (the import table has no code for it).

Export (doc §1.6.3.4): raw body bytes (or an already parsed object): none -> 40007, not a JSON object -> 40008.
"""
from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass

from nodecompute.domain import errors
from nodecompute.compute.image_job_errors import ExportCode, ImportCode, K5JobError
from nodecompute.compute.image_jobs import ImportRequest
from nodecompute.compute.image_patch import check_property_names
from nodecompute.storage.object_paths import (BadObjectPath, ForeignProject, ObjectPath, parse_container_path,
                                              parse_object_path)

UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
OS_TYPES = ("win2008SE", "win2008EE", "win2008R2SE", "win2008R2EE", "win2012SE", "win2012R2SE", "Rhel", "centos",
            "ubuntu")
DIGITS = re.compile(r"[0-9]{1,12}")
PROPERTY_PREFIX = "property-"
NAME_MAX = 255
REQUIRED = (("name", ImportCode.NAME_MISSING), ("location", ImportCode.LOCATION_MISSING),
            ("id", ImportCode.ID_MISSING), ("conversion", ImportCode.CONVERSION_MISSING),
            ("os_type", ImportCode.OS_TYPE_MISSING), ("user_name", ImportCode.USER_NAME_MISSING),
            ("password", ImportCode.PASSWORD_MISSING), ("domain_name", ImportCode.DOMAIN_NAME_MISSING))


@dataclass(frozen=True)
class ExportRequest:
    image_id: str
    storage_container: str  # as sent (echoed by status)
    container: ObjectPath


def _short_text(value: object) -> bool:
    return isinstance(value, str) and 0 < len(value) <= NAME_MAX


def _object_path(value: object, project_id: str, bad: ImportCode) -> str:
    try:
        parse_object_path(value, project_id)
    except ForeignProject:
        raise K5JobError(ImportCode.FORBIDDEN) from None
    except BadObjectPath:
        raise K5JobError(bad) from None
    return value  # type: ignore[return-value]  # parse_object_path accepted it, so it is a str


def _count(body: dict, key: str) -> int:
    value = body.get(key)
    if value is None:
        return 0
    if isinstance(value, str) and DIGITS.fullmatch(value):
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise K5JobError(ImportCode.PARAMETER_INVALID, name=key)
    return value


def _fixed(body: dict, key: str, allowed: str) -> str:
    value = body.get(key)
    if value is not None and value != allowed:
        raise K5JobError(ImportCode.PARAMETER_INVALID, name=key)
    return allowed


def _properties(body: dict) -> dict[str, str]:
    properties = {}
    for key, value in body.items():
        if not key.startswith(PROPERTY_PREFIX):
            continue
        name = key[len(PROPERTY_PREFIX):]
        if not _short_text(name) or not isinstance(value, str) or len(value) > NAME_MAX:
            raise K5JobError(ImportCode.PARAMETER_INVALID, name=key)
        properties[name] = value
    try:
        check_property_names(properties)
    except errors.ComputeError:
        raise K5JobError(ImportCode.PARAMETER_INVALID, name="property-*") from None
    return properties


def _credentials(body: dict) -> tuple[str, str, str]:
    user_name, password, domain_name = body["user_name"], body["password"], body["domain_name"]
    if not (_short_text(user_name) and _short_text(domain_name) and isinstance(password, str) and password):
        raise K5JobError(ImportCode.CREDENTIALS_INVALID)
    try:
        base64.b64decode(password, validate=True)
    except (binascii.Error, ValueError):
        raise K5JobError(ImportCode.CREDENTIALS_INVALID) from None
    return user_name, password, domain_name


def _os_type(value: object) -> str:
    if not isinstance(value, str) or value.lower() not in {t.lower() for t in OS_TYPES}:
        raise K5JobError(ImportCode.OS_TYPE_INVALID)
    return value


def parse_import_request(body: object, project_id: str) -> ImportRequest:
    """The checked request of `project_id`'s caller, or K5JobError."""
    body = body if isinstance(body, dict) else {}
    for key, missing in REQUIRED:
        if body.get(key) is None:
            raise K5JobError(missing)
    if not _short_text(body["name"]):
        raise K5JobError(ImportCode.NAME_INVALID)
    location = _object_path(body["location"], project_id, ImportCode.LOCATION_INVALID)
    if not isinstance(body["id"], str) or not UUID.fullmatch(body["id"]):
        raise K5JobError(ImportCode.ID_INVALID)
    if body["conversion"] is not True and str(body["conversion"]).lower() != "true":
        raise K5JobError(ImportCode.CONVERSION_INVALID)
    os_type = _os_type(body["os_type"])
    user_name, password, domain_name = _credentials(body)
    ovf = body.get("ovf_location")
    checksum = body.get("checksum")
    if checksum is not None and not isinstance(checksum, str):
        raise K5JobError(ImportCode.PARAMETER_INVALID, name="checksum")
    return ImportRequest(
        name=body["name"], location=location, image_id=body["id"], os_type=os_type, user_name=user_name,
        password=password, domain_name=domain_name, disk_format=_fixed(body, "disk_format", "raw"),
        container_format=_fixed(body, "container_format", "bare"), checksum=checksum,
        min_ram=_count(body, "min_ram"), min_disk=_count(body, "min_disk"), properties=_properties(body),
        ovf_location=None if ovf is None else _object_path(ovf, project_id, ImportCode.OVF_LOCATION_INVALID),
    )


def _export_body(raw: object) -> dict:
    if isinstance(raw, dict):
        return raw
    if raw is None or (isinstance(raw, (bytes, str)) and not raw.strip()):
        raise K5JobError(ExportCode.NO_BODY)
    try:
        body = json.loads(raw) if isinstance(raw, (bytes, str)) else raw
    except (ValueError, UnicodeDecodeError):
        raise K5JobError(ExportCode.NOT_JSON) from None
    if not isinstance(body, dict):
        raise K5JobError(ExportCode.NOT_JSON)
    return body


def parse_export_request(raw: object, project_id: str) -> ExportRequest:
    """The checked export request of `project_id`'s caller, or K5JobError."""
    body = _export_body(raw)
    image_id, container = body.get("image_id"), body.get("storage_container")
    if image_id is None:
        raise K5JobError(ExportCode.IMAGE_ID_MISSING)
    if not isinstance(image_id, str) or not UUID.fullmatch(image_id):
        raise K5JobError(ExportCode.IMAGE_ID_INVALID)
    if container is None:
        raise K5JobError(ExportCode.CONTAINER_MISSING)
    try:
        ref = parse_container_path(container, project_id)
    except ForeignProject:
        raise K5JobError(ExportCode.FORBIDDEN) from None
    except BadObjectPath:
        raise K5JobError(ExportCode.CONTAINER_INVALID) from None
    return ExportRequest(image_id=image_id, storage_container=container, container=ref)
