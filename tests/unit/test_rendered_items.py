"""RenderedItems (nodecompute/caching.py): what it keeps is valid at one data version, never older than it."""
from __future__ import annotations

from nodecompute.caching import RenderedItems


def test_a_new_version_empties_it_and_renders_of_an_older_one_are_dropped():
    cache = RenderedItems(max_items=10)
    assert cache.known(1, "k") == {}
    cache.add(1, "k", {"a": b"1"})
    assert cache.known(1, "k") == {"a": b"1"}
    assert cache.known(1, "other") == {}
    assert cache.known(2, "k") == {}  # the data moved on
    cache.add(1, "k", {"b": b"2"})  # read at version 1, the cache is at 2: may be older, not kept
    assert cache.known(2, "k") == {}


def test_it_stays_within_its_bound_by_starting_over():
    cache = RenderedItems(max_items=3)
    cache.known(1, "k")
    cache.add(1, "k", {"a": b"1", "b": b"2"})
    cache.add(1, "k", {"a": b"1"})  # the same item again does not count twice
    cache.add(1, "j", {"c": b"3"})
    assert cache.known(1, "k") == {"a": b"1", "b": b"2"} and cache.known(1, "j") == {"c": b"3"}
    cache.add(1, "j", {"d": b"4"})  # a fourth: start over with it
    assert cache.known(1, "k") == {} and cache.known(1, "j") == {"d": b"4"}
    cache.add(1, "k", {str(n): b"x" for n in range(4)})  # more than it may hold: kept nowhere
    assert cache.known(1, "k") == {} and cache.known(1, "j") == {"d": b"4"}
