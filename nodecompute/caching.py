"""One small mechanism for the daemon's caches: entries live while a version number stays the same.

The version is SQLite's `PRAGMA data_version` as the store reports it (Store.data_version): it moves whenever any
connection commits, the daemon's writer thread or a `nodecompute` command in another process, so a cached value is
never stale. Used for validated tokens and for rendered flavor lists.
"""
from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

V = TypeVar("V")


class VersionedCache(Generic[V]):
    def __init__(self, max_entries: int) -> None:
        self.max_entries = max_entries
        self._version: int | None = None
        self._values: dict[Hashable, V] = {}

    def get(self, version: int, key: Hashable) -> V | None:
        """The value cached for `key` under this version; a new version empties the cache first."""
        if version != self._version:
            self._values.clear()
            self._version = version
        return self._values.get(key)

    def put(self, key: Hashable, value: V) -> None:
        """Remember `value` under the version of the last `get` (when full, start over rather than grow)."""
        if len(self._values) >= self.max_entries:
            self._values.clear()
        self._values[key] = value

    def get_or_make(self, version: int, key: Hashable, make: Callable[[], V]) -> V:
        value = self.get(version, key)
        if value is None:
            value = make()
            self.put(key, value)
        return value
