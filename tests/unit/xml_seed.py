"""The seeds' XML examples and the JSON examples beside them (tests/data/xml_seeds, copied by
tests/tools/extract_xml_examples.py), a reader for those JSON examples (real JSON, or HP's listing form
`key: value` with `name: [n]` arrays whose items are `i: {...}`), and a structural comparison of a rendered
document with an XML example.

"Structurally equal": the same elements and attributes, with the same values (text and attributes compared with
whitespace runs collapsed), in the same namespaces where the example declares one (an example without a default
namespace, or using a prefix it never declares, as many of HP's samples do, says nothing about that namespace);
siblings are compared as a multiset. Examples that are not well-formed as printed are repaired first, each repair
an explicit (old, new, why) substitution, and so is every value a D-row or section 6 decides against the sample.
"""
from __future__ import annotations

import copy
import json
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nodecompute.api.xml_common import EXTENSION_NS

DATA = Path(__file__).resolve().parent.parent / "data" / "xml_seeds"
SEED_DIR = Path("/work/shared/seeds")
_HEADER = re.compile(r"^=== (xml|json) (\d+)-(\d+)$", re.M)
DROP = object()  # `changed`: remove the key


@dataclass(frozen=True)
class Example:
    seed: str
    form: str  # xml | json
    first: int
    last: int
    text: str


def load_examples(seed: str) -> dict[tuple[str, int], Example]:
    """The seed's examples by (form, first line)."""
    raw = (DATA / seed).read_text(encoding="utf-8")
    heads = list(_HEADER.finditer(raw))
    out = {}
    for head, nxt in zip(heads, heads[1:] + [None]):
        body = raw[head.end() + 1:nxt.start() if nxt else len(raw)].rstrip("\n")
        form, first, last = head.group(1), int(head.group(2)), int(head.group(3))
        out[form, first] = Example(seed, form, first, last, body)
    return out


def read_json_example(text: str) -> Any:
    """A JSON example as a value: real JSON (trailing commas allowed) or HP's listing form."""
    try:
        return json.loads(re.sub(r",(\s*[}\]])", r"\1", text))
    except ValueError:
        lines = [line.strip() for line in text.split("\n") if line.strip() and line.strip() != "....."]
        value, end = _listing_object(lines, 0)
        assert end == len(lines), f"unread lines from {lines[end]!r}"
        return value


def _listing_object(lines: list[str], pos: int) -> tuple[dict, int]:
    assert lines[pos].endswith("{"), lines[pos]
    pos += 1
    out: dict[str, Any] = {}
    while lines[pos] != "}":
        key, _, value = lines[pos].partition(": ")
        key, value = key.strip().strip('"'), value.strip()
        if value == "{":
            out[key], pos = _listing_object(lines, pos)
        elif re.fullmatch(r"\[\d+\]", value):
            out[key], pos = _listing_array(lines, pos + 1)
        else:
            out[key], pos = json.loads(value), pos + 1
    return out, pos + 1


def _listing_array(lines: list[str], pos: int) -> tuple[list, int]:
    items = []
    while pos < len(lines) and re.match(r"\d+:", lines[pos]):
        value = lines[pos].partition(":")[2].strip()
        if value == "{":
            item, pos = _listing_object(lines, pos)
        else:
            item, pos = json.loads(value), pos + 1
        items.append(item)
    return items, pos


def changed(doc: Any, *changes: tuple[tuple, Any]) -> Any:
    """A deep copy of `doc` with values replaced at key paths (DROP removes the key)."""
    doc = copy.deepcopy(doc)
    for path, value in changes:
        target = doc
        for step in path[:-1]:
            target = target[step]
        if value is DROP:
            del target[path[-1]]
        else:
            target[path[-1]] = value
    return doc


@dataclass(frozen=True)
class Fix:
    """One substitution in an example's text, and why it is made."""
    old: str
    new: str
    why: str


