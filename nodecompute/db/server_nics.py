"""The ports servers are plugged into (table server_interfaces) read together with their port, addresses and
network, as the servers' `nics`. Functions take a sqlite-utils Database first."""
from __future__ import annotations

import json

from sqlite_utils import Database

from nodecompute.domain.server_models import ServerNic

_SELECT = (
    "SELECT si.server_uuid, si.port_id, si.tag, si.made_by_server, si.position, si.pci_slot, p.network_id, "
    "p.mac_address, n.name AS network_name, n.mtu FROM server_interfaces si JOIN ports p ON p.id = si.port_id "
    "JOIN networks n ON n.id = p.network_id"
)


_IN_JSON = "(SELECT value FROM json_each(?))"


def nics_for(db: Database, uuids: list[str]) -> dict[str, tuple[ServerNic, ...]]:
    """server uuid -> its NICs in plug order (every uuid has an entry). Four queries however many servers: each
    takes its ids as one JSON array."""
    found: dict[str, list[ServerNic]] = {u: [] for u in uuids}
    rows = db.execute(f"{_SELECT} WHERE si.server_uuid IN {_IN_JSON} ORDER BY si.position",
                      [json.dumps(uuids)]).fetchall()
    if not rows:
        return {u: () for u in uuids}
    port_ids = [r[1] for r in rows]
    ports = json.dumps(port_ids)
    ips: dict[str, list[tuple[str, str]]] = {p: [] for p in port_ids}
    for port, subnet, address in db.execute(f"SELECT port_id, subnet_id, ip_address FROM ip_allocations WHERE port_id "
                                            f"IN {_IN_JSON} ORDER BY port_id, position", [ports]).fetchall():
        ips[port].append((subnet, address))
    groups: dict[str, list[str]] = {p: [] for p in port_ids}
    for port, group_id, name in db.execute(
            f"SELECT psg.port_id, g.id, g.name FROM port_security_groups psg JOIN security_groups g "
            f"ON g.id = psg.security_group_id WHERE psg.port_id IN {_IN_JSON} ORDER BY g.created_at, g.id",
            [ports]).fetchall():
        groups[port].append(name or group_id)
    floating: dict[str, list[tuple[str, str]]] = {p: [] for p in port_ids}
    for port, fixed, address in db.execute(
            f"SELECT fixed_port_id, fixed_ip_address, floating_ip_address FROM floatingips WHERE fixed_port_id IN "
            f"{_IN_JSON} ORDER BY created_at, id", [ports]).fetchall():
        floating[port].append((fixed, address))
    for server, port, tag, made_by_server, position, pci_slot, network_id, mac, network_name, mtu in rows:  # _SELECT's
        found[server].append(ServerNic(
            port_id=port, network_id=network_id, network_name=network_name, mac=mac, fixed_ips=tuple(ips[port]),
            tag=tag, made_by_server=bool(made_by_server), mtu=mtu, position=position, pci_slot=pci_slot,
            security_groups=tuple(groups[port]), floating_ips=tuple(floating[port])))
    return {u: tuple(nics) for u, nics in found.items()}


FIRST_NIC_SLOT = 0x10  # tagged NICs' pinned PCI slots on bus 0: 0x10-0x17 (tagged volumes take 0x18-0x1f)
NIC_SLOTS = 8


def add(db: Database, server_uuid: str, port_id: str, tag: str | None, made_by_server: bool) -> None:
    """Plug record: the next position; a tagged NIC gets the lowest slot of 0x10-0x17 the server's other NICs leave
    free (none free: unpinned, so it is not in the device metadata), so NICs attached and detached over time never
    take another device's slot."""
    row = db.execute("SELECT coalesce(max(position), -1) + 1 FROM server_interfaces WHERE server_uuid = ?",
                     [server_uuid]).fetchone()
    slot = None
    if tag:
        taken = {r[0] for r in db.execute("SELECT pci_slot FROM server_interfaces WHERE server_uuid = ? "
                                          "AND port_id != ? AND pci_slot IS NOT NULL", [server_uuid, port_id])}
        slot = next((s for s in range(FIRST_NIC_SLOT, FIRST_NIC_SLOT + NIC_SLOTS) if s not in taken), None)
    db.execute("INSERT OR REPLACE INTO server_interfaces (port_id, server_uuid, tag, made_by_server, position, "
               "pci_slot) VALUES (?,?,?,?,?,?)", [port_id, server_uuid, tag, int(made_by_server), row[0], slot])


def remove(db: Database, port_id: str) -> None:
    db.execute("DELETE FROM server_interfaces WHERE port_id = ?", [port_id])


def recorded(db: Database) -> list[tuple[str, str, bool]]:
    """(server uuid, port id, made by server) of every record, its port gone or not."""
    return [(r[0], r[1], bool(r[2])) for r in
            db.execute("SELECT server_uuid, port_id, made_by_server FROM server_interfaces ORDER BY position")]


def live_server_uuids(db: Database) -> set[str]:
    return {r[0] for r in db.execute("SELECT uuid FROM servers WHERE deleted = 0")}
