"""One small mechanism for the daemon's caches: entries live while a version number stays the same.

The version is SQLite's `PRAGMA data_version` as the store reports it (Store.data_version): it moves whenever any
connection commits, the daemon's writer thread or a `nodecompute` command in another process, so a cached value is
never stale. Used for validated tokens, rendered flavor lists, rendered servers (RenderedItems) and the ids of
server lists asked again (KeptLists).
"""
from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, Generic, TypeVar

V = TypeVar("V")
Buffer = bytes | memoryview


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


class RenderedItems:
    """id -> an item's rendered JSON (a server of a list: api/rendered_pages.py), per rendering key, all valid at
    one data version. Bounded by the number of items kept, all keys together."""

    def __init__(self, max_items: int) -> None:
        self.max_items = max_items
        self._version: int | None = None
        self._by_key: dict[Hashable, dict[str, Buffer]] = {}
        self._count = 0

    def known(self, version: int, key: Hashable) -> dict[str, Buffer]:
        """A copy of what is kept for `key` at `version` (a newer version empties the cache first)."""
        if version != self._version:
            self._by_key, self._count, self._version = {}, 0, version
        return dict(self._by_key.get(key, {}))

    def add(self, version: int, key: Hashable, rendered: dict[str, Buffer]) -> None:
        """Keep items rendered from data read at `version` or later; dropped when the cache has moved on (they
        may be older than its version). When full, start over rather than grow."""
        if version != self._version or not rendered or len(rendered) > self.max_items:
            return
        if self._count + len(rendered) > self.max_items:
            self._by_key, self._count = {}, 0
        kept = self._by_key.setdefault(key, {})
        self._count += len(rendered.keys() - kept.keys())
        kept.update(rendered)


class KeptLists:
    """query -> the ids a list gave, all valid at one data version: a list or a page asked again (a client
    polling its servers) is answered without reading the database. Bounded by the number of ids kept, all queries
    together (0: none kept); when full, start over rather than grow."""

    def __init__(self, max_ids: int) -> None:
        self.max_ids = max_ids
        self._version: int | None = None
        self._ids: dict[Hashable, list[str]] = {}
        self._count = 0

    def get(self, version: int, key: Hashable) -> list[str] | None:
        """The ids kept for `key` at `version` (a newer version empties the cache first); the caller must not
        change the list."""
        if version != self._version:
            self._ids, self._count, self._version = {}, 0, version
        return self._ids.get(key)

    def add(self, version: int, key: Hashable, ids: list[str]) -> None:
        """Keep ids read at `version` or later (the version read before the list was); dropped when the cache has
        moved on to another version."""
        if version != self._version or not self.max_ids or len(ids) > self.max_ids or key in self._ids:
            return
        if self._count + len(ids) > self.max_ids:
            self._ids, self._count = {}, 0
        self._ids[key] = ids
        self._count += len(ids)


def lru_get(cache: OrderedDict, key: Hashable) -> Any | None:
    """The value kept under `key` in an LRU kept with lru_put, now the most recently used; None if absent."""
    found = cache.get(key)
    if found is not None:
        cache.move_to_end(key)
    return found


def lru_put(cache: OrderedDict, key: Hashable, value: Any, bound: int) -> None:
    """`value` kept under `key` as the most recently used, the least recently used going past `bound`."""
    cache[key] = value
    while len(cache) > bound:
        cache.popitem(last=False)
