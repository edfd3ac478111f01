"""The shelve (#321), shelveOffload (#322) and unshelve (#323) server actions: Nova's schemas per microversion, one
call to the server service's shelves (compute/shelve.py), 202. From 2.77 unshelve may name an `availability_zone`;
from 2.91 a `host` (admin) and a null zone (unpin), as Nova's os-shelve does."""
from __future__ import annotations

from aiohttp import web

from nodecompute.api import auth
from nodecompute.api.actions import Action
from nodecompute.api.dialect import Versioned
from nodecompute.api.keys import api_version_key, servers_key
from nodecompute.api.respond import respond
from nodecompute.api import validation as v
from nodecompute.compute.shelve import KEEP


def _any_value(key: str) -> dict:
    return {"type": "object", "properties": {key: {}}, "required": [key], "additionalProperties": False}


def _unshelve(inner: dict) -> dict:
    return {"type": "object", "properties": {"unshelve": {"type": ["object", "null"], **inner,
                                                          "additionalProperties": False}},
            "required": ["unshelve"], "additionalProperties": False}


# 2.77: null or {"availability_zone": name}; 2.91: null or at least one of a zone (or null: unpin) and a host
_UNSHELVE_V277 = _unshelve({"properties": {"availability_zone": v.name}, "required": ["availability_zone"]})
_UNSHELVE_V291 = _unshelve({"properties": {"availability_zone": {"type": ["string", "null"]},
                                           "host": {"type": "string", "minLength": 1, "maxLength": 255}},
                            "minProperties": 1})


async def shelve(request: web.Request, body: dict) -> web.StreamResponse:
    await request.config_dict[servers_key].shelves.shelve(auth.context(request), request.match_info["server_id"])
    return respond(request)


async def shelve_offload(request: web.Request, body: dict) -> web.StreamResponse:
    await request.config_dict[servers_key].shelves.shelve_offload(auth.context(request),
                                                                  request.match_info["server_id"])
    return respond(request)


def parse_unshelve(body: dict, version: tuple[int, int]) -> tuple[object, str | None]:
    """(zone, host): the zone KEEP when not given (and always before 2.77, whose body Nova does not look into)."""
    inner = body["unshelve"]
    if version < (2, 77) or not isinstance(inner, dict):
        return KEEP, None
    return inner.get("availability_zone", KEEP), inner.get("host")


async def unshelve(request: web.Request, body: dict) -> web.StreamResponse:
    zone, host = parse_unshelve(body, request[api_version_key])
    await request.config_dict[servers_key].shelves.unshelve(auth.context(request), request.match_info["server_id"],
                                                            zone, host)
    return respond(request)


ACTIONS = {
    "shelve": Action("#321", shelve, "os_compute_api:os-shelve:shelve"),
    "shelveOffload": Action("#322", shelve_offload, "os_compute_api:os-shelve:shelve_offload"),
    "unshelve": Action("#323", unshelve, "os_compute_api:os-shelve:unshelve"),
}
STATUSES = {"#321": 202, "#322": 202, "#323": 202}
BODIES = {"#321": _any_value("shelve"), "#322": _any_value("shelveOffload"),
          "#323": Versioned(_any_value("unshelve"), ((2, 77), _UNSHELVE_V277), ((2, 91), _UNSHELVE_V291))}
