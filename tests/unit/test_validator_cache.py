"""The compiled-validator cache is bounded, and a repeated query parameter's schema is made once (issue 22: one
validator was compiled and kept per request with `?status=`, a few MB per round of lists)."""
from __future__ import annotations

from collections import OrderedDict

import pytest
from multidict import MultiDict

from nodecompute.api import validation
from nodecompute.api.respond import repeated_schema
from nodecompute.domain.errors import ValidationError


def _schema(n: int) -> dict:
    return {"type": "object", "properties": {"n": {"type": "integer", "maximum": n}}}


def _emptied(monkeypatch: pytest.MonkeyPatch, cache_name: str, bound_name: str, bound: int) -> OrderedDict:
    """validation's cache `cache_name` replaced by an empty one, its bound `bound_name` set to `bound`."""
    cache: OrderedDict = OrderedDict()
    monkeypatch.setattr(validation, cache_name, cache)
    monkeypatch.setattr(validation, bound_name, bound)
    return cache


@pytest.fixture
def small_cache(monkeypatch: pytest.MonkeyPatch) -> OrderedDict:
    return _emptied(monkeypatch, "_validators", "MAX_VALIDATORS", 8)


def test_validators_of_schemas_made_per_call_stay_within_the_bound(small_cache: OrderedDict) -> None:
    for n in range(100):
        assert validation.validate(_schema(n), {"n": n}) == {"n": n}
        with pytest.raises(ValidationError):
            validation.validate(_schema(n), {"n": n + 1})
        assert len(small_cache) <= 8
    assert len(small_cache) == 8


def test_a_kept_schema_keeps_its_validator_and_the_least_recently_used_goes(small_cache: OrderedDict) -> None:
    kept = _schema(5)
    first = validation._validator(kept)
    others = [_schema(n) for n in range(20)]
    for other in others:
        validation.validate(other, {"n": 0})
        assert validation._validator(kept) is first  # used again each time: never the least recent
    assert id(others[0]) not in small_cache
    validation.validate(others[0], {"n": 0})  # evicted, compiled again, still right
    with pytest.raises(ValidationError):
        validation.validate(others[0], {"n": 1})


def test_a_repeated_query_parameter_is_checked_with_one_schema_and_one_validator(small_cache: OrderedDict) -> None:
    item = {"type": "string", "enum": ["ACTIVE", "SHUTOFF"]}
    wrapper = repeated_schema("status", item)
    assert wrapper == {"type": "object", "properties": {"status": item}}
    for value in ("ACTIVE", "SHUTOFF") * 50:
        assert repeated_schema("status", item) is wrapper
        validation.validate(repeated_schema("status", item), {"status": value}, where="query parameters")
    assert len(small_cache) == 1
    with pytest.raises(ValidationError, match="Invalid input for query parameters status"):
        validation.validate(repeated_schema("status", item), {"status": "BUILD"}, where="query parameters")
    assert repeated_schema("task_state", item) is not wrapper
    assert repeated_schema("status", dict(item)) is not wrapper  # another item schema, though equal


@pytest.fixture
def checked_queries(monkeypatch: pytest.MonkeyPatch) -> OrderedDict:
    return _emptied(monkeypatch, "_checked_queries", "MAX_CHECKED_QUERIES", 4)


def _query(**values: str | list[str]) -> MultiDict:
    query: MultiDict = MultiDict()
    for key, value in values.items():
        for item in value if isinstance(value, list) else [value]:
            query.add(key, item)
    return query


def test_a_valid_query_is_kept_and_given_back_as_a_copy(checked_queries: OrderedDict) -> None:
    schema = {"type": "object", "properties": {"limit": {"type": "string", "pattern": "^[0-9]+$"},
                                                 "tag": {"type": "array"}}}
    first = validation.validate_query(schema, _query(limit="5", tag=["a", "b"]), multi=("tag",))
    assert first == {"limit": "5", "tag": ["a", "b"]} and len(checked_queries) == 1
    first["limit"], first["tag"][0] = "changed", "changed"  # a caller's changes never reach the kept one
    again = validation.validate_query(schema, _query(limit="5", tag=["a", "b"]), multi=("tag",))
    assert again == {"limit": "5", "tag": ["a", "b"]} and again is not first
    for _ in range(2):  # an invalid query is never kept: the same fault every time
        with pytest.raises(ValidationError, match="Invalid input for query parameters limit"):
            validation.validate_query(schema, _query(limit="five"))
    assert len(checked_queries) == 1
    other = {"type": "object", "properties": {"limit": {"type": "string", "maxLength": 1}}}
    with pytest.raises(ValidationError):  # the same values under another schema are checked by that schema
        validation.validate_query(other, _query(limit="55"))


def test_kept_queries_stay_within_the_bound_and_long_ones_are_not_kept(checked_queries: OrderedDict) -> None:
    schema = {"type": "object", "properties": {"name": {"type": "string"}}}
    for n in range(20):
        assert validation.validate_query(schema, _query(name=f"web-{n}")) == {"name": f"web-{n}"}
        assert len(checked_queries) <= 4
    checked_queries.clear()
    long_name = "x" * (validation.MAX_CHECKED_QUERY_CHARS + 1)
    assert validation.validate_query(schema, _query(name=long_name)) == {"name": long_name}
    assert not checked_queries
