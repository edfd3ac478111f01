"""The daemon's caches are never stale: Store.data_version moves on a commit by the writer thread and on a commit
by another process (a `nodecompute` command), and a VersionedCache keyed on it starts over."""
from __future__ import annotations

import sqlite3

from nodecompute.caching import KeptLists, VersionedCache
from nodecompute.db.store import Store

calls: list[int] = []


def names(db) -> list[str]:
    calls.append(1)
    return [row["name"] for row in db.conn.execute("SELECT name FROM things ORDER BY name")]


def add(db, name: str) -> None:
    db.conn.execute("INSERT INTO things (name) VALUES (?)", (name,))


async def test_cache_on_data_version_follows_every_commit(tmp_path):
    store = Store(tmp_path / "state.db")
    await store.open()
    cache: VersionedCache[list[str]] = VersionedCache(max_entries=8)

    def cached_names() -> list[str]:
        return cache.get_or_make(store.data_version(), "names", lambda: store.read(names))

    try:
        await store.write(lambda db: db.conn.execute("CREATE TABLE things (name TEXT)"))
        await store.write(add, "a")
        calls.clear()
        assert cached_names() == ["a"]
        assert cached_names() == ["a"] and len(calls) == 1  # served from the cache
        await store.write(add, "b")  # the daemon's writer thread
        assert cached_names() == ["a", "b"] and len(calls) == 2
        other = sqlite3.connect(tmp_path / "state.db")  # another process, e.g. the nodecompute CLI
        with other:
            other.execute("INSERT INTO things (name) VALUES ('c')")
        other.close()
        assert cached_names() == ["a", "b", "c"] and len(calls) == 3
    finally:
        await store.close()


def test_a_full_cache_starts_over_instead_of_growing():
    cache: VersionedCache[int] = VersionedCache(max_entries=2)
    for n in range(3):
        assert cache.get_or_make(1, n, lambda n=n: n * 10) == n * 10
    assert cache.get(1, 0) is None and cache.get(1, 2) == 20


def test_kept_lists_follow_the_version_and_stay_bounded():
    kept = KeptLists(max_ids=5)
    assert kept.get(1, "a") is None
    kept.add(1, "a", ["x", "y"])
    kept.add(1, "b", ["z"])
    assert kept.get(1, "a") == ["x", "y"] and kept.get(1, "b") == ["z"]
    kept.add(1, "c", ["1", "2", "3"])  # 6 ids > 5: starts over with this one
    assert kept.get(1, "a") is None and kept.get(1, "c") == ["1", "2", "3"]
    kept.add(1, "big", list("abcdef"))  # more than it may hold: not kept
    assert kept.get(1, "big") is None and kept.get(1, "c") == ["1", "2", "3"]
    assert kept.get(2, "c") is None  # a commit: everything forgotten
    kept.add(1, "c", ["old"])  # read at an older version than the cache's: dropped
    assert kept.get(2, "c") is None
    kept.add(2, "c", [])
    assert kept.get(2, "c") == []  # an empty list is a list too


def test_kept_lists_of_no_ids_keep_nothing():
    kept = KeptLists(max_ids=0)  # [compute] list_ids_kept = 0
    kept.get(1, "a")
    kept.add(1, "a", [])
    kept.add(1, "b", ["x"])
    assert kept.get(1, "a") is None and kept.get(1, "b") is None
