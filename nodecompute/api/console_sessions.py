"""Open console sessions by server, so that stopping or deleting a server closes its consoles (the revocation hook).

Every console connection (a noVNC or serial websocket, a Cyclades VNC connection), and every Cyclades console
listener still waiting for its connection, registers a close callback under its server's id for as long as it is
open; `close_server(server_id)` runs them all. One registry is shared by every
console listener of the daemon.
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Iterator

log = logging.getLogger(__name__)

Closer = Callable[[], Awaitable[None]]


class ConsoleSessions:
    def __init__(self) -> None:
        self._by_server: dict[str, dict[int, Closer]] = {}
        self._ids = iter(range(1, 1 << 62))

    def add(self, server_id: str, close: Closer) -> int:
        """Registers `close` for the server; returns the key that `discard` takes."""
        session = next(self._ids)
        self._by_server.setdefault(server_id, {})[session] = close
        return session

    def discard(self, server_id: str, session: int) -> None:
        sessions = self._by_server.get(server_id)
        if sessions is not None:
            sessions.pop(session, None)
            if not sessions:
                del self._by_server[server_id]

    @contextlib.contextmanager
    def track(self, server_id: str, close: Closer) -> Iterator[None]:
        """Registers `close` for the body of the with-block (the life of one console connection)."""
        session = self.add(server_id, close)
        try:
            yield
        finally:
            self.discard(server_id, session)

    def count(self, server_id: str | None = None) -> int:
        if server_id is not None:
            return len(self._by_server.get(server_id, {}))
        return sum(len(sessions) for sessions in self._by_server.values())

    async def close_server(self, server_id: str) -> int:
        """Closes every open console of the server; returns how many there were."""
        closers = list(self._by_server.pop(server_id, {}).values())
        results = await asyncio.gather(*(close() for close in closers), return_exceptions=True)
        for result in results:
            if isinstance(result, Exception):
                log.warning("closing a console of server %s failed: %s", server_id, result)
        if closers:
            log.info("closed %d console session(s) of server %s", len(closers), server_id)
        return len(closers)

    async def close_all(self) -> int:
        """Closes every open console (listener shutdown)."""
        total = 0
        for server_id in list(self._by_server):
            total += await self.close_server(server_id)
        return total
