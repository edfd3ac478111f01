"""Packet tool run inside a test namespace (`ip netns exec NS python3 nettool.py ...`), standard library only.

    udp-recv PORT SECONDS            print one line per datagram received ("SRC_IP SRC_PORT PAYLOAD") after "ready"
    udp-send SRC_PORT DST_IP DST_PORT PAYLOAD   (out of eth0, SO_BROADCAST on: DST_IP may be 255.255.255.255)
    arp-sniff DEV SECONDS            print "SENDER_MAC SENDER_IP" of every ARP frame arriving on DEV, after "ready"
    arp-send DEV ETH_SRC SENDER_MAC SENDER_IP TARGET_IP   a broadcast gratuitous ARP reply with those fields
    tcp-peer PORT SECONDS            answer each TCP connection with the address it came from, after "ready"
"""
from __future__ import annotations

import select
import socket
import struct
import sys
import time

ETH_P_ARP = 0x0806


def udp_recv(port: str, seconds: str) -> None:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
    sock.bind(("0.0.0.0", int(port)))
    print("ready", flush=True)
    deadline = time.monotonic() + float(seconds)
    while (left := deadline - time.monotonic()) > 0:
        if select.select([sock], [], [], left)[0]:
            data, (host, sport) = sock.recvfrom(2048)
            print(host, sport, data.decode(errors="replace"), flush=True)


def udp_send(src_port: str, dst_ip: str, dst_port: str, payload: str) -> None:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, b"eth0")  # 255.255.255.255 needs no route then
    sock.bind(("0.0.0.0", int(src_port)))
    sock.sendto(payload.encode(), (dst_ip, int(dst_port)))


def _mac(text: str) -> bytes:
    return bytes.fromhex(text.replace(":", ""))


def arp_sniff(dev: str, seconds: str) -> None:
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ARP))
    sock.bind((dev, ETH_P_ARP))
    print("ready", flush=True)
    deadline = time.monotonic() + float(seconds)
    while (left := deadline - time.monotonic()) > 0:
        if select.select([sock], [], [], left)[0]:
            frame = sock.recv(2048)
            sender_mac, sender_ip = frame[22:28], frame[28:32]
            print(sender_mac.hex(":"), socket.inet_ntoa(sender_ip), flush=True)


def arp_send(dev: str, eth_src: str, sender_mac: str, sender_ip: str, target_ip: str) -> None:
    broadcast = b"\xff" * 6
    frame = broadcast + _mac(eth_src) + struct.pack("!H", ETH_P_ARP)
    frame += struct.pack("!HHBBH", 1, 0x0800, 6, 4, 2)  # Ethernet, IPv4, reply
    frame += _mac(sender_mac) + socket.inet_aton(sender_ip) + broadcast + socket.inet_aton(target_ip)
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    sock.bind((dev, 0))
    sock.send(frame)


def tcp_peer(port: str, seconds: str) -> None:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("0.0.0.0", int(port)))
    sock.listen(8)
    print("ready", flush=True)
    deadline = time.monotonic() + float(seconds)
    while (left := deadline - time.monotonic()) > 0:
        if select.select([sock], [], [], left)[0]:
            connection, (host, _) = sock.accept()
            with connection:
                connection.sendall(f"{host}\n".encode())


COMMANDS = {"udp-recv": udp_recv, "udp-send": udp_send, "arp-sniff": arp_sniff, "arp-send": arp_send, "tcp-peer": tcp_peer}

if __name__ == "__main__":
    COMMANDS[sys.argv[1]](*sys.argv[2:])
