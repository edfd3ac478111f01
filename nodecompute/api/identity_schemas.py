"""Schemas of the token request bodies (POST /v3/auth/tokens and /v2.0/tokens), checked before the handler reads
them, with Keystone's 400 messages (keystone/auth/schema.py and keystone.exception.ValidationError):

    Expecting to find auth in request body. The server could not comply with the request since it is either
    malformed or otherwise incorrect. The client is assumed to be in error.
    Invalid input for field 'identity/password/user/password': 5 is not of type 'string'

Paths are relative to `auth`, as Keystone validates the `auth` object. Beyond the types, a user or project
reference needs a non-empty id or name, and a token reference a non-empty id (Keystone's auth plugins ask the
same). The handler reads only what these checks let through.
"""
from __future__ import annotations

from typing import Any

import jsonschema

from nodecompute.domain.errors import BadRequest

_TAIL = (" The server could not comply with the request since it is either malformed or otherwise incorrect."
         " The client is assumed to be in error.")

_string = {"type": "string"}
_domain = {"type": "object", "properties": {"id": _string, "name": _string}}
_named = {"type": "object", "properties": {"id": _string, "name": _string, "domain": _domain}}

TOKEN_ISSUE_V3 = {
    "type": "object",
    "properties": {
        "identity": {
            "type": "object",
            "properties": {
                "methods": {"type": "array", "items": _string},
                "password": {
                    "type": "object",
                    "properties": {"user": {**_named, "properties": {**_named["properties"], "password": _string}}},
                },
                "token": {"type": "object", "properties": {"id": _string}, "required": ["id"]},
            },
            "required": ["methods"],
        },
        # A string ("unscoped") or an object, as Keystone accepts it.
        "scope": {"type": ["object", "string"], "properties": {"project": _named, "domain": _domain}},
    },
    "required": ["identity"],
}

TOKEN_ISSUE_V2 = {
    "type": "object",
    "properties": {
        "passwordCredentials": {
            "type": "object",
            "properties": {"username": _string, "userId": _string, "password": _string},
            "required": ["password"],
        },
        "token": {"type": "object", "properties": {"id": _string}, "required": ["id"]},
        "tenantId": _string,
        "tenantName": _string,
    },
}

_validators = {id(s): jsonschema.Draft202012Validator(s) for s in (TOKEN_ISSUE_V3, TOKEN_ISSUE_V2)}


def expecting(attribute: str, target: str) -> BadRequest:
    """keystone.exception.ValidationError."""
    return BadRequest(f"Expecting to find {attribute} in {target}.{_TAIL}")


def _check(schema: dict, auth: Any) -> None:
    error = jsonschema.exceptions.best_match(_validators[id(schema)].iter_errors(auth))
    if error is None:
        return
    if error.path:
        raise BadRequest(f"Invalid input for field '{'/'.join(map(str, error.path))}': {error.message}")
    raise BadRequest(error.message)


def _needs_id_or_name(obj: Any, target: str) -> None:
    if isinstance(obj, dict) and not (obj.get("id") or obj.get("name")):
        raise expecting("id or name", target)


def _needs_token_id(token: Any) -> None:
    if isinstance(token, dict) and not token.get("id"):
        raise expecting("id", "token")


def check_v3(body: dict) -> dict:
    """The `auth` object of a v3 token request, checked; 400 in Keystone's words otherwise."""
    auth = body.get("auth")
    if auth is None:
        raise expecting("auth", "request body")
    _check(TOKEN_ISSUE_V3, auth)
    identity = auth["identity"]
    user = (identity.get("password") or {}).get("user")
    _needs_id_or_name(user, "user")
    _needs_token_id(identity.get("token"))
    scope = auth.get("scope")
    if isinstance(scope, dict):
        _needs_id_or_name(scope.get("project"), "project")
    return auth


def check_v2(body: dict) -> dict:
    """The `auth` object of a v2.0 token request, checked; 400 in Keystone's words otherwise."""
    auth = body.get("auth")
    if auth is None:
        raise expecting("auth", "request body")
    _check(TOKEN_ISSUE_V2, auth)
    creds = auth.get("passwordCredentials")
    if isinstance(creds, dict) and not (creds.get("username") or creds.get("userId")):
        raise expecting("username or userId", "passwordCredentials")
    _needs_token_id(auth.get("token"))
    return auth
