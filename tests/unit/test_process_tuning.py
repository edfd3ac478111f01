"""The daemon's process settings (process_tuning.py): the GIL's switch interval and the start-up's objects frozen
out of the garbage collector's full collections."""
from __future__ import annotations

import gc
import sys

from nodecompute import process_tuning


def test_the_start_up_objects_are_frozen_and_later_ones_are_not() -> None:
    made_at_start = [[n] for n in range(10)]  # tracked containers, as the imports' and tables' are
    try:
        process_tuning.freeze_start_up_objects()
        assert gc.get_freeze_count() >= len(made_at_start)
        walked = gc.get_objects()  # what a full collection walks: not the frozen ones
        assert not any(any(item is seen for seen in walked) for item in made_at_start)
        made_later = [[n] for n in range(3)]
        walked = gc.get_objects()
        assert all(any(item is seen for seen in walked) for item in made_later)
    finally:
        gc.unfreeze()


def test_the_switch_interval_is_set(monkeypatch) -> None:
    monkeypatch.setattr(process_tuning, "tune_malloc", lambda: True)
    old = sys.getswitchinterval()
    try:
        process_tuning.tune_process()
        assert sys.getswitchinterval() == process_tuning.SWITCH_INTERVAL_S
    finally:
        sys.setswitchinterval(old)
