"""Nova's record as a test oracle: Tempest's per-microversion response schemas, and Nova's api_samples key sets.

(a) `tempest_schema(method, path, action, version)` finds the response schema Tempest validates Nova's answer with
    at a microversion (its service clients pick a module from their `schema_versions_info`; some operations use
    the v2_1 module at every version), and `validate_with_tempest(...)` checks a status and body against it with
    Tempest's own validator and format checkers.
(b) `sample_keys(...)` returns the key structures recorded from Nova's doc/api_samples (tests/data/nova/
    samples.json, written by tests/tools/record_nova.py) at the nearest sample version at or below the requested
    one, and `key_differences(...)` / `assert_keys_like_nova(...)` compare a body with them: keys recursively,
    never values; lists by their first item; maps whose keys are data (metadata, addresses, extra specs, ...) are
    compared as maps only.

Paths may use any parameter names (`/servers/{id}`): operations are matched on the path's shape.
"""
from __future__ import annotations

import importlib
import json
from functools import cache
from pathlib import Path
from typing import Any

from nodecompute.api.nova_operations import ACTION, path_shape, version_key

DATA = Path(__file__).resolve().parent / "data" / "nova"
SCHEMAS = "tempest.lib.api_schema.response.compute"
CLIENTS = "tempest.lib.services.compute"

SERVER, FLAVOR = "/servers/{server_id}", "/flavors/{flavor_id}"
SPECS, IMAGE = FLAVOR + "/os-extra_specs", "/images/{image_id}"
QUOTAS = "/os-quota-sets/{tenant_id}"
HYPERVISOR = "/os-hypervisors/{hypervisor_id}"
GROUP, DEFAULT_RULES = "/os-security-groups/{group_id}", "/os-security-group-default-rules"

