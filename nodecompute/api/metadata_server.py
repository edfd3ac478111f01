"""The metadata service's HTTP server: one aiohttp runner for the metadata application (api/metadata_service.py)
and one web.SockSite per listening socket the daemon opened in its DHCP and router namespaces
(compute/metadata_listeners.py hands them in and withdraws them). Requests are logged like the API's.
"""
from __future__ import annotations

import socket

from aiohttp import web

from nodecompute.api import access_log


class MetadataServer:
    def __init__(self, app: web.Application) -> None:
        self.runner = web.AppRunner(app, access_log_class=access_log.AccessLogger, handle_signals=False)
        self.sites: dict[str, web.SockSite] = {}

    async def start(self) -> None:
        await self.runner.setup()

    async def serve(self, namespace: str, sock: socket.socket) -> None:
        await self.stop(namespace)
        site = web.SockSite(self.runner, sock)
        await site.start()
        self.sites[namespace] = site

    async def stop(self, namespace: str) -> None:
        site = self.sites.pop(namespace, None)
        if site is not None:
            await site.stop()

    async def close(self) -> None:
        self.sites.clear()
        await self.runner.cleanup()
