"""Volumes at /volume/v3 (and /volume/v2): #1216-#1221, and the volume metadata API of Cinder v3.

Handlers parse, make one service call and respond; the bodies are volume_views.py's, the schemas
volume_schemas.py's, the rules the block storage service's (compute/volumes.py).
"""
from __future__ import annotations

from aiohttp import web

from nodecompute.api import volume_schemas as schemas
from nodecompute.api.auth import context
from nodecompute.api.keys import block_storage_key, large_list_gate_key
from nodecompute.api.rendered_pages import release_memory_soon
from nodecompute.api.respond import Out, parse_body, respond, respond_in_thread
from nodecompute.api.volume_views import volume_body, volume_list
from nodecompute.compute.block_storage import BlockStorage
from nodecompute.domain.errors import BadRequest
from nodecompute.domain.volume_models import ListQuery, VolumeCreate

MULTIATTACH_REMOVED = ("multiattach parameter has been removed. The default behavior is to use multiattach enabled "
                       "volume types. Contact your administrator to create a multiattach enabled volume type and "
                       "use it to create multiattach volumes.")


def block(request: web.Request) -> BlockStorage:
    return request.config_dict[block_storage_key]


def list_query(request: web.Request) -> ListQuery:
    marker, limit, offset = schemas.paging(request.query)
    filters = schemas.filters(request.query)
    all_projects = False
    if "all_tenants" in filters:
        all_projects = schemas.strict_bool(filters["all_tenants"], "all_tenants")
    return ListQuery(filters=filters, sort=schemas.sorting(request.query), marker=marker, limit=limit,
                     offset=offset, all_projects=all_projects)


async def list_volumes(request: web.Request) -> web.StreamResponse:
    """Read on the store's reader thread, the body and its JSON made on the render thread, one large list at a
    time (as servers lists): a thousand volumes cost the event loop a few short steps, not 50 ms."""
    query = list_query(request)
    async with request.config_dict[large_list_gate_key]:
        found = await block(request).volumes.list_off_loop(context(request), query)
        release_memory_soon()  # a thousand volumes leave megabytes of freed heap behind them
        return await respond_in_thread(request, (found, query.limit))


async def create_volume(request: web.Request) -> web.StreamResponse:
    volume = schemas.check_names((await parse_body(request))["volume"])
    return respond(request, await block(request).volumes.create(context(request), create_request(volume)))


def create_request(volume: dict) -> VolumeCreate:
    """A checked `volume` body as the create the service makes (also K5's, api/k5_storage.py)."""
    if volume.get("multiattach") is not None and schemas.to_bool(volume["multiattach"]):
        raise BadRequest(MULTIATTACH_REMOVED)
    named = schemas.name_and_description(volume)
    image_ref = volume["imageRef"] if volume.get("imageRef") is not None else volume.get("image_id")
    return VolumeCreate(size=volume.get("size"), name=named.get("name"), description=named.get("description"),
                        volume_type=volume.get("volume_type"), availability_zone=volume.get("availability_zone"),
                        snapshot_id=volume.get("snapshot_id"), source_volid=volume.get("source_volid"),
                        image_ref=image_ref, metadata=volume.get("metadata"))


async def show_volume(request: web.Request) -> web.StreamResponse:
    return respond(request, block(request).volumes.get(context(request), request.match_info["volume_id"]))


async def update_volume(request: web.Request) -> web.StreamResponse:
    values = schemas.check_names((await parse_body(request))["volume"])
    changes = schemas.name_and_description(values)
    if "metadata" in values:
        changes["metadata"] = values["metadata"]
    return respond(request, await block(request).volumes.update(context(request), request.match_info["volume_id"],
                                                                 changes))


async def delete_volume(request: web.Request) -> web.StreamResponse:
    cascade = "cascade" in request.query and schemas.strict_bool(request.query.getall("cascade")[-1], "cascade")
    await block(request).volumes.delete(context(request), request.match_info["volume_id"], cascade)
    return respond(request)


# metadata ---------------------------------------------------------------------------------------------------------

async def list_metadata(request: web.Request) -> web.StreamResponse:
    return respond(request, block(request).volumes.metadata(context(request), request.match_info["volume_id"]))


async def merge_metadata(request: web.Request) -> web.StreamResponse:
    metadata = (await parse_body(request))["metadata"]
    return respond(request, await block(request).volumes.set_metadata(
        context(request), request.match_info["volume_id"], metadata, replace=False))


async def replace_metadata(request: web.Request) -> web.StreamResponse:
    metadata = (await parse_body(request))["metadata"]
    return respond(request, await block(request).volumes.set_metadata(
        context(request), request.match_info["volume_id"], metadata, replace=True))


async def show_metadata_item(request: web.Request) -> web.StreamResponse:
    return respond(request, block(request).volumes.metadata_item(context(request), request.match_info["volume_id"],
                                                                  request.match_info["key"]))


async def set_metadata_item(request: web.Request) -> web.StreamResponse:
    item = (await parse_body(request))["meta"]
    key = request.match_info["key"]
    if key not in item:
        raise BadRequest("Request body and URI mismatch")
    await block(request).volumes.set_metadata(context(request), request.match_info["volume_id"], item,
                                              replace=False)
    return respond(request, item)


async def delete_metadata_item(request: web.Request) -> web.StreamResponse:
    await block(request).volumes.delete_metadata_item(context(request), request.match_info["volume_id"],
                                                      request.match_info["key"])
    return respond(request)


def _show(out: Out, volume) -> dict:
    return {"volume": volume_body(out, volume, extended=True)}


def _plain(out: Out, volume) -> dict:
    return {"volume": volume_body(out, volume, extended=False)}


VIEWS = {
    "#1216": lambda out, result: volume_list(out, result, detail=False),
    "#1217": lambda out, result: volume_list(out, result, detail=True),
    "#1218": _plain, "#1219": _show, "#1220": _plain,
    "volume:metadata": lambda out, metadata: {"metadata": metadata},
    "volume:metadata-merge": lambda out, metadata: {"metadata": metadata},
    "volume:metadata-replace": lambda out, metadata: {"metadata": metadata},
    "volume:metadata-item": lambda out, item: {"meta": item},
    "volume:metadata-item-set": lambda out, item: {"meta": item},
}
STATUSES = {"#1218": 202, "#1221": 202, "volume:metadata-item-delete": 200}
BODIES = {"#1218": schemas.VOLUME_CREATE, "#1220": schemas.VOLUME_UPDATE,
          "volume:metadata-merge": schemas.METADATA_BODY, "volume:metadata-replace": schemas.METADATA_BODY,
          "volume:metadata-item-set": schemas.META_ITEM_BODY}
