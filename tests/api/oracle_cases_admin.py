"""Route-oracle cases (test_oracle_routes.py) for the rest of issue 12: os-hosts, the admin server actions and the
usage audit log. Where Nova's libvirt driver never answers the success (host power actions, maintenance mode) the
case expects its 501 instead, with the reason; the one-host answers that do succeed (migrate 202, live migration
202 from 2.34, evacuate 200 with a forced-down compute) are called as Nova's samples call them."""
from __future__ import annotations

from nodecompute.api.keys import host_services_key
from nodecompute.api.nova_operations import ACTION, version_key
from nodecompute.app import store_key
from nodecompute.db import host_services as host_services_db
from tests.api.oracle_cases import Call, Case, World

HOSTS = "/os-hosts/{host_name}"
NO_POWER = "Nova's libvirt driver has no host power actions: 501 at every version"
NO_HOST_BEFORE_234 = "before 2.34 Nova waits for the scheduler, which finds no other host: 400"


def _host(world: World) -> str:
    return world.api.client.server.app[host_services_key].cfg.host_name


def _hosts(tail: str = "", body: dict | None = None, status: int | None = None, awaiting: str = "",
           optional: tuple[str, ...] = ()) -> Case:
    async def case(world: World, version: str) -> Call:
        await world.restore_services()
        return Call(f"/os-hosts/{_host(world)}{tail}", body, awaiting, status, optional)
    return case


async def _hosts_list(world: World, version: str) -> Call:
    await world.restore_services()
    return Call("/os-hosts")


def _admin_action(body: dict, stopped: bool = False) -> Case:
    async def case(world: World, version: str) -> Call:
        return Call(f"/servers/{await world.server(stopped=stopped)}/action", body)
    return case


async def _migrate_live(world: World, version: str) -> Call:
    live = {"host": None, "block_migration": False}
    if version_key(version) < (2, 25):
        live["disk_over_commit"] = False
    call = Call(f"/servers/{await world.server()}/action", {"os-migrateLive": live})
    if version_key(version) < (2, 34):
        return Call(call.path, call.body, NO_HOST_BEFORE_234, 400)
    return call


async def _evacuate(world: World, version: str) -> Call:
    """An evacuation is accepted once the compute service is down (the server then goes to ERROR, No valid host);
    tidy() brings the service back."""
    server_id = await world.server()
    app = world.api.client.server.app
    compute = app[host_services_key].compute_service(_host(world))
    await app[store_key].write(host_services_db.update_service, compute.id, {"forced_down": 1},
                               now=app[host_services_key].clock())
    body = {"onSharedStorage": "False"} if version_key(version) < (2, 14) else {}
    # from 2.14 Nova answers no body; its only response sample (2.1) has adminPass
    optional = ("missing adminPass",) if version_key(version) >= (2, 14) else ()
    return Call(f"/servers/{server_id}/action", {"evacuate": body}, optional=optional)


async def _audit_list(world: World, version: str) -> Call:
    return Call("/os-instance_usage_audit_log")


async def _audit_show(world: World, version: str) -> Call:
    return Call("/os-instance_usage_audit_log/2012-07-05 10:00:00")


NOT_MIGRATING = "no live migration ever runs on one host (it fails at once): the server is not migrating, 409"


async def _running_migration(world: World, version: str) -> Call:
    return Call(f"/servers/{world.server_id}/migrations/1", awaiting=NOT_MIGRATING, status=409)


async def _force_complete(world: World, version: str) -> Call:
    return Call(f"/servers/{world.server_id}/migrations/1/action", {"force_complete": None}, awaiting=NOT_MIGRATING,
                status=409)


ADMIN_CASES: dict[tuple[str, str, str | None], Case] = {
    ("GET", "/os-hosts", None): _hosts_list,
    ("GET", HOSTS, None): _hosts(),
    ("PUT", HOSTS, None): _hosts("", {"status": "enable"}, optional=("missing maintenance_mode",)),
    ("GET", HOSTS + "/reboot", None): _hosts("/reboot", status=501, awaiting=NO_POWER),
    ("GET", HOSTS + "/shutdown", None): _hosts("/shutdown", status=501, awaiting=NO_POWER),
    ("GET", HOSTS + "/startup", None): _hosts("/startup", status=501, awaiting=NO_POWER),
    ("GET", "/os-instance_usage_audit_log", None): _audit_list,
    ("GET", "/os-instance_usage_audit_log/{before_timestamp}", None): _audit_show,
    ("POST", ACTION, "os-resetState"): _admin_action({"os-resetState": {"state": "error"}}),
    ("POST", ACTION, "injectNetworkInfo"): _admin_action({"injectNetworkInfo": None}),
    ("POST", ACTION, "resetNetwork"): _admin_action({"resetNetwork": None}),
    ("POST", ACTION, "migrate"): _admin_action({"migrate": None}),
    ("POST", ACTION, "os-migrateLive"): _migrate_live,
    ("POST", ACTION, "evacuate"): _evacuate,
    ("DELETE", "/servers/{server_id}/migrations/{migration_id}", None): _running_migration,
    ("POST", "/servers/{server_id}/migrations/{migration_id}/action", "force_complete"): _force_complete,
}
