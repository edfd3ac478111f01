"""Microversion negotiation for a version root that has them (behaviour.md section 4, nova-facts.md section 3.3).

The requested version is read as Nova reads it (microversion_parse): the last `<service> X.Y` entry of
`OpenStack-API-Version` naming the root's service wins; without one, the last comma-separated value of the legacy
header (`X-OpenStack-Nova-API-Version`); without either, the minimum. `latest` is the maximum. A value that is not
`<major>.<minor>` (no leading zeros) is 400 and the fault names no version; a version outside the served range is
406 `computeFault`, and that fault names the version asked for. Every other response of the root, faults included,
names the version it was served at and adds both headers to `Vary`.
"""
from __future__ import annotations

import re

from multidict import CIMultiDict, CIMultiDictProxy

from nodecompute.api.dialect import Microversions, Version
from nodecompute.domain.errors import BadRequest, NotAcceptable

STANDARD_HEADER = "OpenStack-API-Version"
_VERSION = re.compile(r"^([1-9]\d*)\.([1-9]\d*|0)$")  # Nova's APIVersionRequest


class UnsupportedVersion(NotAcceptable):
    """A well-formed version outside the served range: its fault still names it (Nova's InvalidGlobalAPIVersion)."""

    def __init__(self, version: Version, mv: Microversions) -> None:
        super().__init__(f"Version {version_text(version)} is not supported by the API. "
                         f"Minimum is {version_text(mv.min)} and maximum is {version_text(mv.max)}.")
        self.version = version


def version_text(version: Version) -> str:
    return f"{version[0]}.{version[1]}"


def _folded(headers: CIMultiDictProxy[str], name: str) -> str | None:
    values = headers.getall(name, [])
    return ",".join(value.strip() for value in values) if values else None


def requested_text(headers: CIMultiDictProxy[str], service: str, legacy_header: str) -> str | None:
    """The version string a request asks for, or None (microversion_parse.get_version)."""
    standard = _folded(headers, STANDARD_HEADER)
    if standard:
        for item in reversed(standard.split(",")):
            parts = item.strip().split(None, 1)
            if len(parts) == 2 and parts[0].lower() == service.lower():
                return parts[1].strip()
    legacy = _folded(headers, legacy_header)
    return None if legacy is None else legacy.split(",")[-1].strip()


def requested(headers: CIMultiDictProxy[str], mv: Microversions) -> Version:
    """The version to serve the request at; BadRequest when malformed, UnsupportedVersion when out of range."""
    value = requested_text(headers, mv.service, mv.legacy_header)
    if value is None:
        return mv.min
    if value == "latest":
        return mv.max
    match = _VERSION.match(value)
    if not match:
        raise BadRequest(f"API Version String {value} is of invalid format. Must be of format MajorNum.MinorNum.")
    version = (int(match.group(1)), int(match.group(2)))
    if not mv.min <= version <= mv.max:
        raise UnsupportedVersion(version, mv)
    return version


def add_headers(headers: CIMultiDict[str], mv: Microversions, version: Version) -> None:
    """The served version in both headers, and both request headers added to `Vary` (kept beside any other)."""
    text = version_text(version)
    headers[STANDARD_HEADER] = f"{mv.service} {text}"
    headers[mv.legacy_header] = text
    ours = f"{STANDARD_HEADER}, {mv.legacy_header}"
    headers["Vary"] = f"{headers['Vary']}, {ours}" if headers.get("Vary") else ours
