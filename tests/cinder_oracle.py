"""Cinder's record as a test oracle for the /volume face: Tempest's block storage response schemas
(tempest/lib/api_schema/response/volume, written against Cinder's answers at its base microversion) and the key sets
of Cinder's api-ref samples (facts recorded from github:openstack/cinder api-ref/source/v3/samples; the samples are
taken at Cinder's newest microversion, so keys added after 3.0 are listed apart and never expected here).

`validate_cinder(method, path, status, body)` checks a status and body with Tempest's validator and format checkers;
`cinder_sample_keys(name)` gives a sample's key structure for tests/oracle.py's key comparison.
"""
from __future__ import annotations

import importlib
from typing import Any

from nodecompute.api.nova_operations import path_shape

SCHEMAS = "tempest.lib.api_schema.response.volume"
VOLUME, SNAPSHOT, TYPE = "/volumes/{volume_id}", "/snapshots/{snapshot_id}", "/types/{type_id}"
QUOTAS = "/os-quota-sets/{project_id}"

# (method, path relative to /v3/{project_id}) -> (schema module, attribute)
TEMPEST: dict[tuple[str, str], tuple[str, str]] = {
    ("GET", "/volumes"): ("volumes", "list_volumes_no_detail"),
    ("GET", "/volumes/detail"): ("volumes", "list_volumes_with_detail"),
    ("POST", "/volumes"): ("volumes", "create_volume"),
    ("GET", VOLUME): ("volumes", "show_volume"),
    ("PUT", VOLUME): ("volumes", "update_volume"),
    ("DELETE", VOLUME): ("volumes", "delete_volume"),
    ("GET", VOLUME + "/metadata"): ("volumes", "show_volume_metadata"),
    ("POST", VOLUME + "/metadata"): ("volumes", "create_volume_metadata"),
    ("PUT", VOLUME + "/metadata"): ("volumes", "update_volume_metadata"),
    ("GET", VOLUME + "/metadata/{key}"): ("volumes", "show_volume_metadata_item"),
    ("PUT", VOLUME + "/metadata/{key}"): ("volumes", "update_volume_metadata_item"),
    ("GET", "/snapshots"): ("snapshots", "list_snapshots_no_detail"),
    ("GET", "/snapshots/detail"): ("snapshots", "list_snapshots_with_detail"),
    ("POST", "/snapshots"): ("snapshots", "create_snapshot"),
    ("GET", SNAPSHOT): ("snapshots", "show_snapshot"),
    ("PUT", SNAPSHOT): ("snapshots", "update_snapshot"),
    ("DELETE", SNAPSHOT): ("snapshots", "delete_snapshot"),
    ("GET", "/types"): ("volume_types", "list_volume_types"),
    ("POST", "/types"): ("volume_types", "create_volume_type"),
    ("GET", TYPE): ("volume_types", "show_volume_type"),
    ("PUT", TYPE): ("volume_types", "update_volume_types"),
    ("DELETE", TYPE): ("volume_types", "delete_volume_type"),
    ("GET", TYPE + "/extra_specs"): ("volume_types", "list_volume_types_extra_specs"),
    ("POST", TYPE + "/extra_specs"): ("volume_types", "create_volume_types_extra_specs"),
    ("GET", TYPE + "/extra_specs/{key}"): ("volume_types", "show_volume_types_extra_specs"),
    ("PUT", TYPE + "/extra_specs/{key}"): ("volume_types", "update_volume_type_extra_specs"),
    ("DELETE", TYPE + "/extra_specs/{key}"): ("volume_types", "delete_volume_types_extra_specs"),
    ("GET", "/limits"): ("limits", "show_limits"),
    ("GET", QUOTAS): ("quotas", "show_quota_set"),
    ("GET", QUOTAS + "/defaults"): ("quotas", "show_quota_set"),
    ("PUT", QUOTAS): ("quotas", "update_quota_set"),
    ("DELETE", QUOTAS): ("quotas", "delete_quota_set"),
}
_BY_SHAPE = {(method, path_shape(path)): value for (method, path), value in TEMPEST.items()}