# (method, path, action) -> (client module whose schema_versions_info picks the version module, or None for the
# v2_1 module at every version; the v2_1 schema module; attribute), as Tempest's service clients do.
TEMPEST: dict[tuple[str, str, str | None], tuple[str | None, str, str]] = {
    ("GET", "/", None): (None, "versions", "get_one_version"),
    ("GET", "/extensions", None): (None, "extensions", "list_extensions"),
    ("GET", "/limits", None): ("limits_client", "limits", "get_limit"),
    ("GET", QUOTAS, None): ("quotas_client", "quotas", "get_quota_set"),
    ("GET", QUOTAS + "/defaults", None): ("quotas_client", "quotas", "get_quota_set"),
    ("GET", QUOTAS + "/detail", None): ("quotas_client", "quotas", "get_quota_set_details"),
    ("PUT", QUOTAS, None): ("quotas_client", "quotas", "update_quota_set"),
    ("DELETE", QUOTAS, None): ("quotas_client", "quotas", "delete_quota"),
    ("GET", "/os-quota-class-sets/{id}", None): ("quota_classes_client", "quota_classes", "get_quota_class_set"),
    ("PUT", "/os-quota-class-sets/{id}", None): ("quota_classes_client", "quota_classes", "update_quota_class_set"),
    ("GET", "/flavors", None): ("flavors_client", "flavors", "list_flavors"),
    ("GET", "/flavors/detail", None): ("flavors_client", "flavors", "list_flavors_details"),
    ("GET", FLAVOR, None): ("flavors_client", "flavors", "create_update_get_flavor_details"),
    ("POST", "/flavors", None): ("flavors_client", "flavors", "create_update_get_flavor_details"),
    ("PUT", FLAVOR, None): ("flavors_client", "flavors", "create_update_get_flavor_details"),
    ("DELETE", FLAVOR, None): (None, "flavors", "delete_flavor"),
    ("GET", FLAVOR + "/os-flavor-access", None): (None, "flavors_access", "add_remove_list_flavor_access"),
    ("POST", FLAVOR + "/action", "addTenantAccess"): (None, "flavors_access", "add_remove_list_flavor_access"),
    ("POST", FLAVOR + "/action", "removeTenantAccess"): (None, "flavors_access", "add_remove_list_flavor_access"),
    ("GET", SPECS, None): (None, "flavors_extra_specs", "set_get_flavor_extra_specs"),
    ("POST", SPECS, None): (None, "flavors_extra_specs", "set_get_flavor_extra_specs"),
    ("GET", SPECS + "/{key}", None): (None, "flavors_extra_specs", "set_get_flavor_extra_specs_key"),
    ("PUT", SPECS + "/{key}", None): (None, "flavors_extra_specs", "set_get_flavor_extra_specs_key"),
    ("DELETE", SPECS + "/{key}", None): (None, "flavors_extra_specs", "unset_flavor_extra_specs"),
    ("GET", "/os-keypairs", None): ("keypairs_client", "keypairs", "list_keypairs"),
    ("POST", "/os-keypairs", None): ("keypairs_client", "keypairs", "create_keypair"),
    ("GET", "/os-keypairs/{keypair_name}", None): ("keypairs_client", "keypairs", "get_keypair"),
    ("DELETE", "/os-keypairs/{keypair_name}", None): ("keypairs_client", "keypairs", "delete_keypair"),
    ("GET", "/os-availability-zone", None): (None, "availability_zone", "list_availability_zone_list"),
    ("GET", "/os-availability-zone/detail", None): (None, "availability_zone", "list_availability_zone_list_detail"),
    ("GET", "/images", None): (None, "images", "list_images"),
    ("GET", "/images/detail", None): (None, "images", "list_images_details"),
    ("GET", IMAGE, None): (None, "images", "get_image"),
    ("DELETE", IMAGE, None): (None, "images", "delete"),
    ("GET", IMAGE + "/metadata", None): (None, "images", "image_metadata"),
    ("POST", IMAGE + "/metadata", None): (None, "images", "image_metadata"),
    ("PUT", IMAGE + "/metadata", None): (None, "images", "image_metadata"),
    ("GET", IMAGE + "/metadata/{key}", None): (None, "images", "image_meta_item"),
    ("PUT", IMAGE + "/metadata/{key}", None): (None, "images", "image_meta_item"),
    ("DELETE", IMAGE + "/metadata/{key}", None): (None, "images", "delete"),
    ("GET", "/servers", None): ("servers_client", "servers", "list_servers"),
    ("GET", "/servers/detail", None): ("servers_client", "servers", "list_servers_detail"),
    ("POST", "/servers", None): (None, "servers", "create_server"),
    ("POST", "/os-volumes_boot", None): (None, "servers", "create_server"),  # Nova's alias of the create
    ("GET", SERVER, None): ("servers_client", "servers", "get_server"),
    ("PUT", SERVER, None): ("servers_client", "servers", "update_server"),
    ("DELETE", SERVER, None): (None, "servers", "delete_server"),
    ("POST", ACTION, "reboot"): (None, "servers", "server_actions_common_schema"),
    ("POST", ACTION, "os-start"): (None, "servers", "server_actions_common_schema"),
    ("POST", ACTION, "os-stop"): (None, "servers", "server_actions_common_schema"),
    ("POST", ACTION, "os-getConsoleOutput"): (None, "servers", "get_console_output"),
    ("POST", ACTION, "rebuild"): ("servers_client", "servers", "rebuild_server_with_admin_pass"),
    ("POST", ACTION, "rescue"): (None, "servers", "rescue_server_with_admin_pass"),
    # Tempest checks the os-get*Console answers with get_vnc_console's schema ({"console": {type, url}})
    ("POST", ACTION, "os-getVNCConsole"): (None, "servers", "get_vnc_console"),
    ("POST", ACTION, "os-getSerialConsole"): (None, "servers", "get_vnc_console"),
    ("POST", SERVER + "/remote-consoles", None): ("servers_client", "servers", "get_remote_consoles"),
    **{("POST", ACTION, key): (None, "servers", "server_actions_common_schema")
       for key in ("pause", "unpause", "suspend", "resume", "lock", "unlock", "forceDelete", "restore",
                   "trigger_crash_dump", "changePassword", "addSecurityGroup", "removeSecurityGroup", "addFloatingIp",
                   "removeFloatingIp", "unrescue",
                   "os-resetState", "injectNetworkInfo", "migrate", "os-migrateLive", "resize", "revertResize",
                   "shelve", "shelveOffload", "unshelve")},
    ("POST", ACTION, "confirmResize"): (None, "servers", "server_actions_confirm_resize"),
    # Tempest checks force_complete with the common action schema (202, no body); Nova's abort answers the same
    ("POST", SERVER + "/migrations/{migration_id}/action", "force_complete"): (None, "servers",
                                                                             "server_actions_common_schema"),
    ("DELETE", SERVER + "/migrations/{migration_id}", None): (None, "servers", "server_actions_common_schema"),
    ("GET", "/os-hosts", None): (None, "hosts", "list_hosts"),
    ("GET", "/os-hosts/{host_name}", None): (None, "hosts", "get_host_detail"),
    ("PUT", "/os-hosts/{host_name}", None): (None, "hosts", "update_host"),
    ("GET", "/os-hosts/{host_name}/reboot", None): (None, "hosts", "reboot_host"),
    ("GET", "/os-hosts/{host_name}/shutdown", None): (None, "hosts", "shutdown_host"),
    ("GET", "/os-hosts/{host_name}/startup", None): (None, "hosts", "startup_host"),
    ("GET", "/os-instance_usage_audit_log", None): (None, "instance_usage_audit_logs",
                                                    "list_instance_usage_audit_log"),
    ("GET", "/os-instance_usage_audit_log/{before_timestamp}", None): (None, "instance_usage_audit_logs",
                                                                       "get_instance_usage_audit_log"),
    ("POST", ACTION, "createImage"): ("images_client", "images", "create_image"),
    ("POST", ACTION, "createBackup"): ("servers_client", "servers", "create_backup"),
    ("GET", SERVER + "/os-security-groups", None): (None, "security_groups", "list_security_groups"),
    ("GET", SERVER + "/os-instance-actions", None): ("servers_client", "servers", "list_instance_actions"),
    ("GET", SERVER + "/os-instance-actions/{request_id}", None): ("servers_client", "servers",
                                                                   "show_instance_action"),
    ("GET", SERVER + "/metadata", None): (None, "servers", "list_server_metadata"),
    ("PUT", SERVER + "/metadata", None): (None, "servers", "set_server_metadata"),
    ("POST", SERVER + "/metadata", None): (None, "servers", "update_server_metadata"),
    ("GET", SERVER + "/metadata/{key}", None): (None, "servers", "set_show_server_metadata_item"),
    ("PUT", SERVER + "/metadata/{key}", None): (None, "servers", "set_show_server_metadata_item"),
    ("DELETE", SERVER + "/metadata/{key}", None): (None, "servers", "delete_server_metadata_item"),
    ("GET", SERVER + "/tags", None): ("servers_client", "servers", "list_tags"),  # from 2.26
    ("PUT", SERVER + "/tags", None): ("servers_client", "servers", "update_all_tags"),
    ("DELETE", SERVER + "/tags", None): ("servers_client", "servers", "delete_all_tags"),
    ("GET", SERVER + "/tags/{tag}", None): ("servers_client", "servers", "check_tag_existence"),
    ("PUT", SERVER + "/tags/{tag}", None): ("servers_client", "servers", "update_tag"),
    ("DELETE", SERVER + "/tags/{tag}", None): ("servers_client", "servers", "delete_tag"),
    ("GET", SERVER + "/ips", None): (None, "servers", "list_addresses"),
    ("GET", SERVER + "/ips/{network_label}", None): (None, "servers", "list_addresses_by_network"),
    ("GET", "/os-volumes", None): (None, "volumes", "list_volumes"),
    ("GET", "/os-volumes/detail", None): (None, "volumes", "list_volumes"),
    ("POST", "/os-volumes", None): (None, "volumes", "create_get_volume"),
    ("GET", "/os-volumes/{volume_id}", None): (None, "volumes", "create_get_volume"),
    ("DELETE", "/os-volumes/{volume_id}", None): (None, "volumes", "delete_volume"),
    ("GET", "/os-snapshots", None): (None, "snapshots", "list_snapshots"),
    ("GET", "/os-snapshots/detail", None): (None, "snapshots", "list_snapshots"),
    ("POST", "/os-snapshots", None): (None, "snapshots", "create_get_snapshot"),
    ("GET", "/os-snapshots/{snapshot_id}", None): (None, "snapshots", "create_get_snapshot"),
    ("DELETE", "/os-snapshots/{snapshot_id}", None): (None, "snapshots", "delete_snapshot"),
    ("GET", SERVER + "/os-volume_attachments", None): ("servers_client", "servers", "list_volume_attachments"),
    ("POST", SERVER + "/os-volume_attachments", None): ("servers_client", "servers", "attach_volume"),
    ("GET", SERVER + "/os-volume_attachments/{volume_id}", None): ("servers_client", "servers",
                                                                   "show_volume_attachment"),
    ("PUT", SERVER + "/os-volume_attachments/{volume_id}", None): (None, "servers", "update_attached_volume"),
    ("DELETE", SERVER + "/os-volume_attachments/{volume_id}", None): (None, "servers", "detach_volume"),
    ("GET", "/os-hypervisors", None): ("hypervisor_client", "hypervisors", "list_search_hypervisors"),
    ("GET", "/os-hypervisors/detail", None): ("hypervisor_client", "hypervisors", "list_hypervisors_detail"),
    ("GET", "/os-hypervisors/statistics", None): ("hypervisor_client", "hypervisors", "get_hypervisor_statistics"),
    ("GET", HYPERVISOR, None): ("hypervisor_client", "hypervisors", "get_hypervisor"),
    ("GET", HYPERVISOR + "/uptime", None): ("hypervisor_client", "hypervisors", "get_hypervisor_uptime"),
    ("GET", "/os-hypervisors/{pattern}/search", None): ("hypervisor_client", "hypervisors",
                                                        "list_search_hypervisors"),
    ("GET", "/os-hypervisors/{pattern}/servers", None): ("hypervisor_client", "hypervisors",
                                                         "get_hypervisors_servers"),
    ("GET", "/os-services", None): ("services_client", "services", "list_services"),
    ("PUT", "/os-services/enable", None): ("services_client", "services", "enable_disable_service"),
    ("PUT", "/os-services/disable", None): ("services_client", "services", "enable_disable_service"),
    ("PUT", "/os-services/disable-log-reason", None): ("services_client", "services", "disable_log_reason"),
    ("PUT", "/os-services/force-down", None): ("services_client", "services", "update_forced_down"),
    ("PUT", "/os-services/{service_id}", None): ("services_client", "services", "update_service"),
    ("GET", SERVER + "/diagnostics", None): (None, "servers", "show_server_diagnostics"),
    ("GET", SERVER + "/os-server-password", None): (None, "servers", "show_password"),
    ("DELETE", SERVER + "/os-server-password", None): (None, "servers", "server_actions_delete_password"),
    ("GET", "/os-simple-tenant-usage", None): (None, "tenant_usages", "list_tenant_usage"),
    ("GET", "/os-simple-tenant-usage/{tenant_id}", None): (None, "tenant_usages", "get_tenant_usage"),
    ("GET", "/os-aggregates", None): ("aggregates_client", "aggregates", "list_aggregates"),
    ("GET", "/os-migrations", None): ("migrations_client", "migrations", "list_migrations"),
    ("GET", "/os-server-groups", None): ("server_groups_client", "server_groups", "list_server_groups"),
    ("POST", "/os-server-groups", None): ("server_groups_client", "server_groups", "create_show_server_group"),
    ("GET", "/os-server-groups/{id}", None): ("server_groups_client", "server_groups", "create_show_server_group"),
    ("DELETE", "/os-server-groups/{id}", None): ("server_groups_client", "server_groups", "delete_server_group"),
    # Tempest's services client has no delete; Nova answers 204 with no body (schemas/services.py
    # delete_response), which is what Tempest's delete_server schema says too.
    ("DELETE", "/os-services/{service_id}", None): (None, "servers", "delete_server"),
    ("GET", SERVER + "/os-interface", None): ("interfaces_client", "interfaces", "list_interfaces"),
    ("POST", SERVER + "/os-interface", None): ("interfaces_client", "interfaces", "get_create_interfaces"),
    ("GET", SERVER + "/os-interface/{port_id}", None): ("interfaces_client", "interfaces", "get_create_interfaces"),
    ("DELETE", SERVER + "/os-interface/{port_id}", None): ("interfaces_client", "interfaces", "delete_interface"),
    ("GET", "/os-tenant-networks", None): (None, "tenant_networks", "list_tenant_networks"),
    ("GET", "/os-tenant-networks/{network_id}", None): (None, "tenant_networks", "get_tenant_network"),
    ("GET", "/os-floating-ips", None): (None, "floating_ips", "list_floating_ips"),
    ("POST", "/os-floating-ips", None): (None, "floating_ips", "create_get_floating_ip"),
    ("GET", "/os-floating-ips/{floating_ip_id}", None): (None, "floating_ips", "create_get_floating_ip"),
    ("DELETE", "/os-floating-ips/{floating_ip_id}", None): (None, "floating_ips", "add_remove_floating_ip"),
    ("GET", "/os-security-groups", None): (None, "security_groups", "list_security_groups"),
    ("POST", "/os-security-groups", None): (None, "security_groups", "create_security_group"),
    ("GET", GROUP, None): (None, "security_groups", "get_security_group"),
    ("PUT", GROUP, None): (None, "security_groups", "update_security_group"),
    ("DELETE", GROUP, None): (None, "security_groups", "delete_security_group"),
    ("POST", "/os-security-group-rules", None): (None, "security_groups", "create_security_group_rule"),
    ("DELETE", "/os-security-group-rules/{rule_id}", None): (None, "security_groups", "delete_security_group_rule"),
    ("GET", DEFAULT_RULES, None): (None, "security_group_default_rule", "list_security_group_default_rules"),
    ("POST", DEFAULT_RULES, None): (None, "security_group_default_rule", "create_get_security_group_default_rule"),
    ("GET", DEFAULT_RULES + "/{id}", None): (None, "security_group_default_rule",
                                             "create_get_security_group_default_rule"),
    ("DELETE", DEFAULT_RULES + "/{id}", None): (None, "security_group_default_rule",
                                                "delete_security_group_default_rule"),
}
_BY_SHAPE = {(method, path_shape(path), action): value for (method, path, action), value in TEMPEST.items()}

