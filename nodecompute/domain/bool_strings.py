"""The strings oslo_utils.strutils.bool_from_string reads as true and as false (lower-cased, stripped first): Nova,
Cinder and Glance parse boolean query parameters, extra specs and image properties with it."""
from __future__ import annotations

from typing import Any

TRUE_STRINGS = ("1", "t", "true", "on", "y", "yes")
FALSE_STRINGS = ("0", "f", "false", "off", "n", "no")


def bool_from_string(value: Any) -> bool:
    """oslo's bool_from_string, not strict: a bool as it is, a true string True, anything else False."""
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in TRUE_STRINGS
