"""Store.cached_read is never stale: a commit by the writer thread or by another process (a `nodecompute`
command) invalidates it, because SQLite's data_version on the read connection changes."""
from __future__ import annotations

import sqlite3

from nodecompute.db.store import Store

calls: list[int] = []


def names(db) -> list[str]:
    calls.append(1)
    return [row["name"] for row in db.conn.execute("SELECT name FROM things ORDER BY name")]


def add(db, name: str) -> None:
    db.conn.execute("INSERT INTO things (name) VALUES (?)", (name,))


async def test_cached_read_follows_every_commit(tmp_path):
    store = Store(tmp_path / "state.db")
    await store.open()
    try:
        await store.write(lambda db: db.conn.execute("CREATE TABLE things (name TEXT)"))
        await store.write(add, "a")
        calls.clear()
        assert store.cached_read(names) == ["a"]
        first = store.cached_read(names)
        first.append("mutated by a caller")
        assert store.cached_read(names) == ["a"] and len(calls) == 1  # served from the cache, unharmed
        await store.write(add, "b")  # the daemon's writer thread
        assert store.cached_read(names) == ["a", "b"] and len(calls) == 2
        other = sqlite3.connect(tmp_path / "state.db")  # another process, e.g. the nodecompute CLI
        with other:
            other.execute("INSERT INTO things (name) VALUES ('c')")
        other.close()
        assert store.cached_read(names) == ["a", "b", "c"] and len(calls) == 3
    finally:
        await store.close()
