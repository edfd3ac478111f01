"""The createImage (#307) and createBackup (#324) server actions: Nova's schemas, one call to the server service
(compute/server_images.py), then 202 with the image's Location (createImage: the image service's URL of it, as
Nova's glance.generate_image_url; createBackup: the compute /images URL, only when `rotation` is above 0) or, from
2.45, a body `{"image_id": ...}` and no Location."""
from __future__ import annotations

from typing import NamedTuple

from aiohttp import web

from nodecompute.api import auth
from nodecompute.api import validation as v
from nodecompute.api.actions import Action
from nodecompute.api.dialect import Versioned
from nodecompute.api.keys import servers_key
from nodecompute.api.respond import Out, Reply, respond
from nodecompute.api.server_schemas import legacy_name
from nodecompute.api.urls import base_url
from nodecompute.domain.image_models import Image

IMAGE_ID_SINCE = (2, 45)


class Made(NamedTuple):
    image: Image
    location: str | None  # the path below the face (compute) or the host (image service); None: no Location


def _schema(key: str, name: dict, **properties: dict) -> dict:
    inner = {"type": "object", "properties": {"name": name, **properties, "metadata": v.metadata},
             "required": ["name", *properties], "additionalProperties": False}
    return {"type": "object", "properties": {key: inner}, "required": [key], "additionalProperties": False}


def _image_schemas(name: dict) -> dict:
    return _schema("createImage", name)


def _backup_schemas(name: dict) -> dict:
    return _schema("createBackup", name, backup_type={"type": "string"}, rotation=v.non_negative_integer)


def normalize_name(name: str) -> str:
    """Nova's common.normalize_name: the legacy API's names lose their leading and trailing spaces."""
    return name.strip()


async def create_image(request: web.Request, body: dict) -> web.StreamResponse:
    inner = body["createImage"]
    image = await request.config_dict[servers_key].images_of.create_image(
        auth.context(request), request.match_info["server_id"], normalize_name(inner["name"]),
        dict(inner.get("metadata") or {}))
    return respond(request, Made(image, f"/image/images/{image.id}"))


async def create_backup(request: web.Request, body: dict) -> web.StreamResponse:
    inner = body["createBackup"]
    rotation = int(inner["rotation"])
    image = await request.config_dict[servers_key].images_of.create_backup(
        auth.context(request), request.match_info["server_id"], normalize_name(inner["name"]),
        inner["backup_type"], rotation, dict(inner.get("metadata") or {}))
    return respond(request, Made(image, "images" if rotation > 0 else None))


def _view(out: Out, made: Made) -> Reply:
    if out.version >= IMAGE_ID_SINCE:
        return Reply({"image_id": made.image.id})
    if made.location is None:
        return Reply()
    if made.location.startswith("/"):  # the image service's own URL (Nova asks Glance's endpoint)
        return Reply(headers={"Location": f"{base_url(out.request)}{made.location}"})
    return Reply(headers={"Location": f"{out.links.versioned}/{made.location}/{made.image.id}"})


ACTIONS = {
    "createImage": Action("#307", create_image, "os_compute_api:servers:create_image"),
    "createBackup": Action("#324", create_backup, "os_compute_api:os-create-backup"),
}
STATUSES = {"#307": 202, "#324": 202}
VIEWS = {"#307": _view, "#324": _view}
BODIES = {
    "#307": Versioned(_image_schemas(legacy_name), ((2, 1), _image_schemas(v.name))),
    "#324": Versioned(_backup_schemas(legacy_name), ((2, 1), _backup_schemas(v.name))),
}