# Maps whose keys are data, not fields (dotted paths; "[]" stands for a list item, "" for the body itself).
DATA_KEYED = {"metadata", "meta", "addresses", "extra_specs", "properties", "scheduler_hints", "hosts",
              "log"}  # the usage audit log, keyed by host
DATA_KEYED_ROOTS = {("GET", path_shape(SPECS + "/{key}")), ("PUT", path_shape(SPECS + "/{key}")),
                    ("GET", path_shape(SERVER + "/ips/{network_label}"))}


def _versions_info(client: str) -> list[dict[str, Any]]:
    module = importlib.import_module(f"{CLIENTS}.{client}")
    found = [value.schema_versions_info for value in vars(module).values()
             if isinstance(value, type) and "schema_versions_info" in vars(value)]
    assert len(found) == 1, client
    return found[0]


# Operations whose Tempest schema stops short of a later Nova change (Tempest has no module for it): validated with
# Tempest up to the version given, with Nova's samples only above it.
TEMPEST_UNTIL = {
    ("GET", "/os-hypervisors/detail", None): "2.87", ("GET", HYPERVISOR, None): "2.87",  # 2.88: `uptime` moves in
    ("POST", SERVER + "/os-volume_attachments", None): "2.100",  # 2.101: 202 and no body
}


