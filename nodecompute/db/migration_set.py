"""The one migration set of the schema (sqlite-utils Migrations): migrations_early.py and migrations_later.py register
their steps on it, in order; db/migrations.py applies it."""
from __future__ import annotations

from sqlite_utils.migrations import Migrations

migrations = Migrations("nodecompute")
