"""Server views (Nova's views/servers.py, openstack dialect): pure functions of a Server, a link builder and the
caller's context. No I/O. VIEWS and STATUSES are the openstack dialect's for #201-#207; the full server is built
from parts that microversions add or replace (DETAIL_PARTS, UPDATE_PARTS), so each version's view is data."""
from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable
from datetime import datetime

from nodecompute.api.dialect import layered
from nodecompute.api.rendered_pages import PageView
from nodecompute.api.respond import Out, Reply
from nodecompute.api.server_ips import addresses
from nodecompute.api.urls import Links
from nodecompute.compute import image_properties
from nodecompute.domain import states
from nodecompute.domain.models import AuthContext, isotime, zulu
from nodecompute.domain.server_models import CreateRequest, CreateResult, Server, ServerFault, ServerRef

FAULT_STATUSES = ("ERROR", "DELETED")
DEFAULT_SECURITY_GROUPS = [{"name": "default"}]


def usage_time(dt: datetime | None) -> str | None:
    """`OS-SRV-USG:*`: microseconds, no zone."""
    return isotime(dt) if dt is not None else None


def host_id(server: Server) -> str:
    """sha224 of project id + host (Nova's generate_hostid); "" without a host."""
    if not server.host:
        return ""
    return hashlib.sha224((server.project_id + server.host).encode()).hexdigest()


def fault_view(fault: ServerFault, ctx: AuthContext) -> dict:
    view = {"code": fault.code, "created": zulu(fault.created), "message": fault.message}
    if fault.details and (ctx.is_admin or fault.code != 500):
        view["details"] = fault.details
    return view


def server_brief(server: Server | ServerRef, links: Links) -> dict:
    return {"id": server.uuid, "links": links.pair("servers", server.uuid), "name": server.name}


# ----- the full server, in parts that microversions add or replace ---------------------------------------------
# A part is `(view, server, out) -> None`: it adds its keys to `view`. DETAIL_PARTS (detail), SHOW_PARTS (show) and
# UPDATE_PARTS (PUT: Nova's update answers fewer keys until 2.75) say which parts are in force at each microversion.

Part = Callable[[dict, Server, Out], None]
ROOT_DEVICE = "/dev/vda"  # the root disk is the first virtio disk


def _common(view: dict, server: Server, out: Out) -> None:
    """The keys of every full view, PUT's included."""
    links = out.links
    status = states.status_from_state(server.vm_state, server.task_state)
    view.update({
        "id": server.uuid,
        "name": server.name,
        "status": status,
        "tenant_id": server.project_id,
        "user_id": server.user_id,
        "metadata": dict(server.metadata),
        "hostId": host_id(server),
        "image": {"id": server.image_id, "links": links.bookmark("images", server.image_id)}
        if server.image_id else "",
        "flavor": {"id": server.flavorid, "links": links.bookmark("flavors", server.flavorid)},
        "created": zulu(server.created_at),
        "updated": zulu(server.updated_at),
        "addresses": addresses(server, extended=True),
        "accessIPv4": server.access_ipv4 or "",
        "accessIPv6": server.access_ipv6 or "",
        "links": links.pair("servers", server.uuid),
        "OS-DCF:diskConfig": server.disk_config,
    })
    if status in states.PROGRESS_STATUSES:
        view["progress"] = server.progress or 0
    if status in FAULT_STATUSES and server.fault is not None:
        view["fault"] = fault_view(server.fault, out.ctx)


def _shown(view: dict, server: Server, out: Out) -> None:
    """What GET shows beside the common keys (PUT from 2.75)."""
    view.update({
        "key_name": server.key_name,
        "config_drive": "True" if server.config_drive else "",
        "OS-EXT-AZ:availability_zone": server.availability_zone,
        "OS-EXT-STS:power_state": server.power_state,
        "OS-EXT-STS:task_state": server.task_state,
        "OS-EXT-STS:vm_state": server.vm_state,
        "OS-SRV-USG:launched_at": usage_time(server.launched_at),
        "OS-SRV-USG:terminated_at": usage_time(server.terminated_at),
        "os-extended-volumes:volumes_attached": [
            {"id": v.id, "delete_on_termination": v.delete_on_termination} if out.version >= (2, 3) else {"id": v.id}
            for v in server.volumes],
    })
    groups = security_groups(server)
    if groups:
        view["security_groups"] = groups