def tempest_knows(method: str, path: str, action: str | None, version: str) -> bool:
    """Whether Tempest has a schema for the operation at `version` (TEMPEST_UNTIL)."""
    if (method, path_shape(path), action) not in _BY_SHAPE:
        return False
    until = next((v for k, v in TEMPEST_UNTIL.items() if (k[0], path_shape(k[1]), k[2]) == (
        method, path_shape(path), action)), None)
    return until is None or version_key(version) <= version_key(until)


def tempest_schema(method: str, path: str, action: str | None, version: str) -> dict[str, Any]:
    """Tempest's response schema (`status_code`, `response_body`) for an operation at a microversion. A version
    module that does not carry a schema it left unchanged (Tempest's v2_99 and v2_100 servers modules lack the tag
    schemas) stands for the nearest earlier one that does."""
    assert tempest_knows(method, path, action, version), f"Tempest has no schema of {method} {path} at {version}"
    client, module, attribute = _BY_SHAPE[(method, path_shape(path), action)]
    chosen = importlib.import_module(f"{SCHEMAS}.v2_1.{module}")
    if client is not None:
        for entry in _versions_info(client):
            if version_key(entry["min"] or "2.1") <= version_key(version) and hasattr(entry["schema"], attribute):
                chosen = entry["schema"]
    return getattr(chosen, attribute)


