"""The microversion ladder as data: every step from 2.2 to Nova's maximum, what it touches, and where it stands.

Each `Step` is one microversion: Nova's change in our own words, and its `changes`, each a `kind` (see KINDS) with
the catalog operations it touches (keys of nova_catalog.CATALOG, `(method, path)` or `(method, path, action)`;
EVERY_ROUTE for a rule of the whole API) and the names involved (fields, query parameters, body keys, codes).

A step's `status` is one of
- "todo": it changes something on a route nodecompute serves, so it is implemented with the mechanism;
- "done": implemented and tested;
- "n/a": meaningless on one host or for a route nodecompute will not have; `answer` says exactly what
  nodecompute answers at that version instead;
- "owned": it only touches routes nodecompute does not serve yet (or only changes how a served route behaves with
  what that feature adds, as 2.72 on create with Neutron ports); `owner` names the feature that adds them and
  implements the step with them (until then such a route answers 404 at every version, an action key 400).
`also` names the features owning the unserved parts of a todo step (they implement those parts with their routes).

The steps themselves are in microversion_steps_2.py (2.2-2.52) and microversion_steps_3.py (2.53 onwards), which
import this module's vocabulary; microversion_steps.py puts them in one ladder (`ladder()`), finds its highest
complete version and renders docs/microversions.md. Pure data: nothing here is wired into the app.
"""
from __future__ import annotations

from dataclasses import dataclass

from nodecompute.api.nova_operations import ACTION

Touch = tuple[str, ...]  # (method, path) or (method, path, action), as in nova_catalog.CATALOG

KINDS = ("view-field", "request-body", "query", "status", "new-route", "removed-route", "header", "behaviour")
STATUSES = ("todo", "done", "n/a", "owned")
# Later features, by the issue that adds their routes.
OWNERS = {
    "host-views": "issue 12: hypervisors, services, hosts, migrations, server groups, usage, diagnostics, "
                  "resetState, migrate, evacuate, live-migrate",
    "networking": "issues 13-16: networks, interfaces, security groups, floating IPs, tenant networks, fixed IPs, "
                  "virtual interfaces",
    "networking-servers": "issues 13-14, the server side: NICs on server create, a server's security groups "
                          "(#1508) and the addSecurityGroup/removeSecurityGroup actions (#1509-#1510)",
    "server-actions": "issues 17-18: pause and the other state actions, lock, shelve, rescue, rebuild, resize, "
                      "createImage, createBackup, instance actions, topology, crash dump, password",
    "volumes": "issues 19-20: volume attachments, os-volumes, boot from volume, swap",
    "consoles": "issue 21: remote consoles, console auth tokens",
}
EVERY_ROUTE: Touch = ("*", "*")

LIST, DETAIL, SHOW = ("GET", "/servers"), ("GET", "/servers/detail"), ("GET", "/servers/{server_id}")
CREATE, UPDATE = ("POST", "/servers"), ("PUT", "/servers/{server_id}")


def act(key: str) -> Touch:
    return ("POST", ACTION, key)


REBUILD = act("rebuild")
SERVER_VIEWS = (DETAIL, SHOW, UPDATE, REBUILD)  # the responses that carry a full server
KEYPAIRS = (("GET", "/os-keypairs"), ("POST", "/os-keypairs"), ("GET", "/os-keypairs/{keypair_name}"),
            ("DELETE", "/os-keypairs/{keypair_name}"))
FLAVOR_VIEWS = (("GET", "/flavors/detail"), ("GET", "/flavors/{flavor_id}"), ("POST", "/flavors"),
                ("PUT", "/flavors/{flavor_id}"))
QUOTA_SETS = (("GET", "/os-quota-sets/{tenant_id}"), ("PUT", "/os-quota-sets/{tenant_id}"),
              ("GET", "/os-quota-sets/{tenant_id}/defaults"), ("GET", "/os-quota-sets/{tenant_id}/detail"))
QUOTA_CLASSES = (("GET", "/os-quota-class-sets/{id}"), ("PUT", "/os-quota-class-sets/{id}"))
LIMITS = ("GET", "/limits")

