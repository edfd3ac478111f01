"""The SQLite store: one writer thread owns the write connection (datasette's pattern); reads run on the caller's
thread through a separate read connection.

Reads are small indexed queries (a token lookup is a primary-key hit, tens of microseconds), so they run inline on
the event loop instead of paying a thread hop per request. WAL mode lets them proceed while the writer (or a
`nodecompute` CLI command in another process) writes. Every write runs inside ``BEGIN IMMEDIATE`` so concurrent
writers queue on the busy timeout instead of failing on a lock upgrade.
"""
from __future__ import annotations

import asyncio
import contextlib
import functools
import sqlite3
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from sqlite_utils import Database

from nodecompute.db import migrations

T = TypeVar("T")
BUSY_TIMEOUT_S = 10.0


def connect(path: Path) -> Database:
    """A sqlite-utils Database on `path` with WAL, a busy timeout and foreign keys on."""
    conn = sqlite3.connect(str(path), timeout=BUSY_TIMEOUT_S, check_same_thread=False)
    conn.row_factory = sqlite3.Row
    db = Database(conn, execute_plugins=False)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA foreign_keys=ON")
    db.execute("PRAGMA synchronous=NORMAL")
    db.conn.create_function("REGEXP", 2, _regexp, deterministic=True)
    return db


def _regexp(pattern: str, value: str | None) -> bool:
    import re

    return value is not None and re.search(pattern, value) is not None


@contextlib.contextmanager
def immediate(db: Database) -> Iterator[Database]:
    """A write transaction that takes the write lock up front (BEGIN IMMEDIATE)."""
    db.conn.execute("BEGIN IMMEDIATE")
    try:
        yield db
    except BaseException:
        db.conn.rollback()
        raise
    else:
        db.conn.execute("COMMIT")


def open_and_migrate(path: Path) -> Database:
    path.parent.mkdir(parents=True, exist_ok=True)
    db = connect(path)
    migrations.apply(db)
    return db


def run_write(db: Database, fn: Callable[..., T], *args: Any) -> T:
    with immediate(db):
        return fn(db, *args)


CACHE_ENTRIES = 512


class Store:
    """Async face of the database used by the daemon."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="nc-db-writer")
        self._local = threading.local()
        self._write_db: Database | None = None
        self.reader: Database | None = None
        self._cache: dict[tuple, Any] = {}
        self._cache_version: int | None = None

    async def open(self) -> None:
        loop = asyncio.get_running_loop()
        self._write_db = await loop.run_in_executor(self._writer, open_and_migrate, self.path)
        self.reader = connect(self.path)

    async def close(self) -> None:
        if self.reader is not None:
            self.reader.close()
        if self._write_db is not None:
            await asyncio.get_running_loop().run_in_executor(self._writer, self._write_db.close)
        self._writer.shutdown(wait=True)

    def read(self, fn: Callable[..., T], *args: Any) -> T:
        """Run a read-only query function fn(db, *args) on the read connection, inline."""
        assert self.reader is not None, "store not open"
        return fn(self.reader, *args)

    def data_version(self) -> int:
        """Changes whenever another connection (the writer thread, another process) commits."""
        assert self.reader is not None, "store not open"
        return self.reader.conn.execute("PRAGMA data_version").fetchone()[0]

    def cached_read(self, fn: Callable[..., T], *args: Any) -> T:
        """store.read for hot, rarely written data: the result is kept until the database changes.

        SQLite's `PRAGMA data_version` on the read connection changes whenever any other connection commits (the
        writer thread, or a `nodecompute` command in another process), so a cached result is never stale. Args must
        be hashable; a list result is handed out as a fresh list each time.
        """
        version = self.data_version()
        if version != self._cache_version:
            self._cache.clear()
            self._cache_version = version
        key = (fn, args)
        hit = self._cache.get(key)
        if hit is None:
            result = fn(self.reader, *args)
            hit = (True, tuple(result)) if isinstance(result, list) else (False, result)
            if len(self._cache) < CACHE_ENTRIES:
                self._cache[key] = hit
        was_list, value = hit
        return list(value) if was_list else value

    async def write(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run fn(db, *args, **kwargs) on the writer thread inside one BEGIN IMMEDIATE transaction."""
        assert self._write_db is not None, "store not open"
        loop = asyncio.get_running_loop()
        call = functools.partial(fn, **kwargs) if kwargs else fn
        return await loop.run_in_executor(self._writer, run_write, self._write_db, call, *args)
