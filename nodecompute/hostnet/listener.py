"""Listening TCP sockets made inside a namespace, served by the host process (aiohttp's web.SockSite takes them).

A socket belongs for life to the namespace it was created in, whatever thread later accepts on it; so the metadata
service listens on 169.254.169.254:80 inside the daemon's own DHCP and router namespaces and never on the host's.

Which namespace (hence which network or router) a connection came from: every socket, listening or accepted,
carries the cookie of its network namespace (SO_NETNS_COOKIE, Linux 5.14+), unique for the life of the machine.
The registry remembers the cookie of each namespace a listener was opened in, so `namespace_of(sock)` on an
accepted connection's socket names the namespace; the metadata handler gets that socket from
`request.transport.get_extra_info("socket")`.
"""
from __future__ import annotations

import fcntl
import os
import socket
import struct
import threading

from nodecompute.hostnet.errors import HostNetError
from nodecompute.hostnet.namespaces import Home, namespace_path

SO_NETNS_COOKIE = getattr(socket, "SO_NETNS_COOKIE", 71)
SIOCGSKNS = 0x894C  # linux/sockios.h: a descriptor of the socket's network namespace (Linux 4.9+)
IP_FREEBIND = getattr(socket, "IP_FREEBIND", 15)
BACKLOG = 128


def netns_cookie(sock: socket.socket) -> int:
    return struct.unpack("Q", sock.getsockopt(socket.SOL_SOCKET, SO_NETNS_COOKIE, 8))[0]


class ListenerRegistry:
    def __init__(self) -> None:
        self._by_cookie: dict[int, str] = {}
        self._lock = threading.Lock()

    def open(self, home: Home, namespace: str, address: str, port: int) -> socket.socket:
        """A non-blocking listening socket on address:port inside `namespace` (the address may be added to the
        namespace later: IP_FREEBIND)."""
        with home.inside(namespace):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.setsockopt(socket.SOL_IP, IP_FREEBIND, 1)
            sock.bind((address, port))
            sock.listen(BACKLOG)
            sock.setblocking(False)
        except OSError as exc:
            sock.close()
            raise HostNetError(f"cannot listen on {address}:{port} in {namespace}: {exc}") from exc
        with self._lock:
            self._by_cookie[netns_cookie(sock)] = namespace
        return sock

    def namespace_of(self, sock: socket.socket) -> str | None:
        """The namespace a listener was opened in, for that listener or any connection it accepted."""
        with self._lock:
            return self._by_cookie.get(netns_cookie(sock))

    def is_current(self, sock: socket.socket) -> bool:
        """Whether a listener still lives in the namespace now known by its name (False after that namespace was
        deleted, or deleted and made again, e.g. by restore(): the listener must then be opened again). The name's
        file and the socket's namespace (SIOCGSKNS) are compared as nsfs inodes: no thread enters the namespace, so
        any thread may ask (a build's port asks on the event loop instead of queueing behind the host's jobs)."""
        namespace = self.namespace_of(sock)
        if namespace is None:
            return False
        try:
            named = os.stat(namespace_path(namespace))
            own_fd = fcntl.ioctl(sock.fileno(), SIOCGSKNS)
        except OSError:
            return False
        try:
            own = os.fstat(own_fd)
        finally:
            os.close(own_fd)
        return (named.st_dev, named.st_ino) == (own.st_dev, own.st_ino)

    def forget(self, namespace: str) -> None:
        with self._lock:
            for cookie in [c for c, ns in self._by_cookie.items() if ns == namespace]:
                del self._by_cookie[cookie]
