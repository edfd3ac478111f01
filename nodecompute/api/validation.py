"""Request body and query validation with jsonschema, producing Nova's messages.

Body errors read "Invalid input for field/attribute <name>. Value: <value>. <message>" (Nova's
``_SchemaValidator``), query errors "Invalid input for query parameters <name>. ...".
"""
from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import jsonschema
from aiohttp import web
from multidict import MultiMapping

from nodecompute.compute.errors import MalformedBody, UnsupportedMediaType, ValidationError

JSON_TYPES = ("application/json", "application/vnd.openstack.compute+json", "text/plain", "application/octet-stream", "")

_validators: dict[int, jsonschema.protocols.Validator] = {}


def _validator(schema: Mapping[str, Any]) -> jsonschema.protocols.Validator:
    key = id(schema)
    found = _validators.get(key)
    if found is None:
        found = jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())
        _validators[key] = found
    return found


def _message(error: jsonschema.ValidationError, where: str) -> str:
    path = list(error.path)
    if not path:
        return error.message
    return f"Invalid input for {where} {path[-1]}. Value: {error.instance}. {error.message}"


def validate(schema: Mapping[str, Any], data: Any, where: str = "field/attribute") -> Any:
    best = jsonschema.exceptions.best_match(_validator(schema).iter_errors(data))
    if best is not None:
        raise ValidationError(_message(best, where))
    return data


async def json_body(request: web.Request, schema: Mapping[str, Any] | None = None) -> Any:
    """Parse and validate a JSON request body. Missing body counts as malformed, like Nova."""
    ctype = request.headers.get("Content-Type", "").split(";")[0].strip().lower()
    if ctype not in JSON_TYPES:
        raise UnsupportedMediaType()
    raw = await request.read()
    try:
        body = json.loads(raw) if raw else None
    except (ValueError, UnicodeDecodeError):
        raise MalformedBody() from None
    if body is None or not isinstance(body, dict):
        raise MalformedBody("The request body must be a JSON object." if body is not None else None)
    if schema is not None:
        validate(schema, body)
    return body


def query_dict(query: MultiMapping[str], multi: tuple[str, ...] = ()) -> dict[str, Any]:
    """The query as a dict; keys in `multi` become lists of every value, the others keep the last value."""
    out: dict[str, Any] = {}
    for key in query.keys():
        out[key] = query.getall(key) if key in multi else query.getall(key)[-1]
    return out


def validate_query(schema: Mapping[str, Any], query: MultiMapping[str], multi: tuple[str, ...] = ()) -> dict[str, Any]:
    data = query_dict(query, multi)
    if not data and not schema.get("required"):
        return data  # the common case, no query string: nothing to check
    return validate(schema, data, where="query parameters")


# Shared parameter types (Nova's parameter_types). Boolean-like strings as Nova's strutils accept them.
TRUE_STRINGS = ("1", "t", "true", "on", "y", "yes")
FALSE_STRINGS = ("0", "f", "false", "off", "n", "no")
boolean = {"type": ["boolean", "string"], "enum": [True, False] + [
    v for s in TRUE_STRINGS + FALSE_STRINGS for v in {s, s.upper(), s.capitalize()}]}
non_negative_integer = {"type": ["integer", "string"], "pattern": "^[0-9]+$", "minimum": 0}
positive_integer = {"type": ["integer", "string"], "pattern": "^[1-9][0-9]*$", "minimum": 1}
name = {"type": "string", "minLength": 1, "maxLength": 255, "pattern": r"^(?! )[^\x00-\x1f\x7f]*(?<! )$"}
metadata_key = {"type": "string", "minLength": 1, "maxLength": 255, "pattern": r"^[a-zA-Z0-9\-_:. ]{1,255}$"}
metadata = {
    "type": "object",
    "patternProperties": {r"^[a-zA-Z0-9\-_:. ]{1,255}$": {"type": "string", "maxLength": 255}},
    "additionalProperties": False,
}
# Query values the clients send (clients.md): strings, validated by pattern.
query_limit = {"type": "string", "pattern": r"^-?[0-9]+$"}
query_bool_or_none = {"type": "string", "pattern": r"(?i)^(true|false|none|1|0|t|f|yes|no|on|off|y|n)$"}


def to_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in TRUE_STRINGS


def to_int(value: Any) -> int:
    return int(value)
