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
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from sqlite_utils import Database

from nodecompute.domain import regex
from nodecompute.db import migrations
from nodecompute.filemodes import create_file, make_dir

T = TypeVar("T")
BUSY_TIMEOUT_S = 10.0
PROGRESS_OPCODES = 200  # SQLite VM steps between read_within's checks of its deadline (a few microseconds)


def connect(path: Path) -> Database:
    """A sqlite-utils Database on `path` with WAL, a busy timeout and foreign keys on."""
    conn = sqlite3.connect(str(path), timeout=BUSY_TIMEOUT_S, check_same_thread=False)
    conn.row_factory = sqlite3.Row
    db = Database(conn, execute_plugins=False)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA foreign_keys=ON")
    db.execute("PRAGMA synchronous=NORMAL")
    # User-supplied patterns (the servers `name` filter): RE2, linear time, never Python's backtracking `re`.
    db.conn.create_function("REGEXP", 2, _regexp, deterministic=True)
    return db


def _regexp(pattern: str, value: str | None) -> bool:
    return regex.search(pattern, value)


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
    make_dir(path.parent)
    create_file(path)  # 0600 before SQLite opens it: SQLite gives -wal and -shm the database file's mode
    db = connect(path)
    migrations.apply(db)
    return db


def run_write(db: Database, fn: Callable[..., T], *args: Any) -> T:
    with immediate(db):
        return fn(db, *args)


class Store:
    """Async face of the database used by the daemon."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="nc-db-writer")
        self._local = threading.local()
        self._write_db: Database | None = None
        self.reader: Database | None = None
        # Reads whose cost the caller chooses (a regex filter on every row) run here, on their own connection.
        self._slow_reader = ThreadPoolExecutor(max_workers=1, thread_name_prefix="nc-db-slow-reader")
        self._slow_db: Database | None = None

    async def open(self) -> None:
        loop = asyncio.get_running_loop()
        self._write_db = await loop.run_in_executor(self._writer, open_and_migrate, self.path)
        self.reader = connect(self.path)

    async def close(self) -> None:
        if self.reader is not None:
            self.reader.close()
        if self._slow_db is not None:
            await asyncio.get_running_loop().run_in_executor(self._slow_reader, self._slow_db.close)
        self._slow_reader.shutdown(wait=True)
        if self._write_db is not None:
            await asyncio.get_running_loop().run_in_executor(self._writer, self._write_db.close)
        self._writer.shutdown(wait=True)

    def read(self, fn: Callable[..., T], *args: Any) -> T:
        """Run a read-only query function fn(db, *args) on the read connection, inline."""
        assert self.reader is not None, "store not open"
        return fn(self.reader, *args)

    async def read_in_thread(self, fn: Callable[..., T], *args: Any) -> T:
        """Run fn(db, *args) on a reader thread with its own connection: for reads whose cost depends on user input
        (a `name REGEXP ?` filter evaluated on every candidate row), which must never hold the event loop."""
        assert self.reader is not None, "store not open"
        return await asyncio.get_running_loop().run_in_executor(self._slow_reader, self._run_slow_read, fn, args)

    def read_within(self, budget_s: float, fn: Callable[..., T], *args: Any) -> T | None:
        """fn(db, *args) inline on the read connection if its SQL finishes within `budget_s`, else None (its
        statements interrupted by SQLite's progress handler, nothing kept): the caller then reads on a reader
        thread. For reads usually far cheaper than a thread's round trip (a page of ids by index) whose cost still
        depends on user input. fn's own Python work between statements is the caller's to keep small."""
        assert self.reader is not None, "store not open"
        deadline = time.perf_counter() + budget_s
        over = False

        def past_deadline() -> bool:
            nonlocal over
            over = time.perf_counter() > deadline
            return over
        self.reader.conn.set_progress_handler(past_deadline, PROGRESS_OPCODES)
        try:
            return fn(self.reader, *args)
        except sqlite3.OperationalError:
            if over:
                return None
            raise
        finally:
            self.reader.conn.set_progress_handler(None, 0)

    def _run_slow_read(self, fn: Callable[..., T], args: tuple) -> T:
        if self._slow_db is None:  # made on the thread that uses it
            self._slow_db = connect(self.path)
        return fn(self._slow_db, *args)

    def data_version(self) -> int:
        """SQLite's data_version on the read connection: it changes whenever another connection commits (the writer
        thread, or a `nodecompute` command in another process). The daemon's caches (nodecompute.caching) key on it."""
        assert self.reader is not None, "store not open"
        return self.reader.conn.execute("PRAGMA data_version").fetchone()[0]

    async def write(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run fn(db, *args, **kwargs) on the writer thread inside one BEGIN IMMEDIATE transaction."""
        assert self._write_db is not None, "store not open"
        loop = asyncio.get_running_loop()
        call = functools.partial(fn, **kwargs) if kwargs else fn
        return await loop.run_in_executor(self._writer, run_write, self._write_db, call, *args)
