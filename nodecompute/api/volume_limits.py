"""Block storage limits (#1233) and quota sets (#1234): Cinder's /limits and os-quota-sets.

`openstack limits show` and `openstack quota show` read these once a volume service is in the catalog. Limits:
the absolute limits and live usage of the caller's project (`project_id`/`tenant_id` are admin filters only from
3.39, so ignored at 3.0), `rate` empty. Quota sets: show (`?usage=True` for in_use/limit/reserved), defaults,
update and delete (admins), with Cinder's policy (a project's own, or an admin) and messages.
"""
from __future__ import annotations

from aiohttp import web

from nodecompute.api import volume_schemas as schemas
from nodecompute.api.auth import context, require_admin
from nodecompute.api.respond import Out, parse_body, respond
from nodecompute.api.volumes import block
from nodecompute.domain.errors import BadRequest, PolicyNotAuthorized

LIMIT_NAMES = {"gigabytes": "maxTotalVolumeGigabytes", "backup_gigabytes": "maxTotalBackupGigabytes",
               "volumes": "maxTotalVolumes", "snapshots": "maxTotalSnapshots", "backups": "maxTotalBackups"}
USED_NAMES = {"totalVolumesUsed": "volumes", "totalGigabytesUsed": "gigabytes", "totalSnapshotsUsed": "snapshots",
              "totalBackupsUsed": "backups", "totalBackupGigabytesUsed": "backup_gigabytes"}


async def show_limits(request: web.Request) -> web.StreamResponse:
    quotas = block(request).quotas
    project_id = context(request).project_id
    return respond(request, (quotas.limits(project_id), quotas.usage(project_id)))


def _limits(out: Out, result: tuple[dict[str, int], dict[str, int]]) -> dict:
    limits, used = result
    absolute = {LIMIT_NAMES[name]: value for name, value in limits.items() if name in LIMIT_NAMES}
    absolute.update({key: used[name] for key, name in USED_NAMES.items()})
    return {"limits": {"rate": [], "absolute": absolute}}


def _target(request: web.Request, rule: str) -> str:
    ctx = context(request)
    project_id = request.match_info["tenant_id"]
    if project_id != ctx.project_id and not ctx.is_admin:
        raise PolicyNotAuthorized(action=rule)
    return project_id


async def show_quota_set(request: web.Request) -> web.StreamResponse:
    project_id = _target(request, "volume_extension:quotas:show")
    quotas = block(request).quotas
    usage = "usage" in request.query and schemas.strict_bool(request.query.getall("usage")[-1], "usage")
    values = quotas.detail(project_id) if usage else quotas.limits(project_id)
    return respond(request, (project_id, values))


async def show_quota_defaults(request: web.Request) -> web.StreamResponse:
    project_id = _target(request, "volume_extension:quotas:show")
    return respond(request, (project_id, block(request).quotas.defaults()))


async def update_quota_set(request: web.Request) -> web.StreamResponse:
    rule = "volume_extension:quotas:update"
    require_admin(request, rule)
    project_id = request.match_info["tenant_id"]
    if len(project_id) > 255:
        raise BadRequest(f"quota_set_name has {len(project_id)} characters, more than 255.")
    quotas = block(request).quotas
    values = quotas.check_update((await parse_body(request))["quota_set"])
    return respond(request, await quotas.update(project_id, values))


async def delete_quota_set(request: web.Request) -> web.StreamResponse:
    require_admin(request, "volume_extension:quotas:delete")
    await block(request).quotas.reset(request.match_info["tenant_id"])
    return respond(request)


def _quota_set(out: Out, result: tuple[str, dict]) -> dict:
    project_id, values = result
    return {"quota_set": {**dict(sorted(values.items())), "id": project_id}}


VIEWS = {"#1233": _limits, "#1234": _quota_set, "volume:quota-defaults": _quota_set,
         "volume:quota-update": lambda out, values: {"quota_set": dict(sorted(values.items()))}}
STATUSES = {"volume:quota-delete": 200}
BODIES = {"volume:quota-update": schemas.QUOTA_UPDATE}
