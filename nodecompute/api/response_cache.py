"""Rendered bodies of hot, rarely changing reads (the flavor lists), kept until the database changes.

The version is SQLite's data_version as the service reports it: any commit, by this daemon or by a `nodecompute`
command in another process, empties the cache, so a body is never stale. The key holds everything else a body
depends on: path and query, base URL, microversion, project and admin flag.
"""
from __future__ import annotations

from collections.abc import Callable, Hashable

MAX_ENTRIES = 256


class ResponseCache:
    def __init__(self) -> None:
        self._version: int | None = None
        self._bodies: dict[Hashable, bytes] = {}

    def get_or_render(self, version: int, key: Hashable, render: Callable[[], bytes]) -> bytes:
        if version != self._version:
            self._bodies.clear()
            self._version = version
        body = self._bodies.get(key)
        if body is None:
            body = render()
            if len(self._bodies) >= MAX_ENTRIES:
                self._bodies.clear()
            self._bodies[key] = body
        return body
