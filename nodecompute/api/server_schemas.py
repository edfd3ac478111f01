"""JSON Schemas of the server API bodies and list query (Nova's schemas/servers.py, server_metadata.py, ...).

Bodies reject unknown properties on /v2.1; on the legacy /v2 endpoint the openstack dialect drops them before the
check (respond.relax), and the create body takes Nova's v2.0 names and null `user_data`.
"""
from __future__ import annotations

import copy
from collections.abc import Callable
from typing import NamedTuple

from nodecompute.api import validation as v
from nodecompute.api.dialect import Versioned
from nodecompute.api.respond import QuerySchema
from nodecompute.api.server_tags import MAX_TAGS, TAG

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
                   "fixed_ip": {"type": "string", "format": "ipv4"}},
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
                "networks": {"type": "array", "items": _network},
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

# Nova's parameter_types.description: printable text, null allowed (no description)
description = {"type": ["string", "null"], "minLength": 0, "maxLength": 255, "pattern": r"^[^\x00-\x1f\x7f]*$"}


def _variant(base: dict, change: Callable[[dict], None]) -> dict:
    """A copy of a create or update schema with `change` applied to its `server` object schema."""
    schema = copy.deepcopy(base)
    change(schema["properties"]["server"])
    return schema


def _add(**properties) -> Callable[[dict], None]:
    return lambda server: server["properties"].update(copy.deepcopy(properties))


def _tag_items(networks: bool = False, bdm: bool = False) -> Callable[[dict], None]:
    """Device tags (2.32, 2.42): on `networks` items and/or `block_device_mapping_v2` items."""
    def change(server: dict) -> None:
        found = server["properties"]
        if networks:
            found["networks"]["items"]["properties"]["tag"] = dict(TAG)
        if bdm:
            found["block_device_mapping_v2"]["items"]["properties"]["tag"] = dict(TAG)
    return change


def _networks_required(server: dict) -> None:
    """2.37: `networks` is required, a list (each `uuid` a UUID) or "auto" or "none"; not oneOf, whose errors
    would lose their field name. The item `tag` of 2.32 is lost (until 2.42)."""
    items = copy.deepcopy(_network)
    items["properties"]["uuid"] = {"type": "string", "format": "uuid"}
    server["properties"]["networks"] = {"type": ["string", "array"], "items": items,
                                        "if": {"type": "string"}, "then": {"enum": ["auto", "none"]}}
    server["required"] = [*server["required"], "networks"]


# The create body at each microversion that changed it (Nova's create_v219 ... create_v252).
create_v219 = _variant(create, _add(description=description))
create_v232 = _variant(create_v219, _tag_items(networks=True, bdm=True))
create_v233 = _variant(create_v219, _tag_items(networks=True))  # Nova's bug: the bdm tag only at 2.32
create_v237 = _variant(create_v233, _networks_required)
create_v242 = _variant(create_v237, _tag_items(networks=True, bdm=True))
create_v252 = _variant(create_v242, _add(tags={"type": "array", "items": TAG, "maxItems": MAX_TAGS}))
# Nova's parameter_types.trusted_certs, volume_type and fqdn
TRUSTED_CERTS = {"type": ["array", "null"], "minItems": 1, "maxItems": 50, "uniqueItems": True,
                 "items": {"type": "string", "minLength": 1}}
VOLUME_TYPE = {"type": ["string", "null"], "minLength": 0, "maxLength": 255}
FQDN = {"type": "string", "pattern": "^[a-zA-Z0-9-._]*$", "minLength": 1, "maxLength": 255}


def _bdm_items(**properties) -> Callable[[dict], None]:
    return lambda server: server["properties"]["block_device_mapping_v2"]["items"]["properties"].update(properties)


create_v257 = _variant(create_v252, lambda server: server["properties"].pop("personality"))
create_v263 = _variant(create_v257, _add(trusted_image_certificates=TRUSTED_CERTS))
create_v267 = _variant(create_v263, _bdm_items(volume_type=VOLUME_TYPE))
create_v274 = _variant(create_v267, _add(host=FQDN, hypervisor_hostname=FQDN))
# 2.90: a `hostname` at create and update (Nova's parameter_types.hostname); 2.94: a FQDN
HOSTNAME = {"type": "string", "pattern": "^[a-zA-Z0-9]+[a-zA-Z0-9-]*[a-zA-Z0-9]+$", "minLength": 2, "maxLength": 63}
create_v290 = _variant(create_v274, _add(hostname=HOSTNAME))
create_v294 = _variant(create_v274, _add(hostname=FQDN))

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
update_v219 = _variant(update, _add(description=description))
update_v290 = _variant(update_v219, _add(hostname=HOSTNAME))
update_v294 = _variant(update_v219, _add(hostname=FQDN))
NAME_OR_NONE = {"type": ["string", "null"], "minLength": 1, "maxLength": 255}  # Nova's parameter_types.name_or_none
update_v2104 = _variant(update_v294, _add(pinned_availability_zone=NAME_OR_NONE))

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
    "deleted_at", "disable_terminate", "ephemeral_gb", "ephemeral_key_uuid", "id", "key_data", "launched_on", "locked", "memory_mb",
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
# 2.75: every parameter Nova's index_query_v275 names, and nothing else (400); Nova's ignored sort keys are gone.
NOVA_IGNORED_SORT_KEYS = (
    "architecture", "cell_name", "cleaned", "default_ephemeral_device", "default_swap_device", "deleted",
    "deleted_at", "disable_terminate", "ephemeral_gb", "ephemeral_key_uuid", "id", "key_data", "launched_on",
    "memory_mb", "os_type", "reservation_id", "root_gb", "shutdown_terminate", "user_data", "vcpus", "vm_mode",
)
_NOVA_QUERY_NAMES = (
    "user_id", "project_id", "tenant_id", "launch_index", "image_ref", "image", "kernel_id", "ramdisk_id",
    "hostname", "key_name", "power_state", "vm_state", "task_state", "host", "node", "flavor", "reservation_id",
    "launched_at", "terminated_at", "availability_zone", "name", "display_name", "description",
    "display_description", "locked_by", "uuid", "root_device_name", "config_drive", "access_ip_v4", "access_ip_v6",
    "auto_disk_config", "progress", "sort_key", "sort_dir", "all_tenants", "soft_deleted", "deleted", "status",
    "changes-since", "ip", "ip6", "created_at", "block_device_mapping", "services", "metadata", "system_metadata",
    "info_cache", "security_groups", "pci_devices", "limit", "marker", "tags", "tags-any", "not-tags",
    "not-tags-any", "changes-before", "locked",
)
list_query_v275 = {
    "type": "object",
    "properties": {**{name: {"type": "string"} for name in _NOVA_QUERY_NAMES}, **list_query["properties"]},
    "additionalProperties": False,
}
list_query_multi_v275 = {**list_query_multi, "sort_key": {"type": "string", "enum": sorted(
    {*SORT_KEYS, *IGNORED_SORT_KEYS} - set(NOVA_IGNORED_SORT_KEYS))}}


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

