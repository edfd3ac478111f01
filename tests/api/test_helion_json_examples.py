"""Every GET example of seed 002 against the JSON answer of the same request on resources the test makes (issue 24
Proof: "the keys ... equal the example's ... value types match"): each key of the example's JSON is in the answer,
with a value of the same JSON type (where the example's is not null), lists compared item by item against the
example's first item. The keys the answer adds are the D-cells' (D25: the openstack view's extras)."""
from __future__ import annotations

from typing import Any

from tests.api.test_helion_xml_answers import EXAMPLES, world  # noqa: F401 (fixture)
from tests.api.test_servers_api import api, servers_api  # noqa: F401 (fixtures)
from tests.unit.xml_helion_responses import RESPONSES, SEED
from tests.unit.xml_seed import load_examples, read_json_example

JSON_EXAMPLES = load_examples(SEED)
DATA_KEYED = frozenset({"addresses", "metadata", "meta"})  # objects whose keys are the caller's data


def response_example(request_line: int) -> Any:
    """The first JSON example after the request's heading line (a GET has no request body); as repaired by the
    XML codec's cases (tests/unit/xml_helion_responses.py) where it needs repairs to be read at all."""
    line = min(first for form, first in JSON_EXAMPLES if form == "json" and first > request_line)
    repaired = [case.doc for case in RESPONSES if case.json_line == line]
    return repaired[0] if repaired else read_json_example(JSON_EXAMPLES["json", line].text)


def _type(value: Any) -> str:
    return "number" if isinstance(value, (int, float)) and not isinstance(value, bool) else type(value).__name__


def mismatches(theirs: Any, ours: Any, path: str = "") -> list[str]:
    if theirs is None or (ours is None and path):
        return []
    if _type(theirs) != _type(ours):
        return [f"{path}: example {_type(theirs)}, answer {_type(ours)}"]
    out: list[str] = []
    if isinstance(theirs, dict) and path.rsplit("/", 1)[-1] in DATA_KEYED:
        for key, value in ours.items():  # the keys are data (network names, metadata keys): the values' types
            out += mismatches(next(iter(theirs.values()), None), value, f"{path}/{key}")
    elif isinstance(theirs, dict):
        for key, value in theirs.items():
            if key not in ours:
                out.append(f"{path}/{key}: missing")
            else:
                out += mismatches(value, ours[key], f"{path}/{key}")
    elif isinstance(theirs, list) and theirs:
        for i, item in enumerate(ours):
            out += mismatches(theirs[0], item, f"{path}[{i}]")
    return out


async def test_every_get_example_has_its_keys_and_types_in_the_json_answer(world):  # noqa: F811
    api, headers, base, names = world
    found = {}
    for line, path, _kind in EXAMPLES:
        resp = await api.client.get(base + path.format(**names), headers=headers)
        assert resp.status == 200, (line, await resp.text())
        example = response_example(line)
        assert mismatches(example, {}), line  # the example has keys to find
        found[line] = mismatches(example, await resp.json())
    assert {line: diff for line, diff in found.items() if diff} == {}
