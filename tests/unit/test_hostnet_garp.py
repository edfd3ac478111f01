"""hostnet/garp.py: the unsolicited ARP request a router sends for a new floating IP (Neutron's `arping -U`)."""
from __future__ import annotations

from nodecompute.hostnet.garp import garp_frame


def test_the_frame_is_a_broadcast_arp_request_naming_the_address_as_sender_and_target():
    frame = garp_frame("fa:16:3e:5c:4d:0c", "198.18.191.11")
    mac, ip = bytes.fromhex("fa163e5c4d0c"), bytes([198, 18, 191, 11])
    assert len(frame) == 42
    assert frame[:6] == b"\xff" * 6 and frame[6:12] == mac and frame[12:14] == b"\x08\x06"
    assert frame[14:22] == bytes.fromhex("0001" "0800" "06" "04" "0001")  # Ethernet, IPv4, request
    assert frame[22:28] == mac and frame[28:32] == ip  # sender: the router's gateway MAC and the floating IP
    assert frame[32:38] == b"\x00" * 6 and frame[38:42] == ip  # target: the same address (gratuitous)