# The operations nodecompute serves (README "What is implemented", 2026-12). The route table of issue 7 replaces
# this set once it is wired; a feature that adds routes moves its steps from "owned" to "todo".
SERVED: frozenset[Touch] = frozenset({
    ("GET", "/"), ("GET", "/extensions"), ("GET", "/extensions/{alias}"), LIMITS, *QUOTA_SETS,
    ("DELETE", "/os-quota-sets/{tenant_id}"), *QUOTA_CLASSES,
    ("GET", "/flavors"), ("GET", "/flavors/detail"), ("GET", "/flavors/{flavor_id}"), ("POST", "/flavors"),
    ("PUT", "/flavors/{flavor_id}"),
    ("DELETE", "/flavors/{flavor_id}"), ("GET", "/flavors/{flavor_id}/os-flavor-access"),
    ("POST", "/flavors/{flavor_id}/action", "addTenantAccess"),
    ("POST", "/flavors/{flavor_id}/action", "removeTenantAccess"),
    *((method, "/flavors/{flavor_id}/os-extra_specs") for method in ("GET", "POST")),
    *((method, "/flavors/{flavor_id}/os-extra_specs/{flavor_extra_spec_key}") for method in ("GET", "PUT", "DELETE")),
    *KEYPAIRS, ("GET", "/os-availability-zone"), ("GET", "/os-availability-zone/detail"),
    ("GET", "/images"), ("GET", "/images/detail"), ("GET", "/images/{image_id}"), ("DELETE", "/images/{image_id}"),
    *((method, "/images/{image_id}/metadata") for method in ("GET", "POST", "PUT")),
    *((method, "/images/{image_id}/metadata/{key}") for method in ("GET", "PUT", "DELETE")),
    LIST, DETAIL, CREATE, SHOW, UPDATE, ("DELETE", "/servers/{server_id}"), ("POST", "/os-volumes_boot"),
    act("reboot"), act("os-start"), act("os-stop"), act("os-getConsoleOutput"),
    act("os-getVNCConsole"), act("os-getSerialConsole"),
    ("POST", "/servers/{server_id}/remote-consoles"),
    *(act(key) for key in ("pause", "unpause", "suspend", "resume", "lock", "unlock", "forceDelete", "restore",
                           "trigger_crash_dump", "createImage", "createBackup", "changePassword", "resize",
                           "confirmResize", "revertResize", "shelve", "shelveOffload", "unshelve", "rebuild",
                           "rescue", "unrescue")),
    ("GET", "/servers/{server_id}/topology"), ("GET", "/servers/{server_id}/os-instance-actions"),
    ("GET", "/servers/{server_id}/os-instance-actions/{request_id}"),
    *((method, "/servers/{server_id}/metadata") for method in ("GET", "POST", "PUT")),
    *((method, "/servers/{server_id}/metadata/{key}") for method in ("GET", "PUT", "DELETE")),
    ("GET", "/servers/{server_id}/ips"), ("GET", "/servers/{server_id}/ips/{network_label}"),
    ("GET", "/os-volumes"), ("GET", "/os-volumes/detail"), ("POST", "/os-volumes"), ("GET", "/os-volumes/{volume_id}"),
    ("DELETE", "/os-volumes/{volume_id}"), ("GET", "/os-snapshots"), ("GET", "/os-snapshots/detail"),
    ("POST", "/os-snapshots"), ("GET", "/os-snapshots/{snapshot_id}"), ("DELETE", "/os-snapshots/{snapshot_id}"),
    ("GET", "/servers/{server_id}/os-volume_attachments"), ("POST", "/servers/{server_id}/os-volume_attachments"),
    ("GET", "/servers/{server_id}/os-volume_attachments/{volume_id}"),
    ("PUT", "/servers/{server_id}/os-volume_attachments/{volume_id}"),
    ("DELETE", "/servers/{server_id}/os-volume_attachments/{volume_id}"),
    *((method, "/servers/{server_id}/tags") for method in ("GET", "PUT", "DELETE")),
    *((method, "/servers/{server_id}/tags/{tag}") for method in ("GET", "PUT", "DELETE")),
    # issue 12 (host views)
    ("GET", "/os-hypervisors"), ("GET", "/os-hypervisors/detail"), ("GET", "/os-hypervisors/statistics"),
    ("GET", "/os-hypervisors/{hypervisor_id}"), ("GET", "/os-hypervisors/{hypervisor_id}/uptime"),
    ("GET", "/os-hypervisors/{hypervisor_hostname_pattern}/search"),
    ("GET", "/os-hypervisors/{hypervisor_hostname_pattern}/servers"),
    ("GET", "/os-services"), ("PUT", "/os-services/enable"), ("PUT", "/os-services/disable"),
    ("PUT", "/os-services/disable-log-reason"), ("PUT", "/os-services/force-down"),
    ("PUT", "/os-services/{service_id}"), ("DELETE", "/os-services/{service_id}"),
    ("GET", "/os-server-groups"), ("POST", "/os-server-groups"), ("GET", "/os-server-groups/{server_group_id}"),
    ("DELETE", "/os-server-groups/{server_group_id}"), ("GET", "/servers/{server_id}/diagnostics"),
    ("GET", "/servers/{server_id}/os-server-password"), ("DELETE", "/servers/{server_id}/os-server-password"),
    ("GET", "/os-simple-tenant-usage"), ("GET", "/os-simple-tenant-usage/{tenant_id}"), ("GET", "/os-migrations"),
    ("GET", "/servers/{server_id}/migrations"), ("GET", "/servers/{server_id}/migrations/{migration_id}"),
    ("DELETE", "/servers/{server_id}/migrations/{migration_id}"),
    ("POST", "/servers/{server_id}/migrations/{migration_id}/action", "force_complete"),
    ("GET", "/os-aggregates"),
    ("GET", "/os-hosts"), ("GET", "/os-hosts/{host_name}"), ("PUT", "/os-hosts/{host_name}"),
    *(("GET", f"/os-hosts/{{host_name}}/{what}") for what in ("reboot", "shutdown", "startup")),
    ("GET", "/os-instance_usage_audit_log"), ("GET", "/os-instance_usage_audit_log/{before_timestamp}"),
    *(act(key) for key in ("os-resetState", "migrate", "os-migrateLive", "evacuate", "resetNetwork",
                           "injectNetworkInfo")),
    ("GET", "/servers/{server_id}/os-interface"), ("POST", "/servers/{server_id}/os-interface"),
    ("GET", "/servers/{server_id}/os-interface/{port_id}"), ("DELETE", "/servers/{server_id}/os-interface/{port_id}"),
    ("GET", "/servers/{server_id}/os-security-groups"), act("addSecurityGroup"), act("removeSecurityGroup"),
    act("addFloatingIp"), act("removeFloatingIp"),
    ("GET", "/os-networks"), ("GET", "/os-networks/{network_id}"), ("GET", "/os-tenant-networks"),
    ("GET", "/os-tenant-networks/{network_id}"),
    ("GET", "/os-floating-ips"), ("POST", "/os-floating-ips"), ("GET", "/os-floating-ips/{floating_ip_id}"),
    ("DELETE", "/os-floating-ips/{floating_ip_id}"), ("GET", "/os-floating-ip-pools"),
    ("GET", "/os-security-groups"), ("POST", "/os-security-groups"),
    *((method, "/os-security-groups/{security_group_id}") for method in ("GET", "PUT", "DELETE")),
    ("POST", "/os-security-group-rules"), ("DELETE", "/os-security-group-rules/{security_group_rule_id}"),
    ("GET", "/os-security-group-default-rules"), ("POST", "/os-security-group-default-rules"),
    *((method, "/os-security-group-default-rules/{security_group_default_rule_id}") for method in ("GET", "DELETE")),
})


