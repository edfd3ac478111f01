"""The strict check of the K5 seed-example tests (issue 25's proof): an answer has exactly the example's keys plus
the keys the k5 D-cells of dialects.md add, and its values have the example's types, compared recursively."""
from __future__ import annotations

from typing import Any

JSON_TYPES = (dict, list, str, bool, int, float)
MAPS = ("metadata", "extra_specs")  # the caller's own key-value pairs: any keys, string values
NAMED = ("addresses",)  # keyed by the caller's names (networks): each value has the shape of the example's first


def _kind(value: Any) -> type | None:
    if value is None:
        return None
    return next(t for t in JSON_TYPES if isinstance(value, t))


def assert_like(answer: Any, example: Any, added: dict[str, set[str]] | None = None, path: str = "$") -> None:
    """`answer` has `example`'s shape. `added` maps a path ("$.volume", "$.volumes[]") to the keys a D-cell adds
    there. A null in the example stands for a string or null (the seed shows nulls for unset names and ids); an
    empty list in the example leaves the items unchecked; a list's items each have the shape of one of its items; a
    `metadata` or `extra_specs` map has any keys with string values; `addresses` any network names."""
    added = added or {}
    if example is None:
        assert answer is None or isinstance(answer, str), (path, answer)
        return
    assert _kind(answer) is _kind(example), (path, answer, example)
    if isinstance(example, dict) and path.rsplit(".", 1)[-1] in MAPS:
        assert all(isinstance(k, str) and isinstance(v, str) for k, v in answer.items()), (path, answer)
    elif isinstance(example, dict) and path.rsplit(".", 1)[-1] in NAMED:
        for name, value in answer.items():
            assert_like(value, next(iter(example.values())), added, f"{path}.*")
    elif isinstance(example, dict):
        expected = set(example) | added.get(path, set())
        assert set(answer) == expected, (path, "extra", set(answer) - expected, "missing", set(expected) - set(answer))
        for key in example:
            assert_like(answer[key], example[key], added, f"{path}.{key}")
    elif isinstance(example, list) and example:
        for item in answer:
            _like_one_of(item, example, added, f"{path}[]")


def _like_one_of(answer: Any, examples: list, added: dict[str, set[str]], path: str) -> None:
    """A list item has the shape of one of the example's items (links: `alternate` has a `type` the others lack)."""
    for example in examples[:-1]:
        try:
            assert_like(answer, example, added, path)
            return
        except AssertionError:
            continue
    assert_like(answer, examples[-1], added, path)