def _created_server_schema(method: str, path: str, action: str | None, version: str,
                           with_admin_pass: bool = False) -> dict[str, Any] | None:
    """Tempest's servers client validates a create answer carrying `adminPass` with its own schema."""
    if (method, path_shape(path), action) not in (("POST", "/servers", None), ("POST", "/os-volumes_boot", None)):
        return None
    module = importlib.import_module(f"{SCHEMAS}.v2_1.servers")
    return module.create_server_with_admin_pass if with_admin_pass else module.create_server


_VALIDATORS: dict[int, tuple[dict[str, Any], Any]] = {}  # id(schema) -> (the schema, kept alive; its validator)


def _tempest_validator(schema: dict[str, Any]) -> Any:
    """Tempest's validator of `schema`, the schema checked and the validator made once (Tempest's schemas are module
    constants), not for every answer as jsonschema.validate does."""
    from tempest.lib.common.jsonschema_validator import FORMAT_CHECKER, JSONSCHEMA_VALIDATOR

    if id(schema) not in _VALIDATORS:
        JSONSCHEMA_VALIDATOR.check_schema(schema)
        _VALIDATORS[id(schema)] = (schema, JSONSCHEMA_VALIDATOR(schema, format_checker=FORMAT_CHECKER))
    return _VALIDATORS[id(schema)][1]


