"""The background work of each server: at most one tracked task per server (a build or an action) and the
per-server lock the work runs under, so a delete can cancel a build and wait for an action to let go."""
from __future__ import annotations

import asyncio
from collections.abc import Awaitable


class ServerTasks:
    def __init__(self) -> None:
        self._tasks: dict[str, asyncio.Task] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    def track(self, server_uuid: str, coro: Awaitable[None]) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks[server_uuid] = task
        task.add_done_callback(lambda t, u=server_uuid: self._tasks.pop(u, None) if self._tasks.get(u) is t else None)

    def running(self, server_uuid: str) -> asyncio.Task | None:
        return self._tasks.get(server_uuid)

    async def cancel(self, server_uuid: str) -> None:
        """Cancel the server's task, if any, and wait until it has finished its undo."""
        task = self._tasks.get(server_uuid)
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    def lock(self, server_uuid: str) -> asyncio.Lock:
        return self._locks.setdefault(server_uuid, asyncio.Lock())

    async def wait_idle(self) -> None:
        """Wait for every background task (tests, shutdown)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks.values()), return_exceptions=True)

    async def close(self) -> None:
        """On shutdown: background tasks stop where they are; guests keep running."""
        for task in list(self._tasks.values()):
            task.cancel()
        await asyncio.gather(*list(self._tasks.values()), return_exceptions=True)
