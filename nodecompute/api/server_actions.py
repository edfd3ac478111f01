"""POST /servers/{server_id}/action (#301): reboot (#302), os-start (#309), os-stop (#310), pause/unpause
(#313/#314), suspend/resume (#315/#316), lock/unlock (#317/#318), forceDelete/restore (#325/#326),
trigger_crash_dump (#329, 2.17), os-getConsoleOutput (#1603); createImage/createBackup (#307/#324) are
api/server_images.py's, changePassword (#308) api/server_admin_password.py's, resize, confirmResize and
revertResize (#304-#306) api/server_resize.py's, shelve/shelveOffload/unshelve (#321-#323) api/server_shelve.py's,
rebuild, rescue and unrescue (#303, #319, #320) api/server_rebuild.py's.

ACTIONS is the dispatcher's table (api/actions.py): action key -> operation, handler, policy. The policy (a writer
of the server's project) is checked before the body; the body is checked against the dialect's schema of the
action's operation, then parsed by a pure `parse_*` function into its request object; the dialect's view and
status answer. An action that changes the server's states is `state_action(parse)`: the service runs it from its
row in domain/states.py ACTIONS (compute/server_actions.py). Adding pause here is `parse_pause` and a row below.
"""
from __future__ import annotations

from collections.abc import Callable

from aiohttp import web

from nodecompute.api import (admin_actions, auth, consoles, server_admin_password, server_floating_ips, server_images,
                             server_rebuild, server_resize, server_security_groups, server_shelve)
from nodecompute.api.actions import Action, ActionHandler, dispatch
from nodecompute.api.keys import api_version_key, servers_key
from nodecompute.api.respond import respond
from nodecompute.domain.server_models import ActionRequest, ConsoleOutputRequest


def parse_reboot(body: dict) -> ActionRequest:
    """{"reboot": {"type": "SOFT"|"HARD"}} (any case, the schema checked it)."""
    return ActionRequest("reboot_hard" if body["reboot"]["type"].upper() == "HARD" else "reboot")


def parse_start(body: dict) -> ActionRequest:
    return ActionRequest("start")


def parse_stop(body: dict) -> ActionRequest:
    return ActionRequest("stop")


def parse_simple(key: str, action: str) -> Callable[[dict], ActionRequest]:
    """An action whose body carries nothing (Nova takes any value, or null for trigger_crash_dump)."""
    return lambda body: ActionRequest(action)


def parse_lock_reason(body: dict, version: tuple[int, int]) -> str | None:
    """{"lock": null | {} | {"locked_reason": "..."}}: the reason counts from 2.73 (before, Nova's schema takes
    any value under `lock` and looks into none)."""
    lock = body["lock"]
    return lock.get("locked_reason") if version >= (2, 73) and isinstance(lock, dict) else None


def parse_console_output(body: dict) -> ConsoleOutputRequest:
    """`length` may be a number or a numeric string; absent, null and -1 mean every line."""
    length = (body["os-getConsoleOutput"] or {}).get("length")
    return ConsoleOutputRequest(None if length is None or int(length) == -1 else int(length))


def state_action(parse: Callable[[dict], ActionRequest]) -> ActionHandler:
    """The handler of an action the server service runs from its states table: parse, act, 202."""

    async def handler(request: web.Request, body: dict) -> web.StreamResponse:
        service = request.config_dict[servers_key]
        await service.act(auth.context(request), request.match_info["server_id"], parse(body))
        return respond(request)

    return handler


async def action_lock(request: web.Request, body: dict) -> web.StreamResponse:
    service = request.config_dict[servers_key]
    reason = parse_lock_reason(body, request[api_version_key])
    await service.locks.lock(auth.context(request), request.match_info["server_id"], reason)
    return respond(request)


async def action_unlock(request: web.Request, body: dict) -> web.StreamResponse:
    service = request.config_dict[servers_key]
    await service.locks.unlock(auth.context(request), request.match_info["server_id"])
    return respond(request)


async def action_force_delete(request: web.Request, body: dict) -> web.StreamResponse:
    await request.config_dict[servers_key].force_delete(auth.context(request), request.match_info["server_id"])
    return respond(request)


async def action_restore(request: web.Request, body: dict) -> web.StreamResponse:
    await request.config_dict[servers_key].restore(auth.context(request), request.match_info["server_id"])
    return respond(request)


async def action_console_output(request: web.Request, body: dict) -> web.StreamResponse:
    service = request.config_dict[servers_key]
    req = parse_console_output(body)
    return respond(request, service.console_output(auth.context(request), request.match_info["server_id"],
                                                   req.length))


ACTIONS = {
    "reboot": Action("#302", state_action(parse_reboot), "os_compute_api:servers:reboot"),
    "os-start": Action("#309", state_action(parse_start), "os_compute_api:servers:start"),
    "os-stop": Action("#310", state_action(parse_stop), "os_compute_api:servers:stop"),
    "pause": Action("#313", state_action(parse_simple("pause", "pause")), "os_compute_api:os-pause-server:pause"),
    "unpause": Action("#314", state_action(parse_simple("unpause", "unpause")),
                      "os_compute_api:os-pause-server:unpause"),
    "suspend": Action("#315", state_action(parse_simple("suspend", "suspend")),
                      "os_compute_api:os-suspend-server:suspend"),
    "resume": Action("#316", state_action(parse_simple("resume", "resume")),
                     "os_compute_api:os-suspend-server:resume"),
    "lock": Action("#317", action_lock, "os_compute_api:os-lock-server:lock"),
    "unlock": Action("#318", action_unlock, "os_compute_api:os-lock-server:unlock"),
    "forceDelete": Action("#325", action_force_delete, "os_compute_api:os-deferred-delete:force"),
    "restore": Action("#326", action_restore, "os_compute_api:os-deferred-delete:restore"),
    "trigger_crash_dump": Action("#329", state_action(parse_simple("trigger_crash_dump", "trigger_crash_dump")),
                                 "os_compute_api:servers:trigger_crash_dump", since=(2, 17)),
    "os-getConsoleOutput": Action("#1603", action_console_output, "os_compute_api:os-console-output"),
    **consoles.ACTIONS,
    **server_security_groups.ACTIONS,
    **server_floating_ips.ACTIONS,
    **admin_actions.ACTIONS,
    **server_images.ACTIONS,
    **server_admin_password.ACTIONS,
    **server_resize.ACTIONS,
    **server_shelve.ACTIONS,
    **server_rebuild.ACTIONS,
}


async def server_action(request: web.Request) -> web.StreamResponse:
    return await dispatch(request, ACTIONS, "Malformed message body: too many body keys")


VIEWS = {"#1603": lambda out, output: {"output": output}}
STATUSES = {op: 202 for op in ("#302", "#309", "#310", "#313", "#314", "#315", "#316", "#317", "#318", "#325",
                                "#326", "#329")}
