"""User-supplied regular expressions (the servers list's `name` filter), run by RE2 only.

Python's `re` backtracks: one crafted pattern against one long name can hold the event loop for seconds or years.
RE2 matches in time linear in the text, and refuses what it cannot do that way (look-around, back-references)
instead of falling back to a backtracking engine: such a pattern is a 400 here, never a slow `re` search.
Only whether a name matches is asked, so patterns compile without capture groups (which would make RE2 track
submatches through its slower NFA). The match cost per name is then bounded by the program size, which RE2's
memory budget caps; the store still runs such reads off the event loop (Store.read_in_thread). Compiled patterns
are cached, so the SQLite REGEXP function compiles a filter once, not once per row.
"""
from __future__ import annotations

import functools

import re2

from nodecompute.domain.errors import BadRequest

# RE2's memory budget for one compiled pattern and its DFA cache (its default is 8 MiB). A pattern whose program
# does not fit is refused at compile time ("pattern too large"); when the DFA cache fills, RE2 falls back to its
# NFA, still linear in the text.
MAX_MEM = 2 << 20
_CACHE_SIZE = 64


class InvalidRegex(BadRequest):
    """A filter pattern that RE2 cannot compile: a syntax error, or a construct with no linear-time match."""

    msg_fmt = ("Invalid input for query parameters %(field)s. Value: %(value)s. "
               "Invalid regular expression: %(reason)s")


def _options() -> re2.Options:
    options = re2.Options()
    options.max_mem = MAX_MEM
    options.never_capture = True
    options.log_errors = False  # RE2 would print every refused pattern on stderr
    return options


@functools.lru_cache(maxsize=_CACHE_SIZE)
def _compile(pattern: str):
    return re2.compile(pattern, _options())


def compile_filter(pattern: str, field: str = "name"):
    """The RE2 program for `pattern`, or InvalidRegex (400) naming the query parameter `field`."""
    try:
        return _compile(pattern)
    except UnicodeEncodeError:  # a lone surrogate from a percent-encoded query
        raise InvalidRegex(field=field, value=pattern.encode("utf-8", "replace").decode(),
                           reason="not valid UTF-8") from None
    except re2.error as exc:
        reason = exc.args[0] if exc.args else "cannot be compiled"
        if isinstance(reason, bytes):
            reason = reason.decode("utf-8", "replace")
        raise InvalidRegex(field=field, value=pattern, reason=reason) from None


def search(pattern: str, value: str | None) -> bool:
    """Unanchored match, as SQLite's REGEXP under oslo.db (Nova's `name` filter): True when `value` contains a
    match of `pattern`."""
    return value is not None and compile_filter(pattern).search(value) is not None
