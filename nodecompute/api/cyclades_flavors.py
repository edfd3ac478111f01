"""Cyclades' flavor views (dialects.md D11, D51, D66): the core flavor handlers, with the flavor's serial as a JSON
integer id, self and bookmark the same versioned link, and `SNF:disk_template` (this host's one disk backend,
qcow2 files) and `SNF:flavor-access` in the detailed view: the projects a private flavor is shared with that the
caller is a member of (seed 000 line 3292; all of them for admins), `[]` for a public flavor. The lists take the
query `SNF:flavor-access=<project id>` (seed 000 line 1896): only the flavors shared with that project. The summary
list has no pagination links (D18)."""
from __future__ import annotations

from typing import Any

from nodecompute.api import auth
from nodecompute.api.cyclades_views import CycladesLinks
from nodecompute.api.keys import flavors_key, servers_key
from nodecompute.api.respond import Out
from nodecompute.compute.project_members import member_projects
from nodecompute.domain.models import Flavor

DISK_TEMPLATE = "file"


ACCESS_QUERY = "SNF:flavor-access"


def _shared_with(out: Out, flavor: Flavor) -> list[str]:
    """The flavor's access list (its projects, none when public)."""
    if flavor.is_public:
        return []
    ctx = auth.context(out.request)
    return out.request.config_dict[flavors_key].access_list(flavor.flavorid, ctx.project_id, ctx.is_admin)


def summary(out: Out, links: CycladesLinks, flavor: Flavor) -> dict[str, Any]:
    return {"id": flavor.serial, "name": flavor.name, "links": links.pair("flavors", flavor.serial)}


def detail(out: Out, links: CycladesLinks, flavor: Flavor) -> dict[str, Any]:
    store = out.request.config_dict[servers_key].store
    access = member_projects(store, auth.context(out.request), _shared_with(out, flavor))
    return {**summary(out, links, flavor), "ram": flavor.memory_mb, "disk": flavor.root_gb, "vcpus": flavor.vcpus,
            "os-flavor-access:is_public": flavor.is_public, "SNF:disk_template": DISK_TEMPLATE,
            "SNF:flavor-access": access}


def _page(view):
    def render(out: Out, result: tuple[int, list[Flavor]]) -> dict[str, Any]:
        links, project = CycladesLinks(out), out.request.query.get(ACCESS_QUERY)
        flavors = [flavor for flavor in result[1] if project is None or project in _shared_with(out, flavor)]
        return {"flavors": [view(out, links, flavor) for flavor in flavors]}
    return render


VIEWS = {"#601": _page(summary), "#602": _page(detail),
         "#603": lambda out, flavor: {"flavor": detail(out, CycladesLinks(out), flavor)}}
