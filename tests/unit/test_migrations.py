"""Schema migrations on a database that holds rows from before them."""
from __future__ import annotations

import json

from sqlite_utils import Database

from nodecompute.db import migrations

GIB = 1 << 30


def _server(uuid: str, serial: int, image_id: str, root_gb: int) -> dict:
    return {"serial": serial, "uuid": uuid, "name": uuid, "project_id": "p", "user_id": "u", "hostname": uuid,
            "flavorid": "f", "flavor_name": "f", "memory_mb": 64, "vcpus": 1, "root_gb": root_gb, "ephemeral_gb": 0,
            "swap": 0, "image_id": image_id, "availability_zone": "nova", "vm_state": "active",
            "reservation_id": "r-1", "created_at": "2026-01-01T00:00:00Z", "updated_at": "2026-01-01T00:00:00Z"}


def test_root_disk_bytes_of_existing_servers():
    db = Database(memory=True)
    migrations.migrations.apply(db, stop_before="0005_server_root_disk_bytes")
    db["images"].insert({"id": "img", "virtual_size": 3 * GIB, "created_at": "t", "updated_at": "t"})
    db["servers"].insert_all([_server("flavor-disk", 1, "img", 2), _server("zero-disk", 2, "img", 0),
                              _server("zero-disk-image-gone", 3, "purged", 0)])
    migrations.apply(db)
    got = {r["uuid"]: r["root_disk_bytes"] for r in db.query("SELECT uuid, root_disk_bytes FROM servers")}
    assert got == {"flavor-disk": 2 * GIB, "zero-disk": 3 * GIB, "zero-disk-image-gone": 0}


def test_ladder_fields_of_existing_servers():
    """0012: a server from before keeps its name as description (Nova's rule before 2.19) and takes its flavor's
    extra specs as they are then; it has no tags and no device tags."""
    db = Database(memory=True)
    migrations.migrations.apply(db, stop_before="0015_servers_ladder_fields")
    db["flavors"].insert({"flavorid": "f", "name": "f", "memory_mb": 64, "vcpus": 1, "root_gb": 1,
                          "created_at": "t"})
    db["flavor_extra_specs"].insert_all([{"flavorid": "f", "key": "hw:cpu_policy", "value": "shared"},
                                         {"flavorid": "f", "key": "quota:disk_read_bytes_sec", "value": "1"}])
    db["servers"].insert_all([_server("with-specs", 1, "img", 1),
                              dict(_server("no-specs", 2, "img", 1), flavorid="42")])
    migrations.apply(db)
    got = {r["uuid"]: (r["description"], json.loads(r["flavor_extra_specs"]), r["device_tags"])
           for r in db.query("SELECT * FROM servers")}
    assert got == {"with-specs": ("with-specs", {"hw:cpu_policy": "shared", "quota:disk_read_bytes_sec": "1"}, "[]"),
                   "no-specs": ("no-specs", {}, "[]")}
    assert list(db.query("SELECT * FROM server_tags")) == []


def test_tagged_nics_of_existing_servers_keep_their_slots():
    """0035: a tagged NIC plugged before keeps the slot it had (0x10 + its position modulo 16); an untagged one none."""
    db = Database(memory=True)
    migrations.migrations.apply(db, stop_before="0035_server_interface_pci_slot")
    db["server_interfaces"].insert_all([
        {"port_id": "a", "server_uuid": "s", "tag": "x", "made_by_server": 1, "position": 0},
        {"port_id": "b", "server_uuid": "s", "tag": None, "made_by_server": 1, "position": 1},
        {"port_id": "c", "server_uuid": "s", "tag": "y", "made_by_server": 1, "position": 9}])
    migrations.apply(db)
    got = {r["port_id"]: r["pci_slot"] for r in db.query("SELECT port_id, pci_slot FROM server_interfaces")}
    assert got == {"a": 0x10, "b": None, "c": 0x19}
