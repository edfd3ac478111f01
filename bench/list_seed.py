"""Seeding a running daemon with many ACTIVE servers without booting them (bench/lists.py).

One server is created through the API on libvirt's `test:///` driver (so its row is the one the service writes);
then its row is copied in SQL, through the daemon's own database file, as many times as asked. Each copy gets
2 metadata items, 1 tag, 1 port (with an address and the project's default security group) and 1 attached
volume, so the listed body is the one users get. The network, subnet, ports and volumes are rows only: nothing
is made on the host (no bridge, no dnsmasq, no disk), and their addresses (198.18.0.0/15, set aside for tests)
never reach a wire.
"""
from __future__ import annotations

import ipaddress
import sqlite3
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

SEED_NET = ipaddress.IPv4Network("198.19.0.0/16")  # rows only: no interface ever holds these
STOPPED_COUNT = 10  # servers seeded SHUTOFF: the status filter's hits


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _iso(dt: datetime) -> str:
    return dt.strftime("%Y-%m-%dT%H:%M:%S.%f")


def _insert(db: sqlite3.Connection, table: str, row: dict) -> None:
    db.execute(f"INSERT INTO {table} ({','.join(row)}) VALUES ({','.join('?' * len(row))})", list(row.values()))


class Seeder:
    """Rows copied from a template server into the daemon's database (`path`), in batches, each in one
    transaction (the daemon keeps serving: WAL lets it read while this writes)."""

    def __init__(self, path: Path, template_uuid: str) -> None:
        self.db = sqlite3.connect(str(path), timeout=30)
        self.db.row_factory = sqlite3.Row
        self.template = dict(self.db.execute("SELECT * FROM servers WHERE uuid = ?", [template_uuid]).fetchone())
        self.project = self.template["project_id"]
        self.count = 0
        self.base = _now() - timedelta(days=30)
        self._network()

    def _network(self) -> None:
        now = _iso(_now())
        self.network_id, self.subnet_id = str(uuid.uuid4()), str(uuid.uuid4())
        group = self.db.execute("SELECT id FROM security_groups WHERE project_id = ? AND name = 'default'",
                                [self.project]).fetchone()
        self.group_id = group["id"] if group else None
        self.volume_type = self.db.execute("SELECT id FROM volume_types ORDER BY created_at LIMIT 1").fetchone()["id"]
        with self.db:
            _insert(self.db, "networks", {"id": self.network_id, "project_id": self.project, "name": "bench-net",
                                          "mtu": 1500, "created_at": now, "updated_at": now})
            _insert(self.db, "subnets", {"id": self.subnet_id, "network_id": self.network_id,
                                         "project_id": self.project, "name": "bench-subnet", "cidr": str(SEED_NET),
                                         "gateway_ip": str(SEED_NET[1]), "enable_dhcp": 0, "created_at": now,
                                         "updated_at": now})

    def add(self, n: int, stopped: int = 0) -> None:
        """n more servers; the first `stopped` of them SHUTOFF, the others ACTIVE. Each gets created_at one second
        after the one before, so the default order (created_at desc) is the reverse of seeding."""
        with self.db:
            for _ in range(n):
                self._one(stopped > 0)
                stopped -= 1

    def _one(self, stopped: bool) -> None:
        i = self.count
        self.count += 1
        server = str(uuid.uuid4())
        at = _iso(self.base + timedelta(seconds=i))
        row = dict(self.template, serial=None, uuid=server, name=f"bench-{i:05d}", hostname=f"bench-{i:05d}",
                   description=f"bench-{i:05d}", reservation_id=f"r-bench{i:05d}", created_at=at, updated_at=at,
                   launched_at=at)
        if stopped:
            row.update(vm_state="stopped", power_state=4)
        _insert(self.db, "servers", row)
        for key in ("role", "owner"):
            _insert(self.db, "server_metadata", {"server_uuid": server, "key": key, "value": f"{key}-{i % 7}"})
        _insert(self.db, "server_tags", {"server_uuid": server, "tag": f"group-{i % 5}"})
        port = str(uuid.uuid4())
        mac = "fa:16:3e:%02x:%02x:%02x" % (i >> 16 & 255, i >> 8 & 255, i & 255)
        _insert(self.db, "ports", {"id": port, "network_id": self.network_id, "project_id": self.project,
                                   "mac_address": mac, "device_id": server, "device_owner": "compute:nova",
                                   "status": "ACTIVE", "created_at": at, "updated_at": at})
        _insert(self.db, "ip_allocations", {"subnet_id": self.subnet_id, "ip_address": str(SEED_NET[i + 10]),
                                            "port_id": port})
        if self.group_id:
            _insert(self.db, "port_security_groups", {"port_id": port, "security_group_id": self.group_id})
        _insert(self.db, "server_interfaces", {"port_id": port, "server_uuid": server, "tag": None,
                                               "made_by_server": 1, "position": 0})
        volume = str(uuid.uuid4())
        _insert(self.db, "volumes", {"id": volume, "project_id": self.project, "user_id": self.template["user_id"],
                                     "name": f"bench-vol-{i:05d}", "size": 1, "status": "in-use",
                                     "availability_zone": "nova", "volume_type_id": self.volume_type,
                                     "created_at": at, "updated_at": at})
        _insert(self.db, "volume_attachments", {"id": str(uuid.uuid4()), "volume_id": volume, "server_id": server,
                                                "device": "/dev/vdb", "attached_host": self.template["host"],
                                                "attached_at": at})

    def uuid_at(self, index: int) -> str:
        """The uuid of the index-th server in the default order (created_at desc) among the seeded ones."""
        return self.db.execute("SELECT uuid FROM servers WHERE name LIKE 'bench-%' ORDER BY created_at DESC "
                               "LIMIT 1 OFFSET ?", [index]).fetchone()["uuid"]

    def created_at(self, index: int) -> str:
        """created_at of the index-th server seeded (a changes-since that lists the ones seeded after it)."""
        return (self.base + timedelta(seconds=index)).strftime("%Y-%m-%dT%H:%M:%SZ")

    def close(self) -> None:
        self.db.close()
