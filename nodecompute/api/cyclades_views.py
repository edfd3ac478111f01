"""Cyclades' server view (dialects.md D11, D25-D29, D33, D34, D66, D67; behaviour.md 9.4): pure functions of a
Server, the serials its ids show as (compute/public_serials.py ViewSerials), the link builder and the config.

Ids: the server's `id` is its serial as a string, the flavor's a JSON integer, networks and ports their serials
as strings (the seed's examples); images keep their ids. Links: self and bookmark are the same versioned URL
(D66); an image adds an `alternate` link to /cyclades/image/v1.0 (not served). Times: microseconds and +00:00
(D67). Statuses: Cyclades' seven (9.4), the task in `SNF:task_state`; `progress` always (D29).
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from nodecompute.api.respond import Out
from nodecompute.api.server_views import security_groups
from nodecompute.compute.public_serials import ViewSerials
from nodecompute.domain import states
from nodecompute.domain.action_models import InstanceAction
from nodecompute.domain.server_models import Server

COMPUTE_ROOT = "/compute/v2.0"
IMAGE_ROOT = "/image/v1.0"
# Nova's status (states.STATUS_MAP) -> Cyclades' (behaviour.md 9.4); anything else UNKNOWN
STATUS = {
    "BUILD": "BUILD", "ERROR": "ERROR", "DELETED": "DELETED", "SOFT_DELETED": "DELETED",
    **dict.fromkeys(("ACTIVE", "PASSWORD", "REBUILD", "RESIZE", "VERIFY_RESIZE", "REVERT_RESIZE", "MIGRATING",
                     "RESCUE"), "ACTIVE"),
    **dict.fromkeys(("SHUTOFF", "PAUSED", "SUSPENDED", "SHELVED", "SHELVED_OFFLOADED"), "STOPPED"),
    "REBOOT": "REBOOT", "HARD_REBOOT": "REBOOT",
}
# Nova's task_state -> Synnefo's task names (SNF:task_state); others upper-cased
TASKS = {
    **dict.fromkeys(("scheduling", "networking", "block_device_mapping", "spawning"), "BUILDING"),
    "powering-on": "STARTING", "powering-off": "STOPPING", "deleting": "DESTROYING",
    **dict.fromkeys(("rebooting", "reboot_pending", "reboot_started", "rebooting_hard", "reboot_pending_hard",
                     "reboot_started_hard"), "REBOOTING"),
    **dict.fromkeys(("resize_prep", "resize_migrating", "resize_migrated", "resize_finish", "resize_confirming"),
                    "RESIZING"),
}


def snf_time(dt: datetime | None) -> str | None:
    """YYYY-MM-DDTHH:MM:SS.ffffff+00:00 (D67)."""
    return None if dt is None else dt.replace(tzinfo=None).strftime("%Y-%m-%dT%H:%M:%S.%f") + "+00:00"


def status(server: Server) -> str:
    if server.deleted:
        return "DELETED"
    return STATUS.get(states.status_from_state(server.vm_state, server.task_state), "UNKNOWN")


def task_state(server: Server) -> str:
    task = server.task_state
    return "" if not task or server.deleted else TASKS.get(task, task.upper())


class CycladesLinks:
    """Self and bookmark links, both versioned (D66)."""

    def __init__(self, out: Out) -> None:
        base = out.links.base + out.dialect.prefix
        self.compute = base + COMPUTE_ROOT
        self.image = base + IMAGE_ROOT

    def pair(self, collection: str, item_id: Any) -> list[dict[str, str]]:
        href = f"{self.compute}/{collection}/{item_id}"
        return [{"href": href, "rel": "self"}, {"href": href, "rel": "bookmark"}]

    def image_links(self, image_id: str) -> list[dict[str, str]]:
        return [*self.pair("images", image_id), {"href": f"{self.image}/images/{image_id}", "rel": "alternate"}]


def _fixed(nic, version: int) -> str:
    return next((address for _subnet, address in nic.fixed_ips if (":" in address) == (version == 6)), "")


def addresses(server: Server, serials: ViewSerials) -> dict[str, list[dict]]:
    """Keyed by network serial (D33); `{}` while building, as in the openstack dialect."""
    found: dict[str, list[dict]] = {}
    if server.vm_state == states.BUILDING or server.deleted:
        return found
    for nic in server.nics:
        entries = found.setdefault(str(serials.networks.get(nic.network_id, nic.network_id)), [])
        for _subnet, address in nic.fixed_ips:
            entries.append({"version": 6 if ":" in address else 4, "addr": address, "OS-EXT-IPS:type": "fixed"})
            entries += [{"version": 6 if ":" in floating else 4, "addr": floating, "OS-EXT-IPS:type": "floating"}
                        for fixed, floating in nic.floating_ips if fixed == address]
    return found


def attachments(server: Server, serials: ViewSerials) -> list[dict]:
    """The server's ports (D25) with their firewall profiles (DISABLED unless set)."""
    if server.deleted:
        return []
    return [{"id": str(serials.ports.get(nic.port_id, nic.port_id)),
             "network_id": str(serials.networks.get(nic.network_id, nic.network_id)),
             "mac_address": nic.mac, "firewallProfile": serials.profiles.get(nic.port_id, "DISABLED"),
             "ipv4": _fixed(nic, 4), "ipv6": _fixed(nic, 6), "OS-EXT-IPS:type": "fixed"} for nic in server.nics]


def diagnostic_entries(actions: list[InstanceAction]) -> list[dict]:
    """One entry per instance action (Nova's record of what was asked of the server and how it ended)."""
    ordered = sorted(actions, key=lambda action: (action.updated_at, action.id), reverse=True)
    return [{"level": "ERROR" if action.message == "Error" else "DEBUG", "created": snf_time(action.updated_at),
             "source": action.action, "source_date": snf_time(action.start_time),
             "message": f"{action.action}: {'failed' if action.message == 'Error' else 'done'}",
             "details": action.message if action.message not in (None, "Error") else None} for action in ordered]


def server_brief(server: Server, links: CycladesLinks) -> dict:
    return {"id": str(server.serial), "name": server.name, "links": links.pair("servers", server.serial)}


def server_full(server: Server, serials: ViewSerials, links: CycladesLinks, domain: str) -> dict:
    shown = status(server)
    flavor = serials.flavors.get(server.flavorid)
    view = {
        "id": str(server.serial), "name": server.name, "status": shown,
        "progress": (server.progress or 0) if shown == "BUILD" else 100,
        "tenant_id": server.project_id, "user_id": server.user_id,
        "created": snf_time(server.created_at), "updated": snf_time(server.updated_at),
        "hostId": "", "accessIPv4": "", "accessIPv6": "", "config_drive": "",
        "image": {"id": server.image_id, "links": links.image_links(server.image_id)} if server.image_id else "",
        "flavor": {"id": flavor, "links": links.pair("flavors", flavor)},
        "metadata": dict(server.metadata),
        "addresses": addresses(server, serials),
        "attachments": attachments(server, serials),
        "links": links.pair("servers", server.serial),
        "security_groups": security_groups(server),
        "key_name": server.key_name,
        "SNF:key_names": ([server.key_name] if server.key_name else []) + [name for name, _key in server.extra_keys],
        "SNF:fqdn": f"snf-{server.serial}.{domain}",
        "SNF:port_forwarding": {},
        "SNF:task_state": task_state(server),
        "suspended": server.uuid in serials.suspended,
        "diagnostics": diagnostic_entries(serials.actions.get(server.uuid, [])),
        "deleted": server.deleted,
    }
    return view
