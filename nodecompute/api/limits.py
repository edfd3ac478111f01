"""Limits (#106), os-quota-sets (#107-#111) and os-quota-class-sets (#112-#113), as Nova answers at each
microversion: from 2.36 limits and quota sets drop the network quotas (floating IPs, security groups and rules;
quota sets also fixed IPs) and quota set updates refuse them; from 2.39 limits drop `maxImageMeta`; from 2.50 quota
classes show the server group quotas and drop the network ones, in their updates too."""
from __future__ import annotations

from typing import Any

from aiohttp import web

from nodecompute.api import validation
from nodecompute.api.auth import context, require_admin
from nodecompute.api.dialect import Versioned
from nodecompute.api.keys import quotas_key
from nodecompute.api.respond import Out, parse_body, respond
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
NETWORK_QUOTAS = ("fixed_ips", "floating_ips", "security_group_rules", "security_groups")  # gone at 2.36 / 2.50
# What each view leaves out, per microversion (Nova's FILTERED_* lists; quota classes hide the server-group quotas
# below 2.50).
_NETWORK_LIMITS = ("maxTotalFloatingIps", "maxSecurityGroups", "maxSecurityGroupRules", "totalFloatingIpsUsed",
                   "totalSecurityGroupsUsed")
LIMITS_HIDDEN = Versioned((), ((2, 36), _NETWORK_LIMITS), ((2, 39), (*_NETWORK_LIMITS, "maxImageMeta")))
QUOTA_SET_HIDDEN = Versioned((), ((2, 36), NETWORK_QUOTAS))
CLASS_HIDDEN = Versioned(("server_groups", "server_group_members"), ((2, 50), NETWORK_QUOTAS))

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


def _without(schema: dict, wrapper: str, names: tuple[str, ...]) -> dict:
    properties = {key: value for key, value in schema["properties"][wrapper]["properties"].items() if key not in names}
    inner = {**schema["properties"][wrapper], "properties": properties}
    return {**schema, "properties": {wrapper: inner}}


QUOTA_SET_UPDATE = _update_schema("quota_set", with_force=True)
QUOTA_SET_UPDATE_V236 = _without(QUOTA_SET_UPDATE, "quota_set", NETWORK_QUOTAS)
QUOTA_CLASS_UPDATE = _update_schema("quota_class_set", with_force=False)
QUOTA_CLASS_UPDATE_V250 = _without(QUOTA_CLASS_UPDATE, "quota_class_set", NETWORK_QUOTAS)



# ----- limits ------------------------------------------------------------------------------------------------------

async def show_limits(request: web.Request) -> web.StreamResponse:
    """Absolute limits and live usage; `?tenant_id=` (admin only) for another project; `reserved` is accepted and
    changes nothing, as there are no reservations."""
    ctx = context(request)
    project_id = ctx.project_id
    if "tenant_id" in request.query:
        require_admin(request, "os_compute_api:limits:other_project")
        project_id = request.query.getall("tenant_id")[-1]
    return respond(request, request.config_dict[quotas_key].absolute_limits(project_id))


def _limits_view(out, result: tuple[dict[str, int], dict[str, int]]) -> dict:
    limits, used = result
    absolute = {key: limits[name] for name, keys in ABSOLUTE_NAMES.items() for key in keys}
    absolute.update({key: used[name] for key, name in USED_NAMES.items()})
    return {"limits": {"rate": [], "absolute": _shown(absolute, LIMITS_HIDDEN, out)}}


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

def _shown(values: dict[str, Any], hidden: Versioned[tuple[str, ...]], out: Out) -> dict[str, Any]:
    return {name: value for name, value in values.items() if name not in hidden.at(out.version)}


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


def _quota_set(out: Out, result: tuple[str, dict]) -> dict:
    project_id, values = result
    return {"quota_set": {"id": project_id, **_shown(values, QUOTA_SET_HIDDEN, out)}}


def _quota_class(out: Out, result: tuple[str, dict[str, int]]) -> dict:
    name, values = result
    return {"quota_class_set": {"id": name, **_shown(values, CLASS_HIDDEN, out)}}


VIEWS = {
    "#106": _limits_view, "#107": _quota_set, "#108": _quota_set, "#109": _quota_set,
    "#110": lambda out, limits: {"quota_set": _shown(limits, QUOTA_SET_HIDDEN, out)}, "#112": _quota_class,
    "#113": lambda out, values: {"quota_class_set": _shown(values, CLASS_HIDDEN, out)},
}
STATUSES = {"#111": 202}
BODIES = {"#110": Versioned(QUOTA_SET_UPDATE, ((2, 36), QUOTA_SET_UPDATE_V236)),
          "#113": Versioned(QUOTA_CLASS_UPDATE, ((2, 50), QUOTA_CLASS_UPDATE_V250))}
