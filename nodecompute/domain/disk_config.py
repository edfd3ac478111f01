"""OS-DCF:diskConfig (a server's auto_disk_config) as Nova's compute API sets it.

- create and rebuild: the request's value, else the image's `auto_disk_config` property read as oslo's
  bool_from_string reads it (AUTO when true, MANUAL otherwise: _inherit_properties_from_image); a rebuild without
  one takes the new image's again.
- resize: AUTO when the request asks for it, MANUAL otherwise, asked or not (`instance.auto_disk_config =
  auto_disk_config or False`).
- AUTO asked for a server whose image says `auto_disk_config=disabled` is refused with Nova's
  AutoDiskConfigDisabledByImage (400) before anything changes (_check_auto_disk_config; a resize checks the
  properties the server kept of its image at create).
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from nodecompute.domain.bool_strings import bool_from_string
from nodecompute.domain.errors import BadRequest

AUTO, MANUAL = "AUTO", "MANUAL"


def image_default(properties: Mapping[str, Any]) -> str:
    """The disk config a server gets from its image when the request names none."""
    return AUTO if bool_from_string(properties.get("auto_disk_config", "")) else MANUAL


def check_allowed(properties: Mapping[str, Any], requested: str | None, image_ref: str) -> None:
    raw = properties.get("auto_disk_config")
    if requested == AUTO and raw is not None and str(raw).strip().lower() == "disabled":
        raise BadRequest(f"Requested image {image_ref} has automatic disk resize disabled.")


def for_boot(properties: Mapping[str, Any], requested: str | None, image_ref: str) -> str:
    """A create's or a rebuild's disk config (refused as check_allowed says)."""
    check_allowed(properties, requested, image_ref)
    return requested or image_default(properties)


def for_resize(kept_properties: Mapping[str, Any], requested: str | None, image_ref: str) -> str:
    """A resize's disk config: AUTO only when asked (refused as check_allowed says)."""
    check_allowed(kept_properties, requested, image_ref)
    return AUTO if requested == AUTO else MANUAL
