"""The ports servers are plugged into (table server_interfaces) read together with their port, addresses and
network, as the servers' `nics`. Functions take a sqlite-utils Database first."""
from __future__ import annotations

from sqlite_utils import Database

from nodecompute.domain.server_models import ServerNic

_SELECT = (
    "SELECT si.server_uuid, si.port_id, si.tag, si.made_by_server, si.position, p.network_id, p.mac_address, "
    "n.name AS network_name, n.mtu FROM server_interfaces si JOIN ports p ON p.id = si.port_id "
    "JOIN networks n ON n.id = p.network_id"
)


def nics_for(db: Database, uuids: list[str]) -> dict[str, tuple[ServerNic, ...]]:
    """server uuid -> its NICs in plug order (every uuid has an entry)."""
    found: dict[str, list[ServerNic]] = {u: [] for u in uuids}
    for start in range(0, len(uuids), 500):
        chunk = uuids[start:start + 500]
        marks = ",".join("?" * len(chunk))
        rows = db.execute(f"{_SELECT} WHERE si.server_uuid IN ({marks}) ORDER BY si.position", chunk).fetchall()
        if not rows:
            continue
        port_ids = [r["port_id"] for r in rows]
        ips: dict[str, list[tuple[str, str]]] = {p: [] for p in port_ids}
        pmarks = ",".join("?" * len(port_ids))
        for r in db.execute(f"SELECT port_id, subnet_id, ip_address FROM ip_allocations WHERE port_id IN ({pmarks}) "
                            "ORDER BY port_id, position", port_ids).fetchall():
            ips[r["port_id"]].append((r["subnet_id"], r["ip_address"]))
        groups: dict[str, list[str]] = {p: [] for p in port_ids}
        for r in db.execute(f"SELECT psg.port_id, g.id, g.name FROM port_security_groups psg JOIN security_groups g "
                            f"ON g.id = psg.security_group_id WHERE psg.port_id IN ({pmarks}) ORDER BY g.created_at, "
                            "g.id", port_ids).fetchall():
            groups[r["port_id"]].append(r["name"] or r["id"])
        floating: dict[str, list[tuple[str, str]]] = {p: [] for p in port_ids}
        for r in db.execute(f"SELECT fixed_port_id, fixed_ip_address, floating_ip_address FROM floatingips WHERE "
                            f"fixed_port_id IN ({pmarks}) ORDER BY created_at, id", port_ids).fetchall():
            floating[r["fixed_port_id"]].append((r["fixed_ip_address"], r["floating_ip_address"]))
        for r in rows:
            found[r["server_uuid"]].append(ServerNic(
                port_id=r["port_id"], network_id=r["network_id"], network_name=r["network_name"],
                mac=r["mac_address"], fixed_ips=tuple(ips[r["port_id"]]), tag=r["tag"],
                made_by_server=bool(r["made_by_server"]), mtu=r["mtu"], position=r["position"],
                security_groups=tuple(groups[r["port_id"]]), floating_ips=tuple(floating[r["port_id"]])))
    return {u: tuple(nics) for u, nics in found.items()}


def add(db: Database, server_uuid: str, port_id: str, tag: str | None, made_by_server: bool) -> None:
    row = db.execute("SELECT coalesce(max(position), -1) + 1 FROM server_interfaces WHERE server_uuid = ?",
                     [server_uuid]).fetchone()
    db.execute("INSERT OR REPLACE INTO server_interfaces (port_id, server_uuid, tag, made_by_server, position) "
               "VALUES (?,?,?,?,?)", [port_id, server_uuid, tag, int(made_by_server), row[0]])


def remove(db: Database, port_id: str) -> None:
    db.execute("DELETE FROM server_interfaces WHERE port_id = ?", [port_id])


def recorded(db: Database) -> list[tuple[str, str, bool]]:
    """(server uuid, port id, made by server) of every record, its port gone or not."""
    return [(r[0], r[1], bool(r[2])) for r in
            db.execute("SELECT server_uuid, port_id, made_by_server FROM server_interfaces ORDER BY position")]


def live_server_uuids(db: Database) -> set[str]:
    return {r[0] for r in db.execute("SELECT uuid FROM servers WHERE deleted = 0")}
