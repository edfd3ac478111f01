"""nodecompute.threads: a cancelled caller waits for its thread's work, then is cancelled."""
from __future__ import annotations

import asyncio
import threading

import pytest

from nodecompute.threads import finish_all, run_in_thread


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


async def _step(events: list[str], name: str, delay: float, error: Exception | None = None) -> str:
    await asyncio.sleep(delay)
    events.append(name)
    if error is not None:
        raise error
    return name


async def test_finish_all_runs_the_steps_together_and_answers_in_order():
    events: list[str] = []
    assert await finish_all(_step(events, "slow", 0.05), _step(events, "quick", 0)) == ["slow", "quick"]
    assert events == ["quick", "slow"]


async def test_finish_all_waits_for_every_step_before_raising_the_first_failure():
    events: list[str] = []
    with pytest.raises(ValueError, match="first"):
        await finish_all(_step(events, "slow fails", 0.05, ValueError("first")),
                         _step(events, "quick fails", 0, KeyError("second")), _step(events, "slowest", 0.1))
    assert events == ["quick fails", "slow fails", "slowest"]  # nothing still running when the failure is raised


async def test_finish_all_cancelled_lets_every_step_finish_then_is_cancelled():
    events: list[str] = []
    task = asyncio.create_task(finish_all(_step(events, "a", 0.05), _step(events, "b", 0.1)))
    await asyncio.sleep(0.01)
    task.cancel()
    await asyncio.sleep(0.02)
    assert not task.done()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert events == ["a", "b"] and task.cancelled()
