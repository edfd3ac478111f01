"""The metadata service's listening sockets: one in each DHCP namespace (169.254.169.254:80, the address its DHCP
leg carries; guests of subnets without a router reach it by their DHCP option 121 route) and one in each router
namespace (0.0.0.0:9697, where the router's NAT table redirects guests' 169.254.169.254:80, as Neutron's L3 agent
does). Never in the host namespace, so daemons on one host never collide (issue 16).

The host side of networks and routers (network_host.py, router_host.py) calls `ensure` after it made a namespace
and `drop` when it removed it; a namespace made again (restore after a host reboot) gets a new socket, since a
socket belongs for life to the namespace it was created in. The sockets are handed to `serve` (the API layer's
metadata server, api/metadata_server.py) and withdrawn by `stop`; this module knows nothing of HTTP.
"""
from __future__ import annotations

import logging
import socket
from collections.abc import Awaitable, Callable
from typing import Any

log = logging.getLogger(__name__)

METADATA_ADDRESS = "169.254.169.254"
DHCP_METADATA_PORT = 80
ROUTER_METADATA_PORT = 9697  # Neutron's metadata proxy port in a router namespace


class MetadataListeners:
    def __init__(self, net: Any, serve: Callable[[str, socket.socket], Awaitable[None]],
                 stop: Callable[[str], Awaitable[None]]) -> None:
        self.net = net  # a hostnet.HostNet (open_listener, listener_is_current)
        self._serve = serve
        self._stop = stop
        self._sockets: dict[str, socket.socket] = {}

    @property
    def namespaces(self) -> list[str]:
        return sorted(self._sockets)

    async def ensure_dhcp(self, namespace: str) -> None:
        await self._ensure(namespace, METADATA_ADDRESS, DHCP_METADATA_PORT)

    async def ensure_router(self, namespace: str) -> None:
        await self._ensure(namespace, "0.0.0.0", ROUTER_METADATA_PORT)

    async def _ensure(self, namespace: str, address: str, port: int) -> None:
        sock = self._sockets.get(namespace)
        if sock is not None:
            if await self.net.listener_is_current(sock):
                return
            await self.drop(namespace)  # the namespace was made again: the old socket lives in the old one
        sock = await self.net.open_listener(namespace, address, port)
        self._sockets[namespace] = sock
        try:
            await self._serve(namespace, sock)
        except BaseException:
            del self._sockets[namespace]
            sock.close()
            raise
        log.info("metadata service listening on %s:%s in %s", address, port, namespace)

    async def drop(self, namespace: str) -> None:
        """Stop serving the namespace's socket (closing it), if there is one."""
        sock = self._sockets.pop(namespace, None)
        if sock is not None:
            await self._stop(namespace)
            sock.close()

    async def close(self) -> None:
        for namespace in list(self._sockets):
            await self.drop(namespace)
