"""Security groups, their rules, Nova's default rules, and where ports are plugged (tap, packet mark) with each
network's conntrack zone. Functions take a sqlite-utils Database first; the service composes them into one write
transaction per operation."""
from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from typing import Any

from sqlite_utils import Database

from nodecompute.domain.models import isotime, parse_isotime
from nodecompute.domain.network_models import DEFAULT_GROUP, DefaultRule, PortPlug, SecurityGroup, SecurityGroupRule

MAX_MARK = 0xFFFF  # marks and conntrack zones are 1-65535 (hostnet/secgroups.py)
RULE_COLUMNS = ("id", "security_group_id", "project_id", "direction", "ethertype", "protocol", "port_range_min",
                "port_range_max", "remote_ip_prefix", "remote_group_id", "description")


def _rule(row: sqlite3.Row) -> SecurityGroupRule:
    return SecurityGroupRule(
        **{name: row[name] for name in RULE_COLUMNS}, created_at=parse_isotime(row["created_at"]),
        updated_at=parse_isotime(row["updated_at"]), revision_number=row["revision_number"])


def _groups(db: Database, rows: list[sqlite3.Row]) -> list[SecurityGroup]:
    if not rows:
        return []
    ids = [r["id"] for r in rows]
    rules: dict[str, list[SecurityGroupRule]] = {i: [] for i in ids}
    marks = ",".join("?" * len(ids))
    for r in db.execute(f"SELECT * FROM security_group_rules WHERE security_group_id IN ({marks}) "
                        f"ORDER BY created_at, id", ids).fetchall():
        rules[r["security_group_id"]].append(_rule(r))
    return [SecurityGroup(id=r["id"], project_id=r["project_id"], name=r["name"], description=r["description"],
                          rules=tuple(rules[r["id"]]), created_at=parse_isotime(r["created_at"]),
                          updated_at=parse_isotime(r["updated_at"]), revision_number=r["revision_number"])
            for r in rows]


def get_group(db: Database, group_id: str) -> SecurityGroup | None:
    row = db.execute("SELECT * FROM security_groups WHERE id = ?", [group_id]).fetchone()
    return _groups(db, [row])[0] if row is not None else None


def list_groups(db: Database, project_id: str | None = None, ids: Iterable[str] | None = None) -> list[SecurityGroup]:
    """Every group, or a project's, or those with the given ids; oldest first."""
    if ids is not None:
        ids = list(ids)
        marks = ",".join("?" * len(ids))
        rows = db.execute(f"SELECT * FROM security_groups WHERE id IN ({marks}) ORDER BY created_at, id", ids)
    elif project_id is not None:
        rows = db.execute("SELECT * FROM security_groups WHERE project_id = ? ORDER BY created_at, id", [project_id])
    else:
        rows = db.execute("SELECT * FROM security_groups ORDER BY created_at, id")
    return _groups(db, rows.fetchall())


def default_group_id(db: Database, project_id: str) -> str | None:
    row = db.execute("SELECT id FROM security_groups WHERE project_id = ? AND name = ?",
                     [project_id, DEFAULT_GROUP]).fetchone()
    return row[0] if row is not None else None


def insert_group(db: Database, group: SecurityGroup) -> None:
    db.execute("INSERT INTO security_groups (id, project_id, name, description, created_at, updated_at, "
               "revision_number) VALUES (?,?,?,?,?,?,?)",
               [group.id, group.project_id, group.name, group.description, isotime(group.created_at),
                isotime(group.updated_at), group.revision_number])
    for rule in group.rules:
        insert_rule(db, rule)


def update_group(db: Database, group_id: str, changes: dict[str, Any], now: str) -> None:
    columns = [name for name in changes if name in ("name", "description")]
    sets = "".join(f"{name} = ?, " for name in columns)
    db.execute(f"UPDATE security_groups SET {sets}updated_at = ?, revision_number = revision_number + 1 "
               f"WHERE id = ?", [changes[name] for name in columns] + [now, group_id])


def delete_group(db: Database, group_id: str) -> None:
    """The group, its rules and every rule naming it as remote group (the foreign keys cascade)."""
    db.execute("DELETE FROM security_groups WHERE id = ?", [group_id])


def count_groups(db: Database, project_id: str) -> int:
    return db.execute("SELECT COUNT(*) FROM security_groups WHERE project_id = ?", [project_id]).fetchone()[0]


def group_project(db: Database, group_id: str) -> str | None:
    row = db.execute("SELECT project_id FROM security_groups WHERE id = ?", [group_id]).fetchone()
    return row[0] if row is not None else None


def group_ports(db: Database, group_id: str) -> list[str]:
    """The ports bound to the group."""
    return [r[0] for r in db.execute("SELECT port_id FROM port_security_groups WHERE security_group_id = ? "
                                     "ORDER BY port_id", [group_id])]


# rules -------------------------------------------------------------------------------------------------------------

def get_rule(db: Database, rule_id: str) -> SecurityGroupRule | None:
    row = db.execute("SELECT * FROM security_group_rules WHERE id = ?", [rule_id]).fetchone()
    return _rule(row) if row is not None else None


