"""Nova's registry of known flavor extra specs (from microversion 2.86, Nova's validators.validate): a spec whose
name a registered validator matches must have a value of its kind; a spec in a namespace the registry knows but
that no validator matches is refused; any other spec passes.

The registry is data: data/nova_extra_specs.json, recorded from one Nova commit (with the os-traits and
os-resource-classes its validators enumerate) by tests/tools/record_extra_specs.py. Each validator's name may hold
`{parameter}` placeholders that its parameters' regexes replace; its value is an int (with min/max), a bool
(oslo's strict boolean strings) or a str (with a pattern or an enum).
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from nodecompute.domain.bool_strings import FALSE_STRINGS, TRUE_STRINGS
from nodecompute.domain.errors import BadRequest

DATA = Path(__file__).resolve().parent / "data" / "nova_extra_specs.json"


@dataclass(frozen=True)
class Validator:
    name: str
    name_regex: str
    value: dict[str, Any]


@dataclass(frozen=True)
class Registry:
    by_name: dict[str, Validator]
    namespaces: tuple[str, ...]  # the regexes of the part before ':' of every namespaced validator


def _validator(entry: dict[str, Any]) -> Validator:
    regex = entry["name"]
    for parameter in entry.get("parameters", ()):
        regex = regex.replace(f"{{{parameter['name']}}}", f"(?P<{parameter['name']}>{parameter['pattern']})")
    return Validator(entry["name"], regex, entry["value"])


@cache
def registry() -> Registry:
    validators = [_validator(entry) for entry in json.loads(DATA.read_text())["validators"]]
    namespaces = dict.fromkeys(v.name_regex.split(":", 1)[0] for v in validators if ":" in v.name_regex)
    return Registry({v.name: v for v in validators}, tuple(namespaces))


def _fail(message: str) -> BadRequest:
    return BadRequest(f"Validation failed; {message}")


def _check_value(validator: Validator, value: str) -> None:
    rules = validator.value
    if rules["type"] == "int":
        try:
            number = int(value)
        except ValueError:
            raise _fail(f"'{value}' is not a valid integer value.") from None
        if "max" in rules and rules["max"] < number:
            raise _fail(f"'{value}' is greater than the max value of '{rules['max']}'.")
        if "min" in rules and rules["min"] > number:
            raise _fail(f"'{value}' is less than the min value of '{rules['min']}'.")
    elif rules["type"] == "bool":
        if value.strip().lower() not in TRUE_STRINGS + FALSE_STRINGS:
            raise _fail(f"'{value}' is not a valid boolean-like value.")
    elif "pattern" in rules:
        if not re.fullmatch(rules["pattern"], value):
            raise _fail(f"'{value}' is not of the format '{rules['pattern']}'.")
    elif "enum" in rules and value not in rules["enum"]:
        raise _fail(f"'{value}' is not one of: {', '.join(str(item) for item in rules['enum'])}.")


def validate(name: str, value: str) -> None:
    """400 when Nova's registry refuses the spec (its messages); `value` as Nova sees it (numbers as text)."""
    found = registry()
    validator = found.by_name.get(name) or next(
        (v for v in found.by_name.values() if re.fullmatch(v.name_regex, name)), None)
    if validator is not None:
        _check_value(validator, value)
        return
    if ":" not in name:
        return
    namespace = name.split(":", 1)[0]
    if any(re.fullmatch(known, namespace) for known in found.namespaces):
        raise _fail(f"extra spec '{name}' does not appear to be a valid extra spec.")


def validate_all(specs: dict[str, Any]) -> None:
    for name, value in specs.items():
        validate(name, str(value) if isinstance(value, (int, float)) else value)
