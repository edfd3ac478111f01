"""The stats sampler of Cyclades' graphs with an injected clock and scripted counters: the expected series."""
from __future__ import annotations

import asyncio
from dataclasses import dataclass

import pytest

from nodecompute.compute.stats_sampler import StatsPoint, StatsSampler

GB = 10 ** 9


@dataclass(frozen=True)
class Reading:
    cpu_time_ns: int
    vcpus: int
    rx_bytes: int
    tx_bytes: int


class Script:
    """A fake clock and a counter source that answers the readings scripted for the current time."""

    def __init__(self, readings: dict[float, dict[str, Reading]]) -> None:
        self.readings = readings
        self.now = 0.0
        self.calls = 0

    def clock(self) -> float:
        return self.now

    async def source(self) -> dict[str, Reading]:
        self.calls += 1
        return self.readings.get(self.now, {})


async def run_script(script: Script, sampler: StatsSampler) -> None:
    for at in sorted(script.readings):
        script.now = at
        await sampler.sample()


async def test_series_of_cpu_percent_and_bytes_per_second():
    script = Script({
        0: {"a": Reading(0, 2, 0, 0)},
        60: {"a": Reading(60 * GB, 2, 6000, 600), "b": Reading(5 * GB, 1, 0, 0)},
        120: {"a": Reading(150 * GB, 2, 6000, 600), "b": Reading(35 * GB, 1, 120, 60)},
        180: {"a": Reading(1 * GB, 2, 10, 0)},  # a restarted (counters went back); b stopped
        240: {"a": Reading(13 * GB, 2, 310, 0), "b": Reading(1 * GB, 1, 0, 0)},  # b started again
        300: {"a": Reading(400 * GB, 2, 310, 0), "b": Reading(7 * GB, 1, 0, 0)},
    })
    sampler = StatsSampler(script.source, clock=script.clock, interval=60, window=3600)
    await run_script(script, sampler)
    assert sampler.series("a") == (
        StatsPoint(at=60, cpu_percent=50.0, rx_bytes_per_s=100.0, tx_bytes_per_s=10.0),  # one of two vCPUs busy
        StatsPoint(at=120, cpu_percent=75.0, rx_bytes_per_s=0.0, tx_bytes_per_s=0.0),
        StatsPoint(at=240, cpu_percent=10.0, rx_bytes_per_s=5.0, tx_bytes_per_s=0.0),  # none for the restart
        StatsPoint(at=300, cpu_percent=100.0, rx_bytes_per_s=0.0, tx_bytes_per_s=0.0),  # capped (QEMU threads)
    )
    assert sampler.series("b") == (
        StatsPoint(at=120, cpu_percent=50.0, rx_bytes_per_s=2.0, tx_bytes_per_s=1.0),
        StatsPoint(at=300, cpu_percent=10.0, rx_bytes_per_s=0.0, tx_bytes_per_s=0.0),  # not 180-240: b was away
    )
    assert sampler.series("never-seen") == ()
    assert script.calls == 6


async def test_a_clock_that_does_not_move_gives_no_point():
    script = Script({})
    sampler = StatsSampler(script.source, clock=script.clock, interval=1, window=10)
    sampler.record(5.0, {"a": Reading(0, 1, 0, 0)})
    sampler.record(5.0, {"a": Reading(GB, 1, 0, 0)})
    sampler.record(4.0, {"a": Reading(2 * GB, 1, 0, 0)})  # a wall clock stepped back
    assert sampler.series("a") == ()
    sampler.record(5.0, {"a": Reading(2 * GB + GB // 2, 1, 100, 0)})
    assert sampler.series("a") == (StatsPoint(at=5.0, cpu_percent=50.0, rx_bytes_per_s=100.0, tx_bytes_per_s=0.0),)


async def test_memory_stays_bounded_to_the_window():
    sampler = StatsSampler(Script({}).source, clock=lambda: 0.0, interval=60, window=3600)
    for step in range(1000):
        readings = {"steady": Reading(step * 30 * GB, 1, step * 600, 0)}
        if step < 10:
            readings["gone"] = Reading(step * GB, 1, 0, 0)
        sampler.record(step * 60.0, readings)
        assert len(sampler.series("steady")) <= 61
    series = sampler.series("steady")
    assert len(series) == 61  # the last hour, both ends included
    assert series[0].at == 999 * 60.0 - 3600 and series[-1].at == 999 * 60.0
    assert {p.cpu_percent for p in series} == {50.0} and {p.rx_bytes_per_s for p in series} == {10.0}
    assert sampler.servers() == ("steady",)  # "gone" aged out and was forgotten


async def test_faster_sampling_than_the_interval_is_still_bounded():
    sampler = StatsSampler(Script({}).source, clock=lambda: 0.0, interval=60, window=120)
    for step in range(50):
        sampler.record(float(step), {"a": Reading(step * GB, 1, 0, 0)})
    assert len(sampler.series("a")) == 3  # window / interval + 1


def test_forget_and_settings():
    sampler = StatsSampler(Script({}).source, clock=lambda: 0.0, interval=1, window=10)
    sampler.record(0.0, {"a": Reading(0, 1, 0, 0)})
    sampler.forget("a")
    sampler.forget("never-seen")
    assert sampler.servers() == ()
    with pytest.raises(ValueError):
        StatsSampler(Script({}).source, clock=lambda: 0.0, interval=0)
    with pytest.raises(ValueError):
        StatsSampler(Script({}).source, clock=lambda: 0.0, interval=60, window=30)


async def test_run_samples_every_interval_and_survives_a_failed_read(caplog):
    script = Script({})
    answers = [{"a": Reading(0, 1, 0, 0)}, RuntimeError("libvirt went away"), {"a": Reading(30 * GB, 1, 0, 0)},
               {"a": Reading(60 * GB, 1, 0, 0)}]
    sleeps: list[float] = []

    async def source():
        script.now += 2.0  # each read takes 2 s of the fake clock
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    async def sleep(seconds: float):
        sleeps.append(seconds)
        script.now += seconds
        if not answers:
            raise asyncio.CancelledError

    sampler = StatsSampler(source, clock=script.clock, interval=30, window=600)
    with pytest.raises(asyncio.CancelledError):
        await sampler.run(sleep=sleep)
    assert sleeps == [28.0, 28.0, 28.0, 28.0]  # interval minus the time the read took
    assert "libvirt went away" in caplog.text
    assert sampler.series("a") == (  # the failed read at 32 s left the baseline of 2 s in place
        StatsPoint(at=62.0, cpu_percent=50.0, rx_bytes_per_s=0.0, tx_bytes_per_s=0.0),
        StatsPoint(at=92.0, cpu_percent=100.0, rx_bytes_per_s=0.0, tx_bytes_per_s=0.0),
    )
