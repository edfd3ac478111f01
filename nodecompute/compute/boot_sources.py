"""What a create boots: the flavor and the image a request names, checked as Nova's create checks them, and the
block device mappings an image defines (a volume-backed server's snapshot boots from new volumes)."""
from __future__ import annotations

import dataclasses

from nodecompute.compute.block_devices import from_image_properties
from nodecompute.compute.flavors import FlavorService
from nodecompute.compute.images import ImageService
from nodecompute.domain.errors import BadRequest, NotFound
from nodecompute.domain.models import AuthContext, id_from_ref
from nodecompute.domain.server_models import CreateRequest


def with_image_mappings(images: ImageService, ctx: AuthContext, req: CreateRequest) -> CreateRequest:
    """An image whose properties define a volume root (a volume-backed server's snapshot): its mappings come first
    and the server boots from their volumes (Nova merges image-defined mappings with the request's)."""
    try:
        image = images.get_for_boot(req.image_ref, ctx.project_id) if req.image_ref else None
    except (NotFound, BadRequest):
        return req  # the image checks of the create give the fault
    defined = from_image_properties(image.properties) if image else ()
    if not any(m.boot_index == 0 for m in defined):
        return req
    return dataclasses.replace(req, image_ref="", block_devices=defined + req.block_devices)


def flavor_for_boot(flavors: FlavorService, ctx: AuthContext, ref: str):
    flavor_id = id_from_ref(ref)
    try:
        flavor = flavors.get_for_project(flavor_id, ctx.project_id, ctx.is_admin)
    except NotFound:
        raise BadRequest(f"Flavor {flavor_id} could not be found.") from None
    if flavor.disabled:
        raise BadRequest("Flavor is disabled.")
    return flavor


def image_for_boot(images: ImageService, ctx: AuthContext, ref: str):
    image_id = id_from_ref(ref)
    try:
        image = images.get_for_boot(image_id, ctx.project_id)
    except NotFound:
        raise BadRequest("Can not find requested image") from None  # Nova's create, for ImageNotFound
    if image.status != "active":
        raise BadRequest(f"Image {image_id} is not active.")
    return image
