"""A strict key comparison of a JSON answer with a seed 002 example (issue 24 Proof: "the keys ... equal the
example's plus those the D-cells add, and no others; value types match"): every object of the answer has exactly
the example's keys plus the ones an allowance names for that place, and each value has the example's JSON type,
recursively (each list item against the example's item it matches best, the seed printing items of several
shapes, e.g. a rule with a CIDR and one with a source group; objects whose keys are the caller's data, such as
`addresses` and `metadata`, by their values' types). A null in the example says nothing about the type."""
from __future__ import annotations

from typing import Any

DATA_KEYED = frozenset({"addresses", "metadata", "meta", "extra_specs"})


def _type(value: Any) -> str:
    return "number" if isinstance(value, (int, float)) and not isinstance(value, bool) else type(value).__name__


def _place(path: str) -> str:
    """The path with list indexes and data keys generalised: "/servers[3]/addresses/net" -> "/servers[]/addresses/*"."""
    parts, out = path.split("/"), []
    for part in parts:
        base = part.split("[", 1)[0]
        out.append(base + ("[]" if "[" in part else ""))
    return "/".join(out)


def strict_mismatches(theirs: Any, ours: Any, extra: dict[str, frozenset[str]] | None = None,
                      path: str = "") -> list[str]:
    """The differences between an example and an answer. `extra` maps a place ("" for the top, "/server",
    "/servers[]" ...) to the keys the D-cells add there."""
    extra = extra or {}
    if theirs is None:
        return []
    if _type(theirs) != _type(ours):
        return [f"{path or '/'}: example {_type(theirs)}, answer {_type(ours)}"]
    out: list[str] = []
    place = _place(path)
    if isinstance(theirs, dict) and place.rsplit("/", 1)[-1] in DATA_KEYED:
        sample = next(iter(theirs.values()), None)
        for key, value in ours.items():
            out += strict_mismatches(sample, value, extra, f"{path}/*")
    elif isinstance(theirs, dict):
        allowed = set(theirs) | set(extra.get(place, ()))
        out += [f"{path}/{key}: not in the example" for key in sorted(set(ours) - allowed)]
        out += [f"{path}/{key}: missing" for key in sorted(set(theirs) - set(ours))]
        for key in set(theirs) & set(ours):
            out += strict_mismatches(theirs[key], ours[key], extra, f"{path}/{key}")
    elif isinstance(theirs, list) and theirs:
        for i, item in enumerate(ours):
            out += min((strict_mismatches(sample, item, extra, f"{path}[{i}]") for sample in theirs), key=len)
    return out