# The openstack dialect's request schemas by operation: /v2 (2.0) takes the first, /v2.1 the others.
BODIES = {
    "#203": Versioned(_legacy_create(), ((2, 1), create), ((2, 19), create_v219), ((2, 32), create_v232),
                      ((2, 33), create_v233), ((2, 37), create_v237), ((2, 42), create_v242),
                      ((2, 52), create_v252), ((2, 57), create_v257), ((2, 63), create_v263),
                      ((2, 67), create_v267), ((2, 74), create_v274), ((2, 90), create_v290),
                      ((2, 94), create_v294)),
    "#206": Versioned(update, ((2, 19), update_v219), ((2, 90), update_v290), ((2, 94), update_v294),
                      ((2, 104), update_v2104)),
    "#302": reboot, "#309": start, "#310": stop, "#1603": console_output,
    "#313": _any_value("pause"), "#314": _any_value("unpause"), "#315": _any_value("suspend"),
    "#316": _any_value("resume"), "#317": Versioned(_any_value("lock"), ((2, 73), lock_v273)),
    "#318": _any_value("unlock"), "#325": _any_value("forceDelete"), "#326": _any_value("restore"),
    "#329": _any_value("trigger_crash_dump", {"type": "null"}),
    "#402": metadata_set, "#403": metadata_set, "#405": metadata_item,
}
_LIST_QUERY = Versioned(QuerySchema(list_query, list_query_multi),
                        ((2, 75), QuerySchema(list_query_v275, list_query_multi_v275)))
BODIES["#204"] = BODIES["#203"]  # os-volumes_boot (up to 2.102) is Nova's alias of the create
QUERIES = {"#201": _LIST_QUERY, "#202": _LIST_QUERY}


class ListRules(NamedTuple):
    """How the server lists read their query at a microversion (Nova's _get_server_search_options and
    _get_servers): the filters a non-admin may use beside the ones everybody has, whether the tag filters apply,
    and whether a status no server can have is refused (400) or lists nothing."""

    user_filters: tuple[str, ...] = ()
    tag_filters: bool = False
    strict_status: bool = False
    sort_locked: bool = False  # 2.73: `locked` sorts instead of being ignored


class CreateRules(NamedTuple):
    """Create at a microversion: before 2.19 a server's description is its name (Nova's create)."""

    description_is_name: bool


TAG_FILTERS = ("tags", "tags-any", "not-tags", "not-tags-any")
_RULES_226 = ListRules(("ip6", *TAG_FILTERS), tag_filters=True)
_RULES_238 = _RULES_226._replace(strict_status=True)
_RULES_266 = _RULES_238._replace(user_filters=(*_RULES_238.user_filters, "changes-before"))
_RULES_273 = _RULES_266._replace(user_filters=(*_RULES_266.user_filters, "locked"), sort_locked=True)
# 2.83: filters a non-admin may use (admins at every version): exact ones, and regexes on a column's text
EXACT_FILTERS = ("user_id", "vm_state", "task_state")
PATTERN_FILTERS_283 = ("availability_zone", "config_drive", "key_name", "created_at", "launched_at",
                       "terminated_at", "power_state", "progress")
PATTERN_FILTERS = (*PATTERN_FILTERS_283, "hostname")  # hostname: admins at every version, everyone from 2.90
_RULES_283 = _RULES_273._replace(user_filters=(*_RULES_273.user_filters, *EXACT_FILTERS, *PATTERN_FILTERS_283))
_RULES_290 = _RULES_283._replace(user_filters=(*_RULES_283.user_filters, "hostname"))
_LIST_RULES = Versioned(ListRules(), ((2, 5), ListRules(("ip6",))), ((2, 26), _RULES_226), ((2, 38), _RULES_238),
                        ((2, 66), _RULES_266), ((2, 73), _RULES_273), ((2, 83), _RULES_283),
                        ((2, 90), _RULES_290))
RULES = {"#201": _LIST_RULES, "#202": _LIST_RULES,
         "#203": Versioned(CreateRules(description_is_name=True), ((2, 19), CreateRules(description_is_name=False)))}
RULES["#204"] = RULES["#203"]  # os-volumes_boot (up to 2.102) is Nova's alias of the create
