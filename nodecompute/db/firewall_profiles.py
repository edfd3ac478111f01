"""Ports' firewall profiles (migration 0024): a row per port whose profile is not DISABLED."""
from __future__ import annotations

from collections.abc import Iterable

from sqlite_utils import Database

DISABLED = "DISABLED"


def profiles(db: Database, port_ids: Iterable[str] | None = None) -> dict[str, str]:
    """port id -> profile (all ports with one, or those of `port_ids`)."""
    if port_ids is None:
        rows = db.execute("SELECT port_id, profile FROM port_firewall_profiles")
    else:
        wanted = sorted(set(port_ids))
        if not wanted:
            return {}
        marks = ",".join("?" * len(wanted))
        rows = db.execute(f"SELECT port_id, profile FROM port_firewall_profiles WHERE port_id IN ({marks})", wanted)
    return {row[0]: row[1] for row in rows}


def set_profile(db: Database, port_id: str, profile: str) -> None:
    if profile == DISABLED:
        db.execute("DELETE FROM port_firewall_profiles WHERE port_id = ?", [port_id])
    else:
        db.execute("INSERT OR REPLACE INTO port_firewall_profiles VALUES (?, ?)", [port_id, profile])