def list_rules(db: Database, project_id: str | None = None) -> list[SecurityGroupRule]:
    """Every rule, or those a project may see: its own and those of its groups."""
    if project_id is None:
        rows = db.execute("SELECT * FROM security_group_rules ORDER BY created_at, id")
    else:
        rows = db.execute("SELECT r.* FROM security_group_rules r JOIN security_groups g ON g.id = r.security_group_id "
                          "WHERE r.project_id = ? OR g.project_id = ? ORDER BY r.created_at, r.id",
                          [project_id, project_id])
    return [_rule(r) for r in rows.fetchall()]


def insert_rule(db: Database, rule: SecurityGroupRule) -> None:
    db.execute(f"INSERT INTO security_group_rules ({', '.join(RULE_COLUMNS)}, created_at, updated_at, "
               f"revision_number) VALUES ({','.join('?' * (len(RULE_COLUMNS) + 3))})",
               [getattr(rule, name) for name in RULE_COLUMNS]
               + [isotime(rule.created_at), isotime(rule.updated_at), rule.revision_number])


def delete_rule(db: Database, rule_id: str) -> None:
    db.execute("DELETE FROM security_group_rules WHERE id = ?", [rule_id])


def count_rules(db: Database, project_id: str) -> int:
    return db.execute("SELECT COUNT(*) FROM security_group_rules WHERE project_id = ?", [project_id]).fetchone()[0]


def touch_group(db: Database, group_id: str, now: str) -> None:
    """A rule came or went: the group's revision moves (as Neutron's does)."""
    update_group(db, group_id, {}, now)


# Nova's default rules ----------------------------------------------------------------------------------------------

def _default_rule(row: sqlite3.Row) -> DefaultRule:
    return DefaultRule(row["id"], row["protocol"], row["from_port"], row["to_port"], row["cidr"])


def list_default_rules(db: Database) -> list[DefaultRule]:
    return [_default_rule(r) for r in db.execute("SELECT * FROM security_group_default_rules ORDER BY id")]


def get_default_rule(db: Database, rule_id: int) -> DefaultRule | None:
    row = db.execute("SELECT * FROM security_group_default_rules WHERE id = ?", [rule_id]).fetchone()
    return _default_rule(row) if row is not None else None


def insert_default_rule(db: Database, protocol: str, from_port: int, to_port: int, cidr: str) -> int:
    cursor = db.execute("INSERT INTO security_group_default_rules (protocol, from_port, to_port, cidr) "
                        "VALUES (?,?,?,?)", [protocol, from_port, to_port, cidr])
    return cursor.lastrowid


def delete_default_rule(db: Database, rule_id: int) -> None:
    db.execute("DELETE FROM security_group_default_rules WHERE id = ?", [rule_id])


# plugs, marks and zones ------------------------------------------------------------------------------------------

def _lowest_free(taken: Iterable[int], what: str) -> int:
    used = set(taken)
    for candidate in range(1, MAX_MARK + 1):
        if candidate not in used:
            return candidate
    raise RuntimeError(f"every {what} 1-{MAX_MARK} is taken")


def get_plug(db: Database, port_id: str) -> PortPlug | None:
    row = db.execute("SELECT * FROM port_plugs WHERE port_id = ?", [port_id]).fetchone()
    return PortPlug(row["port_id"], row["tap"], row["host"], row["mark"]) if row is not None else None


def tap_owner(db: Database, tap: str) -> str | None:
    row = db.execute("SELECT port_id FROM port_plugs WHERE tap = ?", [tap]).fetchone()
    return row[0] if row is not None else None


def plug(db: Database, port_id: str, network_id: str, tap: str, host: str) -> PortPlug:
    """Record the port as plugged on `tap` (a mark kept if it had one), and give its network a conntrack zone."""
    current = get_plug(db, port_id)
    mark = current.mark if current is not None else _lowest_free(
        (r[0] for r in db.execute("SELECT mark FROM port_plugs")), "mark")
    db.execute("INSERT INTO port_plugs (port_id, tap, host, mark) VALUES (?,?,?,?) ON CONFLICT (port_id) "
               "DO UPDATE SET tap = excluded.tap, host = excluded.host", [port_id, tap, host, mark])
    if db.execute("SELECT 1 FROM network_zones WHERE network_id = ?", [network_id]).fetchone() is None:
        zone = _lowest_free((r[0] for r in db.execute("SELECT zone FROM network_zones")), "conntrack zone")
        db.execute("INSERT INTO network_zones (network_id, zone) VALUES (?, ?)", [network_id, zone])
    return PortPlug(port_id, tap, host, mark)


def unplug(db: Database, port_id: str) -> None:
    db.execute("DELETE FROM port_plugs WHERE port_id = ?", [port_id])


def list_plugs(db: Database) -> list[PortPlug]:
    return [PortPlug(r["port_id"], r["tap"], r["host"], r["mark"])
            for r in db.execute("SELECT * FROM port_plugs ORDER BY mark")]


def network_zones(db: Database) -> dict[str, int]:
    return {r[0]: r[1] for r in db.execute("SELECT network_id, zone FROM network_zones")}