def validate_with_tempest(method: str, path: str, action: str | None, version: str, status: int, body: Any) -> None:
    """Raise AssertionError unless `status` and `body` are what Tempest accepts from Nova at `version`."""
    import jsonschema

    schema = tempest_schema(method, path, action, version)
    if schema is _created_server_schema(method, path, action, version) and "adminPass" in (body or {}).get(
            "server", {}):
        schema = _created_server_schema(method, path, action, version, with_admin_pass=True)
    expected = schema["status_code"]
    assert status in expected, f"{method} {path} {action or ''} at {version}: status {status}, Nova's {expected}"
    if schema.get("response_body"):
        try:  # what jsonschema.validate raises: the best match of the errors
            error = jsonschema.exceptions.best_match(_tempest_validator(schema["response_body"]).iter_errors(body))
            if error is not None:
                raise error
        except jsonschema.ValidationError as error:
            raise AssertionError(f"{method} {path} {action or ''} at {version}: {error.message} "
                                 f"at {list(error.absolute_path)}") from None
    else:
        assert not body, f"{method} {path} at {version}: Nova answers no body, got {body!r}"


def _down_cell(sample: dict[str, Any]) -> bool:
    """Nova's samples of the minimal records a cell that is down gives (2.69): one host has no such cell (the
    ladder marks 2.69 not applicable), so its views are compared with the full samples before them."""
    file = sample.get("file", "")
    return "down-cell" in file or (sample["method"] == "GET" and file.startswith(("servers/v2.69/",
                                                                                  "os-services/v2.69/")))


@cache
def _samples() -> tuple[dict[str, Any], ...]:
    return tuple(s for s in json.loads((DATA / "samples.json").read_text()) if not _down_cell(s))


