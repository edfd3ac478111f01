"""POST /volumes/{volume_id}/action: os-volume_upload_image (#1222), os-extend (#1223), os-set_bootable.

Cinder's action dispatcher: one key per body (400 "Malformed request body" otherwise), an unknown key is 400
"There is no such action". The rules are compute/volume_actions.py's.
"""
from __future__ import annotations

from aiohttp import web

from nodecompute.api import volume_schemas as schemas
from nodecompute.api.actions import Action, dispatch
from nodecompute.api.auth import context
from nodecompute.api.respond import Out, respond
from nodecompute.api.volumes import block
from nodecompute.compute.volume_actions import Upload
from nodecompute.domain.models import isotime


async def action_extend(request: web.Request, body: dict) -> web.StreamResponse:
    new_size = int(body["os-extend"]["new_size"])
    await block(request).actions.extend(context(request), request.match_info["volume_id"], new_size)
    return respond(request)


async def action_upload_image(request: web.Request, body: dict) -> web.StreamResponse:
    params = body["os-volume_upload_image"]
    upload = await block(request).actions.upload_to_image(
        context(request), request.match_info["volume_id"], params["image_name"],
        params.get("disk_format", "raw"), params.get("container_format", "bare"),
        schemas.to_bool(params.get("force", False)))
    return respond(request, upload)


async def action_set_bootable(request: web.Request, body: dict) -> web.StreamResponse:
    bootable = schemas.to_bool(body["os-set_bootable"]["bootable"])
    await block(request).actions.set_bootable(context(request), request.match_info["volume_id"], bootable)
    return respond(request)


ACTIONS = {
    "os-volume_upload_image": Action("#1222", action_upload_image),
    "os-extend": Action("#1223", action_extend),
    "os-set_bootable": Action("volume:set-bootable", action_set_bootable),
}


async def volume_action(request: web.Request) -> web.StreamResponse:
    return await dispatch(request, ACTIONS, "Malformed request body")


def _volume_type(upload: Upload) -> dict | None:
    """Cinder serialises the volume's type object whole into the upload answer."""
    found = upload.volume_type
    if found is None:
        return None
    return {"id": found.id, "name": found.name, "description": found.description, "is_public": found.is_public,
            "extra_specs": dict(found.extra_specs), "qos_specs_id": None, "created_at": isotime(found.created_at),
            "updated_at": isotime(found.updated_at) if found.updated_at else None, "deleted": False,
            "deleted_at": None}


def _uploaded(out: Out, upload: Upload) -> dict:
    volume, image = upload.volume, upload.image
    return {"os-volume_upload_image": {
        "id": volume.id, "updated_at": isotime(volume.updated_at) if volume.updated_at else None,
        "status": "uploading", "display_description": volume.description, "size": volume.size,
        "volume_type": _volume_type(upload), "image_id": image.id, "container_format": image.container_format,
        "disk_format": image.disk_format, "image_name": image.name, "protected": image.protected,
        "visibility": image.visibility}}


VIEWS = {"#1222": _uploaded}
STATUSES = {"#1222": 202, "#1223": 202, "volume:set-bootable": 200}
BODIES = {"#1222": schemas.UPLOAD_IMAGE, "#1223": schemas.EXTEND, "volume:set-bootable": schemas.SET_BOOTABLE}
