"""Background work of block storage: tracked tasks, and one lock per volume file.

Every long operation (create, snapshot, extend, upload, delete) answers at once and runs as a task here; a task
holds the lock of each volume file it reads or changes, so a snapshot or a clone never reads a volume that an
extend is rewriting, and a delete waits for the readers. `close()` cancels what runs (qemu-img is killed and its
temp file removed); the start-up reconciliation tells the truth about what was interrupted.
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable

log = logging.getLogger(__name__)


class Jobs:
    def __init__(self) -> None:
        self._tasks: set[asyncio.Task] = set()
        self._locks: dict[str, asyncio.Lock] = {}

    def start(self, what: str, work: Awaitable[None]) -> asyncio.Task:
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(lambda done: self._finished(what, done))
        return task

    def _finished(self, what: str, task: asyncio.Task) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("%s failed", what, exc_info=task.exception())

    @contextlib.asynccontextmanager
    async def holding(self, *volume_ids: str | None) -> AsyncIterator[None]:
        """The locks of these volumes, taken in a fixed order (no deadlock between two jobs)."""
        ids = sorted({volume_id for volume_id in volume_ids if volume_id})
        async with contextlib.AsyncExitStack() as stack:
            for volume_id in ids:
                await stack.enter_async_context(self._locks.setdefault(volume_id, asyncio.Lock()))
            yield

    def forget(self, volume_id: str) -> None:
        lock = self._locks.get(volume_id)
        if lock is not None and not lock.locked():
            del self._locks[volume_id]

    async def wait_idle(self) -> None:
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*list(self._tasks), return_exceptions=True)