@cache
def _samples_by_operation() -> dict[tuple[str, str, str, str | None], list[dict[str, Any]]]:
    """_samples() by (base, method, path shape, action), each operation's in their order there."""
    found: dict[tuple[str, str, str, str | None], list[dict[str, Any]]] = {}
    for sample in _samples():
        found.setdefault((sample["base"], sample["method"], path_shape(sample["path"]), sample["action"]),
                         []).append(sample)
    return found


def samples_of(base: str, method: str, path: str, action: str | None) -> list[dict[str, Any]]:
    """Nova's samples of one operation (every version, both sides)."""
    return _samples_by_operation().get((base, method, path_shape(path), action), [])


def sample_keys(method: str, path: str, action: str | None, version: str, side: str = "response",
                base: str = "/v2.1") -> tuple[str, list[Any]]:
    """(sample version, key structures) of Nova's samples at the nearest version at or below `version`."""
    matching = [s for s in samples_of(base, method, path, action)
                if s["side"] == side and version_key(s["version"]) <= version_key(version)]
    if not matching:
        return "", []
    nearest = max(matching, key=lambda s: version_key(s["version"]))["version"]
    return nearest, [s["keys"] for s in matching if s["version"] == nearest]


_JSON_TYPES = {bool: "boolean", int: "integer", float: "number", str: "string", type(None): "null"}


def key_structure(value: Any) -> Any:
    """A body's keys and JSON types, the way tests/tools/record_nova.py writes a sample."""
    if isinstance(value, dict):
        return {key: key_structure(item) for key, item in value.items()}
    if isinstance(value, list):
        return [key_structure(value[0])] if value else []
    return _JSON_TYPES[type(value)]


def _walk(mine: Any, nova: Any, where: str, data_keyed: set[str], found: list[str]) -> None:
    if isinstance(nova, dict) and isinstance(mine, dict):
        bare = where.replace("[]", "")  # "images[].metadata" -> "images.metadata"
        if bare in data_keyed or bare.rsplit(".", 1)[-1] in data_keyed:
            return
        for key in sorted(set(nova) - set(mine)):
            found.append(f"missing {where + '.' if where else ''}{key}")
        for key in sorted(set(mine) - set(nova)):
            found.append(f"extra {where + '.' if where else ''}{key}")
        for key in sorted(set(mine) & set(nova)):
            _walk(mine[key], nova[key], f"{where + '.' if where else ''}{key}", data_keyed, found)
    elif isinstance(nova, list) and isinstance(mine, list) and nova and mine:
        _walk(mine[0], nova[0], where + "[]", data_keyed, found)
    elif isinstance(nova, dict) != isinstance(mine, dict) and "null" not in (nova, mine):
        found.append(f"type of {where}: {'object' if isinstance(mine, dict) else mine} (Nova: "
                     f"{'object' if isinstance(nova, dict) else nova})")


def key_differences(body: Any, nova_keys: Any, data_keyed: set[str] | None = None) -> list[str]:
    """How `body`'s keys differ from one recorded structure: "missing a.b", "extra a.c" (values never compared)."""
    found: list[str] = []
    _walk(key_structure(body), nova_keys, "", DATA_KEYED if data_keyed is None else data_keyed, found)
    return found


def assert_keys_like_nova(body: Any, method: str, path: str, action: str | None, version: str,
                          side: str = "response", optional: tuple[str, ...] = ()) -> None:
    """Pass when `body` has the keys of one of Nova's samples at the nearest version (differences listed in
    `optional`, e.g. "missing server.OS-EXT-SRV-ATTR:host" for a non-admin, are allowed)."""
    sample_version, structures = sample_keys(method, path, action, version, side)
    assert structures, f"no Nova sample for {method} {path} {action or ''} at or below {version}"
    if (method, path_shape(path)) in DATA_KEYED_ROOTS:
        return
    best = min((key_differences(body, keys) for keys in structures), key=len)
    left = [difference for difference in best if difference not in optional]
    assert not left, f"{method} {path} {action or ''} at {version} (Nova's sample {sample_version}): {left}"
