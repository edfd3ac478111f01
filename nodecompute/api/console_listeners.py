"""The daemon's two console listeners, each on its own port like nova-novncproxy (6080: noVNC's pages and the VNC
websocket) and nova-serialproxy (6083: the serial websocket), sharing one ConsoleSessions registry.

`start_listeners` binds them (`[console] listen_host`, the configured ports, 0 for any free one), tells the console
service the URLs users get (`[console] *_base_url`, else built on the public host of `[server] public_url` with
the port actually bound) and how to close a server's sessions, and purges expired tokens every minute. A port that
cannot be bound turns that console off with an error in the log (its requests answer 400 "Unavailable console
type ..."): the compute API stays up.
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
from urllib.parse import urlsplit

from aiohttp import web

from nodecompute.api import access_log
from nodecompute.api.console_proxy import create_console_app
from nodecompute.api.console_sessions import ConsoleSessions
from nodecompute.compute.consoles import ConsoleBases, ConsoleService
from nodecompute.config import Config

log = logging.getLogger(__name__)

PURGE_INTERVAL = 60.0


class ConsoleListeners:
    def __init__(self) -> None:
        self.sessions = ConsoleSessions()
        self.runners: list[web.AppRunner] = []
        self.ports: dict[str, int] = {}  # kind -> bound port
        self._purge: asyncio.Task | None = None

    async def close(self) -> None:
        if self._purge is not None:
            self._purge.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._purge
        await self.sessions.close_all()
        for runner in self.runners:
            await runner.cleanup()


def _public_host(cfg: Config) -> str:
    host = urlsplit(cfg.public_url).hostname or "127.0.0.1"
    return f"[{host}]" if ":" in host else host


async def _listen(listeners: ConsoleListeners, cfg: Config, kind: str, app: web.Application, port: int) -> None:
    runner = web.AppRunner(app, access_log_class=access_log.AccessLogger, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, host=cfg.console.listen_host, port=port)
    try:
        await site.start()
    except OSError as exc:
        await runner.cleanup()
        log.error("the %s console listener cannot bind %s:%s (%s): %s consoles are off", kind,
                  cfg.console.listen_host, port, exc.strerror or exc, kind)
        return
    listeners.runners.append(runner)
    listeners.ports[kind] = runner.addresses[0][1]
    log.info("%s console listener on %s:%s", kind, cfg.console.listen_host, listeners.ports[kind])


def _bases(cfg: Config, ports: dict[str, int]) -> ConsoleBases:
    """The URL bases for the consoles whose listener is up ("" for one that is off)."""
    host = _public_host(cfg)
    novnc = cfg.console.novncproxy_base_url or f"http://{host}:{ports.get('novnc')}/vnc_lite.html"
    serial = cfg.console.serialproxy_base_url or f"ws://{host}:{ports.get('serial')}/"
    return ConsoleBases(novnc=novnc if "novnc" in ports else "", serial=serial if "serial" in ports else "")


async def start_listeners(cfg: Config, service: ConsoleService) -> ConsoleListeners:
    listeners = ConsoleListeners()
    novnc_dir = cfg.novnc_dir if (cfg.novnc_dir / "vnc_lite.html").is_file() else None
    if novnc_dir is None:
        log.error("noVNC is missing from %s (run scripts/setup.sh): the console page is off, the VNC websocket "
                  "still works", cfg.novnc_dir)
    vnc_scheme = urlsplit(cfg.console.novncproxy_base_url).scheme or "http"
    serial_scheme = urlsplit(cfg.console.serialproxy_base_url).scheme or "ws"
    common = dict(resolve=service.resolve, sessions=listeners.sessions, allowed_origins=cfg.console.allowed_origins)
    await _listen(listeners, cfg, "novnc", create_console_app(kinds=("novnc",), novnc_dir=novnc_dir,
                                                             public_scheme=vnc_scheme, **common),
                  cfg.console.novncproxy_port)
    await _listen(listeners, cfg, "serial", create_console_app(kinds=("serial",), public_scheme=serial_scheme,
                                                              **common), cfg.console.serialproxy_port)
    service.bases = _bases(cfg, listeners.ports)
    service.close_sessions = listeners.sessions.close_server
    listeners._purge = asyncio.create_task(_purge_forever(service))
    return listeners


async def _purge_forever(service: ConsoleService) -> None:
    while True:
        await asyncio.sleep(PURGE_INTERVAL)
        try:
            await service.purge_expired()
        except Exception:  # noqa: BLE001 (a busy database must not end the purge for good)
            log.exception("purging expired console tokens failed")