@dataclass
class Case:
    """One example and what the codec must do with it; `kind` is the codec's document or request kind."""
    line: int
    doc: Any
    kind: str | None = None
    repairs: tuple[Fix, ...] = ()      # the sample is not well-formed XML as printed
    decisions: tuple[Fix, ...] = ()    # a D-row or section 6 decides against the sample's value
    json_line: int | None = None       # requests: the JSON example of the same operation
    notes: tuple[str, ...] = field(default=())


def example_text(example: Example, case: Case, prefixes: dict[str, str]) -> str:
    text = example.text.strip()
    for fix in case.repairs + case.decisions:
        assert fix.old in text, f"{example.seed}:{example.first}: {fix.old!r} not in the example ({fix.why})"
        text = text.replace(fix.old, fix.new)
    return declare_prefixes(text, prefixes)


def declare_prefixes(text: str, prefixes: dict[str, str]) -> str:
    """Declare on the root every prefix the example uses without declaring it (HP's samples often do)."""
    used = set(re.findall(r"</?([A-Za-z][\w.-]*):[\w.-]+", text)) | set(re.findall(r"\s([A-Za-z][\w.-]*):[\w.-]+=", text))
    missing = sorted(p for p in used - {"xmlns"} if f"xmlns:{p}=" not in text)
    root = re.search(r"<(?![?!])([\w.:-]+)", text)
    decls = "".join(f' xmlns:{p}="{prefixes[p]}"' for p in missing)
    return text[:root.end()] + decls + text[root.end():]


def differences(ours: ET.Element, theirs: ET.Element, aliases: dict[str, str], path: str = "") -> list[str]:
    """Where `ours` differs from the example `theirs` (empty: structurally equal)."""
    name = _local(theirs.tag)
    here = f"{path}/{name}"
    out = []
    if _local(ours.tag) != name:
        return [f"{here}: ours is <{_local(ours.tag)}>"]
    if _ns(theirs.tag) is not None and aliases.get(_ns(theirs.tag), _ns(theirs.tag)) != _ns(ours.tag):
        out.append(f"{here}: namespace ours {_ns(ours.tag)}, example {_ns(theirs.tag)}")
    ours_attrs = {_attr(k, aliases): v for k, v in ours.attrib.items()}
    theirs_attrs = {_attr(k, aliases): v for k, v in theirs.attrib.items()}
    for key in sorted(set(ours_attrs) | set(theirs_attrs)):
        a, b = ours_attrs.get(key), theirs_attrs.get(key)
        if a is None or b is None or _norm(a) != _norm(b):
            out.append(f"{here}/@{key}: ours {a!r}, example {b!r}")
    if _norm(ours.text or "") != _norm(theirs.text or ""):
        out.append(f"{here}/text(): ours {_norm(ours.text or '')[:80]!r}, example {_norm(theirs.text or '')[:80]!r}")
    return out + _children(ours, theirs, aliases, here)


def _children(ours: ET.Element, theirs: ET.Element, aliases: dict[str, str], here: str) -> list[str]:
    out = []
    unused = list(ours)
    for child in theirs:
        same_tag = [c for c in unused if _local(c.tag) == _local(child.tag)]
        match = next((c for c in same_tag if not differences(c, child, aliases, here)), None)
        if match is None:
            out += differences(same_tag[0], child, aliases, here) if same_tag else \
                [f"{here}/{_local(child.tag)}: missing from ours"]
            if same_tag:
                unused.remove(same_tag[0])
        else:
            unused.remove(match)
    out += [f"{here}/{_local(c.tag)}: ours only" for c in unused]
    return out


def _local(tag: str) -> str:
    return tag.rpartition("}")[2]


def _ns(tag: str) -> str | None:
    return tag[1:].partition("}")[0] if tag.startswith("{") else None


def _attr(key: str, aliases: dict[str, str]) -> str:
    ns = _ns(key)
    if ns is None:
        return key
    ns = aliases.get(ns, ns)
    prefix = next((p for p, uri in EXTENSION_NS.items() if uri == ns), ns)
    return f"{prefix}:{_local(key)}"


def _norm(text: str) -> str:
    return " ".join(text.split())
