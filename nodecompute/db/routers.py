"""Routers, floating IPs and auto-allocated topologies (Neutron's L3). Functions take a sqlite-utils Database first.

A router's legs are ports (`device_id` the router's id, `device_owner` network:router_interface or
network:router_gateway); a floating IP holds its address through a port of its own on the external network
(network:floatingip), as Neutron does.
"""
from __future__ import annotations

import sqlite3
from typing import Any

from sqlite_utils import Database

from nodecompute.db import ports as ports_db
from nodecompute.domain.models import isotime, parse_isotime
from nodecompute.domain.network_models import FloatingIp, Port, Router, RouterGateway

ROUTER_COLUMNS = ("name", "description", "admin_state_up", "gw_port_id", "enable_snat")
FLOATINGIP_COLUMNS = ("fixed_port_id", "fixed_ip_address", "router_id", "status", "description")


def _router(db: Database, row: sqlite3.Row) -> Router:
    gateway = None
    if row["gw_port_id"] is not None:
        port = ports_db.get_port(db, row["gw_port_id"])
        if port is not None:
            gateway = RouterGateway(port.network_id, port.id, port.fixed_ips)
    return Router(
        id=row["id"], project_id=row["project_id"], name=row["name"], description=row["description"],
        admin_state_up=bool(row["admin_state_up"]), status=row["status"], gw_port_id=row["gw_port_id"],
        enable_snat=bool(row["enable_snat"]), created_at=parse_isotime(row["created_at"]),
        updated_at=parse_isotime(row["updated_at"]), revision_number=row["revision_number"], gateway=gateway,
    )


def _floatingip(row: sqlite3.Row) -> FloatingIp:
    return FloatingIp(
        id=row["id"], project_id=row["project_id"], floating_network_id=row["floating_network_id"],
        floating_ip_address=row["floating_ip_address"], floating_port_id=row["floating_port_id"],
        port_id=row["fixed_port_id"], fixed_ip_address=row["fixed_ip_address"], router_id=row["router_id"],
        status=row["status"], description=row["description"], created_at=parse_isotime(row["created_at"]),
        updated_at=parse_isotime(row["updated_at"]), revision_number=row["revision_number"],
    )


def _set(db: Database, table: str, row_id: str, changes: dict[str, Any], allowed: tuple[str, ...],
         now: str) -> None:
    columns = [name for name in changes if name in allowed]
    sets = "".join(f"{name} = ?, " for name in columns)
    values = [int(changes[n]) if isinstance(changes[n], bool) else changes[n] for n in columns]
    db.execute(f"UPDATE {table} SET {sets}updated_at = ?, revision_number = revision_number + 1 WHERE id = ?",
               values + [now, row_id])


# routers ----------------------------------------------------------------------------------------------------------

def get_router(db: Database, router_id: str) -> Router | None:
    row = db.execute("SELECT * FROM routers WHERE id = ?", [router_id]).fetchone()
    return _router(db, row) if row is not None else None


def list_routers(db: Database, project_id: str | None = None) -> list[Router]:
    if project_id is None:
        rows = db.execute("SELECT * FROM routers ORDER BY created_at, id")
    else:
        rows = db.execute("SELECT * FROM routers WHERE project_id = ? ORDER BY created_at, id", [project_id])
    return [_router(db, r) for r in rows.fetchall()]


def insert_router(db: Database, router: Router) -> None:
    db.execute(
        "INSERT INTO routers (id, project_id, name, description, admin_state_up, status, gw_port_id, enable_snat, "
        "created_at, updated_at, revision_number) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
        [router.id, router.project_id, router.name, router.description, int(router.admin_state_up), router.status,
         router.gw_port_id, int(router.enable_snat), isotime(router.created_at), isotime(router.updated_at),
         router.revision_number],
    )


def update_router(db: Database, router_id: str, changes: dict[str, Any], now: str) -> None:
    """Set `changes` (column -> value) and bump the revision (an empty change bumps it too, as a new leg does)."""
    _set(db, "routers", router_id, changes, ROUTER_COLUMNS, now)