_ACTION_FEATURES = {
    "host-views": ("os-resetState", "migrate", "evacuate", "os-migrateLive", "injectNetworkInfo", "resetNetwork"),
    "networking": ("addFloatingIp", "removeFloatingIp", "addFixedIp", "removeFixedIp"),
    "networking-servers": ("addSecurityGroup", "removeSecurityGroup"),
    "consoles": ("os-getVNCConsole", "os-getSPICEConsole", "os-getSerialConsole", "os-getRDPConsole"),
}
_PATH_FEATURES = (  # first matching prefix wins
    ("/servers/{server_id}/os-instance-actions", "server-actions"), ("/servers/{server_id}/topology", "server-actions"),
    ("/servers/{server_id}/os-server-password", "server-actions"), ("/servers/{server_id}/diagnostics", "host-views"),
    ("/servers/{server_id}/migrations", "host-views"), ("/servers/{server_id}/os-interface", "networking"),
    ("/servers/{server_id}/os-virtual-interfaces", "networking"), ("/servers/{server_id}/os-security-groups",
                                                                   "networking-servers"),
    ("/servers/{server_id}/os-volume_attachments", "volumes"), ("/servers/{server_id}/remote-consoles", "consoles"),
    ("/servers/{server_id}/consoles", "consoles"), ("/os-console-auth-tokens", "consoles"),
    ("/os-hypervisors", "host-views"), ("/os-services", "host-views"), ("/os-hosts", "host-views"),
    ("/os-migrations", "host-views"), ("/os-server-groups", "host-views"), ("/os-simple-tenant-usage", "host-views"),
    ("/os-instance_usage_audit_log", "host-views"), ("/os-networks", "networking"),
    ("/os-tenant-networks", "networking"), ("/os-fixed-ips", "networking"), ("/os-floating-ip", "networking"),
    ("/os-security-group", "networking"), ("/os-volumes", "volumes"), ("/os-snapshots", "volumes"),
    ("/os-assisted-volume-snapshots", "volumes"),
)