def _extended(view: dict, server: Server, out: Out) -> None:
    """OS-EXT-SRV-ATTR (admins, Nova's os-extended-server-attributes policy)."""
    if out.ctx.is_admin:
        view["OS-EXT-SRV-ATTR:host"] = server.host
        view["OS-EXT-SRV-ATTR:hypervisor_hostname"] = server.host
        view["OS-EXT-SRV-ATTR:instance_name"] = server.instance_name


def _extended_23(view: dict, server: Server, out: Out) -> None:
    """2.3: the attributes the EC2 API needed. No kernel or ramdisk images here (Nova shows "" then)."""
    _extended(view, server, out)
    if out.ctx.is_admin:
        view.update({
            "OS-EXT-SRV-ATTR:reservation_id": server.reservation_id,
            "OS-EXT-SRV-ATTR:launch_index": server.launch_index,
            "OS-EXT-SRV-ATTR:hostname": server.hostname,
            "OS-EXT-SRV-ATTR:kernel_id": "",
            "OS-EXT-SRV-ATTR:ramdisk_id": "",
            "OS-EXT-SRV-ATTR:root_device_name": ROOT_DEVICE if server.launched_at else None,
            "OS-EXT-SRV-ATTR:user_data": base64.b64encode(server.user_data).decode()
            if server.user_data is not None else None,
        })


def _locked(view: dict, server: Server, out: Out) -> None:
    view["locked"] = server.locked


def _host_status(view: dict, server: Server, out: Out) -> None:
    """2.16 (admins, Nova's show:host_status policy): the one host's compute service runs in this daemon, so it
    is UP whenever the server has a host; "" without one (Nova's NONE)."""
    if out.ctx.is_admin:
        view["host_status"] = HOST_UP if server.host else ""


def _description(view: dict, server: Server, out: Out) -> None:
    view["description"] = server.description


def _tags(view: dict, server: Server, out: Out) -> None:
    view["tags"] = list(server.tags)


def _flavor_embedded(view: dict, server: Server, out: Out) -> None:
    """2.47: the flavor as it was at create, extra specs included (Nova's show:flavor-extra-specs policy is any
    reader of the project)."""
    view["flavor"] = {
        "vcpus": server.vcpus, "ram": server.memory_mb, "disk": server.root_gb, "ephemeral": server.ephemeral_gb,
        "swap": server.swap, "original_name": server.flavor_name, "extra_specs": dict(server.flavor_extra_specs),
    }


def _trusted_certs(view: dict, server: Server, out: Out) -> None:
    """2.63: no server holds trusted certificates here (create refuses them: compute/servers.py)."""
    view["trusted_image_certificates"] = None


def _server_groups(view: dict, server: Server, out: Out) -> None:
    """2.71 (show and update, not the detail list): the group the server is a member of, as a list (Nova's
    InstanceGroup.get_by_instance_uuid; [] when it is in none or its group was deleted)."""
    view["server_groups"] = list(server.server_groups)


def _locked_reason(view: dict, server: Server, out: Out) -> None:
    """2.73: the reason given to the lock that holds the server (None when unlocked or locked without one)."""
    view["locked_reason"] = server.locked_reason if server.locked else None


def _hostname(view: dict, server: Server, out: Out) -> None:
    """2.90: everyone sees the hostname (admins have had it since 2.3)."""
    view.setdefault("OS-EXT-SRV-ATTR:hostname", server.hostname)


def _pinned_zone(view: dict, server: Server, out: Out) -> None:
    """2.96: the zone asked for at create (Nova's request spec), null when none was."""
    view["pinned_availability_zone"] = server.pinned_availability_zone


def _image_properties(view: dict, server: Server, out: Out) -> None:
    """2.98: the embedded image shows the standard properties the server kept of it (none when booted from a
    volume: its image is "")."""
    if isinstance(view.get("image"), dict):
        view["image"]["properties"] = image_properties.shown(server.image_properties)


