"""Networks and subnets (Neutron's core resources). Functions take a sqlite-utils Database first; the service
composes them into one write transaction per operation."""
from __future__ import annotations

import dataclasses
import json
import sqlite3
from collections.abc import Iterable
from typing import Any

from sqlite_utils import Database

from nodecompute.domain.models import isotime, parse_isotime
from nodecompute.domain.network_models import AllocationPool, HostRoute, Network, Subnet

NETWORK_COLUMNS = ("name", "description", "admin_state_up", "shared", "external", "is_default", "mtu",
                   "port_security_enabled")
SUBNET_COLUMNS = ("name", "description", "gateway_ip", "allocation_pools", "dns_nameservers", "host_routes",
                  "enable_dhcp")


def _network(row: sqlite3.Row, subnet_ids: tuple[str, ...]) -> Network:
    return Network(
        id=row["id"], project_id=row["project_id"], name=row["name"], description=row["description"],
        admin_state_up=bool(row["admin_state_up"]), shared=bool(row["shared"]), external=bool(row["external"]),
        is_default=bool(row["is_default"]),
        mtu=row["mtu"], port_security_enabled=bool(row["port_security_enabled"]),
        created_at=parse_isotime(row["created_at"]), updated_at=parse_isotime(row["updated_at"]),
        revision_number=row["revision_number"], subnet_ids=subnet_ids,
    )


def _subnet(row: sqlite3.Row) -> Subnet:
    return Subnet(
        id=row["id"], project_id=row["project_id"], network_id=row["network_id"], cidr=row["cidr"],
        name=row["name"], description=row["description"], gateway_ip=row["gateway_ip"],
        allocation_pools=tuple(AllocationPool(p["start"], p["end"]) for p in json.loads(row["allocation_pools"])),
        dns_nameservers=tuple(json.loads(row["dns_nameservers"])),
        host_routes=tuple(HostRoute(r["destination"], r["nexthop"]) for r in json.loads(row["host_routes"])),
        enable_dhcp=bool(row["enable_dhcp"]), created_at=parse_isotime(row["created_at"]),
        updated_at=parse_isotime(row["updated_at"]), revision_number=row["revision_number"],
    )


def _subnet_ids(db: Database, network_ids: list[str]) -> dict[str, tuple[str, ...]]:
    found: dict[str, list[str]] = {nid: [] for nid in network_ids}
    if not network_ids:
        return {}
    marks = ",".join("?" * len(network_ids))
    rows = db.execute(f"SELECT id, network_id FROM subnets WHERE network_id IN ({marks}) ORDER BY created_at, id",
                      network_ids).fetchall()
    for row in rows:
        found[row["network_id"]].append(row["id"])
    return {nid: tuple(ids) for nid, ids in found.items()}


def _networks(db: Database, rows: list[sqlite3.Row]) -> list[Network]:
    subnet_ids = _subnet_ids(db, [r["id"] for r in rows])
    return [_network(r, subnet_ids.get(r["id"], ())) for r in rows]


def get_network(db: Database, network_id: str) -> Network | None:
    row = db.execute("SELECT * FROM networks WHERE id = ?", [network_id]).fetchone()
    return _networks(db, [row])[0] if row is not None else None


def list_networks(db: Database, project_id: str | None = None) -> list[Network]:
    """Every network (project_id None), or those the project may see: its own, the shared and the external ones."""
    if project_id is None:
        rows = db.execute("SELECT * FROM networks ORDER BY created_at, id").fetchall()
    else:
        rows = db.execute("SELECT * FROM networks WHERE project_id = ? OR shared = 1 OR external = 1 "
                          "ORDER BY created_at, id", [project_id]).fetchall()
    return _networks(db, rows)


def insert_network(db: Database, network: Network) -> None:
    db.execute(
        "INSERT INTO networks (id, project_id, name, description, admin_state_up, shared, external, is_default, mtu, "
        "port_security_enabled, created_at, updated_at, revision_number) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
        [network.id, network.project_id, network.name, network.description, int(network.admin_state_up),
         int(network.shared), int(network.external), int(network.is_default), network.mtu,
         int(network.port_security_enabled),
         isotime(network.created_at), isotime(network.updated_at), network.revision_number],
    )


