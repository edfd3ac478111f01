"""Request body and query validation with jsonschema, producing Nova's messages.

Body errors read "Invalid input for field/attribute <name>. Value: <value>. <message>" (Nova's
``_SchemaValidator``), query errors "Invalid input for query parameters <name>. ...".
"""
from __future__ import annotations

import json
import math
import re
import uuid
from collections import OrderedDict
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any

import jsonschema
from aiohttp import web
from multidict import MultiMapping

from nodecompute.caching import lru_get, lru_put
from nodecompute.domain.bool_strings import FALSE_STRINGS, TRUE_STRINGS
from nodecompute.domain.bool_strings import bool_from_string as to_bool  # noqa: F401 (callers use validation.to_bool)
from nodecompute.domain.errors import BadRequest, MalformedBody, UnsupportedMediaType, ValidationError

JSON_TYPES = ("application/json", "application/vnd.openstack.compute+json", "text/plain", "application/octet-stream", "")

MAX_LIMIT = 1000  # Nova's [api] max_limit: the largest page any list answers (Glance's api_limit_max too)
# id(schema) -> its compiled validator, least recently used first. The validator holds its schema, so an id kept
# here is never another schema's; bounded, so a schema made per request (respond.parse_query made one per repeated
# query parameter: issue 22, a validator of ~4 KB and ~20 objects kept per request) costs a compile, not memory.
MAX_VALIDATORS = 512
MAX_CHECKED_QUERIES = 1024  # queries found valid, by schema and values (validate_query)
MAX_CHECKED_QUERY_CHARS = 512  # a longer query is checked every time, never kept
_validators: OrderedDict[int, jsonschema.protocols.Validator] = OrderedDict()
# Deeper than any body the API takes (a Keystone password auth is 6 levels), far below what would make the decoder,
# jsonschema or json.dumps recurse past Python's stack.
MAX_DEPTH = 32


def _refuse_constant(name: str) -> float:
    raise ValueError(f"{name} is not JSON")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{text} overflows a double")
    return value


def _valid_text(text: str) -> bool:
    """False for a lone surrogate (a `\\ud800` escape or its raw bytes): no UTF-8 encoder, SQLite's included,
    accepts it."""
    if text.isascii():
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _check_tree(doc: Any) -> None:
    """ValueError when `doc` nests deeper than MAX_DEPTH or holds a string (key or value) that is not Unicode text."""
    stack = [(doc, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, str):
            if not _valid_text(node):
                raise ValueError("lone surrogate in a JSON string")
            continue
        if not isinstance(node, (dict, list)):
            continue
        if depth > MAX_DEPTH:
            raise ValueError("JSON nested too deeply")
        if isinstance(node, dict):
            stack.extend((key, depth) for key in node)
            node = node.values()
        stack.extend((child, depth + 1) for child in node)


def parse_json(raw: bytes) -> Any:
    """The one parser of JSON request bodies: ValueError for anything that is not JSON a handler can safely use
    (bad UTF-8 or syntax, NaN/Infinity, a number overflowing a double, an integer past Python's digit limit,
    nesting deeper than MAX_DEPTH, a lone surrogate). Integers stay exact: each schema bounds its own fields."""
    try:
        doc = json.loads(raw, parse_constant=_refuse_constant, parse_float=_finite_float)
    except RecursionError:  # the C decoder gave up on the nesting before reaching MAX_DEPTH's check
        raise ValueError("JSON nested too deeply") from None
    _check_tree(doc)
    return doc


def _validator(schema: Mapping[str, Any]) -> jsonschema.protocols.Validator:
    key = id(schema)
    found = lru_get(_validators, key)
    if found is None:
        found = jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())
        lru_put(_validators, key, found, MAX_VALIDATORS)
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


# the request key under which a dialect's request adapter leaves a body it parsed from another format
ADAPTED_BODY = web.RequestKey("adapted_body", dict)


