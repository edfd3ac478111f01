"""nodecompute.threads: a cancelled caller waits for its thread's work, then is cancelled."""
from __future__ import annotations

import asyncio
import threading

import pytest

from nodecompute.threads import run_in_thread


async def _cancel_while_running(work) -> tuple[asyncio.Task, threading.Event, list[str]]:
    started, release, events = threading.Event(), threading.Event(), []

    def blocking():
        started.set()
        release.wait(10)
        events.append("thread done")
        return work()

    task = asyncio.create_task(run_in_thread(blocking))
    assert await asyncio.to_thread(started.wait, 10)
    task.cancel()
    await asyncio.sleep(0.05)
    assert not task.done() and events == []  # the cancellation waits for the thread
    release.set()
    with pytest.raises(asyncio.CancelledError):
        await task
    events.append("cancelled")
    return task, release, events


async def test_cancellation_takes_effect_after_the_thread_returns():
    task, _release, events = await _cancel_while_running(lambda: "result")
    assert events == ["thread done", "cancelled"] and task.cancelled()


async def test_cancellation_wins_over_the_threads_error():
    def fail():
        raise ValueError("dropped")

    task, _release, events = await _cancel_while_running(fail)
    assert events == ["thread done", "cancelled"] and task.cancelled()


async def test_result_and_error_without_cancellation():
    assert await run_in_thread(lambda a, b: a + b, 2, 3) == 5
    with pytest.raises(ZeroDivisionError):
        await run_in_thread(lambda: 1 / 0)
