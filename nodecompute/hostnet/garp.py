"""Gratuitous ARP for a router's new floating IPs, as Neutron's L3 agent sends (`arping -U`, send_ip_addr_adv_notif).

A neighbour on the external network that asked for a floating IP before it was set (and cached that nobody has it)
learns the router's gateway MAC at once, instead of waiting for its own next resolution. Blocking; run on the
worker thread inside the router's namespace (the AF_PACKET socket is made there).
"""
from __future__ import annotations

import ipaddress
import socket
import struct

ETH_P_ARP = 0x0806
BROADCAST = b"\xff" * 6


def garp_frame(mac: str, address: str) -> bytes:
    """An unsolicited ARP request: "who has `address`? tell `address`" from `mac`, to everyone."""
    hw = bytes.fromhex(mac.replace(":", ""))
    ip = ipaddress.IPv4Address(address).packed
    ethernet = BROADCAST + hw + struct.pack("!H", ETH_P_ARP)
    arp = struct.pack("!HHBBH", 1, 0x0800, 6, 4, 1) + hw + ip + b"\x00" * 6 + ip
    return ethernet + arp


def announce(ifname: str, mac: str, addresses: list[str]) -> None:
    """One gratuitous ARP per address out of `ifname` (in the calling thread's namespace)."""
    with socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ARP)) as sock:
        sock.bind((ifname, ETH_P_ARP))
        for address in addresses:
            sock.send(garp_frame(mac, address))