def delete_router(db: Database, router_id: str) -> None:
    db.execute("DELETE FROM routers WHERE id = ?", [router_id])


def count_routers(db: Database, project_id: str) -> int:
    return db.execute("SELECT COUNT(*) FROM routers WHERE project_id = ?", [project_id]).fetchone()[0]


def router_ports(db: Database, router_id: str, owner: str | None = None) -> list[Port]:
    """The router's ports (legs), or only those with `owner` as device_owner."""
    rows = db.execute("SELECT * FROM ports WHERE device_id = ? ORDER BY created_at, id", [router_id]).fetchall()
    return [p for p in ports_db.ports_from_rows(db, rows)
            if (owner is None and p.is_router_port) or p.device_owner == owner]


# floating IPs -----------------------------------------------------------------------------------------------------

def get_floatingip(db: Database, floatingip_id: str) -> FloatingIp | None:
    row = db.execute("SELECT * FROM floatingips WHERE id = ?", [floatingip_id]).fetchone()
    return _floatingip(row) if row is not None else None


def list_floatingips(db: Database, *, project_id: str | None = None, router_id: str | None = None,
                     port_id: str | None = None) -> list[FloatingIp]:
    """Every floating IP, or those of one project, one router or one (associated) port."""
    where, args = [], []
    for column, value in (("project_id", project_id), ("router_id", router_id), ("fixed_port_id", port_id)):
        if value is not None:
            where.append(f"{column} = ?")
            args.append(value)
    sql = "SELECT * FROM floatingips" + (" WHERE " + " AND ".join(where) if where else "")
    return [_floatingip(r) for r in db.execute(sql + " ORDER BY created_at, id", args).fetchall()]


def insert_floatingip(db: Database, fip: FloatingIp) -> None:
    db.execute(
        "INSERT INTO floatingips (id, project_id, floating_network_id, floating_ip_address, floating_port_id, "
        "fixed_port_id, fixed_ip_address, router_id, status, description, created_at, updated_at, revision_number) "
        "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
        [fip.id, fip.project_id, fip.floating_network_id, fip.floating_ip_address, fip.floating_port_id,
         fip.port_id, fip.fixed_ip_address, fip.router_id, fip.status, fip.description, isotime(fip.created_at),
         isotime(fip.updated_at), fip.revision_number],
    )


def update_floatingip(db: Database, floatingip_id: str, changes: dict[str, Any], now: str) -> None:
    _set(db, "floatingips", floatingip_id, changes, FLOATINGIP_COLUMNS, now)


def delete_floatingip(db: Database, floatingip_id: str) -> None:
    db.execute("DELETE FROM floatingips WHERE id = ?", [floatingip_id])


def count_floatingips(db: Database, project_id: str) -> int:
    return db.execute("SELECT COUNT(*) FROM floatingips WHERE project_id = ?", [project_id]).fetchone()[0]


def disassociate_port(db: Database, port_id: str, now: str) -> set[str]:
    """Disassociate every floating IP of the port (it is going); returns the routers that did their NAT."""
    fips = list_floatingips(db, port_id=port_id)
    for fip in fips:
        update_floatingip(db, fip.id, {"fixed_port_id": None, "fixed_ip_address": None, "router_id": None,
                                       "status": "DOWN"}, now)
    return {fip.router_id for fip in fips if fip.router_id}


# auto-allocated topologies ----------------------------------------------------------------------------------------

def auto_topology(db: Database, project_id: str) -> tuple[str, str | None] | None:
    """(network id, router id) of the project's auto-allocated topology, or None."""
    row = db.execute("SELECT network_id, router_id FROM auto_allocated_topologies WHERE project_id = ?",
                     [project_id]).fetchone()
    return (row["network_id"], row["router_id"]) if row is not None else None


def insert_auto_topology(db: Database, project_id: str, network_id: str, router_id: str) -> None:
    db.execute("INSERT INTO auto_allocated_topologies (project_id, network_id, router_id) VALUES (?,?,?)",
               [project_id, network_id, router_id])


def delete_auto_topology(db: Database, project_id: str) -> None:
    db.execute("DELETE FROM auto_allocated_topologies WHERE project_id = ?", [project_id])
