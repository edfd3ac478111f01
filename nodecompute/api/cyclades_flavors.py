"""Cyclades' flavor views (dialects.md D11, D51, D66): the core flavor handlers, with the flavor's serial as a JSON
integer id, self and bookmark the same versioned link, and `SNF:disk_template` (this host's one disk backend,
qcow2 files) and `SNF:flavor-access` in the detailed view. The summary list has no pagination links (D18)."""
from __future__ import annotations

from typing import Any

from nodecompute.api.cyclades_views import CycladesLinks
from nodecompute.api.respond import Out
from nodecompute.domain.models import Flavor

DISK_TEMPLATE = "file"


def summary(links: CycladesLinks, flavor: Flavor) -> dict[str, Any]:
    return {"id": flavor.serial, "name": flavor.name, "links": links.pair("flavors", flavor.serial)}


def detail(links: CycladesLinks, flavor: Flavor) -> dict[str, Any]:
    return {**summary(links, flavor), "ram": flavor.memory_mb, "disk": flavor.root_gb, "vcpus": flavor.vcpus,
            "os-flavor-access:is_public": flavor.is_public, "SNF:disk_template": DISK_TEMPLATE,
            "SNF:flavor-access": []}


def _page(view):
    def render(out: Out, result: tuple[int, list[Flavor]]) -> dict[str, Any]:
        links = CycladesLinks(out)
        return {"flavors": [view(links, flavor) for flavor in result[1]]}
    return render


VIEWS = {"#601": _page(summary), "#602": _page(detail),
         "#603": lambda out, flavor: {"flavor": detail(CycladesLinks(out), flavor)}}