async def json_body(request: web.Request, schema: Mapping[str, Any] | None = None) -> Any:
    """Parse and validate a JSON request body. Missing body counts as malformed, like Nova. A body a dialect's
    request adapter already turned into its JSON form (Helion's XML, D4) is taken as it is."""
    body = request.get(ADAPTED_BODY)
    if body is None:
        ctype = request.headers.get("Content-Type", "").split(";")[0].strip().lower()
        if ctype not in JSON_TYPES:
            raise UnsupportedMediaType()
        raw = await request.read()
        try:
            body = parse_json(raw) if raw else None
        except ValueError:  # UnicodeDecodeError and json's errors included
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


_checked_queries: OrderedDict[tuple, Mapping[str, Any]] = OrderedDict()  # (id(schema), values) -> the schema


def validate_query(schema: Mapping[str, Any], query: MultiMapping[str], multi: tuple[str, ...] = ()) -> dict[str, Any]:
    """The query as a dict, checked against `schema`. A short query found valid is kept (an LRU of
    MAX_CHECKED_QUERIES, keyed by the schema object and the values): clients ask for the same lists again and
    again, and jsonschema took a fifth of the event loop's time for a page of servers (issue 22). Invalid
    queries are checked every time, so their faults stay the same."""
    data = query_dict(query, multi)
    if not data and not schema.get("required"):
        return data  # the common case, no query string: nothing to check
    values = tuple((k, tuple(v) if isinstance(v, list) else v) for k, v in data.items())
    key = (id(schema), values)
    if _checked_queries.get(key) is schema:  # the schema kept with its id: never another's
        _checked_queries.move_to_end(key)
        return data
    validate(schema, data, where="query parameters")
    if sum(len(k) + sum(map(len, v)) if isinstance(v, tuple) else len(k) + len(v) for k, v in values) \
            <= MAX_CHECKED_QUERY_CHARS:
        lru_put(_checked_queries, key, schema, MAX_CHECKED_QUERIES)
    return data


# Shared parameter types (Nova's parameter_types). Boolean-like strings as Nova's strutils accept them.
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


def is_uuid_like(value: str) -> bool:
    """Nova's uuidutils.is_uuid_like: a UUID in any of the forms uuid.UUID reads, given back in canonical form."""
    try:
        return str(uuid.UUID(value)).replace("-", "") == value.lower().replace("-", "").replace("urn:uuid:", "")
    except (TypeError, ValueError, AttributeError):
        return False


def to_int(value: Any) -> int:
    return int(value)


INT64_MIN, INT64_MAX = -(1 << 63), (1 << 63) - 1


def int_filter(text: str) -> int:
    """A query's integer bound, clamped to SQLite's 64-bit integers (a bound beyond them selects what the 64-bit
    bound selects, and SQLite cannot bind it). ValueError when `text` is not an integer."""
    return min(max(int(text), INT64_MIN), INT64_MAX)


def page_size(limit: int) -> int:
    """A list's page size from its `limit` (already checked non-negative): 0 or none means the most, MAX_LIMIT."""
    return MAX_LIMIT if limit == 0 else min(limit, MAX_LIMIT)


_ZONE_AFTER_Z = re.compile(r"Z(?=[+-]\d\d:?\d\d$)")
_SPACE_FOR_PLUS = re.compile(r" (\d\d:?\d\d)$")


def parse_changes_since(text: str, error: str = "Invalid filter field: changes-since.") -> datetime:
    """The changes-since filter (behaviour.md section 7): ISO 8601 with no zone (UTC), Z, +-hh:mm, Helion's
    Z+-hh:mm, or '+' decoded as a space -> naive UTC. BadRequest(error) when it is not a time."""
    value = _ZONE_AFTER_Z.sub("", text.strip())
    for candidate in (value, _SPACE_FOR_PLUS.sub(r"+\1", value)):
        try:
            parsed = datetime.fromisoformat(candidate)
        except ValueError:
            continue
        if parsed.tzinfo is not None:
            parsed = parsed.astimezone(timezone.utc).replace(tzinfo=None)
        return parsed
    raise BadRequest(error)
