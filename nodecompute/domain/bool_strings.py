"""The strings oslo_utils.strutils.bool_from_string reads as true and as false (lower-cased, stripped first): Nova,
Cinder and Glance parse boolean query parameters, extra specs and image properties with it."""
from __future__ import annotations

TRUE_STRINGS = ("1", "t", "true", "on", "y", "yes")
FALSE_STRINGS = ("0", "f", "false", "off", "n", "no")
