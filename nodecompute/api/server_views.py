"""Server views (Nova's views/servers.py, openstack dialect): pure functions of a Server, a link builder and the
caller's context. No I/O. VIEWS and STATUSES are the openstack dialect's for #201-#207."""
from __future__ import annotations

import hashlib
from datetime import datetime

from nodecompute.api.respond import Out, Reply
from nodecompute.api.server_ips import addresses
from nodecompute.api.urls import Links
from nodecompute.domain import states
from nodecompute.domain.models import AuthContext, isotime, zulu
from nodecompute.domain.server_models import CreateRequest, CreateResult, Server, ServerFault

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


def server_brief(server: Server, links: Links) -> dict:
    return {"id": server.uuid, "links": links.pair("servers", server.uuid), "name": server.name}


def server_detail(server: Server, links: Links, ctx: AuthContext) -> dict:
    status = states.status_from_state(server.vm_state, server.task_state)
    view = {
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
        "key_name": server.key_name,
        "config_drive": "True" if server.config_drive else "",
        "OS-EXT-AZ:availability_zone": server.availability_zone,
        "OS-EXT-STS:power_state": server.power_state,
        "OS-EXT-STS:task_state": server.task_state,
        "OS-EXT-STS:vm_state": server.vm_state,
        "OS-SRV-USG:launched_at": usage_time(server.launched_at),
        "OS-SRV-USG:terminated_at": usage_time(server.terminated_at),
        "os-extended-volumes:volumes_attached": [],
    }
    groups = security_groups(server)
    if groups:
        view["security_groups"] = groups
    if status in states.PROGRESS_STATUSES:
        view["progress"] = server.progress or 0
    if status in FAULT_STATUSES and server.fault is not None:
        view["fault"] = fault_view(server.fault, ctx)
    if ctx.is_admin:
        view["OS-EXT-SRV-ATTR:host"] = server.host
        view["OS-EXT-SRV-ATTR:hypervisor_hostname"] = server.host
        view["OS-EXT-SRV-ATTR:instance_name"] = server.instance_name
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


def _page(detail: bool):
    def render(out: Out, result: tuple[list[Server], int]) -> dict:
        found, limit = result
        links = out.links
        body: dict = {"servers": [server_detail(s, links, out.ctx) if detail else server_brief(s, links)
                                  for s in found]}
        if found and len(found) == limit:
            body["servers_links"] = links.next_page("servers/detail" if detail else "servers", found[-1].uuid)
        return body
    return render


def _one(out: Out, server: Server) -> dict:
    return {"server": server_detail(server, out.links, out.ctx)}


def _created(out: Out, result: tuple[CreateRequest, CreateResult]) -> dict | Reply:
    create, created = result
    if create.return_reservation_id:
        return {"reservation_id": created.reservation_id}
    first = created.servers[0]
    return Reply(create_response(first, out.links, created.admin_pass, create.security_groups),
                 headers={"Location": out.links.self_href("servers", first.uuid)})


VIEWS = {"#201": _page(detail=False), "#202": _page(detail=True), "#203": _created, "#205": _one, "#206": _one}
STATUSES = {"#203": 202, "#207": 204}
