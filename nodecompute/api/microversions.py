"""Microversion negotiation for a version root that has them (behaviour.md section 4, nova-facts.md).

The requested version comes from `OpenStack-API-Version: <service> X.Y` (which wins) or the legacy header
(`X-OpenStack-Nova-API-Version: X.Y`; Cinder has none); none means the minimum, `latest` the maximum. A malformed value is 400, one
outside the served range 406. Every response of the root, faults included, names the version it was served at and
says `Vary` on both headers.
"""
from __future__ import annotations

import re

from multidict import CIMultiDict, CIMultiDictProxy

from nodecompute.api.dialect import Microversions, Version
from nodecompute.domain.errors import BadRequest, NotAcceptable

_VERSION = re.compile(r"^(\d+)\.(\d+)$|^latest$")


def version_text(version: Version) -> str:
    return f"{version[0]}.{version[1]}"


def requested(headers: CIMultiDictProxy[str], mv: Microversions) -> Version:
    value = None
    header = headers.get("OpenStack-API-Version")
    if header:
        for item in header.split(","):
            parts = item.strip().split(None, 1)
            if len(parts) == 2 and parts[0].lower() == mv.service:
                value = parts[1].strip()
    if value is None and mv.legacy_header:
        value = headers.get(mv.legacy_header)
    if value is None:
        return mv.min
    value = value.strip()
    match = _VERSION.match(value)
    if not match:
        raise BadRequest(f"API Version String {value} is of invalid format. Must be of format MajorNum.MinorNum.")
    if value == "latest":
        return mv.max
    version = (int(match.group(1)), int(match.group(2)))
    if not mv.min <= version <= mv.max:
        raise NotAcceptable(
            f"Version {value} is not supported by the API. Minimum is {version_text(mv.min)} "
            f"and maximum is {version_text(mv.max)}."
        )
    return version


def add_headers(headers: CIMultiDict[str], mv: Microversions, version: Version) -> None:
    text = version_text(version)
    headers["OpenStack-API-Version"] = f"{mv.service} {text}"
    if mv.legacy_header:
        headers[mv.legacy_header] = text
        headers["Vary"] = f"OpenStack-API-Version, {mv.legacy_header}"
    else:
        headers["Vary"] = "OpenStack-API-Version"
