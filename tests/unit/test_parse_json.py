"""The one parser of JSON request bodies (api/validation.py::parse_json) refuses, with ValueError, what a handler
could not safely use: nesting past MAX_DEPTH, NaN and Infinity, numbers overflowing a double, integers past
Python's digit limit, lone surrogates. Integers stay exact (each schema bounds its own fields)."""
from __future__ import annotations

import pytest

from nodecompute.api.validation import MAX_DEPTH, int_filter, parse_json


def _nested(depth: int) -> bytes:
    return b'{"a": ' * (depth - 1) + b"[]" + b"}" * (depth - 1)


def test_nesting_up_to_the_limit_parses_and_deeper_is_refused():
    assert parse_json(_nested(MAX_DEPTH))
    for depth in (MAX_DEPTH + 1, 500, 100_000):  # the last is past the C decoder's own recursion limit
        with pytest.raises(ValueError, match="nested too deeply"):
            parse_json(_nested(depth))
    with pytest.raises(ValueError, match="nested too deeply"):
        parse_json(b"[" * 100_000 + b"]" * 100_000)


@pytest.mark.parametrize("raw", [b"NaN", b'{"a": Infinity}', b"[-Infinity]", b"1e999", b"-1e400", b"9" * 5000,
                                 b'"\\ud800"', b'{"\\udc00": 1}', b'["\xed\xa0\x80"]', b"\xff",
                                 b'{"a": 1', b"{'a': 1}"])
def test_what_is_not_safe_json_is_refused(raw):
    with pytest.raises(ValueError):
        parse_json(raw)


def test_surrogate_pairs_are_text():
    assert parse_json(b'["\\ud83d\\ude00", "\xf0\x9f\x98\x80"]') == ["\U0001F600"] * 2


def test_numbers_that_fit_are_exact():
    assert parse_json(b'{"a": [1180591620717411303424, 1.5, -0.0, "x", null, true]}') == {
        "a": [2**70, 1.5, -0.0, "x", None, True]}


def test_query_integer_bounds_clamp_to_sqlite_integers():
    assert int_filter("9" * 40) == 2**63 - 1 and int_filter("-" + "9" * 40) == -(2**63) and int_filter("42") == 42
    with pytest.raises(ValueError):
        int_filter("4x")
