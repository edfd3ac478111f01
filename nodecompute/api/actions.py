"""POST .../action: one dispatcher for every action route (Nova's wsgi action_peek).

An action table maps each body key to its `Action`: the operation id (for the dialect's schema, view and status),
the handler `(request, body) -> response`, and the policy a writer must pass before the body is checked (None: the
handler checks its own, after the body, as Nova's flavor actions do), and the microversion range in which Nova serves
the key (`since`, `until`). The body must have exactly one key; an unknown key is 400 "There is no such action", a
known key outside its range Nova's bare 404 (checked before the policy and the body, as Nova's version decorator
runs first).
"""
from __future__ import annotations

from collections.abc import Mapping

from aiohttp import web

from nodecompute.api import auth, validation
from nodecompute.api.dialect import served_at
from nodecompute.api.keys import api_version_key, op_key
from nodecompute.api.respond import check_body
from nodecompute.api.routing import Action, ActionHandler  # noqa: F401 (the dispatch tables import them from here)
from nodecompute.domain.errors import BadRequest, MalformedBody, NotFound


def action_key(body: dict, too_many_keys: str | None = None) -> str:
    """The single action key of a parsed body."""
    if len(body) != 1:
        raise MalformedBody(too_many_keys)
    return next(iter(body))


async def dispatch(request: web.Request, actions: Mapping[str, Action], too_many_keys: str | None = None
                   ) -> web.StreamResponse:
    body = await validation.json_body(request)
    key = action_key(body, too_many_keys)
    action = actions.get(key)
    if action is None:
        raise BadRequest(f"There is no such action: {key}")
    if not served_at(request[api_version_key], action.since, action.until):
        raise NotFound()
    if action.policy is not None:
        auth.require_writer(request, action.policy)
    request[op_key] = action.op
    return await action.handler(request, check_body(request, body))