# Key structures of Cinder's api-ref samples (api-ref/source/v3/samples), less the keys added after 3.0.
SAMPLES: dict[str, Any] = {
    "volume-create-response": {"volume": {
        "attachments": [], "availability_zone": "string", "bootable": "string", "consistencygroup_id": "null",
        "created_at": "string", "description": "null", "encrypted": "boolean", "id": "string",
        "links": [{"href": "string", "rel": "string"}], "metadata": {}, "migration_status": "null",
        "multiattach": "boolean", "name": "null", "replication_status": "null", "size": "integer",
        "snapshot_id": "null", "source_volid": "null", "status": "string", "updated_at": "null",
        "user_id": "string", "volume_type": "string"}},
    "volume-show-response": {"volume": {
        "attachments": [], "availability_zone": "string", "bootable": "string", "consistencygroup_id": "null",
        "created_at": "string", "description": "null", "encrypted": "boolean", "id": "string",
        "links": [{"href": "string", "rel": "string"}], "metadata": {}, "migration_status": "null",
        "multiattach": "boolean", "name": "null", "os-vol-host-attr:host": "null",
        "os-vol-mig-status-attr:migstat": "null", "os-vol-mig-status-attr:name_id": "null",
        "os-vol-tenant-attr:tenant_id": "string", "replication_status": "null", "size": "integer",
        "snapshot_id": "null", "source_volid": "null", "status": "string", "updated_at": "null",
        "user_id": "string", "volume_type": "string"}},
    "volumes-list-response": {"volumes": [{"id": "string", "links": [{"href": "string", "rel": "string"}],
                                           "name": "null"}]},
    "snapshot-create-response": {"snapshot": {
        "created_at": "string", "description": "string", "id": "string", "metadata": {}, "name": "string",
        "size": "integer", "status": "string", "updated_at": "null", "volume_id": "string"}},
    "snapshot-show-response": {"snapshot": {
        "created_at": "string", "description": "string", "id": "string", "metadata": {}, "name": "string",
        "os-extended-snapshot-attributes:progress": "string", "os-extended-snapshot-attributes:project_id": "string",
        "size": "integer", "status": "string", "updated_at": "null", "volume_id": "string"}},
    "volume-type-show-response": {"volume_type": {
        "id": "string", "qos_specs_id": "null", "name": "string", "description": "string",
        "os-volume-type-access:is_public": "boolean", "is_public": "boolean", "extra_specs": {}}},
    "quotas-show-response": {"quota_set": {
        "backup_gigabytes": "integer", "backups": "integer", "gigabytes": "integer",
        "gigabytes___DEFAULT__": "integer", "groups": "integer", "id": "string", "per_volume_gigabytes": "integer",
        "snapshots": "integer", "snapshots___DEFAULT__": "integer", "volumes": "integer",
        "volumes___DEFAULT__": "integer"}},
    "limits-show-response": {"limits": {"rate": [], "absolute": {
        "totalSnapshotsUsed": "integer", "maxTotalBackups": "integer", "maxTotalVolumeGigabytes": "integer",
        "maxTotalSnapshots": "integer", "maxTotalBackupGigabytes": "integer", "totalBackupGigabytesUsed": "integer",
        "maxTotalVolumes": "integer", "totalVolumesUsed": "integer", "totalBackupsUsed": "integer",
        "totalGigabytesUsed": "integer"}}},
    "versions-response": {"versions": [{
        "id": "string", "links": [{"href": "string", "rel": "string", "type": "string"}],
        "media-types": [{"base": "string", "type": "string"}], "min_version": "string", "status": "string",
        "updated": "string", "version": "string"}]},
    "volume-upload-to-image-response": {"os-volume_upload_image": {
        "container_format": "string", "disk_format": "string", "display_description": "null", "id": "string",
        "image_id": "string", "image_name": "string", "protected": "boolean", "size": "integer",
        "status": "string", "updated_at": "string", "visibility": "string", "volume_type": "null"}},
}


def tempest_schema(method: str, path: str) -> dict[str, Any]:
    module, attribute = _BY_SHAPE[(method, path_shape(path))]
    return getattr(importlib.import_module(f"{SCHEMAS}.{module}"), attribute)


def validate_cinder(method: str, path: str, status: int, body: Any) -> None:
    """Raise AssertionError unless Tempest accepts `status` and `body` from Cinder for this operation."""
    _validate(f"{method} {path}", tempest_schema(method, path), status, body)


def validate_named(module: str, attribute: str, status: int, body: Any) -> None:
    """The same with a schema named directly (the volume actions: volumes.extend_volume...)."""
    _validate(f"{module}.{attribute}", getattr(importlib.import_module(f"{SCHEMAS}.{module}"), attribute), status,
              body)


def _validate(what: str, schema: dict[str, Any], status: int, body: Any) -> None:
    import jsonschema
    from tempest.lib.common.jsonschema_validator import FORMAT_CHECKER, JSONSCHEMA_VALIDATOR

    assert status in schema["status_code"], f"{what}: status {status}, Cinder's {schema['status_code']}"
    if schema.get("response_body"):
        try:
            jsonschema.validate(body, schema["response_body"], cls=JSONSCHEMA_VALIDATOR,
                                format_checker=FORMAT_CHECKER)
        except jsonschema.ValidationError as error:
            raise AssertionError(f"{what}: {error.message} at {list(error.absolute_path)}") from None
