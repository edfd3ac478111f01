"""Limits (#106), os-quota-sets (#107-#111) and os-quota-class-sets (#112-#113), as Nova answers at 2.1."""
from __future__ import annotations

from aiohttp import web

from nodecompute.api import validation
from nodecompute.api.auth import context, require_admin
from nodecompute.api.faults import json_response
from nodecompute.api.keys import api_version_key, quotas_key
from nodecompute.compute.errors import BadRequest, NotImplementedYet, PolicyNotAuthorized, ValidationError
from nodecompute.compute.quotas import RESOURCES

MAX_INT = 0x7FFFFFFF  # Nova's db.MAX_INT
# limits key(s) for each quota resource (nova/api/openstack/compute/views/limits.py)
ABSOLUTE_NAMES = {
    "ram": ("maxTotalRAMSize",), "instances": ("maxTotalInstances",), "cores": ("maxTotalCores",),
    "key_pairs": ("maxTotalKeypairs",), "floating_ips": ("maxTotalFloatingIps",),
    "metadata_items": ("maxServerMeta", "maxImageMeta"), "injected_files": ("maxPersonality",),
    "injected_file_content_bytes": ("maxPersonalitySize",), "security_groups": ("maxSecurityGroups",),
    "security_group_rules": ("maxSecurityGroupRules",), "server_groups": ("maxServerGroups",),
    "server_group_members": ("maxServerGroupMembers",),
}
USED_NAMES = {
    "totalRAMUsed": "ram", "totalCoresUsed": "cores", "totalInstancesUsed": "instances",
    "totalFloatingIpsUsed": "floating_ips", "totalSecurityGroupsUsed": "security_groups",
    "totalServerGroupsUsed": "server_groups",
}
# At 2.1 the quota class set hides the server-group quotas (exposed from 2.50).
CLASS_HIDDEN = ("server_groups", "server_group_members")

_quota_value = {"type": ["integer", "string"], "pattern": "^-?[0-9]+$", "minimum": -1, "maximum": MAX_INT}
_settable = {name: _quota_value for name in RESOURCES} | {"networks": _quota_value}


def _update_schema(wrapper: str, with_force: bool) -> dict:
    properties = dict(_settable)
    if with_force:
        properties["force"] = validation.boolean
    return {
        "type": "object",
        "properties": {wrapper: {"type": "object", "properties": properties, "additionalProperties": False}},
        "required": [wrapper],
        "additionalProperties": False,
    }


QUOTA_SET_UPDATE = _update_schema("quota_set", with_force=True)
QUOTA_CLASS_UPDATE = _update_schema("quota_class_set", with_force=False)



# ----- limits ------------------------------------------------------------------------------------------------------

async def show_limits(request: web.Request) -> web.Response:
    """Absolute limits and live usage; `?tenant_id=` (admin only) for another project; `reserved` is accepted and
    changes nothing, as there are no reservations."""
    ctx = context(request)
    project_id = ctx.project_id
    if "tenant_id" in request.query:
        require_admin(request, "os_compute_api:limits:other_project")
        project_id = request.query.getall("tenant_id")[-1]
    quotas = request.config_dict[quotas_key]
    limits = quotas.limits(project_id)
    used = quotas.displayed_usage(project_id)
    absolute = {key: limits[name] for name, keys in ABSOLUTE_NAMES.items() for key in keys}
    absolute.update({key: used[name] for key, name in USED_NAMES.items()})
    return json_response({"limits": {"rate": [], "absolute": absolute}})


# ----- os-quota-sets -----------------------------------------------------------------------------------------------

def _target_project(request: web.Request, rule: str, *, verify: bool = True) -> str:
    """The {tenant_id} of the path, after Nova's policy (own project, or admin) and project check."""
    ctx = context(request)
    project_id = request.match_info["tenant_id"]
    if project_id != ctx.project_id and not ctx.is_admin:
        raise PolicyNotAuthorized(action=rule)
    if verify and not request.config_dict[quotas_key].project_exists(project_id):
        raise BadRequest(f"Project ID {project_id} is not a valid project.")
    return project_id


def _user_id(request: web.Request) -> str | None:
    values = request.query.getall("user_id", [])
    return values[0] if values else None


async def show_quota_set(request: web.Request) -> web.Response:
    project_id = _target_project(request, "os_compute_api:os-quota-sets:show")
    # Per-user limits default to the project's, and nodecompute stores no per-user overrides.
    return json_response({"quota_set": {"id": project_id, **request.config_dict[quotas_key].limits(project_id)}})


async def show_quota_defaults(request: web.Request) -> web.Response:
    project_id = request.match_info["tenant_id"]
    if not request.config_dict[quotas_key].project_exists(project_id):
        raise BadRequest(f"Project ID {project_id} is not a valid project.")
    return json_response({"quota_set": {"id": project_id, **request.config_dict[quotas_key].defaults()}})


