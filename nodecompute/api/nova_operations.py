"""The types of the Nova operation catalog (nova_catalog.py) and microversion arithmetic.

An `Operation` is one (method, path template, action key) of upstream Nova's compute API with the microversion
range in which Nova routes it and its success `Status` per microversion range. The `_op`, `_act`, `_gone` and
`_gone_act` constructors keep the catalog's table short. Pure data and functions: nothing here touches aiohttp.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

NOVA_MIN_VERSION = "2.1"
NOVA_MAX_VERSION = "2.104"
ACTION = "/servers/{server_id}/action"


def version_key(version: str) -> tuple[int, int]:
    """"2.47" -> (2, 47), for comparing microversions."""
    major, minor = version.split(".")
    return int(major), int(minor)


def in_range(version: str, low: str, high: str | None) -> bool:
    return version_key(low) <= version_key(version) and (high is None or version_key(version) <= version_key(high))


def path_shape(path: str) -> str:
    """"/servers/{id}/tags/{tag}" -> "/servers/{}/tags/{}"."""
    return re.sub(r"\{[^}]*\}", "{}", path)


@dataclass(frozen=True)
class Status:
    code: int
    min_version: str = NOVA_MIN_VERSION
    max_version: str | None = None
    when: str = ""  # the condition, where Nova answers one of two codes in the same range


@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    action: str | None
    nova_name: str
    row: int | None
    min_version: str = NOVA_MIN_VERSION
    max_version: str | None = None
    statuses: tuple[Status, ...] = (Status(200),)
    gone: bool = False
    base: str = "/v2.1"

    @property
    def key(self) -> tuple[str, str, str | None]:
        return (self.method, self.path, self.action)

    def available_at(self, version: str) -> bool:
        return in_range(version, self.min_version, self.max_version)

    def status_at(self, version: str) -> tuple[int, ...]:
        """The success codes Nova answers at `version` (empty outside the operation's range)."""
        if not self.available_at(version):
            return ()
        return tuple(s.code for s in self.statuses if in_range(version, s.min_version, s.max_version))


def _s(code: int, since: str = NOVA_MIN_VERSION, until: str | None = None, when: str = "") -> Status:
    return Status(code, since, until, when)


def _op(method: str, path: str, name: str, row: int | None, since: str = NOVA_MIN_VERSION,
        until: str | None = None, status: tuple[int | Status, ...] = (200,)) -> Operation:
    statuses = tuple(s if isinstance(s, Status) else Status(s) for s in status)
    return Operation(method, path, None, name, row, since, until, statuses)


def _act(path: str, action: str, name: str, row: int | None, since: str = NOVA_MIN_VERSION,
         until: str | None = None, status: tuple[int | Status, ...] = (200,)) -> Operation:
    statuses = tuple(s if isinstance(s, Status) else Status(s) for s in status)
    return Operation("POST", path, action, name, row, since, until, statuses)


def _gone(method: str, path: str, name: str, row: int | None, until: str | None = None) -> Operation:
    """An API Nova removed: its route stays and answers 410 Gone (at every version, or up to `until`)."""
    return Operation(method, path, None, name, row, NOVA_MIN_VERSION, until, (Status(410),), gone=True)


def _gone_act(path: str, action: str, name: str, row: int | None, until: str | None = None) -> Operation:
    return Operation("POST", path, action, name, row, NOVA_MIN_VERSION, until, (Status(410),), gone=True)