def feature_of(touch: Touch) -> str | None:
    """The later feature that adds an operation nodecompute does not serve yet (None: served, or not planned)."""
    if touch in SERVED or touch == EVERY_ROUTE:
        return None
    if touch[1] == ACTION:
        found = [feature for feature, keys in _ACTION_FEATURES.items() if touch[2] in keys]
        return found[0] if found else "server-actions"
    return next((feature for prefix, feature in _PATH_FEATURES if touch[1].startswith(prefix)), None)


@dataclass(frozen=True)
class Change:
    kind: str
    touches: tuple[Touch, ...]
    names: tuple[str, ...] = ()


@dataclass(frozen=True)
class Step:
    version: str
    summary: str
    changes: tuple[Change, ...]
    status: str = "todo"
    owner: str | None = None
    also: tuple[str, ...] = ()
    answer: str = ""  # for "n/a": what nodecompute answers at this version

    @property
    def touches(self) -> tuple[Touch, ...]:
        return tuple(dict.fromkeys(touch for change in self.changes for touch in change.touches))

    @property
    def kinds(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(change.kind for change in self.changes))

    @property
    def complete(self) -> bool:
        return self.status in ("done", "n/a", "owned")


def change(kind: str, touches: Touch | tuple[Touch, ...], *names: str) -> Change:
    """change("view-field", SHOW, "locked") or change("view-field", (SHOW, DETAIL), "locked")."""
    many = touches if touches and isinstance(touches[0], tuple) else (touches,)
    return Change(kind, tuple(many), names)  # type: ignore[arg-type]


def todo(version: str, summary: str, *changes: Change, also: tuple[str, ...] = ()) -> Step:
    return Step(version, summary, changes, "todo", None, also)


def done(version: str, summary: str, *changes: Change, also: tuple[str, ...] = ()) -> Step:
    return Step(version, summary, changes, "done", None, also)


def owned(version: str, owner: str, summary: str, *changes: Change, also: tuple[str, ...] = ()) -> Step:
    return Step(version, summary, changes, "owned", owner, also)


def not_applicable(version: str, answer: str, summary: str, *changes: Change) -> Step:
    return Step(version, summary, changes, "n/a", answer=answer)
