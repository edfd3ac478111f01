"""Helion's integer ids for flavors and volumes (dialects.md D10, section 2; seed 002 4.4.1.32-34: flavor ids are
"100", "101", and a flavor path "can be an integer ID or a UUID").

- Flavors are shown by their serial, as a string (section 6: the core samples' string form), in the flavor views
  and in a server's `flavor` reference, links included; a flavor path or a server create's `flavorRef` may name a
  flavor by its serial or by its flavorid (the serial is looked up first, as for servers).
- A volume path (`os-volumes/{id}`, `os-volume_attachments/{id}`) may name a volume by its serial or its UUID;
  volumes are shown by UUID, as the seed shows them (4.4.13).
- Servers keep their UUIDs in answers (D11); their serial is taken in paths (api/helion_wire.py).
Keypairs are named by name in every path and answer of the seed: they have no integer form here.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aiohttp import web

from nodecompute.api.dialects.openstack import OPENSTACK
from nodecompute.api.keys import serial_ids_key
from nodecompute.api.respond import Out

V2 = (2, 0)


def shown_flavor(item: dict[str, Any], serials: Mapping[str, int]) -> None:
    """A flavor (or a server's flavor reference) by its serial, in place: `id` and the links' last segment."""
    flavorid = item.get("id")
    if flavorid not in serials:
        return
    serial = str(serials[flavorid])
    item["id"] = serial
    for link in item.get("links", ()):
        head, sep, tail = link["href"].rpartition("/flavors/")
        if sep and tail == flavorid:
            link["href"] = f"{head}/flavors/{serial}"


def flavor_serials(out: Out) -> dict[str, int]:
    return out.request.config_dict[serial_ids_key].flavor_serials()


def _flavor_list(op: str):
    core = OPENSTACK.views[op].at(V2)

    def view(out: Out, result: Any) -> Any:
        body = core(out, result)
        serials = {flavor.flavorid: flavor.serial for flavor in result[1]}
        for item in body["flavors"]:
            shown_flavor(item, serials)
        return body
    return view


def _flavor_shown(out: Out, flavor: Any) -> Any:
    body = OPENSTACK.views["#603"].at(V2)(out, flavor)
    shown_flavor(body["flavor"], {flavor.flavorid: flavor.serial})
    return body


def flavor_ref(value: Any, request: web.Request) -> Any:
    """A create's `flavorRef` naming a serial (an integer, its string, or a link ending in it): that flavorid."""
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        return value
    head, sep, tail = str(value).rstrip("/").rpartition("/")
    flavorid = request.config_dict[serial_ids_key].flavor_id(tail)
    return f"{head}{sep}{flavorid}" if sep else flavorid


def serials_in_path(request: web.Request) -> None:
    """Flavor and volume serials in the path name those resources' public ids from here on (D10)."""
    serials = request.config_dict[serial_ids_key]
    flavor = request.match_info.get("flavor_id")
    if flavor is not None and flavor.isdigit():
        request.match_info["flavor_id"] = serials.flavor_id(flavor)
    volume = request.match_info.get("volume_id")
    if volume is not None and volume.isdigit():
        request.match_info["volume_id"] = serials.volume_id(volume)


VIEWS = {"#601": _flavor_list("#601"), "#602": _flavor_list("#602"), "#603": _flavor_shown}
