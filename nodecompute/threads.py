"""Blocking work in threads, never abandoned by a cancellation.

Cancelling an `await` on an executor future returns at once while the function goes on in its thread: a build
cancelled by a delete ran its undo while `defineXML` was still running, and the definition appeared after the undo
had looked for it. Awaited through `finish_then_cancel`, the thread's work is always waited for; a cancellation
that arrived meanwhile takes effect as soon as it is done (its result or error is dropped), so the caller's next
step, its undo, sees everything the thread did. Every layer uses it (virt for libvirt calls, compute for the
config drive).
"""
from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable
from concurrent.futures import Executor
from typing import Any, TypeVar

T = TypeVar("T")


async def finish_then_cancel(future: asyncio.Future[T]) -> T:
    """The future's result; a cancellation of the caller is held back until the future is done, then raised."""
    cancelled = False
    while not future.done():
        try:
            await asyncio.wait({future})  # unlike awaiting the future, a cancelled wait leaves it alone
        except asyncio.CancelledError:
            cancelled = True
    if cancelled:
        if not future.cancelled():
            future.exception()  # retrieved: the cancellation is what the caller gets
        raise asyncio.CancelledError
    return future.result()


async def run_in_thread(fn: Callable[..., T], *args: Any, executor: Executor | None = None) -> T:
    """asyncio.to_thread / run_in_executor whose thread is waited for even when the caller is cancelled."""
    loop = asyncio.get_running_loop()
    return await finish_then_cancel(loop.run_in_executor(executor, functools.partial(fn, *args)))


async def finish_all(*steps: Awaitable[Any]) -> list[Any]:
    """Run `steps` together; each runs to its end, whatever another one or a cancellation of the caller does (so an
    undo afterwards sees everything they made). Then the first failure in argument order is raised (or the
    cancellation), else their results in order."""
    results = await finish_then_cancel(asyncio.gather(*steps, return_exceptions=True))
    for result in results:
        if isinstance(result, BaseException):
            raise result
    return results
