"""K5's image and block storage faces (issue 25, slice 3, dialects.md D60, D58, D63): the Glance v2 subset at
/k5/image as the image face serves it, and Cinder v2 at /k5/volume/v2/{tenant_id} with K5's differences: a volume
without a type shows `volume_type` "None"; create takes `source_vol_id` and `source_volume_id` for `source_volid`;
a volume type's show has the zone inside; snapshot detail and show name the zone; the snapshot action
`fcx-restore` (#1230) reverts the volume to the snapshot in place."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aiohttp import web

from nodecompute.api import volume_schemas as schemas
from nodecompute.api import volume_snapshots, volume_types, volumes
from nodecompute.api.actions import Action, dispatch
from nodecompute.api.auth import context
from nodecompute.api.dialect import Versioned
from nodecompute.api.k5_faces import zone
from nodecompute.api.respond import Out, check_body, respond
from nodecompute.api.routing import Route
from nodecompute.api.validation import json_body
from nodecompute.compute import volume_revert

SOURCE_VOLUME_ALIASES = ("source_vol_id", "source_volume_id")  # K5's table and response names (section 6)
NO_TYPE = "None"


async def create_volume(request: web.Request) -> web.StreamResponse:
    """#1218 in K5: the core's create, `source_volid` also under K5's two other names."""
    raw = await json_body(request)
    if isinstance(raw, dict) and isinstance(raw.get("volume"), dict):
        for alias in SOURCE_VOLUME_ALIASES:
            if alias in raw["volume"]:
                raw["volume"].setdefault("source_volid", raw["volume"].pop(alias))
    volume = schemas.check_names(check_body(request, raw)["volume"])
    req = volumes.create_request(volume)
    return respond(request, await volumes.block(request).volumes.create(context(request), req))


def _typed(body: dict[str, Any]) -> dict[str, Any]:
    for volume in body.get("volumes", [body.get("volume")]):
        if isinstance(volume, dict) and "volume_type" in volume and volume["volume_type"] is None:
            volume["volume_type"] = NO_TYPE
    return body


def _after(view: Callable[[Out, Any], dict], change: Callable[[Out, dict], dict]) -> Callable[[Out, Any], dict]:
    return lambda out, result: change(out, view(out, result))


def _zoned_type(out: Out, body: dict) -> dict:
    body["volume_type"]["availability_zone"] = zone(out.request)
    return body


def _zoned_snapshots(out: Out, body: dict) -> dict:
    for snapshot in body.get("snapshots", [body.get("snapshot")]):
        snapshot["availability_zone"] = zone(out.request)
    return body


VOLUME_VIEWS = {
    **{op: _after(volumes.VIEWS[op], lambda out, body: _typed(body)) for op in ("#1217", "#1218", "#1219", "#1220")},
    "#1215": _after(volume_types.VIEWS["#1215"], _zoned_type),
    "#1225": _after(volume_snapshots.VIEWS["#1225"], _zoned_snapshots),
    "#1226": _after(volume_snapshots.VIEWS["#1226"], _zoned_snapshots),
}


async def _fcx_restore(request: web.Request, body: dict) -> web.StreamResponse:
    """#1230: revert the snapshot's volume to it in place (compute/volume_revert.py); 202, no body."""
    await volume_revert.revert(volumes.block(request).volumes, context(request), request.match_info["snapshot_id"])
    return respond(request)


SNAPSHOT_ACTIONS = {"fcx-restore": Action("#1230", _fcx_restore)}
FCX_RESTORE = {"type": "object", "properties": {"fcx-restore": {"type": ["object", "null"]}},
               "required": ["fcx-restore"]}


async def snapshot_action(request: web.Request) -> web.StreamResponse:
    return await dispatch(request, SNAPSHOT_ACTIONS, "Malformed request body")


_HANDLERS = {"#1218": create_volume, "volume:snapshot-action": snapshot_action}


def volume_rows(routes: tuple[Route, ...]) -> tuple[Route, ...]:
    return tuple(route._replace(handler=_HANDLERS[route.op],
                                actions=SNAPSHOT_ACTIONS if route.op == "volume:snapshot-action" else route.actions)
                 if route.op in _HANDLERS else route for route in routes)


def versioned_views() -> dict[str, Versioned]:
    return {op: Versioned(view) for op, view in VOLUME_VIEWS.items()}


BODIES = {"#1230": Versioned(FCX_RESTORE)}
STATUSES = {"#1230": Versioned(202)}
