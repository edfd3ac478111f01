"""Schema migrations (sqlite-utils Migrations). Numbered, applied in order, never edited once shipped: a change to the
schema is a new function at the end of migrations_latest.py. The steps live in migrations_early.py (0001-0009),
migrations_later.py (0010-0034) and migrations_latest.py (0035 on), registered on migration_set.migrations in that
order by the imports below."""
from __future__ import annotations

from sqlite_utils import Database

from nodecompute.db import migrations_early, migrations_later, migrations_latest  # noqa: F401 (they register the
# steps, in this order)
from nodecompute.db.migration_set import migrations

__all__ = ["apply", "migrations"]


def apply(db: Database) -> None:
    migrations.apply(db)
