"""The services and the compute node of this host (os-services, os-hypervisors). Functions take a sqlite-utils
Database first; times come in as arguments."""
from __future__ import annotations

import sqlite3
import uuid as uuidlib
from datetime import datetime

from sqlite_utils import Database

from nodecompute.domain import states
from nodecompute.domain.host_models import COMPUTE, SERVICE_BINARIES, ComputeNode, HostServers, Service
from nodecompute.domain.models import isotime, parse_isotime

GIB_MB = 1024
# Nova's resource tracker's io_workload (current_workload): servers building or in these tasks
WORKLOAD_TASKS = ("resize_migrating", "rebuilding", "resize_prep", "image_snapshot", "image_backup", "rescuing",
                  "unshelving")


def _service(row: sqlite3.Row) -> Service:
    return Service(id=row["id"], uuid=row["uuid"], host=row["host"], binary=row["binary"], topic=row["topic"],
                   disabled=bool(row["disabled"]), disabled_reason=row["disabled_reason"],
                   forced_down=bool(row["forced_down"]), created_at=parse_isotime(row["created_at"]),
                   updated_at=parse_isotime(row["updated_at"]) if row["updated_at"] else None)


def _node(row: sqlite3.Row) -> ComputeNode:
    return ComputeNode(id=row["id"], uuid=row["uuid"], host=row["host"], hypervisor_hostname=row["hypervisor_hostname"])


def register_services(db: Database, host: str, *, now: datetime) -> None:
    """At start, as Nova's services do when they come up: each service of this host gets its row unless it has one
    (a deleted one is made anew); `updated_at` is the start (a heartbeat)."""
    at = isotime(now)
    for binary, topic in SERVICE_BINARIES:
        found = db.execute("SELECT id FROM services WHERE host = ? AND binary = ? AND deleted = 0",
                           [host, binary]).fetchone()
        if found is None:
            db.execute("INSERT INTO services (uuid, host, binary, topic, created_at, updated_at) VALUES (?,?,?,?,?,?)",
                       [str(uuidlib.uuid4()), host, binary, topic, at, at])
        else:
            db.execute("UPDATE services SET updated_at = ? WHERE id = ?", [at, found["id"]])


def register_node(db: Database, host: str, hypervisor_hostname: str, *, now: datetime) -> None:
    """The compute node of this host's compute service, unless it has one (libvirt's host name)."""
    at = isotime(now)
    if db.execute("SELECT 1 FROM compute_nodes WHERE host = ? AND deleted = 0", [host]).fetchone() is None:
        db.execute("INSERT INTO compute_nodes (uuid, host, hypervisor_hostname, created_at) VALUES (?,?,?,?)",
                   [str(uuidlib.uuid4()), host, hypervisor_hostname, at])


def list_services(db: Database) -> list[Service]:
    return [_service(r) for r in db.execute("SELECT * FROM services WHERE deleted = 0 ORDER BY id").fetchall()]


def find_service(db: Database, *, host: str | None = None, binary: str | None = None, service_id: int | None = None,
                 uuid: str | None = None) -> Service | None:
    where, args = ["deleted = 0"], []
    for column, value in (("host", host), ("binary", binary), ("id", service_id), ("uuid", uuid)):
        if value is not None:
            where.append(f"{column} = ?")
            args.append(value)
    row = db.execute(f"SELECT * FROM services WHERE {' AND '.join(where)}", args).fetchone()
    return _service(row) if row else None


def update_service(db: Database, service_id: int, values: dict, *, now: datetime) -> Service:
    columns = ", ".join(f"{key} = ?" for key in values)
    db.execute(f"UPDATE services SET {columns}, updated_at = ? WHERE id = ?",
               [*values.values(), isotime(now), service_id])
    return _service(db.execute("SELECT * FROM services WHERE id = ?", [service_id]).fetchone())


def delete_service(db: Database, service: Service) -> None:
    """The row, and the compute node with a compute service (Nova destroys both)."""
    db.execute("UPDATE services SET deleted = 1 WHERE id = ?", [service.id])
    if service.binary == COMPUTE:
        db.execute("UPDATE compute_nodes SET deleted = 1 WHERE host = ?", [service.host])


def compute_nodes(db: Database) -> list[ComputeNode]:
    return [_node(r) for r in db.execute("SELECT * FROM compute_nodes WHERE deleted = 0 ORDER BY id").fetchall()]


def host_servers(db: Database, host: str) -> HostServers:
    """The live servers on `host` (stopped ones included, as the resource tracker counts them; ERROR ones that
    never got past scheduling are left out)."""
    rows = db.execute("SELECT uuid, serial, vcpus, memory_mb, root_disk_bytes, ephemeral_gb, swap, vm_state,"
                      " task_state FROM servers"
                      " WHERE deleted = 0 AND host = ? AND NOT (vm_state = ? AND launched_at IS NULL)"
                      " ORDER BY serial", [host, states.ERROR]).fetchall()
    disk_mb = sum(r["root_disk_bytes"] // (1 << 20) + r["ephemeral_gb"] * GIB_MB + r["swap"] for r in rows)
    workload = sum(1 for r in rows if r["vm_state"] == states.BUILDING or r["task_state"] in WORKLOAD_TASKS)
    return HostServers(count=len(rows), workload=workload, vcpus=sum(r["vcpus"] for r in rows),
                       memory_mb=sum(r["memory_mb"] for r in rows), disk_gb=disk_mb // GIB_MB,
                       servers=tuple((f"instance-{r['serial']:08x}", r["uuid"]) for r in rows))


def live_server_count(db: Database, host: str) -> int:
    return db.execute("SELECT count(*) FROM servers WHERE deleted = 0 AND host = ?", [host]).fetchone()[0]


def host_servers_by_project(db: Database, host: str) -> list[tuple[str, int, int, int]]:
    """(project, vcpus, memory_mb, root_gb + ephemeral_gb) of each project's live servers on `host`, as Nova's
    os-hosts show sums them from the instances (flavor sizes, every state), in the order projects first appear."""
    rows = db.execute("SELECT project_id, sum(vcpus) AS vcpus, sum(memory_mb) AS memory_mb,"
                      " sum(root_gb + ephemeral_gb) AS disk_gb, min(serial) AS first FROM servers"
                      " WHERE deleted = 0 AND host = ? GROUP BY project_id ORDER BY first", [host]).fetchall()
    return [(r["project_id"], r["vcpus"], r["memory_mb"], r["disk_gb"]) for r in rows]
