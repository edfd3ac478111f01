"""JSON Schemas of the server API bodies and list query (Nova's schemas/servers.py, server_metadata.py, ...).

Bodies reject unknown properties on /v2.1; on the legacy /v2 endpoint the openstack dialect drops them before the
check (respond.relax), and the create body takes Nova's v2.0 names and null `user_data`.
"""
from __future__ import annotations

import copy

from nodecompute.api import validation as v
from nodecompute.api.dialect import Versioned
from nodecompute.api.respond import QuerySchema

ipv4 = {"type": "string", "format": "ipv4"}
ipv6 = {"type": "string", "format": "ipv6"}
disk_config = {"type": "string", "enum": ["AUTO", "MANUAL"]}
hints = {"type": "object"}
# /v2 names: any printable text with at least one non-space character.
legacy_name = {"type": "string", "minLength": 1, "maxLength": 255,
               "pattern": r"^(?=[^\x00-\x1f\x7f]*[^\x00-\x20\x7f])[^\x00-\x1f\x7f]*$"}

_network = {
    "type": "object",
    "properties": {"uuid": {"type": "string"}, "port": {"type": ["string", "null"]},
                   "fixed_ip": {"type": "string", "format": "ipv4"}, "tag": {"type": "string"}},
    "additionalProperties": False,
}
_personality_file = {  # Nova's schema sets no path length: the path limit is the injected_file_path_bytes quota (403)
    "type": "object",
    "properties": {"path": {"type": "string", "minLength": 1}, "contents": {"type": "string"}},
    "required": ["path", "contents"],
    "additionalProperties": False,
}
# Block device mappings as Nova's schemas/servers.py types them (only the image root disk is then accepted, by
# servers.py; the types keep every other value from reaching it as the wrong kind of thing).
uuid = {"type": "string", "format": "uuid"}
_legacy_bdm_properties = {
    "virtual_name": {"type": "string", "maxLength": 255},
    "volume_id": uuid,
    "snapshot_id": uuid,
    "volume_size": {"type": ["integer", "string"], "pattern": "^[0-9]+$", "minimum": 1, "maximum": 0x7FFFFFFF},
    "device_name": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[a-zA-Z0-9._/-]*$"},
    "delete_on_termination": v.boolean,
    "no_device": {},
    "connection_info": {"type": "string", "maxLength": 16777215},
}
_legacy_bdm = {"type": "object", "properties": _legacy_bdm_properties, "additionalProperties": False}
_bdm_v2 = {
    "type": "object",
    "properties": {
        **_legacy_bdm_properties,
        "source_type": {"type": "string", "enum": ["volume", "image", "snapshot", "blank"]},
        "uuid": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[a-zA-Z0-9._-]*$"},
        "image_id": uuid,
        "destination_type": {"type": "string", "enum": ["local", "volume"]},
        "guest_format": {"type": "string", "maxLength": 255},
        "device_type": {"type": "string", "maxLength": 255},
        "disk_bus": {"type": "string", "maxLength": 255},
        "boot_index": {"type": ["integer", "string", "null"], "pattern": "^-?[0-9]+$"},
    },
    "additionalProperties": False,
}
_security_group = {
    "type": "object",
    "properties": {"name": {"type": "string", "minLength": 1, "maxLength": 255}},
    "additionalProperties": False,
}

create = {
    "type": "object",
    "properties": {
        "server": {
            "type": "object",
            "properties": {
                "name": v.name,
                "imageRef": {"type": "string", "maxLength": 2048},
                "flavorRef": {"type": ["string", "integer"], "minLength": 1},
                "adminPass": {"type": "string"},
                "metadata": v.metadata,
                # "auto"/"none" (2.37 values the CLI sends at any version) or a list; not oneOf, whose errors
                # would lose their field name.
                "networks": {"type": ["string", "array"], "items": _network,
                             "if": {"type": "string"}, "then": {"enum": ["auto", "none"]}},
                "OS-DCF:diskConfig": disk_config,
                "accessIPv4": ipv4,
                "accessIPv6": ipv6,
                "personality": {"type": "array", "items": _personality_file},
                "availability_zone": v.name,
                "block_device_mapping": {"type": "array", "items": _legacy_bdm},
                "block_device_mapping_v2": {"type": "array", "items": _bdm_v2},
                "config_drive": v.boolean,
                "key_name": v.name,
                "min_count": v.positive_integer,
                "max_count": v.positive_integer,
                "return_reservation_id": v.boolean,
                "security_groups": {"type": "array", "items": _security_group},
                "user_data": {"type": "string", "maxLength": 65535},
            },
            "required": ["name", "imageRef", "flavorRef"],
            "additionalProperties": False,
        },
        "os:scheduler_hints": hints,
        "OS-SCH-HNT:scheduler_hints": hints,
    },
    "required": ["server"],
    "additionalProperties": False,
}

update = {
    "type": "object",
    "properties": {
        "server": {
            "type": "object",
            "properties": {"name": v.name, "accessIPv4": ipv4, "accessIPv6": ipv6, "OS-DCF:diskConfig": disk_config},
            "additionalProperties": False,
        },
    },
    "required": ["server"],
    "additionalProperties": False,
}

reboot = {
    "type": "object",
    "properties": {
        "reboot": {
            "type": "object",
            "properties": {"type": {"type": "string", "enum": ["HARD", "Hard", "hard", "SOFT", "Soft", "soft"]}},
            "required": ["type"],
            "additionalProperties": False,
        },
    },
    "required": ["reboot"],
    "additionalProperties": False,
}

