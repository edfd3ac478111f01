"""The servers list's regex filters (behaviour.md section 8): RE2 semantics in linear time, off the event loop; a
pattern RE2 cannot run is a 400 and never falls back to Python's backtracking `re`.
"""
from __future__ import annotations

import threading

import pytest

from nodecompute.domain import regex
from tests.api.helpers import assert_fault
from tests.api.test_servers_api import (  # noqa: F401 (api, servers_api are fixtures)
    _insert, _project_id, _server_ids, api, servers_api)


@pytest.mark.parametrize("field, pattern", [
    ("name", "web(?=-1)"),       # look-ahead
    ("name", "(?<!x)web"),       # look-behind
    ("name", r"(w)\1"),          # back-reference
    ("name", "["),               # a plain syntax error
    ("ip", "10(?=\\.)"),         # checked too, though no server has a fixed IP here
])
async def test_a_pattern_re2_cannot_run_is_a_400(api, make_user, field, pattern):
    token = await make_user("proj-a", "reader")
    await _insert(api, _project_id(api, "proj-a"), name="web-1")
    resp = await api.get("/servers", token, params={field: pattern})
    fault = await assert_fault(resp, 400, "badRequest", "Invalid regular expression")
    assert fault["message"].startswith(f"Invalid input for query parameters {field}. Value: {pattern}. "), fault


async def test_the_name_filter_has_re2_semantics(api, make_user):
    # Python's `re` takes \d as any Unicode digit; RE2 (like POSIX and Nova's MySQL REGEXP) as [0-9] only.
    token = await make_user("proj-a", "reader")
    pid = _project_id(api, "proj-a")
    ascii_digits = await _insert(api, pid, name="42")
    await _insert(api, pid, name="\u0664\u0662")  # ARABIC-INDIC DIGIT FOUR, TWO
    assert await _server_ids(api, token, "?name=^\\d%2B$") == [ascii_digits.uuid]


async def test_a_catastrophic_pattern_answers_at_once_off_the_event_loop(api, make_user, monkeypatch):
    """`(a+)+$` against 'aaa...a!' backtracks 2**n times in Python's `re` (the name here costs it seconds; a
    255-character name would cost it years). RE2 answers in one pass, and the match runs on the store's reader
    thread, not on the event loop."""
    token = await make_user("proj-a", "reader")
    pid = _project_id(api, "proj-a")
    await _insert(api, pid, name="a" * 26 + "!")
    ending_in_a = await _insert(api, pid, name="a" * 200)
    threads = []
    search = regex.search

    def spy(pattern, value):
        threads.append(threading.current_thread())
        return search(pattern, value)

    monkeypatch.setattr(regex, "search", spy)
    assert await _server_ids(api, token, "?name=(a%2B)%2B$") == [ending_in_a.uuid]
    assert len(threads) == 2 and threading.main_thread() not in threads, threads
    assert all(t.name.startswith("nc-db-slow-reader") for t in threads), threads


def test_compile_filter_refuses_what_re2_cannot_run_and_never_captures():
    with pytest.raises(regex.InvalidRegex, match="Invalid regular expression: invalid perl operator"):
        regex.compile_filter("a(?=b)")
    with pytest.raises(regex.InvalidRegex, match="Invalid input for query parameters ip6. Value: "):
        regex.compile_filter("\\p{Nope}", "ip6")
    assert regex.compile_filter("(a)(b)").groups == 0  # a yes/no match: no submatch tracking
    assert regex.search("web", "my-web-1") and not regex.search("^web", "my-web-1") and not regex.search("x", None)
