"""Paths that name a resource by its integer serial instead of its public id (the helion dialect, D10)."""
from __future__ import annotations

from nodecompute.db import serial_ids as serial_ids_db
from nodecompute.db.store import Store


def public_id(store: Store, table: str, ref: str) -> str:
    """`ref` itself, unless it is a serial of a live row of `table`: then that row's public id."""
    if not ref.isdigit() or len(ref) > 18:
        return ref
    return store.read(serial_ids_db.public_id, table, int(ref)) or ref