console_output = {
    "type": "object",
    "properties": {
        "os-getConsoleOutput": {
            "type": "object",
            "properties": {
                # Lines from the end; -1 and null mean all of it.
                "length": {"type": ["integer", "string", "null"], "pattern": "^(-1|[0-9]+)$", "minimum": -1},
            },
            "additionalProperties": False,
        },
    },
    "required": ["os-getConsoleOutput"],
    "additionalProperties": False,
}

metadata_set = {
    "type": "object",
    "properties": {"metadata": v.metadata},
    "required": ["metadata"],
    "additionalProperties": False,
}

metadata_item = {
    "type": "object",
    "properties": {"meta": {**v.metadata, "minProperties": 1, "maxProperties": 1}},
    "required": ["meta"],
    "additionalProperties": False,
}

# List query (values are strings). Unknown keys are allowed: a non-admin's are dropped, as Nova does at 2.1.
SORT_DIRS = ("asc", "desc")
# Nova's VALID_SORT_KEYS that the store sorts on (it maps Nova's names to its columns).
SORT_KEYS = (
    "created_at", "updated_at", "display_name", "uuid", "vm_state", "task_state", "power_state", "launched_at",
    "terminated_at", "hostname", "key_name", "availability_zone", "instance_type_id", "image_ref", "project_id",
    "user_id", "host", "node", "launch_index", "progress", "config_drive",
)
# Valid keys Nova drops without sorting (SERVER_LIST_IGNORE_SORT_KEY), plus the valid ones no column here holds.
IGNORED_SORT_KEYS = (
    "architecture", "cell_name", "cleaned", "default_ephemeral_device", "default_swap_device", "deleted",
    "deleted_at", "ephemeral_gb", "ephemeral_key_uuid", "id", "key_data", "launched_on", "locked", "memory_mb",
    "os_type", "reservation_id", "root_gb", "shutdown_terminate", "user_data", "vcpus", "vm_mode",
    "access_ip_v4", "access_ip_v6", "auto_disk_config", "display_description", "kernel_id", "locked_by",
    "ramdisk_id", "root_device_name",
)
ADMIN_ONLY_SORT_KEYS = ("host", "node")

list_query = {
    "type": "object",
    "properties": {
        "limit": {"type": "string", "pattern": "^[0-9]+$"},
        "marker": {"type": "string"},
        "name": {"type": "string"},
        "image": {"type": "string"},
        "flavor": {"type": "string"},
        "reservation_id": {"type": "string"},
        "changes-since": {"type": "string"},
        "all_tenants": {"type": "string", "pattern": r"(?i)^(|true|false|1|0|t|f|yes|no|on|off|y|n)$"},
    },
}
# Repeatable query parameters, each value checked on its own.
list_query_multi = {
    "sort_key": {"type": "string", "enum": sorted([*SORT_KEYS, *IGNORED_SORT_KEYS])},
    "sort_dir": {"type": "string", "enum": list(SORT_DIRS)},
    "status": {"type": "string"},
}


def _legacy_create() -> dict:
    """Legacy /v2 create: names may carry leading/trailing spaces and `user_data` may be null (Nova's create_v20);
    unknown properties are dropped by the dialect's legacy validation (respond.relax)."""
    schema = copy.deepcopy(create)
    server = schema["properties"]["server"]["properties"]
    for field in ("name", "availability_zone", "key_name"):
        server[field] = legacy_name
    server["user_data"] = {"type": ["string", "null"], "maxLength": 65535}
    return schema


# Any value: Nova's start and stop actions take `{"os-start": null}` and check nothing inside.
start = {"type": "object", "properties": {"os-start": {}}, "required": ["os-start"], "additionalProperties": False}
stop = {"type": "object", "properties": {"os-stop": {}}, "required": ["os-stop"], "additionalProperties": False}



def _any_value(key: str, value: dict | None = None) -> dict:
    """An action body of one key whose value Nova does not look into ({} any value; trigger_crash_dump: null)."""
    return {"type": "object", "properties": {key: value if value is not None else {}}, "required": [key],
            "additionalProperties": False}


lock_v273 = _any_value("lock", {
    "type": ["object", "null"],
    "properties": {"locked_reason": {"type": "string", "minLength": 1, "maxLength": 255}},
    "additionalProperties": False,
})

# The openstack dialect's request schemas by operation: /v2 (2.0) takes the first, /v2.1 the second.
BODIES = {
    "#203": Versioned(_legacy_create(), ((2, 1), create)), "#206": update,
    "#302": reboot, "#309": start, "#310": stop, "#1603": console_output,
    "#313": _any_value("pause"), "#314": _any_value("unpause"), "#315": _any_value("suspend"),
    "#316": _any_value("resume"), "#317": Versioned(_any_value("lock"), ((2, 73), lock_v273)),
    "#318": _any_value("unlock"), "#325": _any_value("forceDelete"), "#326": _any_value("restore"),
    "#329": _any_value("trigger_crash_dump", {"type": "null"}),
    "#402": metadata_set, "#403": metadata_set, "#405": metadata_item,
}
QUERIES = {"#201": QuerySchema(list_query, list_query_multi), "#202": QuerySchema(list_query, list_query_multi)}