async def show_quota_detail(request: web.Request) -> web.Response:
    project_id = _target_project(request, "os_compute_api:os-quota-sets:detail")
    quotas = request.config_dict[quotas_key]
    limits = quotas.limits(project_id)
    used = quotas.displayed_usage(project_id, _user_id(request))
    detail = {name: {"in_use": used[name], "limit": limits[name], "reserved": 0} for name in RESOURCES}
    return json_response({"quota_set": {"id": project_id, **detail}})


def _values(body: dict, wrapper: str) -> dict[str, int]:
    """The resource values of an update body, as ints; 'networks' refused as Nova does since nova-network left."""
    values = body[wrapper]
    if "networks" in values:
        raise BadRequest("The networks quota has been removed")
    out = {}
    for name, value in values.items():
        if name == "force":
            continue
        number = int(value)
        # Digit strings pass the schema's pattern but escape its minimum and maximum.
        if number < -1:
            raise ValidationError(f"Invalid input for field/attribute {name}. Value: {value}. "
                                  f"{number} is less than the minimum of -1")
        if number > MAX_INT:
            raise ValidationError(f"Invalid input for field/attribute {name}. Value: {value}. "
                                  f"{number} is greater than the maximum of {MAX_INT}")
        out[name] = number
    return out


async def _update_body(request: web.Request, schema: dict, wrapper: str) -> dict:
    if request.get(api_version_key) == (2, 0):  # legacy v2: unknown properties are ignored, not refused
        body = await validation.json_body(request)
        if isinstance(body.get(wrapper), dict):
            known = set(schema["properties"][wrapper]["properties"])
            body = {wrapper: {k: v for k, v in body[wrapper].items() if k in known}}
        return validation.validate(schema, body)
    return await validation.json_body(request, schema)


async def update_quota_set(request: web.Request) -> web.Response:
    rule = "os_compute_api:os-quota-sets:update"
    require_admin(request, rule)
    project_id = _target_project(request, rule)
    if _user_id(request) is not None:
        raise NotImplementedYet("Per-user quota limits are not supported.")
    body = await _update_body(request, QUOTA_SET_UPDATE, "quota_set")
    force = validation.to_bool(body["quota_set"].get("force", False))
    limits = await request.config_dict[quotas_key].update_project(project_id, _values(body, "quota_set"), force)
    return json_response({"quota_set": limits})


async def delete_quota_set(request: web.Request) -> web.Response:
    rule = "os_compute_api:os-quota-sets:delete"
    require_admin(request, rule)
    project_id = _target_project(request, rule, verify=False)
    if _user_id(request) is None:  # no per-user overrides exist, so a user's revert has nothing to remove
        await request.config_dict[quotas_key].reset_project(project_id)
    return web.Response(status=202)


# ----- os-quota-class-sets -----------------------------------------------------------------------------------------

def _class_view(values: dict[str, int]) -> dict[str, int]:
    return {name: value for name, value in values.items() if name not in CLASS_HIDDEN}


def _class_name(request: web.Request) -> str:
    name = request.match_info["class_name"]
    if len(name) > 255:
        raise BadRequest(f"quota_class_name has {len(name)} characters, more than 255.")
    return name


async def show_quota_class(request: web.Request) -> web.Response:
    require_admin(request, "os_compute_api:os-quota-class-sets:show")
    name = _class_name(request)
    limits = request.config_dict[quotas_key].class_limits(name)
    return json_response({"quota_class_set": {"id": name, **_class_view(limits)}})


async def update_quota_class(request: web.Request) -> web.Response:
    require_admin(request, "os_compute_api:os-quota-class-sets:update")
    name = _class_name(request)
    body = await _update_body(request, QUOTA_CLASS_UPDATE, "quota_class_set")
    values = await request.config_dict[quotas_key].update_class(name, _values(body, "quota_class_set"))
    return json_response({"quota_class_set": _class_view(values)})


ROUTES = [
    ("GET", "/limits", show_limits),
    ("GET", "/os-quota-sets/{tenant_id}/defaults", show_quota_defaults),
    ("GET", "/os-quota-sets/{tenant_id}/detail", show_quota_detail),
    ("GET", "/os-quota-sets/{tenant_id}", show_quota_set),
    ("PUT", "/os-quota-sets/{tenant_id}", update_quota_set),
    ("DELETE", "/os-quota-sets/{tenant_id}", delete_quota_set),
    ("GET", "/os-quota-class-sets/{class_name}", show_quota_class),
    ("PUT", "/os-quota-class-sets/{class_name}", update_quota_class),
]