def _column_value(value: Any) -> Any:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, (list, tuple)):
        return json.dumps([dataclasses.asdict(v) if dataclasses.is_dataclass(v) else v for v in value])
    return value


def _update(db: Database, table: str, row_id: str, changes: dict[str, Any], allowed: Iterable[str],
            now: str) -> None:
    allowed = set(allowed)
    columns = [name for name in changes if name in allowed]
    sets = "".join(f"{name} = ?, " for name in columns)
    db.execute(f"UPDATE {table} SET {sets}updated_at = ?, revision_number = revision_number + 1 WHERE id = ?",
               [_column_value(changes[name]) for name in columns] + [now, row_id])


def update_network(db: Database, network_id: str, changes: dict[str, Any], now: str) -> None:
    """Set `changes` (column -> value) and bump the revision; an empty change bumps the revision too (as Neutron
    does when a subnet is added or removed)."""
    _update(db, "networks", network_id, changes, NETWORK_COLUMNS, now)


def delete_network(db: Database, network_id: str) -> None:
    db.execute("DELETE FROM networks WHERE id = ?", [network_id])


def count_networks(db: Database, project_id: str) -> int:
    return db.execute("SELECT COUNT(*) FROM networks WHERE project_id = ?", [project_id]).fetchone()[0]


def external_network(db: Database) -> Network | None:
    """The external network (there is at most one: the configured one)."""
    row = db.execute("SELECT * FROM networks WHERE external = 1 ORDER BY created_at, id LIMIT 1").fetchone()
    return _networks(db, [row])[0] if row is not None else None


# subnets ----------------------------------------------------------------------------------------------------------

def get_subnet(db: Database, subnet_id: str) -> Subnet | None:
    row = db.execute("SELECT * FROM subnets WHERE id = ?", [subnet_id]).fetchone()
    return _subnet(row) if row is not None else None


def list_subnets(db: Database, network_id: str | None = None) -> list[Subnet]:
    if network_id is None:
        rows = db.execute("SELECT * FROM subnets ORDER BY created_at, id").fetchall()
    else:
        rows = db.execute("SELECT * FROM subnets WHERE network_id = ? ORDER BY created_at, id",
                          [network_id]).fetchall()
    return [_subnet(r) for r in rows]


def list_visible_subnets(db: Database, project_id: str) -> list[Subnet]:
    """The project's subnets and those of the shared and the external networks."""
    rows = db.execute(
        "SELECT subnets.* FROM subnets JOIN networks ON networks.id = subnets.network_id "
        "WHERE subnets.project_id = ? OR networks.shared = 1 OR networks.external = 1 "
        "ORDER BY subnets.created_at, subnets.id",
        [project_id]).fetchall()
    return [_subnet(r) for r in rows]


def insert_subnet(db: Database, subnet: Subnet) -> None:
    db.execute(
        "INSERT INTO subnets (id, network_id, project_id, name, description, cidr, gateway_ip, allocation_pools, "
        "dns_nameservers, host_routes, enable_dhcp, created_at, updated_at, revision_number) "
        "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
        [subnet.id, subnet.network_id, subnet.project_id, subnet.name, subnet.description, subnet.cidr,
         subnet.gateway_ip, _column_value(subnet.allocation_pools), json.dumps(list(subnet.dns_nameservers)),
         _column_value(subnet.host_routes), int(subnet.enable_dhcp), isotime(subnet.created_at),
         isotime(subnet.updated_at), subnet.revision_number],
    )


def update_subnet(db: Database, subnet_id: str, changes: dict[str, Any], now: str) -> None:
    _update(db, "subnets", subnet_id, changes, SUBNET_COLUMNS, now)


def delete_subnet(db: Database, subnet_id: str) -> None:
    db.execute("DELETE FROM subnets WHERE id = ?", [subnet_id])


def count_subnets(db: Database, project_id: str) -> int:
    return db.execute("SELECT COUNT(*) FROM subnets WHERE project_id = ?", [project_id]).fetchone()[0]