def _scheduler_hints(view: dict, server: Server, out: Out) -> None:
    """2.100: the hints given at create as Nova's request spec keeps them (each value a list of strings)."""
    view["scheduler_hints"] = {name: [str(item) for item in (value if isinstance(value, list) else [value])]
                               for name, value in server.scheduler_hints.items()}


HOST_UP = "UP"
_LATER = (((2, 9), {"locked": _locked}), ((2, 19), {"description": _description}), ((2, 26), {"tags": _tags}),
          ((2, 47), {"flavor": _flavor_embedded}), ((2, 63), {"trusted_certs": _trusted_certs}),
          ((2, 73), {"locked_reason": _locked_reason}), ((2, 90), {"hostname": _hostname}),
          ((2, 96), {"pinned_zone": _pinned_zone}), ((2, 98), {"image_properties": _image_properties}),
          ((2, 100), {"scheduler_hints": _scheduler_hints}))
_DETAIL_STEPS = (((2, 3), {"extended": _extended_23}), ((2, 16), {"host_status": _host_status}), *_LATER)
_BASE = {"common": _common, "shown": _shown, "extended": _extended}
_GROUPS = ((2, 71), {"server_groups": _server_groups})
DETAIL_PARTS = layered(_BASE, *_DETAIL_STEPS)
SHOW_PARTS = layered(_BASE, *_DETAIL_STEPS, _GROUPS)
# 2.75: update answers what show answers (Nova's show_all_attributes)
_UPDATE_IS_SHOW = ((2, 75), {"shown": _shown, "extended": _extended_23, "host_status": _host_status})
UPDATE_PARTS = layered({"common": _common}, *_LATER, _GROUPS, _UPDATE_IS_SHOW)


def render(parts: tuple[Part, ...], server: Server, out: Out) -> dict:
    view: dict = {}
    for part in parts:
        part(view, server, out)
    return view


def security_groups(server: Server) -> list[dict]:
    """The names of the groups on the server's ports, each once (Nova reads them from Neutron; a server whose
    ports have none shows no `security_groups`). A server without NICs shows the default group as before
    networking, which is what it gets on its first port."""
    if not server.nics:
        return list(DEFAULT_SECURITY_GROUPS)
    found: list[dict] = []
    for nic in server.nics:
        for name in nic.security_groups:
            if {"name": name} not in found:
                found.append({"name": name})
    return found


def create_response(server: Server, links: Links, admin_pass: str, groups: tuple[str, ...] = ()) -> dict:
    """Nova echoes the request's `security_groups` (the default group when it names none)."""
    return {"server": {
        "id": server.uuid,
        "links": links.pair("servers", server.uuid),
        "OS-DCF:diskConfig": server.disk_config,
        "security_groups": [{"name": name} for name in groups] or list(DEFAULT_SECURITY_GROUPS),
        "adminPass": admin_pass,
    }}


_brief_page = PageView("servers", "servers", lambda out, server: server_brief(server, out.links))


def _detail_page(parts: tuple[Part, ...]) -> PageView:
    return PageView("servers", "servers/detail", lambda out, server: render(parts, server, out))


def _one(parts: tuple[Part, ...]):
    def view(out: Out, server: Server) -> dict:
        return {"server": render(parts, server, out)}
    return view


def _created(out: Out, result: tuple[CreateRequest, CreateResult]) -> dict | Reply:
    create, created = result
    if create.return_reservation_id:
        return {"reservation_id": created.reservation_id}
    first = created.servers[0]
    return Reply(create_response(first, out.links, created.admin_pass, create.security_groups),
                 headers={"Location": out.links.self_href("servers", first.uuid)})


detail_page, one_server = _detail_page, _one  # for the vendor dialects' own server views (api/k5_compute.py)
VIEWS = {"#201": _brief_page, "#202": DETAIL_PARTS.map(_detail_page), "#203": _created, "#204": _created,
         "#205": SHOW_PARTS.map(_one), "#206": UPDATE_PARTS.map(_one)}
STATUSES = {"#203": 202, "#204": 202, "#207": 204}  # #204 os-volumes_boot: the create's alias
