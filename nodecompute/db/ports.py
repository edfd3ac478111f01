"""Ports, their IP allocations and their security groups (the groups themselves: security_groups.py). Functions
take a sqlite-utils Database first."""
from __future__ import annotations

import sqlite3
from typing import Any

from sqlite_utils import Database

from nodecompute.domain.models import isotime, parse_isotime
from nodecompute.domain.network_models import FixedIp, Port

PORT_COLUMNS = ("name", "description", "admin_state_up", "mac_address", "device_id", "device_owner", "status",
                "port_security_enabled", "host_id", "vif_type", "vnic_type", "hostname")


def _port(row: sqlite3.Row, fixed_ips: tuple[FixedIp, ...], groups: tuple[str, ...]) -> Port:
    return Port(
        id=row["id"], project_id=row["project_id"], network_id=row["network_id"], mac_address=row["mac_address"],
        name=row["name"], description=row["description"], fixed_ips=fixed_ips, device_id=row["device_id"],
        device_owner=row["device_owner"], admin_state_up=bool(row["admin_state_up"]), status=row["status"],
        port_security_enabled=bool(row["port_security_enabled"]), security_group_ids=groups,
        host_id=row["host_id"], vif_type=row["vif_type"], vnic_type=row["vnic_type"], hostname=row["hostname"],
        created_at=parse_isotime(row["created_at"]), updated_at=parse_isotime(row["updated_at"]),
        revision_number=row["revision_number"],
    )


def _ports(db: Database, rows: list[sqlite3.Row]) -> list[Port]:
    if not rows:
        return []
    ids = [r["id"] for r in rows]
    marks = ",".join("?" * len(ids))
    ips: dict[str, list[FixedIp]] = {i: [] for i in ids}
    for r in db.execute(f"SELECT * FROM ip_allocations WHERE port_id IN ({marks}) ORDER BY port_id, position",
                        ids).fetchall():
        ips[r["port_id"]].append(FixedIp(r["subnet_id"], r["ip_address"]))
    groups: dict[str, list[str]] = {i: [] for i in ids}
    for r in db.execute(f"SELECT * FROM port_security_groups WHERE port_id IN ({marks}) "
                        f"ORDER BY security_group_id", ids).fetchall():
        groups[r["port_id"]].append(r["security_group_id"])
    return [_port(r, tuple(ips[r["id"]]), tuple(groups[r["id"]])) for r in rows]


def ports_from_rows(db: Database, rows: list[sqlite3.Row]) -> list[Port]:
    """Port records of `SELECT * FROM ports` rows, with their addresses and groups."""
    return _ports(db, rows)


def get_port(db: Database, port_id: str) -> Port | None:
    row = db.execute("SELECT * FROM ports WHERE id = ?", [port_id]).fetchone()
    return _ports(db, [row])[0] if row is not None else None


def list_ports(db: Database, *, network_id: str | None = None, project_id: str | None = None) -> list[Port]:
    """Ports of one network, or those a project may see (its own and those on its networks), or all."""
    if network_id is not None:
        rows = db.execute("SELECT * FROM ports WHERE network_id = ? ORDER BY created_at, id", [network_id])
    elif project_id is not None:
        rows = db.execute("SELECT ports.* FROM ports JOIN networks ON networks.id = ports.network_id "
                          "WHERE ports.project_id = ? OR networks.project_id = ? ORDER BY ports.created_at, ports.id",
                          [project_id, project_id])
    else:
        rows = db.execute("SELECT * FROM ports ORDER BY created_at, id")
    return _ports(db, rows.fetchall())


def insert_port(db: Database, port: Port) -> None:
    db.execute(
        "INSERT INTO ports (id, network_id, project_id, name, description, mac_address, device_id, device_owner, "
        "admin_state_up, status, port_security_enabled, host_id, vif_type, vnic_type, hostname, created_at, "
        "updated_at, revision_number) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
        [port.id, port.network_id, port.project_id, port.name, port.description, port.mac_address, port.device_id,
         port.device_owner, int(port.admin_state_up), port.status, int(port.port_security_enabled), port.host_id,
         port.vif_type, port.vnic_type, port.hostname, isotime(port.created_at), isotime(port.updated_at),
         port.revision_number],
    )
    set_fixed_ips(db, port.id, port.fixed_ips)
    set_security_groups(db, port.id, port.security_group_ids)


def set_fixed_ips(db: Database, port_id: str, fixed_ips: tuple[FixedIp, ...]) -> None:
    """Replace the port's allocations (the primary key refuses an address taken by another port)."""
    db.execute("DELETE FROM ip_allocations WHERE port_id = ?", [port_id])
    db.conn.executemany("INSERT INTO ip_allocations (subnet_id, ip_address, port_id, position) VALUES (?,?,?,?)",
                        [(f.subnet_id, f.ip_address, port_id, i) for i, f in enumerate(fixed_ips)])


def set_security_groups(db: Database, port_id: str, group_ids: tuple[str, ...]) -> None:
    db.execute("DELETE FROM port_security_groups WHERE port_id = ?", [port_id])
    db.conn.executemany("INSERT INTO port_security_groups (port_id, security_group_id) VALUES (?, ?)",
                        [(port_id, g) for g in dict.fromkeys(group_ids)])


def update_port(db: Database, port_id: str, changes: dict[str, Any], now: str) -> None:
    columns = [name for name in changes if name in PORT_COLUMNS]
    sets = "".join(f"{name} = ?, " for name in columns)
    values = [int(changes[n]) if isinstance(changes[n], bool) else changes[n] for n in columns]
    db.execute(f"UPDATE ports SET {sets}updated_at = ?, revision_number = revision_number + 1 WHERE id = ?",
               values + [now, port_id])


def delete_port(db: Database, port_id: str) -> None:
    db.execute("DELETE FROM ports WHERE id = ?", [port_id])


def count_ports(db: Database, project_id: str) -> int:
    return db.execute("SELECT COUNT(*) FROM ports WHERE project_id = ?", [project_id]).fetchone()[0]


def mac_in_use(db: Database, mac: str) -> bool:
    return db.execute("SELECT 1 FROM ports WHERE mac_address = ?", [mac]).fetchone() is not None


# addresses --------------------------------------------------------------------------------------------------------

def allocated_ips(db: Database, subnet_id: str) -> set[str]:
    return {r[0] for r in db.execute("SELECT ip_address FROM ip_allocations WHERE subnet_id = ?", [subnet_id])}


def ip_owner(db: Database, subnet_id: str, ip_address: str) -> str | None:
    row = db.execute("SELECT port_id FROM ip_allocations WHERE subnet_id = ? AND ip_address = ?",
                     [subnet_id, ip_address]).fetchone()
    return row[0] if row is not None else None


def ports_on_subnet(db: Database, subnet_id: str) -> list[Port]:
    rows = db.execute("SELECT ports.* FROM ports WHERE id IN (SELECT port_id FROM ip_allocations WHERE subnet_id = ?) "
                      "ORDER BY created_at, id", [subnet_id]).fetchall()
    return _ports(db, rows)

