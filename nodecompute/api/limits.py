"""Limits (#106), os-quota-sets (#107-#111) and os-quota-class-sets (#112-#113), as Nova answers at 2.1."""
from __future__ import annotations

from aiohttp import web

from nodecompute.api import validation
from nodecompute.api.auth import context, require_admin
from nodecompute.api.keys import quotas_key
from nodecompute.api.respond import parse_body, respond
from nodecompute.domain.errors import BadRequest, NotImplementedYet, PolicyNotAuthorized, ValidationError
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

async def show_limits(request: web.Request) -> web.StreamResponse:
    """Absolute limits and live usage; `?tenant_id=` (admin only) for another project; `reserved` is accepted and
    changes nothing, as there are no reservations."""
    ctx = context(request)
    project_id = ctx.project_id
    if "tenant_id" in request.query:
        require_admin(request, "os_compute_api:limits:other_project")
        project_id = request.query.getall("tenant_id")[-1]
    quotas = request.config_dict[quotas_key]
    return respond(request, (quotas.limits(project_id), quotas.displayed_usage(project_id)))


def _limits_view(out, result: tuple[dict[str, int], dict[str, int]]) -> dict:
    limits, used = result
    absolute = {key: limits[name] for name, keys in ABSOLUTE_NAMES.items() for key in keys}
    absolute.update({key: used[name] for key, name in USED_NAMES.items()})
    return {"limits": {"rate": [], "absolute": absolute}}


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


async def show_quota_set(request: web.Request) -> web.StreamResponse:
    project_id = _target_project(request, "os_compute_api:os-quota-sets:show")
    # Per-user limits default to the project's, and nodecompute stores no per-user overrides.
    return respond(request, (project_id, request.config_dict[quotas_key].limits(project_id)))


async def show_quota_defaults(request: web.Request) -> web.StreamResponse:
    project_id = request.match_info["tenant_id"]
    if not request.config_dict[quotas_key].project_exists(project_id):
        raise BadRequest(f"Project ID {project_id} is not a valid project.")
    return respond(request, (project_id, request.config_dict[quotas_key].defaults()))


async def show_quota_detail(request: web.Request) -> web.StreamResponse:
    project_id = _target_project(request, "os_compute_api:os-quota-sets:detail")
    quotas = request.config_dict[quotas_key]
    limits = quotas.limits(project_id)
    used = quotas.displayed_usage(project_id, _user_id(request))
    detail = {name: {"in_use": used[name], "limit": limits[name], "reserved": 0} for name in RESOURCES}
    return respond(request, (project_id, detail))


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


async def update_quota_set(request: web.Request) -> web.StreamResponse:
    rule = "os_compute_api:os-quota-sets:update"
    require_admin(request, rule)
    project_id = _target_project(request, rule)
    if _user_id(request) is not None:
        raise NotImplementedYet("Per-user quota limits are not supported.")
    body = await parse_body(request)
    force = validation.to_bool(body["quota_set"].get("force", False))
    limits = await request.config_dict[quotas_key].update_project(project_id, _values(body, "quota_set"), force)
    return respond(request, limits)


async def delete_quota_set(request: web.Request) -> web.StreamResponse:
    rule = "os_compute_api:os-quota-sets:delete"
    require_admin(request, rule)
    project_id = _target_project(request, rule, verify=False)
    if _user_id(request) is None:  # no per-user overrides exist, so a user's revert has nothing to remove
        await request.config_dict[quotas_key].reset_project(project_id)
    return respond(request)


# ----- os-quota-class-sets -----------------------------------------------------------------------------------------

def _class_view(values: dict[str, int]) -> dict[str, int]:
    return {name: value for name, value in values.items() if name not in CLASS_HIDDEN}


def _class_name(request: web.Request) -> str:
    name = request.match_info["class_name"]
    if len(name) > 255:
        raise BadRequest(f"quota_class_name has {len(name)} characters, more than 255.")
    return name


async def show_quota_class(request: web.Request) -> web.StreamResponse:
    require_admin(request, "os_compute_api:os-quota-class-sets:show")
    name = _class_name(request)
    return respond(request, (name, request.config_dict[quotas_key].class_limits(name)))


async def update_quota_class(request: web.Request) -> web.StreamResponse:
    require_admin(request, "os_compute_api:os-quota-class-sets:update")
    name = _class_name(request)
    body = await parse_body(request)
    values = await request.config_dict[quotas_key].update_class(name, _values(body, "quota_class_set"))
    return respond(request, values)


def _quota_set(out, result: tuple[str, dict]) -> dict:
    project_id, values = result
    return {"quota_set": {"id": project_id, **values}}


def _quota_class(out, result: tuple[str, dict[str, int]]) -> dict:
    name, values = result
    return {"quota_class_set": {"id": name, **_class_view(values)}}


VIEWS = {
    "#106": _limits_view, "#107": _quota_set, "#108": _quota_set, "#109": _quota_set,
    "#110": lambda out, limits: {"quota_set": limits}, "#112": _quota_class,
    "#113": lambda out, values: {"quota_class_set": _class_view(values)},
}
STATUSES = {"#111": 202}
BODIES = {"#110": QUOTA_SET_UPDATE, "#113": QUOTA_CLASS_UPDATE}
