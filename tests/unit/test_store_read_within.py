"""Store.read_within: a read on the event loop's connection that gives up (None, nothing raised) once its SQL
outlasts a budget, so the caller reads on a reader thread instead (issue 22: pages of kept servers)."""
from __future__ import annotations

import sqlite3

import pytest

from nodecompute.db.store import Store

SLOW = "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 5000000) SELECT count(*) FROM n"


@pytest.fixture
async def store(tmp_path):
    opened = Store(tmp_path / "state.db")
    await opened.open()
    await opened.write(lambda db: db.conn.execute("CREATE TABLE things (name TEXT)"))
    await opened.write(lambda db: db.conn.executemany("INSERT INTO things VALUES (?)", [("a",), ("b",)]))
    yield opened
    await opened.close()


def names(db) -> list[str]:
    return [row[0] for row in db.conn.execute("SELECT name FROM things ORDER BY name")]


async def test_a_quick_read_is_answered_inline(store: Store) -> None:
    assert store.read_within(0.5, names) == ["a", "b"]


async def test_a_long_read_gives_up_within_its_budget_and_the_connection_stays_usable(store: Store) -> None:
    assert store.read_within(0.001, lambda db: db.conn.execute(SLOW).fetchone()) is None
    assert store.read(names) == ["a", "b"]  # no handler left behind: the next read runs to its end
    assert store.read(lambda db: db.conn.execute(SLOW.replace("5000000", "20000")).fetchone()[0]) == 20000
    assert await store.read_in_thread(names) == ["a", "b"]


async def test_other_errors_and_faults_are_raised_as_ever(store: Store) -> None:
    with pytest.raises(sqlite3.OperationalError, match="no such table"):
        store.read_within(0.5, lambda db: db.conn.execute("SELECT * FROM missing").fetchall())

    def refuse(db) -> None:
        raise LookupError("marker not found")
    with pytest.raises(LookupError):
        store.read_within(0.5, refuse)
    assert store.read_within(0.5, names) == ["a", "b"]
