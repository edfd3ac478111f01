"""Settings of the daemon's process that keep large lists from costing memory or stalling the event loop (issue 22).

- glibc malloc: every thread that allocates gets an arena of its own, which keeps what it freed; and a freed block
  over the mmap threshold raises that threshold (up to 32 MB), so the next large body comes from a heap that is
  seldom given back. The daemon's threads (database readers, the list renderer, libvirt's) all hold the GIL to
  allocate, so two arenas cost them nothing, and a fixed threshold sends every body of a list over 256 KiB to mmap,
  returned when freed. Measured by bench/lists.py: RSS after rounds of lists of a thousand servers. What a list
  frees below what outlives it stays in the heap until malloc_trim (release_free_memory: once the daemon
  listens, and a moment after each server list, api/rendered_pages.py).
- The GIL's switch interval: a list renders on a worker thread; the event loop thread waits for the GIL at most
  this long each time it wakes (5 ms by default, several times per request), so a token check behind a large list
  would wait tens of milliseconds. 1 ms keeps it close to its idle latency for a few more switches per second.
- The garbage collector: its full collections walk every object the process holds, the ~80,000 of the imports,
  schemas and tables of the start-up included, 15-50 ms with the event loop stopped (measured under lists of a
  thousand servers); frozen once the daemon listens (freeze_start_up_objects), they are never walked again.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import functools
import gc
import logging
import sys

log = logging.getLogger(__name__)

M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
M_ARENA_MAX = -8
MALLOC_ARENAS = 2
MMAP_THRESHOLD = 256 * 1024
TRIM_THRESHOLD = 1024 * 1024
SWITCH_INTERVAL_S = 0.001


@functools.cache
def _libc() -> ctypes.CDLL | None:
    try:
        return ctypes.CDLL(ctypes.util.find_library("c"))
    except (OSError, TypeError):
        return None


def release_free_memory() -> None:
    """glibc's malloc_trim(0): the free pages anywhere in malloc's heaps go back to the system (free() returns
    only the top of a heap, and a large list leaves holes below what outlives it). ctypes lets go of the GIL
    meanwhile, so a worker thread can call it without holding the event loop. No-op on another C library."""
    trim = getattr(_libc(), "malloc_trim", None)
    if trim is not None:
        trim(0)


def tune_malloc() -> bool:
    """Set glibc malloc's arena count and fixed thresholds; False (nothing changed) on another C library."""
    try:
        mallopt = _libc().mallopt  # type: ignore[union-attr]
    except AttributeError:
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    done = all(mallopt(param, value) == 1 for param, value in (
        (M_ARENA_MAX, MALLOC_ARENAS), (M_MMAP_THRESHOLD, MMAP_THRESHOLD), (M_TRIM_THRESHOLD, TRIM_THRESHOLD)))
    if not done:
        log.warning("mallopt refused a setting: large lists may keep more memory")
    return done


def freeze_start_up_objects() -> None:
    """What the start-up left collected, the rest moved to the collector's permanent generation (gc.freeze): the
    later full collections walk only what the daemon made since."""
    gc.collect()
    gc.freeze()


def tune_process() -> None:
    """Both settings, once, before the daemon starts its threads."""
    tune_malloc()
    sys.setswitchinterval(SWITCH_INTERVAL_S)
